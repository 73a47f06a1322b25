//! [`RedisStore`]: the [`Store`] of the distributed mode, on a Redis server.
//!
//! Mapping (every key is stored as `prefix + key`, see [`RedisStore::connect_with_prefix`]):
//! - a plain value is a Redis string: `get` = `GET`, `set` = `SET` (replaces any type and
//!   clears any expiry), `set_nx` = `SET NX [PX]`, `set_expiring` = `SET PX`, `incr` = `INCR`
//!   (which keeps the expiry), `delete` = `DEL`;
//! - a hash is a Redis hash (`HSET`, `HGET`, `HGETALL`, `HDEL`); Redis removes a hash whose
//!   last field is deleted, as the trait requires;
//! - a stream is a Redis list: `append` = `RPUSH`, whose reply (the new length) is the entry's
//!   sequence number, and `read_stream(after, limit)` = `LRANGE after after+limit-1`, entry `i`
//!   (from 0) having sequence number `i + 1`;
//! - `keys(prefix)` = `SCAN MATCH` on the prefix with its glob characters escaped, sorted;
//! - `renew` and `delete_if` are Lua scripts, so the comparison with `expected` and the
//!   `PEXPIRE` or `DEL` are one atomic step; another type at the key is "not equal", not an error.
//!
//! Why lists and not Redis streams: the contract numbers a stream's entries 1, 2, 3, ... with no
//! gap and restarts at 1 after a delete. Redis stream ids are `<ms>-<n>` chosen by the server;
//! numbering them ourselves would need a script per append and a second key for the counter.
//! A list gives the numbering for free (its length), appends in O(1) and reads a range in
//! O(after + limit). Nothing ever trims a list, so index and sequence number stay aligned.
//!
//! Errors: `WRONGTYPE`, "not an integer" and overflow replies are [`StoreError::WrongType`];
//! a lost connection, a refused one, a timeout, or any other server refusal is
//! [`StoreError::Unavailable`], whose message names the server by its URL without credentials.
//! A call cut by a lost connection may or may not have been applied; it is never retried here,
//! since `incr` and `append` are not idempotent.
//!
//! The connection is a [`ConnectionManager`]: one multiplexed connection shared by all clones,
//! re-established in the background after a failure. Connecting gives up after
//! [`CONNECTION_TIMEOUT`] per attempt and [`CONNECTION_RETRIES`] retries, and a reply that does
//! not arrive within [`RESPONSE_TIMEOUT`] fails the call, so no call waits forever on a server
//! that is down or stuck.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, Script, ServerErrorKind};

use crate::store::{Store, StoreError, StreamEntry};

/// How long one attempt to open a connection may take.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);
/// How many times a failed connection attempt is retried (with a backoff from 100 ms to 1 s)
/// before the waiting calls fail.
pub const CONNECTION_RETRIES: usize = 2;
/// How long a call waits for the server's reply.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest expiry sent to Redis, in milliseconds (about 146 million years): Redis refuses an
/// expiry whose absolute time overflows, so longer TTLs are capped to this.
const MAX_TTL_MS: u64 = 1 << 62;

/// Extends the expiry of `KEYS[1]` to `ARGV[2]` ms if it is a string equal to `ARGV[1]`.
const RENEW: &str = r"
if redis.call('TYPE', KEYS[1]).ok == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return 1
end
return 0
";

/// Deletes `KEYS[1]` if it is a string equal to `ARGV[1]`.
const DELETE_IF: &str = r"
if redis.call('TYPE', KEYS[1]).ok == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('DEL', KEYS[1])
    return 1
end
return 0
";

/// Keys asked of the server per `SCAN` round trip.
const SCAN_COUNT: usize = 1000;

/// A store on a Redis server; clones share one connection.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    inner: Arc<Inner>,
}

struct Inner {
    /// The server's URL without credentials, for messages.
    url: String,
    /// Prepended to every key.
    prefix: String,
    /// `prefix` with its glob characters escaped, for `SCAN MATCH`.
    pattern_prefix: Vec<u8>,
    renew: Script,
    delete_if: Script,
}

impl RedisStore {
    /// Connects to the server at `url` (e.g. `redis://127.0.0.1:6379/0`), keys unprefixed.
    pub async fn connect(url: &str) -> Result<RedisStore, StoreError> {
        Self::connect_with_prefix(url, "").await
    }

    /// Connects to the server at `url` and stores every key under `prefix` (e.g. `secuml:`),
    /// so several stores share one server without meeting; [`Store::keys`] returns keys
    /// without it. Fails with [`StoreError::Unavailable`] if the server cannot be reached.
    pub async fn connect_with_prefix(url: &str, prefix: &str) -> Result<RedisStore, StoreError> {
        let shown = redact(url);
        let unavailable = |e: RedisError| StoreError::Unavailable(format!("{shown}: {e}"));
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(CONNECTION_RETRIES)
            .set_min_delay(Duration::from_millis(100))
            .set_max_delay(Duration::from_secs(1));
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(unavailable)?;
        tracing::debug!(url = %shown, prefix, "connected to redis");
        Ok(RedisStore {
            conn,
            inner: Arc::new(Inner {
                url: shown,
                prefix: prefix.to_string(),
                pattern_prefix: glob_escape(prefix.as_bytes()),
                renew: Script::new(RENEW),
                delete_if: Script::new(DELETE_IF),
            }),
        })
    }

    /// The key as stored on the server.
    fn full(&self, key: &str) -> Vec<u8> {
        let mut full = Vec::with_capacity(self.inner.prefix.len() + key.len());
        full.extend_from_slice(self.inner.prefix.as_bytes());
        full.extend_from_slice(key.as_bytes());
        full
    }

    /// Sends `cmd`, mapping its error for `key`.
    async fn query<T: redis::FromRedisValue>(
        &self,
        key: &str,
        cmd: &redis::Cmd,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        cmd.query_async(&mut conn)
            .await
            .map_err(|e| self.error(key, e))
    }

    /// Runs a compare-and-act script on `key` with `args`.
    async fn script(&self, script: &Script, key: &str, args: &[&[u8]]) -> Result<bool, StoreError> {
        let mut invocation = script.key(self.full(key));
        for arg in args {
            invocation.arg(*arg);
        }
        let mut conn = self.conn.clone();
        let done: i64 = invocation
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.error(key, e))?;
        Ok(done == 1)
    }

    fn error(&self, key: &str, e: RedisError) -> StoreError {
        let not_a_number = e.kind() == ErrorKind::Server(ServerErrorKind::ResponseError)
            && e.detail()
                .is_some_and(|d| d.contains("not an integer") || d.contains("overflow"));
        if e.code() == Some("WRONGTYPE") || not_a_number {
            return StoreError::WrongType {
                key: key.to_string(),
                reason: e.to_string(),
            };
        }
        if matches!(e.kind(), ErrorKind::Parse | ErrorKind::UnexpectedReturnType) {
            return StoreError::Corrupt {
                path: key.to_string(),
                reason: e.to_string(),
            };
        }
        tracing::debug!(url = %self.inner.url, key, error = %e, "redis call failed");
        StoreError::Unavailable(format!("{}: {e}", self.inner.url))
    }

    /// A key read back from the server, without the prefix.
    fn unprefixed(&self, full: Vec<u8>) -> Result<String, StoreError> {
        let prefix = self.inner.prefix.as_bytes();
        let key = full.strip_prefix(prefix).unwrap_or(&full).to_vec();
        String::from_utf8(key).map_err(|e| StoreError::Corrupt {
            path: String::from_utf8_lossy(e.as_bytes()).into_owned(),
            reason: "key is not UTF-8".to_string(),
        })
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.inner.url)
            .field("prefix", &self.inner.prefix)
            .finish()
    }
}

/// `ttl` in whole milliseconds, rounded up, at least one, at most [`MAX_TTL_MS`].
fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_nanos().div_ceil(1_000_000))
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_TTL_MS)
}

/// `text` with the glob characters of `SCAN MATCH` (`* ? [ ] \`) escaped.
fn glob_escape(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for &b in text {
        if matches!(b, b'*' | b'?' | b'[' | b']' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// `url` without its user, password and query (where a socket URL may carry a password).
fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (hidden, rest) = match rest.rsplit_once('@') {
        Some((_, host)) => ("***@", host),
        None => ("", rest),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    if scheme.is_empty() {
        format!("{hidden}{rest}")
    } else {
        format!("{scheme}://{hidden}{rest}")
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.query(key, redis::cmd("GET").arg(self.full(key))).await
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.query(key, redis::cmd("SET").arg(self.full(key)).arg(value))
            .await
    }

    async fn set_nx(
        &self,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.full(key)).arg(value).arg("NX");
        if let Some(ttl) = ttl {
            cmd.arg("PX").arg(ttl_ms(ttl));
        }
        let reply: Option<String> = self.query(key, &cmd).await?;
        Ok(reply.is_some())
    }

    async fn set_expiring(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.full(key))
            .arg(value)
            .arg("PX")
            .arg(ttl_ms(ttl));
        self.query(key, &cmd).await
    }

    async fn renew(&self, key: &str, expected: &[u8], ttl: Duration) -> Result<bool, StoreError> {
        let ms = ttl_ms(ttl).to_string();
        self.script(&self.inner.renew, key, &[expected, ms.as_bytes()])
            .await
    }

    async fn delete_if(&self, key: &str, expected: &[u8]) -> Result<bool, StoreError> {
        self.script(&self.inner.delete_if, key, &[expected]).await
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let removed: i64 = self
            .query(key, redis::cmd("DEL").arg(self.full(key)))
            .await?;
        Ok(removed > 0)
    }

    async fn incr(&self, key: &str) -> Result<i64, StoreError> {
        self.query(key, redis::cmd("INCR").arg(self.full(key)))
            .await
    }

    async fn hset(&self, key: &str, field: &str, value: &[u8]) -> Result<(), StoreError> {
        let _added: i64 = self
            .query(
                key,
                redis::cmd("HSET").arg(self.full(key)).arg(field).arg(value),
            )
            .await?;
        Ok(())
    }

    async fn hget(&self, key: &str, field: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.query(key, redis::cmd("HGET").arg(self.full(key)).arg(field))
            .await
    }

    async fn hgetall(&self, key: &str) -> Result<BTreeMap<String, Vec<u8>>, StoreError> {
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = self
            .query(key, redis::cmd("HGETALL").arg(self.full(key)))
            .await?;
        pairs
            .into_iter()
            .map(|(field, value)| match String::from_utf8(field) {
                Ok(field) => Ok((field, value)),
                Err(_) => Err(StoreError::Corrupt {
                    path: key.to_string(),
                    reason: "a field name is not UTF-8".to_string(),
                }),
            })
            .collect()
    }

    async fn hdel(&self, key: &str, field: &str) -> Result<bool, StoreError> {
        let removed: i64 = self
            .query(key, redis::cmd("HDEL").arg(self.full(key)).arg(field))
            .await?;
        Ok(removed > 0)
    }

    async fn append(&self, stream: &str, value: &[u8]) -> Result<u64, StoreError> {
        self.query(
            stream,
            redis::cmd("RPUSH").arg(self.full(stream)).arg(value),
        )
        .await
    }

    async fn read_stream(
        &self,
        stream: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StreamEntry>, StoreError> {
        // Indexes are i64 on the server; a range starting beyond them is empty. A limit of 0
        // must not reach the server: `LRANGE k 0 -1` would read the whole list.
        let Ok(start) = i64::try_from(after) else {
            return Ok(Vec::new());
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let span = i64::try_from(limit - 1).unwrap_or(i64::MAX);
        let stop = start.saturating_add(span);
        let values: Vec<Vec<u8>> = self
            .query(
                stream,
                redis::cmd("LRANGE")
                    .arg(self.full(stream))
                    .arg(start)
                    .arg(stop),
            )
            .await?;
        Ok(values
            .into_iter()
            .zip(after + 1..)
            .map(|(value, seq)| StreamEntry { seq, value })
            .collect())
    }

    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut pattern = self.inner.pattern_prefix.clone();
        pattern.extend(glob_escape(prefix.as_bytes()));
        pattern.push(b'*');
        let mut found = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<Vec<u8>>) = self
                .query(
                    prefix,
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(SCAN_COUNT),
                )
                .await?;
            for full in batch {
                found.push(self.unprefixed(full)?);
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        // SCAN may return a key twice (when the keyspace is rehashed during the walk).
        found.sort_unstable();
        found.dedup();
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_rounds_up_to_whole_milliseconds_at_least_one() {
        assert_eq!(ttl_ms(Duration::ZERO), 1);
        assert_eq!(ttl_ms(Duration::from_nanos(1)), 1);
        assert_eq!(ttl_ms(Duration::from_micros(1_001)), 2);
        assert_eq!(ttl_ms(Duration::from_millis(150)), 150);
        assert_eq!(ttl_ms(Duration::MAX), MAX_TTL_MS);
    }

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(glob_escape(b"job:1:"), b"job:1:");
        assert_eq!(glob_escape(br"a*b?c[d]e\f"), br"a\*b\?c\[d\]e\\f");
    }

    #[test]
    fn urls_are_shown_without_credentials() {
        assert_eq!(
            redact("redis://127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
        assert_eq!(
            redact("redis://user:s3cr/t@host:6379/2"),
            "redis://***@host:6379/2"
        );
        assert_eq!(redact("rediss://:p@ss@host"), "rediss://***@host");
        assert_eq!(
            redact("redis+unix:///run/redis.sock?db=1&pass=s3cret"),
            "redis+unix:///run/redis.sock"
        );
    }
}
