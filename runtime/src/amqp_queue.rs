//! [`AmqpQueue`]: the [`TaskQueue`] of the distributed mode, on RabbitMQ through lapin.
//!
//! # Queues and messages
//! - Every queue is durable and, where the server supports it, a quorum queue
//!   (`x-queue-type: quorum`). If the broker refuses a quorum declaration (an old server, the
//!   feature disabled, or a classic queue of that name already there), the queue is declared
//!   classic and durable instead, and a warning is logged. A classic queue has no delivery limit.
//! - Each queue `q` gets its dead-letter queue `q.dead` ([`dead_letter_queue`]), declared first.
//!   `q` also names it as its broker-side dead-letter target (`x-dead-letter-exchange` the
//!   default exchange, `x-dead-letter-routing-key` `q.dead`) with `x-delivery-limit`
//!   ([`AmqpOptions::delivery_limit`]): a message that keeps killing its consumers is moved to
//!   `q.dead` by the broker instead of looping forever. Its [`Delivery::dead_reason`] then comes
//!   from the `x-death` header, or is the fixed text `"delivery limit exceeded"`.
//! - Messages are persistent (delivery mode 2), published with `mandatory` to the default
//!   exchange on a channel in confirm mode: [`TaskQueue::publish`] returns once the broker
//!   confirmed; a returned message (no such queue) is [`QueueError::NoSuchQueue`], a nack is
//!   [`QueueError::Unavailable`].
//! - A queue whose name ends in `.dead` is treated as a dead-letter queue: its deliveries carry
//!   a `dead_reason`, and rejecting one without requeue discards it.
//!
//! # Rejecting to the dead-letter queue with a reason
//! The broker's own dead-lettering cannot attach our reason, so [`Delivery::nack`] without
//! requeue (1) publishes a copy of the message to `q.dead`, with the reason in the header
//! `x-secuml-reason`, and waits for the broker's confirm, then (2) acks the original. The order
//! makes the step loss-free: until (2) the original stays unacknowledged in `q`, so a crash or a
//! cut connection between (1) and (2) makes the broker redeliver it (it may then reach `q.dead`
//! twice: at least once, never zero times). If (1) fails, the call returns the error and the
//! original is returned to `q`. Each delivery keeps a copy of its payload for this purpose.
//!
//! # Consumers
//! Each [`Consumer`] has its own channel, with `basic_qos(prefetch)` on it, and manual acks.
//! Dropping a [`Delivery`] unsettled nacks it with requeue from a spawned task; dropping a
//! [`Consumer`] closes its channel, so the broker returns its unacknowledged deliveries, and
//! settling them afterwards fails with [`QueueError::InvalidDelivery`] (checked locally,
//! without touching the wire). When the broker cancels a consumer (its queue was deleted),
//! [`Consumer::next`] returns `Ok(None)`.
//!
//! # Reconnection
//! lapin 4 has an optional automatic recovery (`ConnectionProperties::enable_auto_recover`):
//! its IO loop reconnects and replays the declared topology and the consumers, and callers wait
//! with `Channel::wait_for_recovery`. It is not used here: this queue needs a bounded wait that
//! ends in [`QueueError::Unavailable`], deliveries taken before the cut voided in a way it can
//! check itself, and the same path for a server-side close, a network cut and a channel closed
//! by the broker. So the queue does its own, at the level of its operations:
//! - one shared connection (named [`AmqpOptions::connection_name`], as shown by
//!   `rabbitmqctl list_connections`), opened on first use after a loss, behind an async mutex so
//!   that only one caller reconnects, with exponential backoff (100 ms to 5 s);
//! - every operation (declare, publish, len, delete, subscribe) that fails because the connection
//!   or channel went away is retried on a new connection until
//!   [`AmqpOptions::reconnect_timeout`] (default 60 s) has passed since the first failure, then
//!   fails with [`QueueError::Unavailable`]. A publish that was in flight when the connection
//!   dropped is published again: a message may be duplicated, never lost (at-least-once);
//! - every [`Consumer`] re-subscribes on the new connection in [`Consumer::next`]. Deliveries
//!   taken before the cut are void (settling them fails with [`QueueError::InvalidDelivery`]);
//!   the broker returned them to the queue and delivers them again with `redelivered` set.
//!
//! # Consumer timeout
//! RabbitMQ 3.10 closes the channel of a consumer that holds a delivery unacknowledged longer than
//! its `consumer_timeout` (30 minutes by default, set in `rabbitmq.conf`), returning its
//! deliveries. The product relies on tasks sized well under that limit; a deployment that needs
//! longer tasks raises `consumer_timeout` in `rabbitmq.conf`. Should it happen anyway, the
//! consumer re-subscribes like after a connection loss and the task is delivered again.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    BasicRejectOptions, ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ErrorKind};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::queue::{dead_letter_queue, Acker, Consumer, Delivery, QueueError, TaskQueue};

/// The header carrying the reason of a rejection in a dead-letter queue.
pub const REASON_HEADER: &str = "x-secuml-reason";
/// The reason of a message the broker dead-lettered after too many deliveries.
pub const DELIVERY_LIMIT_REASON: &str = "delivery limit exceeded";

const PERSISTENT: u8 = 2;
const REPLY_SUCCESS: u16 = 200;
const NOT_FOUND: u16 = 404;
const CONNECTION_FORCED: u16 = 320;
const INTERNAL_ERROR: u16 = 541;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
const CONNECT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings of an [`AmqpQueue`].
#[derive(Debug, Clone)]
pub struct AmqpOptions {
    /// The name of the connection, shown by `rabbitmqctl list_connections` and the management UI.
    pub connection_name: String,
    /// If set, the broker deletes a queue unused this long (`x-expires`); for tests.
    pub queue_expires: Option<Duration>,
    /// Deliveries of one message after which the broker moves it to the dead-letter queue
    /// (`x-delivery-limit`, quorum queues only); 0 sets no limit.
    pub delivery_limit: u32,
    /// How long an operation keeps retrying on new connections after a connection loss
    /// before it fails with [`QueueError::Unavailable`].
    pub reconnect_timeout: Duration,
}

impl Default for AmqpOptions {
    fn default() -> Self {
        Self {
            connection_name: "secuml".to_string(),
            queue_expires: None,
            delivery_limit: 10,
            reconnect_timeout: Duration::from_secs(60),
        }
    }
}

/// Named queues on a RabbitMQ broker; clones share one connection.
#[derive(Clone)]
pub struct AmqpQueue {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AmqpQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpQueue")
            .field("connection_name", &self.inner.options.connection_name)
            .field("closed", &self.inner.closed.load(Ordering::Acquire))
            .finish()
    }
}

struct Inner {
    url: String,
    options: AmqpOptions,
    /// The current connection; `None` once lost, until the next operation reconnects.
    link: tokio::sync::Mutex<Option<Arc<Link>>>,
    closed: AtomicBool,
    /// Set to `true` by [`TaskQueue::close`]; consumers watch it.
    closed_signal: watch::Sender<bool>,
}

/// One connection to the broker, with its publishing channel.
struct Link {
    connection: Connection,
    /// Channel in confirm mode for publishing; replaced if the broker closes it.
    publisher: tokio::sync::Mutex<Option<Channel>>,
    /// Counts connections opened by this queue, for the logs.
    generation: u64,
}

/// Why one attempt of an operation failed.
enum Failure {
    /// The queue does not exist (AMQP 404).
    NotFound,
    /// The broker refused the command (any other AMQP error); retrying would not help.
    Refused(String),
    /// The connection or the channel went away: retry on a new one.
    Link(String),
    /// A final error of the operation itself.
    Final(QueueError),
}

impl From<lapin::Error> for Failure {
    fn from(error: lapin::Error) -> Self {
        match error.kind() {
            ErrorKind::ProtocolError(amqp) => match amqp.get_id() {
                NOT_FOUND => Failure::NotFound,
                CONNECTION_FORCED | INTERNAL_ERROR => Failure::Link(error.to_string()),
                _ => Failure::Refused(error.to_string()),
            },
            _ => Failure::Link(error.to_string()),
        }
    }
}

impl Failure {
    fn into_queue_error(self, queue: &str) -> QueueError {
        match self {
            Failure::NotFound => QueueError::NoSuchQueue(queue.to_string()),
            Failure::Refused(message) => QueueError::Unavailable(format!(
                "the broker refused an operation on `{queue}`: {message}"
            )),
            Failure::Link(message) => QueueError::Unavailable(message),
            Failure::Final(error) => error,
        }
    }
}

impl AmqpQueue {
    /// Connects to the broker at `url` (`amqp://user:password@host:port/vhost`) with default options.
    pub async fn connect(url: &str) -> Result<Self, QueueError> {
        Self::connect_with(url, AmqpOptions::default()).await
    }

    /// Connects to the broker at `url` with `options`. The first connection is tried once:
    /// a wrong address or credentials fail at once with [`QueueError::Unavailable`].
    pub async fn connect_with(url: &str, options: AmqpOptions) -> Result<Self, QueueError> {
        let (closed_signal, _) = watch::channel(false);
        let inner = Inner {
            url: url.to_string(),
            options,
            link: tokio::sync::Mutex::new(None),
            closed: AtomicBool::new(false),
            closed_signal,
        };
        let link = inner.open_link(1).await?;
        *inner.link.lock().await = Some(Arc::new(link));
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The options this queue was opened with.
    pub fn options(&self) -> &AmqpOptions {
        &self.inner.options
    }
}

impl Inner {
    fn check_open(&self) -> Result<(), QueueError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(QueueError::Unavailable(
                "the AMQP queue is closed".to_string(),
            ));
        }
        Ok(())
    }

    async fn open_link(&self, generation: u64) -> Result<Link, QueueError> {
        let properties = ConnectionProperties::default()
            .with_connection_name(self.options.connection_name.clone().into());
        let connection = tokio::time::timeout(
            CONNECT_ATTEMPT_TIMEOUT,
            Connection::connect(&self.url, properties),
        )
        .await
        .map_err(|_| QueueError::Unavailable("connecting to the broker timed out".to_string()))?
        .map_err(|e| QueueError::Unavailable(format!("cannot connect to the broker: {e}")))?;
        info!(
            connection_name = %self.options.connection_name,
            generation,
            "connected to the AMQP broker"
        );
        Ok(Link {
            connection,
            publisher: tokio::sync::Mutex::new(None),
            generation,
        })
    }

    /// The current connection, reconnecting if it is lost, until `deadline`.
    async fn link(&self, deadline: Instant) -> Result<Arc<Link>, QueueError> {
        self.check_open()?;
        let mut current = self.link.lock().await;
        let mut generation = 1;
        if let Some(link) = current.as_ref() {
            if link.connection.status().connected() {
                return Ok(link.clone());
            }
            generation = link.generation;
            warn!(
                connection_name = %self.options.connection_name,
                generation,
                "the AMQP connection is lost; reconnecting"
            );
        }
        *current = None;
        let mut backoff = FIRST_BACKOFF;
        loop {
            self.check_open()?;
            generation += 1;
            match self.open_link(generation).await {
                Ok(link) => {
                    let link = Arc::new(link);
                    *current = Some(link.clone());
                    return Ok(link);
                }
                Err(error) => {
                    if Instant::now() + backoff > deadline {
                        warn!(%error, "giving up reconnecting to the AMQP broker");
                        return Err(error);
                    }
                    warn!(%error, retry_in_ms = backoff.as_millis() as u64, "reconnecting to the AMQP broker failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Runs `op` on the current connection, retrying on a new one after a connection loss
    /// until the reconnect timeout.
    async fn run<T, F, Fut>(&self, what: &'static str, queue: &str, mut op: F) -> Result<T, Failure>
    where
        F: FnMut(Arc<Link>) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let mut deadline = None;
        loop {
            let limit =
                *deadline.get_or_insert_with(|| Instant::now() + self.options.reconnect_timeout);
            let link = self.link(limit).await.map_err(Failure::Final)?;
            match op(link.clone()).await {
                Err(Failure::Link(message)) => {
                    self.check_open().map_err(Failure::Final)?;
                    if Instant::now() >= limit {
                        return Err(Failure::Link(message));
                    }
                    warn!(operation = what, queue, generation = link.generation, error = %message, "AMQP operation interrupted; retrying");
                    if link.connection.status().connected() {
                        // The connection is fine: only the publishing channel may be broken.
                        *link.publisher.lock().await = None;
                    }
                    tokio::time::sleep(FIRST_BACKOFF).await;
                }
                other => return other,
            }
        }
    }

    /// Runs a one-off command on its own channel (a refused command closes its channel).
    async fn run_on_channel<T, F, Fut>(
        &self,
        what: &'static str,
        queue: &str,
        op: F,
    ) -> Result<T, Failure>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<T, lapin::Error>>,
    {
        let op = &op;
        self.run(what, queue, move |link| async move {
            let channel = link.connection.create_channel().await?;
            let result = op(channel.clone()).await;
            if channel.status().connected() {
                let _ = channel.close(REPLY_SUCCESS, "done".into()).await;
            }
            result.map_err(Failure::from)
        })
        .await
    }

    fn queue_arguments(&self, dead: Option<&str>, quorum: bool) -> FieldTable {
        let mut arguments = FieldTable::default();
        if quorum {
            arguments.insert(
                "x-queue-type".into(),
                AMQPValue::LongString("quorum".into()),
            );
        }
        if let Some(expires) = self.options.queue_expires {
            let millis = i64::try_from(expires.as_millis())
                .unwrap_or(i64::MAX)
                .max(1);
            arguments.insert("x-expires".into(), AMQPValue::LongLongInt(millis));
        }
        if let Some(dead) = dead {
            arguments.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString("".into()),
            );
            arguments.insert(
                "x-dead-letter-routing-key".into(),
                AMQPValue::LongString(dead.into()),
            );
            if quorum && self.options.delivery_limit > 0 {
                arguments.insert(
                    "x-delivery-limit".into(),
                    AMQPValue::LongLongInt(i64::from(self.options.delivery_limit)),
                );
            }
        }
        arguments
    }

    /// Declares one durable queue, a quorum one if the broker accepts it.
    async fn declare_one(&self, name: &str, dead: Option<&str>) -> Result<(), QueueError> {
        let declare = |arguments: FieldTable| {
            self.run_on_channel("declare", name, move |channel| {
                let arguments = arguments.clone();
                async move {
                    channel
                        .queue_declare(name.into(), QueueDeclareOptions::durable(), arguments)
                        .await
                        .map(|_| ())
                }
            })
        };
        match declare(self.queue_arguments(dead, true)).await {
            Ok(()) => Ok(()),
            Err(Failure::Refused(refusal)) => {
                warn!(queue = name, %refusal, "the broker refused a quorum queue; declaring a classic durable queue");
                declare(self.queue_arguments(dead, false))
                    .await
                    .map_err(|f| f.into_queue_error(name))
            }
            Err(failure) => Err(failure.into_queue_error(name)),
        }
    }

    async fn publish_message(
        &self,
        queue: &str,
        payload: &[u8],
        headers: Option<FieldTable>,
    ) -> Result<(), QueueError> {
        self.check_open()?;
        let mut properties = BasicProperties::default().with_delivery_mode(PERSISTENT);
        if let Some(headers) = headers {
            properties = properties.with_headers(headers);
        }
        self.run("publish", queue, |link| {
            let properties = properties.clone();
            async move {
                let channel = link.publisher().await?;
                let options = BasicPublishOptions {
                    mandatory: true,
                    immediate: false,
                };
                let confirmation = channel
                    .basic_publish("".into(), queue.into(), options, payload, properties)
                    .await?
                    .await?;
                match confirmation {
                    Confirmation::Ack(None) => Ok(()),
                    Confirmation::Ack(Some(_returned)) => Err(Failure::NotFound),
                    Confirmation::Nack(_) => Err(Failure::Final(QueueError::Unavailable(format!(
                        "the broker did not accept a message for `{queue}` (nack)"
                    )))),
                    Confirmation::NotRequested => Err(Failure::Link(
                        "the publishing channel is not in confirm mode".to_string(),
                    )),
                }
            }
        })
        .await
        .map_err(|f| f.into_queue_error(queue))
    }

    async fn subscribe(
        self: &Arc<Self>,
        queue: &str,
        prefetch: u16,
    ) -> Result<Subscription, QueueError> {
        self.run("consume", queue, |link| async move {
            let channel = link.connection.create_channel().await?;
            channel.basic_qos(prefetch, BasicQosOptions::default()).await?;
            let consumer = channel
                .basic_consume(
                    queue.into(),
                    "".into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            debug!(queue, prefetch, generation = link.generation, consumer_tag = %consumer.tag(), "subscribed");
            Ok(Subscription {
                channel,
                consumer,
                alive: Arc::new(AtomicBool::new(true)),
                generation: link.generation,
            })
        })
        .await
        .map_err(|f| f.into_queue_error(queue))
    }
}

impl Link {
    async fn publisher(&self) -> Result<Channel, lapin::Error> {
        let mut publisher = self.publisher.lock().await;
        if let Some(channel) = publisher.as_ref() {
            if channel.status().connected() {
                return Ok(channel.clone());
            }
        }
        let channel = self.connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        *publisher = Some(channel.clone());
        Ok(channel)
    }
}

#[async_trait]
impl TaskQueue for AmqpQueue {
    async fn declare(&self, queue: &str) -> Result<(), QueueError> {
        self.inner.check_open()?;
        let dead = dead_letter_queue(queue);
        self.inner.declare_one(&dead, None).await?;
        self.inner.declare_one(queue, Some(&dead)).await
    }

    async fn publish(&self, queue: &str, payload: &[u8]) -> Result<(), QueueError> {
        self.inner.publish_message(queue, payload, None).await
    }

    async fn consume(&self, queue: &str, prefetch: u16) -> Result<Box<dyn Consumer>, QueueError> {
        self.inner.check_open()?;
        let subscription = self.inner.subscribe(queue, prefetch).await?;
        Ok(Box::new(AmqpConsumer {
            inner: self.inner.clone(),
            queue: queue.to_string(),
            is_dead_queue: queue.ends_with(".dead"),
            prefetch,
            closed: self.inner.closed_signal.subscribe(),
            subscription: Some(subscription),
            ended: false,
        }))
    }

    async fn len(&self, queue: &str) -> Result<usize, QueueError> {
        self.inner.check_open()?;
        self.inner
            .run_on_channel("len", queue, |channel| async move {
                let options = QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                };
                let declared = channel
                    .queue_declare(queue.into(), options, FieldTable::default())
                    .await?;
                Ok(declared.message_count() as usize)
            })
            .await
            .map_err(|f| f.into_queue_error(queue))
    }

    async fn delete_queue(&self, queue: &str) -> Result<(), QueueError> {
        self.inner.check_open()?;
        for name in [queue.to_string(), dead_letter_queue(queue)] {
            let name = name.as_str();
            let deleted = self
                .inner
                .run_on_channel("delete", name, |channel| async move {
                    channel
                        .queue_delete(name.into(), QueueDeleteOptions::default())
                        .await
                })
                .await;
            match deleted {
                Ok(messages) => debug!(queue = name, messages, "queue deleted"),
                Err(Failure::NotFound) => {}
                Err(failure) => return Err(failure.into_queue_error(name)),
            }
        }
        Ok(())
    }

    async fn close(&self) -> Result<(), QueueError> {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.inner.closed_signal.send_replace(true);
        let link = self.inner.link.lock().await.take();
        if let Some(link) = link {
            if link.connection.status().connected() {
                if let Err(error) = link.connection.close(REPLY_SUCCESS, "closed".into()).await {
                    debug!(%error, "closing the AMQP connection");
                }
            }
        }
        info!(connection_name = %self.inner.options.connection_name, "AMQP queue closed");
        Ok(())
    }
}

/// One `basic.consume` on its own channel, for one connection.
struct Subscription {
    channel: Channel,
    consumer: lapin::Consumer,
    /// Cleared when the subscription ends: its deliveries can no longer be settled.
    alive: Arc<AtomicBool>,
    generation: u64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.alive.store(false, Ordering::Release);
        if self.channel.status().connected() {
            // Closing the channel returns its unacknowledged deliveries to the queue. Without
            // a runtime, lapin closes it anyway when its last handle is dropped.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let channel = self.channel.clone();
                runtime.spawn(async move {
                    if let Err(error) = channel
                        .close(REPLY_SUCCESS, "consumer dropped".into())
                        .await
                    {
                        debug!(%error, "closing a consumer channel");
                    }
                });
            }
        }
    }
}

struct AmqpConsumer {
    inner: Arc<Inner>,
    queue: String,
    is_dead_queue: bool,
    prefetch: u16,
    closed: watch::Receiver<bool>,
    subscription: Option<Subscription>,
    /// Set once the broker cancelled the consumer (queue deleted) or the queue is closed.
    ended: bool,
}

#[async_trait]
impl Consumer for AmqpConsumer {
    async fn next(&mut self) -> Result<Option<Delivery>, QueueError> {
        loop {
            if self.ended || *self.closed.borrow() {
                self.ended = true;
                self.subscription = None;
                return Ok(None);
            }
            if self.subscription.is_none() {
                match self.inner.subscribe(&self.queue, self.prefetch).await {
                    Ok(subscription) => {
                        info!(queue = %self.queue, generation = subscription.generation, "consumer subscribed again");
                        self.subscription = Some(subscription);
                    }
                    Err(QueueError::NoSuchQueue(_)) => {
                        info!(queue = %self.queue, "the queue is gone; the consumer ends");
                        self.ended = true;
                        return Ok(None);
                    }
                    Err(error) if *self.closed.borrow() => {
                        debug!(%error, "subscribing after close");
                        self.ended = true;
                        return Ok(None);
                    }
                    Err(error) => return Err(error),
                }
            }
            let Some(subscription) = self.subscription.as_mut() else {
                continue;
            };
            let item = tokio::select! {
                biased;
                _ = self.closed.wait_for(|closed| *closed) => continue,
                item = subscription.consumer.next() => item,
            };
            match item {
                Some(Ok(delivery)) => return Ok(Some(self.wrap(delivery))),
                Some(Err(error)) => {
                    warn!(queue = %self.queue, generation = subscription.generation, %error, "consumer interrupted; subscribing again");
                    self.subscription = None;
                }
                None => {
                    if subscription.channel.status().connected() {
                        info!(queue = %self.queue, "the broker cancelled the consumer; it ends");
                        self.ended = true;
                        self.subscription = None;
                        return Ok(None);
                    }
                    warn!(queue = %self.queue, generation = subscription.generation, "consumer channel closed; subscribing again");
                    self.subscription = None;
                }
            }
        }
    }
}

impl AmqpConsumer {
    fn wrap(&self, delivery: lapin::message::Delivery) -> Delivery {
        let alive = self
            .subscription
            .as_ref()
            .map(|s| s.alive.clone())
            .unwrap_or_default();
        let dead_reason = self
            .is_dead_queue
            .then(|| dead_reason(delivery.properties.headers().as_ref()));
        let copy = (!self.is_dead_queue).then(|| delivery.data.clone());
        let acker = AmqpAcker {
            inner: self.inner.clone(),
            acker: delivery.acker,
            alive,
            queue: self.queue.clone(),
            payload: copy,
            settled: false,
        };
        Delivery::new(delivery.data, delivery.redelivered, Box::new(acker))
            .with_dead_reason(dead_reason)
    }
}

/// The reason of a message in a dead-letter queue: ours, else the broker's, else the delivery limit.
fn dead_reason(headers: Option<&FieldTable>) -> String {
    let Some(headers) = headers else {
        return DELIVERY_LIMIT_REASON.to_string();
    };
    let headers = headers.inner();
    if let Some(reason) = headers.get(REASON_HEADER).and_then(text) {
        return reason;
    }
    let broker_reason = match headers.get("x-death") {
        Some(AMQPValue::FieldArray(deaths)) => {
            deaths.as_slice().first().and_then(|death| match death {
                AMQPValue::FieldTable(death) => death.inner().get("reason").and_then(text),
                _ => None,
            })
        }
        _ => None,
    };
    match broker_reason.as_deref() {
        None | Some("delivery_limit") => DELIVERY_LIMIT_REASON.to_string(),
        Some(other) => format!("dead-lettered by the broker: {other}"),
    }
}

fn text(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_string()),
        _ => None,
    }
}

struct AmqpAcker {
    inner: Arc<Inner>,
    acker: lapin::Acker,
    alive: Arc<AtomicBool>,
    queue: String,
    /// A copy of the payload, to publish to the dead-letter queue; `None` in a dead-letter queue.
    payload: Option<Vec<u8>>,
    settled: bool,
}

impl AmqpAcker {
    fn check_valid(&self) -> Result<(), QueueError> {
        if !self.alive.load(Ordering::Acquire) || !self.acker.usable() {
            return Err(QueueError::InvalidDelivery(format!(
                "the consumer of `{}` or its channel is gone",
                self.queue
            )));
        }
        Ok(())
    }

    fn settle(outcome: Result<bool, lapin::Error>) -> Result<(), QueueError> {
        match outcome {
            Ok(true) => Ok(()),
            Ok(false) => Err(QueueError::InvalidDelivery(
                "the delivery was settled already or its channel closed".to_string(),
            )),
            Err(error) => Err(QueueError::InvalidDelivery(error.to_string())),
        }
    }
}

#[async_trait]
impl Acker for AmqpAcker {
    async fn ack(mut self: Box<Self>) -> Result<(), QueueError> {
        self.settled = true;
        self.check_valid()?;
        Self::settle(self.acker.ack(BasicAckOptions::default()).await)
    }

    async fn nack(mut self: Box<Self>, requeue: bool, reason: &str) -> Result<(), QueueError> {
        self.check_valid()?;
        if requeue {
            self.settled = true;
            let options = BasicNackOptions {
                multiple: false,
                requeue: true,
            };
            return Self::settle(self.acker.nack(options).await);
        }
        let Some(payload) = self.payload.take() else {
            // A message rejected from a dead-letter queue is discarded (it has no dead-letter target).
            self.settled = true;
            return Self::settle(
                self.acker
                    .reject(BasicRejectOptions { requeue: false })
                    .await,
            );
        };
        // First the copy, confirmed by the broker, then the ack (see the module doc): if the
        // copy fails, `self` is dropped unsettled and the original goes back to the queue.
        let mut headers = FieldTable::default();
        headers.insert(REASON_HEADER.into(), AMQPValue::LongString(reason.into()));
        let dead = dead_letter_queue(&self.queue);
        self.inner
            .publish_message(&dead, &payload, Some(headers))
            .await?;
        self.settled = true;
        debug!(queue = %self.queue, %reason, "message moved to the dead-letter queue");
        Self::settle(self.acker.ack(BasicAckOptions::default()).await)
    }
}

impl Drop for AmqpAcker {
    fn drop(&mut self) {
        if self.settled || !self.alive.load(Ordering::Acquire) || !self.acker.usable() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // Without a runtime the message goes back when the consumer's channel closes.
            return;
        };
        let acker = self.acker.clone();
        let queue = std::mem::take(&mut self.queue);
        runtime.spawn(async move {
            let options = BasicNackOptions {
                multiple: false,
                requeue: true,
            };
            if let Err(error) = acker.nack(options).await {
                debug!(queue = %queue, %error, "returning a dropped delivery");
            }
        });
    }
}
