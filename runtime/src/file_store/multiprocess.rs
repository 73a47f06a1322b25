//! Tests of a [`FileStore`] shared by several processes: the test binary runs itself again as
//! child processes, each running [`child_process`] in the role named by [`ROLE_VAR`].

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Durability, FileStore};
use crate::store::Store;

/// Names the role of a child process; absent in the parent.
const ROLE_VAR: &str = "SECUML_RUNTIME_TEST_ROLE";
/// The store folder the children share.
const DIR_VAR: &str = "SECUML_RUNTIME_TEST_DIR";
/// Increments per `incr` child.
const INCREMENTS: i64 = 500;
/// Stream entries and hash fields per writer child.
const WRITES: usize = 300;
const WRITERS: usize = 2;
/// How long a reader waits for the writers before failing.
const READER_PATIENCE: Duration = Duration::from_secs(120);

/// The entry point of the children; returns at once in a normal test run.
#[test]
fn child_process() {
    let Ok(role) = std::env::var(ROLE_VAR) else {
        return;
    };
    let dir = std::env::var(DIR_VAR).expect("store folder");
    // The children skip fsync: what they test is atomicity between processes, not power cuts.
    let store = FileStore::open_with(&dir, Durability::Process).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        match role.split_once(':') {
            None if role == "incr" => {
                for _ in 0..INCREMENTS {
                    store.incr("counter").await.unwrap();
                }
            }
            Some(("writer", id)) => write(&store, id).await,
            None if role == "reader" => read_until_complete(&store).await,
            None if role == "endless-appender" => loop {
                store
                    .append("endless", &expected_value("endless", 0))
                    .await
                    .unwrap();
            },
            _ => panic!("unknown role {role}"),
        }
    });
}

/// A value that tells its own writer and index, long enough that a torn one would show.
fn expected_value(writer: &str, index: usize) -> Vec<u8> {
    let mut value = format!("{writer}:{index}:").into_bytes();
    value.resize(4096 + index % 97, b'a' + (index % 26) as u8);
    value
}

async fn write(store: &FileStore, id: &str) {
    for index in 0..WRITES {
        let value = expected_value(id, index);
        store.append("events", &value).await.unwrap();
        store
            .hset("results", &format!("{id}:{index}"), &value)
            .await
            .unwrap();
    }
}

/// Reads the stream and the hash over and over while the writers run, checking every read.
async fn read_until_complete(store: &FileStore) {
    let started = Instant::now();
    let total = WRITERS * WRITES;
    loop {
        let entries = store.read_stream("events", 0, usize::MAX).await.unwrap();
        let mut next_index: BTreeMap<String, usize> = BTreeMap::new();
        for (position, entry) in entries.iter().enumerate() {
            assert_eq!(entry.seq, position as u64 + 1, "sequence without gap");
            let text =
                String::from_utf8_lossy(&entry.value[..entry.value.len().min(32)]).into_owned();
            let mut parts = text.split(':');
            let (writer, index) = (
                parts.next().unwrap().to_string(),
                parts.next().unwrap().parse::<usize>().unwrap(),
            );
            assert_eq!(entry.value, expected_value(&writer, index), "entry whole");
            let expected_index = next_index.entry(writer).or_default();
            assert_eq!(
                index, *expected_index,
                "each writer's entries in order, none missing"
            );
            *expected_index += 1;
        }
        let fields = store.hgetall("results").await.unwrap();
        for (field, value) in &fields {
            let (writer, index) = field.split_once(':').unwrap();
            assert_eq!(
                value,
                &expected_value(writer, index.parse().unwrap()),
                "field {field} whole"
            );
        }
        if entries.len() == total && fields.len() == total {
            return;
        }
        assert!(entries.len() <= total && fields.len() <= total);
        assert!(
            started.elapsed() < READER_PATIENCE,
            "writers did not finish: {} entries",
            entries.len()
        );
    }
}

fn spawn_child(role: &str, dir: &Path) -> Child {
    let test_name = concat!(module_path!(), "::child_process");
    let test_name = test_name
        .split_once("::")
        .map_or(test_name, |(_, rest)| rest);
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test_name, "--nocapture", "--test-threads", "1"])
        .env(ROLE_VAR, role)
        .env(DIR_VAR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_success(children: Vec<Child>) {
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "child process failed: {}\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[tokio::test]
async fn four_processes_increment_one_counter_without_losing_any() {
    let dir = tempfile::tempdir().unwrap();
    let children = (0..4).map(|_| spawn_child("incr", dir.path())).collect();
    tokio::task::spawn_blocking(move || wait_success(children))
        .await
        .unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    assert_eq!(
        store.get("counter").await.unwrap(),
        Some((4 * INCREMENTS).to_string().into_bytes())
    );
}

#[tokio::test]
async fn a_reader_process_sees_whole_entries_from_two_writer_processes() {
    let dir = tempfile::tempdir().unwrap();
    let mut children: Vec<Child> = (0..WRITERS)
        .map(|id| spawn_child(&format!("writer:w{id}"), dir.path()))
        .collect();
    children.push(spawn_child("reader", dir.path()));
    tokio::task::spawn_blocking(move || wait_success(children))
        .await
        .unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    let entries = store.read_stream("events", 0, usize::MAX).await.unwrap();
    assert_eq!(
        entries.last().map(|e| e.seq),
        Some((WRITERS * WRITES) as u64)
    );
    assert_eq!(
        store.hgetall("results").await.unwrap().len(),
        WRITERS * WRITES
    );
}

#[tokio::test]
async fn a_process_killed_mid_append_leaves_a_readable_stream() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    let mut child = spawn_child("endless-appender", dir.path());
    let started = Instant::now();
    while store
        .read_stream("endless", 100, 1)
        .await
        .unwrap()
        .is_empty()
    {
        assert!(
            started.elapsed() < READER_PATIENCE,
            "the appender makes no progress"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let entries = store.read_stream("endless", 0, usize::MAX).await.unwrap();
    assert!(entries.len() >= 101);
    for (position, entry) in entries.iter().enumerate() {
        assert_eq!(entry.seq, position as u64 + 1);
        assert_eq!(entry.value, expected_value("endless", 0));
    }
    let next = store.append("endless", b"after the crash").await.unwrap();
    assert_eq!(next, entries.len() as u64 + 1);
    assert_eq!(
        store.read_stream("endless", next - 1, 1).await.unwrap()[0].value,
        b"after the crash"
    );
    // The lock of a killed process is released by the kernel: the counter is not stuck either.
    assert_eq!(store.incr("endless-counter").await.unwrap(), 1);
}
