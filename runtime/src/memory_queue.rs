//! [`MemoryQueue`]: the in-process [`TaskQueue`] of the embedded mode.
//!
//! Each queue is a mutex-protected ready list plus the map of its unacknowledged deliveries,
//! keyed by a delivery tag that is never reused. Settling a delivery looks its tag up: a tag
//! that is gone (acked, or returned to the queue when its consumer was dropped or the queue
//! closed) makes the acker a no-op on drop and an [`QueueError::InvalidDelivery`] on ack.
//! Consumers wait on a per-queue [`Notify`] that every change of the queue wakes.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use async_trait::async_trait;
use tokio::sync::Notify;

use crate::queue::{dead_letter_queue, Acker, Consumer, Delivery, QueueError, TaskQueue};

/// In-process named queues; clones share the same queues.
#[derive(Clone, Default)]
pub struct MemoryQueue {
    shared: Arc<Shared>,
}

/// A message rejected without requeue, as kept by a dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The message body.
    pub payload: Vec<u8>,
    /// The reason given when it was rejected.
    pub reason: String,
}

#[derive(Default)]
struct Shared {
    queues: RwLock<HashMap<String, Arc<Queue>>>,
    closed: AtomicBool,
    next_tag: AtomicU64,
    next_consumer: AtomicU64,
}

struct Queue {
    name: String,
    state: Mutex<QueueState>,
    changed: Notify,
    /// The dead-letter queue; `None` for a dead-letter queue itself.
    dead: Option<Arc<Queue>>,
    /// Set once the queue is deleted: its consumers end.
    deleted: AtomicBool,
}

#[derive(Default)]
struct QueueState {
    ready: VecDeque<Message>,
    unacked: HashMap<u64, Unacked>,
    /// Unacknowledged deliveries per live consumer.
    in_flight: HashMap<u64, usize>,
}

struct Message {
    payload: Vec<u8>,
    redelivered: bool,
    dead_reason: Option<String>,
}

struct Unacked {
    consumer: u64,
    message: Message,
}

struct MemoryConsumer {
    shared: Arc<Shared>,
    queue: Arc<Queue>,
    id: u64,
    prefetch: usize,
}

struct MemoryAcker {
    queue: Arc<Queue>,
    tag: u64,
    settled: bool,
}

impl MemoryQueue {
    /// Creates an empty set of queues.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lists the messages waiting in the dead-letter queue of `queue`, oldest first,
    /// without consuming them.
    pub fn dead_letters(&self, queue: &str) -> Result<Vec<DeadLetter>, QueueError> {
        let dead = self.shared.queue(&dead_letter_queue(queue))?;
        let state = dead.lock();
        Ok(state
            .ready
            .iter()
            .map(|m| DeadLetter {
                payload: m.payload.clone(),
                reason: m.dead_reason.clone().unwrap_or_default(),
            })
            .collect())
    }

    /// Number of deliveries of `queue` that are out and not yet settled.
    pub fn unacked_len(&self, queue: &str) -> Result<usize, QueueError> {
        Ok(self.shared.queue(queue)?.lock().unacked.len())
    }
}

impl Shared {
    fn check_open(&self) -> Result<(), QueueError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(QueueError::Unavailable(
                "the in-memory queue is closed".to_string(),
            ));
        }
        Ok(())
    }

    fn queue(&self, name: &str) -> Result<Arc<Queue>, QueueError> {
        self.check_open()?;
        let queues = self.queues.read().unwrap_or_else(|e| e.into_inner());
        queues
            .get(name)
            .cloned()
            .ok_or_else(|| QueueError::NoSuchQueue(name.to_string()))
    }
}

impl Queue {
    fn new(name: String, dead: Option<Arc<Queue>>) -> Self {
        Self {
            name,
            state: Mutex::default(),
            changed: Notify::new(),
            dead,
            deleted: AtomicBool::new(false),
        }
    }

    /// Locks the state; a panic while holding the lock leaves the state consistent
    /// (every update is a single step), so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Removes an unacknowledged delivery and frees its consumer's prefetch slot.
    fn take_unacked(&self, state: &mut QueueState, tag: u64) -> Option<Message> {
        let unacked = state.unacked.remove(&tag)?;
        if let Some(count) = state.in_flight.get_mut(&unacked.consumer) {
            *count = count.saturating_sub(1);
        }
        Some(unacked.message)
    }

    /// Settles delivery `tag`: `None` acks, `Some(true)` requeues, `Some(false)` dead-letters.
    fn settle(&self, tag: u64, requeue: Option<bool>, reason: &str) -> Result<(), QueueError> {
        let mut state = self.lock();
        let Some(mut message) = self.take_unacked(&mut state, tag) else {
            return Err(QueueError::InvalidDelivery(format!(
                "delivery {tag} of queue {} was already settled or returned to the queue",
                self.name
            )));
        };
        match requeue {
            None => {}
            Some(true) => {
                message.redelivered = true;
                state.ready.push_front(message);
            }
            Some(false) => match &self.dead {
                Some(dead) => {
                    let letter = Message {
                        payload: message.payload,
                        redelivered: false,
                        dead_reason: Some(reason.to_string()),
                    };
                    dead.lock().ready.push_back(letter);
                    dead.changed.notify_waiters();
                }
                None => {
                    tracing::warn!(queue = %self.name, reason, "discarding a message rejected from a dead-letter queue")
                }
            },
        }
        drop(state);
        self.changed.notify_waiters();
        Ok(())
    }

    /// Returns every unacknowledged delivery of `consumer` (all when `None`) to the front
    /// of the queue, in their delivery order.
    fn requeue_unacked(&self, consumer: Option<u64>) {
        let mut state = self.lock();
        let mut tags: Vec<u64> = state
            .unacked
            .iter()
            .filter(|(_, u)| consumer.is_none_or(|c| u.consumer == c))
            .map(|(tag, _)| *tag)
            .collect();
        tags.sort_unstable();
        for tag in tags.into_iter().rev() {
            if let Some(mut message) = self.take_unacked(&mut state, tag) {
                message.redelivered = true;
                state.ready.push_front(message);
            }
        }
        drop(state);
        self.changed.notify_waiters();
    }
}

#[async_trait]
impl TaskQueue for MemoryQueue {
    async fn declare(&self, queue: &str) -> Result<(), QueueError> {
        self.shared.check_open()?;
        let mut queues = self
            .shared
            .queues
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if queues.contains_key(queue) {
            return Ok(());
        }
        let dead_name = dead_letter_queue(queue);
        let dead = queues
            .entry(dead_name.clone())
            .or_insert_with(|| Arc::new(Queue::new(dead_name, None)))
            .clone();
        queues.insert(
            queue.to_string(),
            Arc::new(Queue::new(queue.to_string(), Some(dead))),
        );
        Ok(())
    }

    async fn publish(&self, queue: &str, payload: &[u8]) -> Result<(), QueueError> {
        let queue = self.shared.queue(queue)?;
        queue.lock().ready.push_back(Message {
            payload: payload.to_vec(),
            redelivered: false,
            dead_reason: None,
        });
        queue.changed.notify_waiters();
        Ok(())
    }

    async fn consume(&self, queue: &str, prefetch: u16) -> Result<Box<dyn Consumer>, QueueError> {
        let queue = self.shared.queue(queue)?;
        let id = self.shared.next_consumer.fetch_add(1, Ordering::Relaxed);
        queue.lock().in_flight.insert(id, 0);
        let prefetch = if prefetch == 0 {
            usize::MAX
        } else {
            usize::from(prefetch)
        };
        Ok(Box::new(MemoryConsumer {
            shared: self.shared.clone(),
            queue,
            id,
            prefetch,
        }))
    }

    async fn len(&self, queue: &str) -> Result<usize, QueueError> {
        Ok(self.shared.queue(queue)?.lock().ready.len())
    }

    async fn delete_queue(&self, queue: &str) -> Result<(), QueueError> {
        self.shared.check_open()?;
        let mut queues = self
            .shared
            .queues
            .write()
            .unwrap_or_else(|e| e.into_inner());
        for name in [queue.to_string(), dead_letter_queue(queue)] {
            if let Some(q) = queues.remove(&name) {
                q.deleted.store(true, Ordering::Release);
                q.changed.notify_waiters();
            }
        }
        Ok(())
    }

    async fn close(&self) -> Result<(), QueueError> {
        self.shared.closed.store(true, Ordering::Release);
        let queues: Vec<Arc<Queue>> = self
            .shared
            .queues
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for queue in queues {
            queue.requeue_unacked(None);
        }
        Ok(())
    }
}

#[async_trait]
impl Consumer for MemoryConsumer {
    async fn next(&mut self) -> Result<Option<Delivery>, QueueError> {
        loop {
            // Registering interest before looking at the state means no wake-up is missed.
            let changed = self.queue.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.shared.closed.load(Ordering::Acquire)
                || self.queue.deleted.load(Ordering::Acquire)
            {
                return Ok(None);
            }
            if let Some(delivery) = self.try_take() {
                return Ok(Some(delivery));
            }
            changed.await;
        }
    }
}

impl MemoryConsumer {
    fn try_take(&self) -> Option<Delivery> {
        let mut state = self.queue.lock();
        let in_flight = state.in_flight.get(&self.id).copied().unwrap_or(0);
        if in_flight >= self.prefetch {
            return None;
        }
        let message = state.ready.pop_front()?;
        let tag = self.shared.next_tag.fetch_add(1, Ordering::Relaxed);
        let delivery = Message {
            payload: message.payload.clone(),
            redelivered: message.redelivered,
            dead_reason: message.dead_reason.clone(),
        };
        state.unacked.insert(
            tag,
            Unacked {
                consumer: self.id,
                message,
            },
        );
        state.in_flight.insert(self.id, in_flight + 1);
        drop(state);
        let acker = MemoryAcker {
            queue: self.queue.clone(),
            tag,
            settled: false,
        };
        Some(
            Delivery::new(delivery.payload, delivery.redelivered, Box::new(acker))
                .with_dead_reason(delivery.dead_reason),
        )
    }
}

impl Drop for MemoryConsumer {
    fn drop(&mut self) {
        self.queue.requeue_unacked(Some(self.id));
        self.queue.lock().in_flight.remove(&self.id);
    }
}

#[async_trait]
impl Acker for MemoryAcker {
    async fn ack(mut self: Box<Self>) -> Result<(), QueueError> {
        self.settled = true;
        self.queue.settle(self.tag, None, "")
    }

    async fn nack(mut self: Box<Self>, requeue: bool, reason: &str) -> Result<(), QueueError> {
        self.settled = true;
        self.queue.settle(self.tag, Some(requeue), reason)
    }
}

impl Drop for MemoryAcker {
    fn drop(&mut self) {
        if !self.settled {
            // Already gone when its consumer was dropped or the queue closed: nothing to do.
            let _ = self.queue.settle(self.tag, Some(true), "");
        }
    }
}

#[cfg(test)]
mod tests;
