//! The [`Store`] conformance suite: the checks, and the [`store_conformance!`](crate::store_conformance) macro.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::store::{Store, StoreError};

/// Runs every store check as a `#[tokio::test]` on instances built by `$make`, an async
/// expression giving a fresh, isolated `impl Store` (e.g. under a random key prefix).
#[macro_export]
macro_rules! store_conformance {
    ($make:expr) => {
        $crate::store_conformance!(@tests $make;
            get_set_overwrite_missing, binary_values_and_odd_keys, set_nx_without_ttl, set_nx_with_ttl_expires,
            delete_each_kind, incr_from_missing, incr_under_concurrency_loses_nothing, hashes,
            hset_overwrite_is_idempotent, streams_number_from_one, concurrent_appends_have_no_gap,
            keys_by_prefix, kinds_do_not_mix, set_expiring_expires, leases_renew_and_release_only_their_own);
    };
    (@tests $make:expr; $($check:ident),*) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let store = ::std::sync::Arc::new($make.await);
                $crate::conformance::store::$check(store).await;
            }
        )*
    };
}

fn is_wrong_type<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::WrongType { .. }))
}

/// Plain values: missing, written, overwritten.
pub async fn get_set_overwrite_missing<S: Store>(store: Arc<S>) {
    assert_eq!(store.get("a").await.unwrap(), None);
    store.set("a", b"one").await.unwrap();
    assert_eq!(store.get("a").await.unwrap().as_deref(), Some(&b"one"[..]));
    store.set("a", b"two, longer than one").await.unwrap();
    assert_eq!(
        store.get("a").await.unwrap().as_deref(),
        Some(&b"two, longer than one"[..])
    );
    store.set("a", b"").await.unwrap();
    assert_eq!(
        store.get("a").await.unwrap().as_deref(),
        Some(&b""[..]),
        "empty is not missing"
    );
    assert_eq!(store.get("b").await.unwrap(), None);
}

/// Every byte value survives, in values, fields and streams; keys may hold any character.
pub async fn binary_values_and_odd_keys<S: Store>(store: Arc<S>) {
    let bytes: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    let key = "odd/key with spaces:é%=..";
    store.set(key, &bytes).await.unwrap();
    assert_eq!(store.get(key).await.unwrap(), Some(bytes.clone()));
    store.hset("h/ash", "fi/eld .", &bytes).await.unwrap();
    assert_eq!(
        store.hget("h/ash", "fi/eld .").await.unwrap(),
        Some(bytes.clone())
    );
    store.append("s/tream", &bytes).await.unwrap();
    assert_eq!(
        store.read_stream("s/tream", 0, 10).await.unwrap()[0].value,
        bytes
    );
    assert_eq!(
        store.keys("").await.unwrap(),
        vec!["h/ash".to_string(), key.to_string(), "s/tream".to_string()]
    );
}

/// `set_nx` writes once; later calls leave the first value.
pub async fn set_nx_without_ttl<S: Store>(store: Arc<S>) {
    assert!(store.set_nx("lease", b"first", None).await.unwrap());
    assert!(!store.set_nx("lease", b"second", None).await.unwrap());
    assert_eq!(
        store.get("lease").await.unwrap().as_deref(),
        Some(&b"first"[..])
    );
    store.hset("a-hash", "f", b"v").await.unwrap();
    assert!(
        !store.set_nx("a-hash", b"x", None).await.unwrap(),
        "a hash exists too"
    );
}

/// A value written with a TTL disappears after it; `set` clears the TTL.
pub async fn set_nx_with_ttl_expires<S: Store>(store: Arc<S>) {
    assert!(store
        .set_nx("lease", b"worker-1", Some(Duration::from_millis(150)))
        .await
        .unwrap());
    assert!(!store.set_nx("lease", b"worker-2", None).await.unwrap());
    assert!(store
        .set_nx("long", b"kept", Some(Duration::from_secs(600)))
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(store.get("lease").await.unwrap(), None);
    assert_eq!(store.keys("").await.unwrap(), vec!["long".to_string()]);
    assert!(
        !store.delete("lease").await.unwrap(),
        "an expired value does not exist"
    );
    assert!(store
        .set_nx("lease", b"worker-2", Some(Duration::from_millis(150)))
        .await
        .unwrap());
    store.set("lease", b"forever").await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        store.get("lease").await.unwrap().as_deref(),
        Some(&b"forever"[..])
    );
}

/// `delete` removes a plain value, a hash or a stream, and says whether there was one.
pub async fn delete_each_kind<S: Store>(store: Arc<S>) {
    store.set("v", b"1").await.unwrap();
    store.hset("h", "f1", b"1").await.unwrap();
    store.hset("h", "f2", b"2").await.unwrap();
    store.append("s", b"e1").await.unwrap();
    store.append("s", b"e2").await.unwrap();
    for key in ["v", "h", "s"] {
        assert!(store.delete(key).await.unwrap(), "{key} existed");
        assert!(!store.delete(key).await.unwrap(), "{key} is gone");
    }
    assert!(!store.delete("never").await.unwrap());
    assert_eq!(store.get("v").await.unwrap(), None);
    assert!(store.hgetall("h").await.unwrap().is_empty());
    assert!(store.read_stream("s", 0, 10).await.unwrap().is_empty());
    assert!(store.keys("").await.unwrap().is_empty());
    assert_eq!(
        store.append("s", b"again").await.unwrap(),
        1,
        "a deleted stream starts again from 1"
    );
}

/// A counter starts from 0, reads back as decimal text, and refuses a non-number.
pub async fn incr_from_missing<S: Store>(store: Arc<S>) {
    assert_eq!(store.incr("n").await.unwrap(), 1);
    assert_eq!(store.incr("n").await.unwrap(), 2);
    assert_eq!(store.get("n").await.unwrap().as_deref(), Some(&b"2"[..]));
    store.set("m", b"41").await.unwrap();
    assert_eq!(store.incr("m").await.unwrap(), 42);
    store.set("text", b"forty").await.unwrap();
    assert!(is_wrong_type(store.incr("text").await));
    store
        .set("max", i64::MAX.to_string().as_bytes())
        .await
        .unwrap();
    assert!(
        is_wrong_type(store.incr("max").await),
        "overflow is refused"
    );
}

/// N tasks times M increments give N×M: no update is lost.
pub async fn incr_under_concurrency_loses_nothing<S: Store>(store: Arc<S>) {
    const TASKS: usize = 8;
    const EACH: usize = 25;
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..EACH {
                seen.push(store.incr("counter").await.unwrap());
            }
            seen
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort_unstable();
    let expected: Vec<i64> = (1..=(TASKS * EACH) as i64).collect();
    assert_eq!(all, expected, "every increment returned a distinct value");
    assert_eq!(
        store.get("counter").await.unwrap(),
        Some((TASKS * EACH).to_string().into_bytes())
    );
}

/// Hash fields: write, read, read all, delete; a hash without fields is gone.
pub async fn hashes<S: Store>(store: Arc<S>) {
    assert!(store.hgetall("h").await.unwrap().is_empty());
    assert_eq!(store.hget("h", "f").await.unwrap(), None);
    store.hset("h", "b", b"2").await.unwrap();
    store.hset("h", "a", b"1").await.unwrap();
    assert_eq!(
        store.hget("h", "a").await.unwrap().as_deref(),
        Some(&b"1"[..])
    );
    assert_eq!(store.hget("h", "zz").await.unwrap(), None);
    let expected = BTreeMap::from([
        ("a".to_string(), b"1".to_vec()),
        ("b".to_string(), b"2".to_vec()),
    ]);
    assert_eq!(store.hgetall("h").await.unwrap(), expected);
    assert!(store.hdel("h", "a").await.unwrap());
    assert!(!store.hdel("h", "a").await.unwrap());
    assert!(!store.hdel("missing", "a").await.unwrap());
    assert_eq!(store.keys("h").await.unwrap(), vec!["h".to_string()]);
    assert!(store.hdel("h", "b").await.unwrap());
    assert!(
        store.keys("h").await.unwrap().is_empty(),
        "a hash without fields does not exist"
    );
    assert!(!store.delete("h").await.unwrap());
}

/// Writing a field again (a redelivered result) overwrites it and never adds a second one.
pub async fn hset_overwrite_is_idempotent<S: Store>(store: Arc<S>) {
    for attempt in 0..3 {
        store
            .hset("results", "task-7", format!("attempt {attempt}").as_bytes())
            .await
            .unwrap();
    }
    store.hset("results", "task-8", b"done").await.unwrap();
    let all = store.hgetall("results").await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all["task-7"], b"attempt 2");
}

/// Streams number entries from 1, read after a sequence number, and honour the limit.
pub async fn streams_number_from_one<S: Store>(store: Arc<S>) {
    assert!(store.read_stream("events", 0, 10).await.unwrap().is_empty());
    for i in 1..=10u64 {
        assert_eq!(
            store
                .append("events", format!("event {i}").as_bytes())
                .await
                .unwrap(),
            i
        );
    }
    let all = store.read_stream("events", 0, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(all[4].value, b"event 5");
    let page = store.read_stream("events", 3, 4).await.unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5, 6, 7]);
    assert_eq!(page[0].value, b"event 4");
    assert!(store.read_stream("events", 10, 5).await.unwrap().is_empty());
    assert!(store.read_stream("events", 0, 0).await.unwrap().is_empty());
    store.append("events", b"").await.unwrap();
    assert_eq!(
        store.read_stream("events", 10, 5).await.unwrap()[0].value,
        b"",
        "an empty entry is an entry"
    );
}

/// Concurrent appends get distinct, gap-free sequence numbers, and each reads back its own value.
pub async fn concurrent_appends_have_no_gap<S: Store>(store: Arc<S>) {
    const TASKS: usize = 4;
    const EACH: usize = 25;
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for i in 0..EACH {
                let value = format!("{t}:{i}");
                mine.push((store.append("log", value.as_bytes()).await.unwrap(), value));
            }
            mine
        }));
    }
    let mut written = BTreeMap::new();
    for task in tasks {
        written.extend(task.await.unwrap());
    }
    let read = store.read_stream("log", 0, usize::MAX).await.unwrap();
    assert_eq!(read.len(), TASKS * EACH);
    for (index, entry) in read.iter().enumerate() {
        assert_eq!(entry.seq, index as u64 + 1);
        assert_eq!(written[&entry.seq].as_bytes(), entry.value.as_slice());
    }
}

/// `keys` lists every kind of key under a prefix, sorted.
pub async fn keys_by_prefix<S: Store>(store: Arc<S>) {
    store.set("job:2:state", b"x").await.unwrap();
    store.hset("job:1:tasks", "t", b"x").await.unwrap();
    store.append("job:1:events", b"x").await.unwrap();
    store.set("jobs", b"x").await.unwrap();
    store.set("exp:1", b"x").await.unwrap();
    let expected = ["job:1:events", "job:1:tasks", "job:2:state"]
        .map(String::from)
        .to_vec();
    assert_eq!(store.keys("job:").await.unwrap(), expected);
    assert_eq!(store.keys("").await.unwrap().len(), 5);
    assert!(store.keys("nothing").await.unwrap().is_empty());
}

/// A key holds one kind: other operations fail with `WrongType`, and `set` replaces any kind.
pub async fn kinds_do_not_mix<S: Store>(store: Arc<S>) {
    store.set("v", b"1").await.unwrap();
    store.hset("h", "f", b"1").await.unwrap();
    store.append("s", b"1").await.unwrap();
    assert!(is_wrong_type(store.hset("v", "f", b"x").await));
    assert!(is_wrong_type(store.hget("v", "f").await));
    assert!(is_wrong_type(store.append("v", b"x").await));
    assert!(is_wrong_type(store.get("h").await));
    assert!(is_wrong_type(store.incr("h").await));
    assert!(is_wrong_type(store.read_stream("h", 0, 1).await));
    assert!(is_wrong_type(store.get("s").await));
    assert!(is_wrong_type(store.hgetall("s").await));
    store.set("h", b"plain now").await.unwrap();
    store.set("s", b"plain too").await.unwrap();
    assert_eq!(
        store.get("h").await.unwrap().as_deref(),
        Some(&b"plain now"[..])
    );
    assert_eq!(
        store.get("s").await.unwrap().as_deref(),
        Some(&b"plain too"[..])
    );
    assert!(store.hgetall("h").await.is_err());
}

/// `set_expiring` replaces any value and expires; a plain `set` afterwards clears the expiry.
pub async fn set_expiring_expires<S: Store>(store: Arc<S>) {
    store.hset("beat", "f", b"hash").await.unwrap();
    store
        .set_expiring("beat", b"alive", Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(
        store.get("beat").await.unwrap().as_deref(),
        Some(&b"alive"[..])
    );
    assert_eq!(store.keys("beat").await.unwrap(), vec!["beat".to_string()]);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(store.get("beat").await.unwrap(), None, "expired");
    assert!(store.keys("beat").await.unwrap().is_empty());
    store
        .set_expiring("beat", b"again", Duration::from_millis(300))
        .await
        .unwrap();
    store.set("beat", b"forever").await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        store.get("beat").await.unwrap().as_deref(),
        Some(&b"forever"[..])
    );
}

/// A lease is renewed and released only by the holder whose value it holds.
pub async fn leases_renew_and_release_only_their_own<S: Store>(store: Arc<S>) {
    let ttl = Duration::from_millis(400);
    assert!(
        !store.renew("lease", b"a", ttl).await.unwrap(),
        "no lease to renew"
    );
    assert!(!store.delete_if("lease", b"a").await.unwrap());
    assert!(store.set_nx("lease", b"a", Some(ttl)).await.unwrap());
    assert!(!store.set_nx("lease", b"b", Some(ttl)).await.unwrap());
    assert!(!store.renew("lease", b"b", ttl).await.unwrap(), "not b's");
    assert!(!store.delete_if("lease", b"b").await.unwrap(), "not b's");
    // Renewing past the first expiry keeps the lease alive.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(store.renew("lease", b"a", ttl).await.unwrap());
    }
    assert_eq!(
        store.get("lease").await.unwrap().as_deref(),
        Some(&b"a"[..])
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !store.renew("lease", b"a", ttl).await.unwrap(),
        "expired leases are gone"
    );
    assert!(
        store.set_nx("lease", b"b", Some(ttl)).await.unwrap(),
        "b takes it"
    );
    assert!(
        !store.delete_if("lease", b"a").await.unwrap(),
        "a cannot release b's lease"
    );
    assert!(store.delete_if("lease", b"b").await.unwrap());
    assert_eq!(store.get("lease").await.unwrap(), None);
    store.hset("h", "f", b"a").await.unwrap();
    assert!(
        !store.delete_if("h", b"a").await.unwrap(),
        "a hash is not a lease"
    );
    assert!(!store.renew("h", b"a", ttl).await.unwrap());
}
