//! Tests of [`MemoryQueue`]: the conformance suite and what is specific to the in-process queue.

use std::time::Instant;

use super::*;

mod conformance {
    use super::MemoryQueue;
    crate::queue_conformance!(async { MemoryQueue::new() });
}

#[tokio::test]
async fn dead_letters_keep_their_reason() {
    let queue = MemoryQueue::new();
    queue.declare("tasks").await.unwrap();
    queue.publish("tasks", b"one").await.unwrap();
    queue.publish("tasks", b"two").await.unwrap();
    let mut consumer = queue.consume("tasks", 2).await.unwrap();
    consumer
        .next()
        .await
        .unwrap()
        .unwrap()
        .nack(false, "failed 3 times")
        .await
        .unwrap();
    consumer
        .next()
        .await
        .unwrap()
        .unwrap()
        .nack(false, "bad spec")
        .await
        .unwrap();
    let letters = queue.dead_letters("tasks").unwrap();
    assert_eq!(
        letters,
        vec![
            DeadLetter {
                payload: b"one".to_vec(),
                reason: "failed 3 times".into()
            },
            DeadLetter {
                payload: b"two".to_vec(),
                reason: "bad spec".into()
            },
        ]
    );
    assert_eq!(
        queue.len("tasks.dead").await.unwrap(),
        2,
        "peeking consumes nothing"
    );
}

#[tokio::test]
async fn rejecting_a_dead_letter_discards_it() {
    let queue = MemoryQueue::new();
    queue.declare("tasks").await.unwrap();
    queue.publish("tasks", b"x").await.unwrap();
    let mut consumer = queue.consume("tasks", 1).await.unwrap();
    consumer
        .next()
        .await
        .unwrap()
        .unwrap()
        .nack(false, "no")
        .await
        .unwrap();
    let mut dead = queue.consume("tasks.dead", 1).await.unwrap();
    dead.next()
        .await
        .unwrap()
        .unwrap()
        .nack(false, "still no")
        .await
        .unwrap();
    assert_eq!(queue.len("tasks.dead").await.unwrap(), 0);
    assert_eq!(queue.unacked_len("tasks.dead").unwrap(), 0);
}

#[tokio::test]
async fn settling_twice_is_impossible_and_ack_after_close_fails() {
    let queue = MemoryQueue::new();
    queue.declare("tasks").await.unwrap();
    queue.publish("tasks", b"x").await.unwrap();
    let mut consumer = queue.consume("tasks", 1).await.unwrap();
    let delivery = consumer.next().await.unwrap().unwrap();
    assert_eq!(queue.unacked_len("tasks").unwrap(), 1);
    queue.close().await.unwrap();
    assert!(matches!(
        delivery.ack().await,
        Err(QueueError::InvalidDelivery(_))
    ));
    assert!(consumer.next().await.unwrap().is_none());
    assert!(matches!(
        queue.len("tasks").await,
        Err(QueueError::Unavailable(_))
    ));
}

#[tokio::test]
async fn clones_share_queues() {
    let queue = MemoryQueue::new();
    let other = queue.clone();
    queue.declare("shared").await.unwrap();
    other.publish("shared", b"x").await.unwrap();
    assert_eq!(queue.len("shared").await.unwrap(), 1);
}

#[tokio::test]
async fn cancelled_next_loses_nothing() {
    let queue = MemoryQueue::new();
    queue.declare("tasks").await.unwrap();
    let mut consumer = queue.consume("tasks", 1).await.unwrap();
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(20), consumer.next())
            .await
            .is_err()
    );
    queue.publish("tasks", b"x").await.unwrap();
    assert_eq!(consumer.next().await.unwrap().unwrap().payload, b"x");
}

/// Pushes 50,000 messages through one producer and two consumers; the rate goes to the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_tens_of_thousands_of_messages_per_second() {
    const MESSAGES: usize = 50_000;
    let queue = MemoryQueue::new();
    queue.declare("bench").await.unwrap();
    let acked = Arc::new(AtomicU64::new(0));
    let all_acked = Arc::new(Notify::new());
    let started = Instant::now();
    let mut consumers = Vec::new();
    for _ in 0..2 {
        let mut consumer = queue.consume("bench", 64).await.unwrap();
        let (acked, all_acked) = (acked.clone(), all_acked.clone());
        consumers.push(tokio::spawn(async move {
            let mut count = 0usize;
            while let Some(delivery) = consumer.next().await.unwrap() {
                delivery.ack().await.unwrap();
                count += 1;
                if acked.fetch_add(1, Ordering::AcqRel) + 1 == MESSAGES as u64 {
                    all_acked.notify_one();
                }
            }
            count
        }));
    }
    let payload = vec![7u8; 256];
    for _ in 0..MESSAGES {
        queue.publish("bench", &payload).await.unwrap();
    }
    all_acked.notified().await;
    let elapsed = started.elapsed();
    queue.close().await.unwrap();
    let mut total = 0;
    for consumer in consumers {
        total += consumer.await.unwrap();
    }
    assert_eq!(total, MESSAGES);
    let rate = MESSAGES as f64 / elapsed.as_secs_f64();
    tracing::info!(rate, "memory queue messages per second");
    assert!(rate > 10_000.0, "only {rate:.0} messages per second");
}
