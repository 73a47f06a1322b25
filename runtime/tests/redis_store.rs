//! Tests of [`RedisStore`] against real Redis servers: the conformance suite on a shared server
//! (`SECUML_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`), each check under a fresh random
//! prefix, and an outage of a server this file starts itself (`redis-server` must be on `PATH`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use secuml_runtime::conformance::unique_name;
use secuml_runtime::{RedisStore, Store, StoreError};

fn url() -> String {
    std::env::var("SECUML_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A store on the shared server under a prefix no other test uses.
async fn fresh_store() -> RedisStore {
    let prefix = format!("{}:", unique_name("secuml-test"));
    RedisStore::connect_with_prefix(&url(), &prefix)
        .await
        .unwrap_or_else(|e| panic!("the test server {} is not reachable: {e}", url()))
}

mod conformance {
    secuml_runtime::store_conformance!(super::fresh_store());
}

#[tokio::test]
async fn prefixes_isolate_stores_and_are_not_globs() {
    let base = unique_name("secuml-test");
    let star = RedisStore::connect_with_prefix(&url(), &format!("{base}:*:"))
        .await
        .unwrap();
    let plain = RedisStore::connect_with_prefix(&url(), &format!("{base}:a:"))
        .await
        .unwrap();
    star.set("k", b"star").await.unwrap();
    plain.set("k", b"plain").await.unwrap();
    plain.hset("[h]", "f", b"v").await.unwrap();
    assert_eq!(star.get("k").await.unwrap().as_deref(), Some(&b"star"[..]));
    assert_eq!(star.keys("").await.unwrap(), vec!["k".to_string()]);
    assert_eq!(
        plain.keys("").await.unwrap(),
        vec!["[h]".to_string(), "k".to_string()]
    );
    assert_eq!(plain.keys("[h").await.unwrap(), vec!["[h]".to_string()]);
    assert!(plain.keys("?").await.unwrap().is_empty());
    for store in [&star, &plain] {
        for key in store.keys("").await.unwrap() {
            store.delete(&key).await.unwrap();
        }
    }
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_without_its_password() {
    let port = free_port();
    let started = Instant::now();
    let result = RedisStore::connect(&format!("redis://user:hunter2@127.0.0.1:{port}/0")).await;
    let Err(StoreError::Unavailable(message)) = result else {
        panic!("expected Unavailable, got {result:?}");
    };
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// A `redis-server` child on a loopback port, with an append-only file in `dir`; killed on drop.
struct Server {
    child: Option<Child>,
    port: u16,
}

impl Server {
    fn start(dir: &Path, port: u16) -> Server {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(dir)
            .args(["--logfile", "redis.log"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on PATH");
        let server = Server {
            child: Some(child),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !server.answers_ping() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn answers_ping(&self) -> bool {
        let reply = send(self.port, b"PING\r\n");
        reply.as_deref() == Some(&b"+PONG\r\n"[..])
    }

    /// Shuts the server down cleanly (its append-only file is complete) and waits for it.
    fn stop(&mut self) {
        let _ = send(self.port, b"SHUTDOWN\r\n");
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().expect("wait").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("redis-server did not shut down");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends one inline command and returns the first reply read, if the server answers.
fn send(port: u16, command: &[u8]) -> Option<Vec<u8>> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream.write_all(command).ok()?;
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf).ok()?;
    Some(buf[..n].to_vec())
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Runs `call` until it succeeds, at most `within`.
async fn eventually<T, F, Fut>(within: Duration, mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let deadline = Instant::now() + within;
    loop {
        match call().await {
            Ok(value) => return value,
            Err(e) if Instant::now() < deadline => {
                tracing::debug!(error = %e, "not yet");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("still failing after {within:?}: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = Server::start(dir.path(), port);
    let store = RedisStore::connect(&format!("redis://127.0.0.1:{port}"))
        .await
        .unwrap();
    store.set("v", b"kept").await.unwrap();
    store.hset("h", "f", b"field").await.unwrap();
    store.append("s", b"first").await.unwrap();
    assert_eq!(store.incr("n").await.unwrap(), 1);

    server.stop();
    // The first call meets the dropped connection, the next ones the failing reconnection:
    // each fails with Unavailable, quickly.
    for attempt in 0..3 {
        let started = Instant::now();
        let result = tokio::time::timeout(Duration::from_secs(15), store.get("v"))
            .await
            .expect("a call during the outage returns");
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "attempt {attempt}: {result:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "attempt {attempt}"
        );
    }
    let result = tokio::time::timeout(Duration::from_secs(15), store.append("s", b"lost"))
        .await
        .expect("a write during the outage returns");
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );

    let _server = Server::start(dir.path(), port);
    let value = eventually(Duration::from_secs(15), || store.get("v")).await;
    assert_eq!(value.as_deref(), Some(&b"kept"[..]));
    assert_eq!(
        store.hget("h", "f").await.unwrap().as_deref(),
        Some(&b"field"[..])
    );
    let entries = store.read_stream("s", 0, 10).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].value, b"first");
    assert_eq!(store.append("s", b"second").await.unwrap(), 2);
    assert_eq!(store.incr("n").await.unwrap(), 2);
    assert!(
        store
            .renew("n", b"2", Duration::from_secs(60))
            .await
            .unwrap(),
        "scripts are reloaded"
    );
}
