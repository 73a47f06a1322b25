//! The [`TaskQueue`] trait: named queues with at-least-once delivery and manual acknowledgement.
//!
//! Semantics every implementation keeps (RabbitMQ's):
//! - a message is delivered to one consumer at a time;
//! - it leaves the queue only when acknowledged ([`Delivery::ack`]);
//! - a delivery that is rejected with requeue, or dropped unacknowledged (its consumer
//!   died), goes back to the queue and is delivered again with `redelivered` set;
//! - a delivery rejected without requeue goes to the queue's dead-letter queue
//!   ([`dead_letter_queue`]), where it is delivered with the rejection's reason in
//!   [`Delivery::dead_reason`]; a message rejected from a dead-letter queue is discarded;
//! - a consumer has at most `prefetch` unacknowledged deliveries at once (0: no bound, as in AMQP);
//! - a single consumer receives messages in publication order, requeued ones first;
//! - dropping a [`Consumer`] returns its unacknowledged deliveries to the queue: acking them
//!   afterwards fails with [`QueueError::InvalidDelivery`] (RabbitMQ closes the consumer's
//!   channel). To stop taking work while finishing the deliveries in hand, stop calling
//!   [`Consumer::next`], settle them, then drop the consumer;
//! - [`TaskQueue::close`] ends every consumer ([`Consumer::next`] returns `Ok(None)`) and
//!   returns unacknowledged deliveries to their queues; later calls fail with
//!   [`QueueError::Unavailable`];
//! - [`TaskQueue::delete_queue`] removes a queue and its dead-letter queue, ending its consumers;
//! - publishing to or consuming from a queue that was not declared fails with
//!   [`QueueError::NoSuchQueue`].

use async_trait::async_trait;

/// Errors of a queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The broker cannot be reached or closed the channel.
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    /// The queue was not declared.
    #[error("queue `{0}` is not declared")]
    NoSuchQueue(String),
    /// The delivery was already settled, or its channel is gone.
    #[error("delivery is no longer valid: {0}")]
    InvalidDelivery(String),
}

/// Name of the dead-letter queue of `queue`.
pub fn dead_letter_queue(queue: &str) -> String {
    format!("{queue}.dead")
}

/// Settles one delivery; implemented by each queue backend.
#[async_trait]
pub trait Acker: Send + Sync {
    /// Removes the message from the queue.
    async fn ack(self: Box<Self>) -> Result<(), QueueError>;
    /// Returns it to the queue (`requeue`) or sends it to the dead-letter queue.
    async fn nack(self: Box<Self>, requeue: bool, reason: &str) -> Result<(), QueueError>;
}

/// One delivered message. Dropping it unsettled returns the message to its queue.
pub struct Delivery {
    /// The message body.
    pub payload: Vec<u8>,
    /// Whether it was delivered before (to this or another consumer).
    pub redelivered: bool,
    /// For a message of a dead-letter queue: the reason it was rejected with.
    pub dead_reason: Option<String>,
    acker: Box<dyn Acker>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("bytes", &self.payload.len())
            .field("redelivered", &self.redelivered)
            .field("dead_reason", &self.dead_reason)
            .finish()
    }
}

impl Delivery {
    /// Builds a delivery; for queue implementations. The acker must return the message to
    /// its queue when it is dropped unsettled.
    pub fn new(payload: Vec<u8>, redelivered: bool, acker: Box<dyn Acker>) -> Self {
        Self {
            payload,
            redelivered,
            dead_reason: None,
            acker,
        }
    }

    /// Sets the reason a dead-lettered message was rejected with; for queue implementations.
    pub fn with_dead_reason(mut self, reason: Option<String>) -> Self {
        self.dead_reason = reason;
        self
    }

    /// Acknowledges: the message is done and leaves the queue.
    pub async fn ack(self) -> Result<(), QueueError> {
        self.acker.ack().await
    }

    /// Rejects: back to the queue (`requeue`) or to the dead-letter queue with `reason`.
    pub async fn nack(self, requeue: bool, reason: &str) -> Result<(), QueueError> {
        self.acker.nack(requeue, reason).await
    }
}

/// A subscription to one queue.
#[async_trait]
pub trait Consumer: Send + Sync {
    /// Waits for the next delivery; `None` once the queue is closed for good.
    /// Cancel-safe: dropping the future before it completes loses no message.
    async fn next(&mut self) -> Result<Option<Delivery>, QueueError>;
}

/// A set of named durable queues.
#[async_trait]
pub trait TaskQueue: Send + Sync + 'static {
    /// Creates the queue (and its dead-letter queue) if it does not exist.
    async fn declare(&self, queue: &str) -> Result<(), QueueError>;
    /// Publishes a persistent message; returns once the queue holds it.
    async fn publish(&self, queue: &str, payload: &[u8]) -> Result<(), QueueError>;
    /// Subscribes to a queue with at most `prefetch` unacknowledged deliveries.
    async fn consume(&self, queue: &str, prefetch: u16) -> Result<Box<dyn Consumer>, QueueError>;
    /// Number of messages waiting (not delivered) in a queue.
    async fn len(&self, queue: &str) -> Result<usize, QueueError>;
    /// Deletes a queue, its messages and its dead-letter queue (a finished job's outcome
    /// queue); its consumers end ([`Consumer::next`] returns `Ok(None)`). Deleting a queue
    /// that does not exist succeeds.
    async fn delete_queue(&self, queue: &str) -> Result<(), QueueError>;
    /// Ends every consumer and refuses further calls; unacknowledged deliveries go back
    /// to their queues.
    async fn close(&self) -> Result<(), QueueError>;
}
