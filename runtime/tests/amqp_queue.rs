//! [`AmqpQueue`] against a real RabbitMQ broker: the conformance suite, then what is specific
//! to the broker (dead-letter reasons, persistence flags, connections closed by the server).
//!
//! The broker is at `SECUML_TEST_AMQP_URL` (default `amqp://guest:guest@127.0.0.1:5672/%2f`);
//! the tests that close connections from the server side also need `rabbitmqctl`. Every test
//! uses unique queue names, and its queues expire a minute after their last use.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use secuml_runtime::amqp_queue::DELIVERY_LIMIT_REASON;
use secuml_runtime::conformance::unique_name;
use secuml_runtime::{dead_letter_queue, AmqpOptions, AmqpQueue, QueueError, TaskQueue};

const PATIENCE: Duration = Duration::from_secs(20);

fn url() -> String {
    std::env::var("SECUML_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_string())
}

fn options(connection_name: String) -> AmqpOptions {
    AmqpOptions {
        connection_name,
        queue_expires: Some(Duration::from_secs(60)),
        reconnect_timeout: Duration::from_secs(30),
        ..AmqpOptions::default()
    }
}

async fn broker() -> AmqpQueue {
    AmqpQueue::connect_with(&url(), options(unique_name("secuml-test")))
        .await
        .expect("a RabbitMQ broker at SECUML_TEST_AMQP_URL")
}

mod conformance {
    secuml_runtime::queue_conformance!(super::broker());
}

fn rabbitmqctl(args: &[&str]) -> String {
    let output = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .expect("rabbitmqctl runs");
    assert!(
        output.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Closes, from the server side, every connection named `connection_name`; returns how many.
fn close_connections(connection_name: &str) -> usize {
    let listing = rabbitmqctl(&[
        "list_connections",
        "-q",
        "--no-table-headers",
        "pid",
        "client_properties",
    ]);
    let pids: Vec<String> = listing
        .lines()
        .filter(|line| line.contains(connection_name))
        .filter_map(|line| line.split('\t').next().map(str::to_string))
        .collect();
    for pid in &pids {
        rabbitmqctl(&["close_connection", pid, "test: connection cut"]);
    }
    pids.len()
}

/// Waits until a connection named `connection_name` is open again.
async fn wait_connected(connection_name: &str) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let listing = rabbitmqctl(&[
            "list_connections",
            "-q",
            "--no-table-headers",
            "pid",
            "client_properties",
        ]);
        if listing.contains(connection_name) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "no new connection");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn next(consumer: &mut dyn secuml_runtime::Consumer) -> secuml_runtime::Delivery {
    tokio::time::timeout(PATIENCE, consumer.next())
        .await
        .expect("a delivery in time")
        .expect("next")
        .expect("queue open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nack_without_requeue_carries_the_reason() {
    let queue = broker().await;
    let name = unique_name("reason");
    queue.declare(&name).await.unwrap();
    queue.publish(&name, b"spec-1").await.unwrap();
    let mut consumer = queue.consume(&name, 1).await.unwrap();
    next(&mut *consumer)
        .await
        .nack(false, "unknown model: svm-rbf")
        .await
        .unwrap();
    let dead = dead_letter_queue(&name);
    let mut dead_consumer = queue.consume(&dead, 1).await.unwrap();
    let letter = next(&mut *dead_consumer).await;
    assert_eq!(letter.payload, b"spec-1");
    assert_eq!(
        letter.dead_reason.as_deref(),
        Some("unknown model: svm-rbf")
    );
    // Rejected again from the dead-letter queue, it is discarded.
    letter.nack(false, "given up").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(queue.len(&dead).await.unwrap(), 0);
    assert_eq!(queue.len(&name).await.unwrap(), 0);
    queue.delete_queue(&name).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_keeps_failing_is_dead_lettered_by_the_broker() {
    let queue = AmqpQueue::connect_with(
        &url(),
        AmqpOptions {
            delivery_limit: 2,
            ..options(unique_name("secuml-test"))
        },
    )
    .await
    .unwrap();
    let name = unique_name("poison");
    queue.declare(&name).await.unwrap();
    queue.publish(&name, b"kills its worker").await.unwrap();
    let dead = dead_letter_queue(&name);
    let mut deliveries = 0;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while queue.len(&dead).await.unwrap() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never dead-lettered"
        );
        let mut consumer = queue.consume(&name, 1).await.unwrap();
        if let Ok(delivery) =
            tokio::time::timeout(Duration::from_millis(500), consumer.next()).await
        {
            deliveries += 1;
            // The worker dies: its consumer goes with the delivery in hand.
            let _in_hand = delivery.unwrap();
            drop(consumer);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(deliveries >= 2, "delivered {deliveries} times");
    let mut dead_consumer = queue.consume(&dead, 1).await.unwrap();
    let letter = next(&mut *dead_consumer).await;
    assert_eq!(letter.payload, b"kills its worker");
    assert_eq!(letter.dead_reason.as_deref(), Some(DELIVERY_LIMIT_REASON));
    letter.ack().await.unwrap();
    queue.delete_queue(&name).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_are_durable_quorum_queues() {
    let queue = broker().await;
    let name = unique_name("durable");
    queue.declare(&name).await.unwrap();
    let listing = rabbitmqctl(&[
        "list_queues",
        "-q",
        "--no-table-headers",
        "name",
        "type",
        "durable",
        "arguments",
    ]);
    let mut found = BTreeMap::new();
    for line in listing.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() >= 3 && (fields[0] == name || fields[0] == dead_letter_queue(&name)) {
            found.insert(fields[0].to_string(), line.to_string());
            assert_eq!(fields[1], "quorum", "{line}");
            assert_eq!(fields[2], "true", "{line}");
        }
    }
    assert_eq!(found.len(), 2, "both queues listed: {listing}");
    let main = &found[&name];
    assert!(main.contains("x-delivery-limit"), "{main}");
    assert!(main.contains(&dead_letter_queue(&name)), "{main}");
    queue.delete_queue(&name).await.unwrap();
    assert!(matches!(
        queue.len(&name).await,
        Err(QueueError::NoSuchQueue(_))
    ));
    assert!(matches!(
        queue.len(&dead_letter_queue(&name)).await,
        Err(QueueError::NoSuchQueue(_))
    ));
}

/// The connection closed by the server while a consumer waits and holds deliveries: the
/// deliveries in hand are void and come back, publishing works again, the consumer gets new
/// and redelivered messages, nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_survives_a_server_side_close() {
    let connection_name = unique_name("secuml-test-cut");
    let queue = Arc::new(
        AmqpQueue::connect_with(&url(), options(connection_name.clone()))
            .await
            .unwrap(),
    );
    let name = unique_name("cut-consumer");
    queue.declare(&name).await.unwrap();
    for i in 0..3u8 {
        queue.publish(&name, &[i]).await.unwrap();
    }
    let mut consumer = queue.consume(&name, 2).await.unwrap();
    let held_0 = next(&mut *consumer).await;
    let held_1 = next(&mut *consumer).await;
    assert_eq!(
        (held_0.payload.clone(), held_1.payload.clone()),
        (vec![0], vec![1])
    );
    // The consumer waits for its next delivery while the connection is cut.
    let waiting = tokio::spawn(async move {
        let mut received = Vec::new();
        while received.len() < 5 {
            let delivery = next(&mut *consumer).await;
            received.push((delivery.payload.clone(), delivery.redelivered));
            delivery.ack().await.unwrap();
        }
        (consumer, received)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(close_connections(&connection_name), 1);
    assert!(matches!(
        held_0.ack().await,
        Err(QueueError::InvalidDelivery(_))
    ));
    assert!(matches!(
        held_1.nack(false, "late").await,
        Err(QueueError::InvalidDelivery(_))
    ));
    for i in 3..5u8 {
        queue.publish(&name, &[i]).await.unwrap();
    }
    wait_connected(&connection_name).await;
    let (mut consumer, mut received) = tokio::time::timeout(PATIENCE * 2, waiting)
        .await
        .expect("the consumer gets every message")
        .unwrap();
    received.sort();
    let payloads: Vec<u8> = received.iter().map(|(p, _)| p[0]).collect();
    // 0 and 1 were in hand at the cut (the prefetch of 2 kept 2 in the queue): each is
    // received once more, with 2, 3 and 4.
    assert!(payloads.windows(2).all(|w| w[0] <= w[1]));
    let mut distinct = payloads.clone();
    distinct.dedup();
    assert_eq!(distinct, vec![0, 1, 2, 3, 4], "got {received:?}");
    for (payload, redelivered) in &received {
        if payload[0] < 2 {
            assert!(*redelivered, "{payload:?} was in hand at the cut");
        }
    }
    if tokio::time::timeout(Duration::from_millis(300), consumer.next())
        .await
        .is_ok()
    {
        panic!("nothing more after the five deliveries");
    }
    assert_eq!(queue.len(&name).await.unwrap(), 0);
    queue.delete_queue(&name).await.unwrap();
}

/// The connection closed by the server while messages are being published: every message
/// published is consumed, at least once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_survives_a_server_side_close() {
    const MESSAGES: u32 = 300;
    let connection_name = unique_name("secuml-test-cut");
    let queue = Arc::new(
        AmqpQueue::connect_with(&url(), options(connection_name.clone()))
            .await
            .unwrap(),
    );
    let name = unique_name("cut-publish");
    queue.declare(&name).await.unwrap();
    let publisher = {
        let (queue, name) = (queue.clone(), name.clone());
        tokio::spawn(async move {
            for i in 0..MESSAGES {
                queue.publish(&name, &i.to_be_bytes()).await.unwrap();
            }
        })
    };
    let mut consumer = queue.consume(&name, 20).await.unwrap();
    let mut seen = BTreeMap::<u32, usize>::new();
    let mut cuts = 0;
    while seen.len() < MESSAGES as usize {
        let delivery = next(&mut *consumer).await;
        let value = u32::from_be_bytes(delivery.payload.as_slice().try_into().unwrap());
        *seen.entry(value).or_default() += 1;
        if delivery.ack().await.is_err() {
            // Acked on a connection just cut: it comes back.
            *seen.get_mut(&value).unwrap() -= 1;
            if seen[&value] == 0 {
                seen.remove(&value);
            }
        }
        if cuts < 2 && seen.len() as u32 >= (cuts + 1) * MESSAGES / 3 {
            cuts += 1;
            assert_eq!(close_connections(&connection_name), 1, "cut {cuts}");
        }
    }
    publisher.await.unwrap();
    assert_eq!(cuts, 2);
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        (0..MESSAGES).collect::<Vec<_>>()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Duplicates are possible (a publish in flight at the cut is published again), losses not.
    while let Ok(extra) = tokio::time::timeout(Duration::from_millis(300), consumer.next()).await {
        let extra = extra.unwrap().unwrap();
        let value = u32::from_be_bytes(extra.payload.as_slice().try_into().unwrap());
        assert!(seen.contains_key(&value));
        extra.ack().await.unwrap();
    }
    assert_eq!(queue.len(&name).await.unwrap(), 0);
    queue.delete_queue(&name).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_address_fails_at_once() {
    let started = std::time::Instant::now();
    let error = AmqpQueue::connect("amqp://guest:guest@127.0.0.1:1/%2f")
        .await
        .unwrap_err();
    assert!(matches!(error, QueueError::Unavailable(_)), "{error}");
    assert!(started.elapsed() < Duration::from_secs(15));
}
