//! The [`TaskQueue`] conformance suite: the checks, and the [`queue_conformance!`](crate::queue_conformance) macro.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Barrier;

use super::unique_name;
use crate::queue::{dead_letter_queue, Consumer, Delivery, QueueError, TaskQueue};

/// Runs every queue check as a `#[tokio::test]` on instances built by `$make`,
/// an async expression giving a fresh `impl TaskQueue`.
#[macro_export]
macro_rules! queue_conformance {
    ($make:expr) => {
        $crate::queue_conformance!(@tests $make;
            publish_consume_ack, nack_requeue_redelivers, dropped_delivery_redelivers,
            nack_without_requeue_dead_letters, prefetch_bounds_unacked, competing_consumers_share_work,
            single_consumer_is_fifo, len_counts_waiting, dropped_consumer_requeues, undeclared_queue_is_refused,
            deleted_queue_is_gone, close_ends_consumers);
    };
    (@tests $make:expr; $($check:ident),*) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let queue = ::std::sync::Arc::new($make.await);
                $crate::conformance::queue::$check(queue).await;
            }
        )*
    };
}

/// How long a check waits to conclude that nothing more is delivered.
const QUIET: Duration = Duration::from_millis(200);
/// How long a check waits for a delivery that must come.
const PATIENCE: Duration = Duration::from_secs(10);

async fn declared(queue: &dyn TaskQueue, base: &str) -> String {
    let name = unique_name(base);
    queue.declare(&name).await.expect("declare");
    name
}

async fn next(consumer: &mut dyn Consumer) -> Delivery {
    tokio::time::timeout(PATIENCE, consumer.next())
        .await
        .expect("a delivery arrives in time")
        .expect("next")
        .expect("queue still open")
}

async fn nothing_more(consumer: &mut dyn Consumer) {
    if let Ok(delivery) = tokio::time::timeout(QUIET, consumer.next()).await {
        panic!("expected no delivery, got {delivery:?}");
    }
}

/// A published message is delivered once, then leaves the queue on ack.
pub async fn publish_consume_ack<Q: TaskQueue>(queue: Arc<Q>) {
    let name = declared(&*queue, "basic").await;
    queue.declare(&name).await.expect("declare is idempotent");
    queue.publish(&name, b"hello").await.unwrap();
    let mut consumer = queue.consume(&name, 1).await.unwrap();
    let delivery = next(&mut *consumer).await;
    assert_eq!(delivery.payload, b"hello");
    assert!(!delivery.redelivered);
    assert_eq!(delivery.dead_reason, None);
    delivery.ack().await.unwrap();
    nothing_more(&mut *consumer).await;
    assert_eq!(queue.len(&name).await.unwrap(), 0);
}

/// A message rejected with requeue comes back flagged as redelivered.
pub async fn nack_requeue_redelivers<Q: TaskQueue>(queue: Arc<Q>) {
    let name = declared(&*queue, "requeue").await;
    queue.publish(&name, b"task").await.unwrap();
    let mut consumer = queue.consume(&name, 1).await.unwrap();
    let first = next(&mut *consumer).await;
    first.nack(true, "worker busy").await.unwrap();
    let again = next(&mut *consumer).await;
    assert_eq!(again.payload, b"task");
    assert!(again.redelivered);
    again.ack().await.unwrap();
    nothing_more(&mut *consumer).await;
}

/// A delivery dropped unsettled (its worker panicked) comes back flagged as redelivered.
pub async fn dropped_delivery_redelivers<Q: TaskQueue>(queue: Arc<Q>) {
    let name = declared(&*queue, "dropped").await;
    queue.publish(&name, b"task").await.unwrap();
    let mut consumer = queue.consume(&name, 1).await.unwrap();
    let worker = tokio::spawn(async move {
        let delivery = next(&mut *consumer).await;
        assert_eq!(delivery.payload, b"task");
        let _in_hand = delivery;
        panic!("worker dies holding its delivery");
    });
    assert!(worker.await.unwrap_err().is_panic());
    let mut consumer = queue.consume(&name, 1).await.unwrap();
    let again = next(&mut *consumer).await;
    assert_eq!(again.payload, b"task");
    assert!(again.redelivered);
    again.ack().await.unwrap();
}

/// A message rejected without requeue lands in the dead-letter queue with its reason.
pub async fn nack_without_requeue_dead_letters<Q: TaskQueue>(queue: Arc<Q>) {
    let name = declared(&*queue, "dead").await;
    queue.publish(&name, b"poison").await.unwrap();
    queue.publish(&name, b"fine").await.unwrap();
    let mut consumer = queue.consume(&name, 1).await.unwrap();
    next(&mut *consumer)
        .await
        .nack(false, "bad input: no such shard")
        .await
        .unwrap();
    let fine = next(&mut *consumer).await;
    assert_eq!(fine.payload, b"fine");
    fine.ack().await.unwrap();
    let dead = dead_letter_queue(&name);
    assert_eq!(queue.len(&dead).await.unwrap(), 1);
    let mut dead_consumer = queue.consume(&dead, 1).await.unwrap();
    let letter = next(&mut *dead_consumer).await;
    assert_eq!(letter.payload, b"poison");
    assert_eq!(
        letter.dead_reason.as_deref(),
        Some("bad input: no such shard")
    );
    letter.ack().await.unwrap();
    assert_eq!(queue.len(&name).await.unwrap(), 0);
}

/// A consumer never holds more than `prefetch` unacknowledged deliveries.
pub async fn prefetch_bounds_unacked<Q: TaskQueue>(queue: Arc<Q>) {
    let name = declared(&*queue, "prefetch").await;
    for i in 0..5u8 {
        queue.publish(&name, &[i]).await.unwrap();
    }
    let mut consumer = queue.consume(&name, 2).await.unwrap();
    let first = next(&mut *consumer).await;
    let second = next(&mut *consumer).await;
    nothing_more(&mut *consumer).await;
    assert_eq!(queue.len(&name).await.unwrap(), 3);
    first.ack().await.unwrap();
    let third = next(&mut *consumer).await;
    assert_eq!(third.payload, [2]);
    nothing_more(&mut *consumer).await;
    second.ack().await.unwrap();
    third.ack().await.unwrap();
}

/// Competing consumers get distinct messages, and each message is delivered once when all ack.
pub async fn competing_consumers_share_work<Q: TaskQueue>(queue: Arc<Q>) {
    const CONSUMERS: usize = 4;
    const MESSAGES: usize = 200;
    let name = declared(&*queue, "compete").await;
    for i in 0..MESSAGES {
        queue
            .publish(&name, i.to_string().as_bytes())
            .await
            .unwrap();
    }
    // Each consumer holds its first delivery until every consumer has one: with a prefetch
    // of 1, this proves that four distinct messages are out at once.
    let barrier = Arc::new(Barrier::new(CONSUMERS));
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let (stop, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut workers = Vec::new();
    for _ in 0..CONSUMERS {
        let mut consumer = queue.consume(&name, 1).await.unwrap();
        let (barrier, sender, mut stop) = (barrier.clone(), sender.clone(), stop.subscribe());
        workers.push(tokio::spawn(async move {
            let first = next(&mut *consumer).await;
            barrier.wait().await;
            sender.send(first.payload.clone()).unwrap();
            first.ack().await.unwrap();
            loop {
                tokio::select! {
                    delivery = consumer.next() => {
                        let delivery = delivery.unwrap().expect("queue open");
                        sender.send(delivery.payload.clone()).unwrap();
                        delivery.ack().await.unwrap();
                    }
                    _ = stop.recv() => return,
                }
            }
        }));
    }
    let mut seen = Vec::new();
    while seen.len() < MESSAGES {
        seen.push(
            tokio::time::timeout(PATIENCE, received.recv())
                .await
                .expect("all delivered")
                .unwrap(),
        );
    }
    stop.send(()).unwrap();
    for worker in workers {
        worker.await.unwrap();
    }
    let distinct: BTreeSet<Vec<u8>> = seen.iter().cloned().collect();
    assert_eq!(
        distinct.len(),
        MESSAGES,
        "every message delivered exactly once"
    );
    assert!(received.try_recv().is_err(), "no message delivered twice");
    assert_eq!(queue.len(&name).await.unwrap(), 0);
}

/// A single consumer receives messages in publication order.
pub async fn single_consumer_is_fifo<Q: TaskQueue>(queue: Arc<Q>) {
    let name = declared(&*queue, "fifo").await;
    for i in 0..100u32 {
        queue.publish(&name, &i.to_be_bytes()).await.unwrap();
    }
    let mut consumer = queue.consume(&name, 10).await.unwrap();
    for i in 0..100u32 {
        let delivery = next(&mut *consumer).await;
        assert_eq!(delivery.payload, i.to_be_bytes());
        delivery.ack().await.unwrap();
    }
}

/// `len` counts messages waiting, not those delivered and unacknowledged.
pub async fn len_counts_waiting<Q: TaskQueue>(queue: Arc<Q>) {
    let name = declared(&*queue, "len").await;
    assert_eq!(queue.len(&name).await.unwrap(), 0);
    for _ in 0..3 {
        queue.publish(&name, b"m").await.unwrap();
    }
    assert_eq!(queue.len(&name).await.unwrap(), 3);
    let mut consumer = queue.consume(&name, 1).await.unwrap();
    let delivery = next(&mut *consumer).await;
    assert_eq!(queue.len(&name).await.unwrap(), 2);
    delivery.nack(true, "again").await.unwrap();
    let delivery = next(&mut *consumer).await;
    delivery.ack().await.unwrap();
    // A broker that pushes to its consumers (RabbitMQ) may already have sent the next message
    // to this consumer once the ack freed its prefetch slot; dropping the consumer returns it.
    drop(consumer);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let waiting = queue.len(&name).await.unwrap();
        if waiting == 2 || tokio::time::Instant::now() >= deadline {
            assert_eq!(waiting, 2, "the acked message is gone, the two others wait");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Dropping a consumer returns its unacknowledged deliveries, which can no longer be acked.
pub async fn dropped_consumer_requeues<Q: TaskQueue>(queue: Arc<Q>) {
    let name = declared(&*queue, "consumer-gone").await;
    queue.publish(&name, b"a").await.unwrap();
    queue.publish(&name, b"b").await.unwrap();
    let mut consumer = queue.consume(&name, 2).await.unwrap();
    let a = next(&mut *consumer).await;
    let b = next(&mut *consumer).await;
    drop(consumer);
    let mut other = queue.consume(&name, 2).await.unwrap();
    let again_a = next(&mut *other).await;
    let again_b = next(&mut *other).await;
    assert_eq!(
        (again_a.payload.as_slice(), again_b.payload.as_slice()),
        (&b"a"[..], &b"b"[..])
    );
    assert!(again_a.redelivered && again_b.redelivered);
    assert!(matches!(a.ack().await, Err(QueueError::InvalidDelivery(_))));
    drop(b);
    again_a.ack().await.unwrap();
    again_b.ack().await.unwrap();
    nothing_more(&mut *other).await;
}

/// Publishing to or consuming from an undeclared queue is an error.
pub async fn undeclared_queue_is_refused<Q: TaskQueue>(queue: Arc<Q>) {
    let name = unique_name("undeclared");
    assert!(matches!(
        queue.consume(&name, 1).await,
        Err(QueueError::NoSuchQueue(_))
    ));
    assert!(matches!(
        queue.publish(&name, b"x").await,
        Err(QueueError::NoSuchQueue(_))
    ));
}

/// `close` ends waiting consumers and refuses later calls.
pub async fn close_ends_consumers<Q: TaskQueue>(queue: Arc<Q>) {
    let name = declared(&*queue, "close").await;
    let mut consumer = queue.consume(&name, 1).await.unwrap();
    let waiting = tokio::spawn(async move { consumer.next().await.map(|d| d.is_none()) });
    queue.close().await.unwrap();
    let ended = tokio::time::timeout(PATIENCE, waiting)
        .await
        .expect("consumer ends")
        .unwrap();
    assert!(ended.unwrap(), "next returns None after close");
    assert!(queue.publish(&name, b"late").await.is_err());
}

/// A deleted queue ends its consumers and refuses publishing until declared again, empty.
pub async fn deleted_queue_is_gone<Q: TaskQueue>(queue: Arc<Q>) {
    let name = declared(&*queue, "deleted").await;
    queue.publish(&name, b"left behind").await.unwrap();
    queue.publish(&name, b"in hand").await.unwrap();
    let mut consumer = queue.consume(&name, 1).await.unwrap();
    let _in_hand = next(&mut *consumer).await;
    queue.delete_queue(&name).await.unwrap();
    let ended = tokio::time::timeout(PATIENCE, consumer.next())
        .await
        .expect("the consumer ends in time");
    assert!(matches!(ended, Ok(None) | Err(_)), "got {ended:?}");
    assert!(matches!(
        queue.publish(&name, b"x").await,
        Err(QueueError::NoSuchQueue(_))
    ));
    queue
        .delete_queue(&name)
        .await
        .expect("deleting twice succeeds");
    queue.declare(&name).await.unwrap();
    assert_eq!(queue.len(&name).await.unwrap(), 0, "declared again, empty");
    queue.delete_queue(&name).await.unwrap();
}
