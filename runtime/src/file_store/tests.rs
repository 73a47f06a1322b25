//! Tests of [`FileStore`]: the conformance suite under both durabilities, and what is
//! specific to files (reopening, leftovers of dead writers, foreign files).

use super::*;

mod conformance_sync {
    use super::{Durability, FileStore};
    crate::store_conformance!(async { FileStore::open_temporary(Durability::Sync).unwrap() });
}

mod conformance_process {
    use super::{Durability, FileStore};
    crate::store_conformance!(async { FileStore::open_temporary(Durability::Process).unwrap() });
}

#[tokio::test]
async fn data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = FileStore::open(dir.path()).unwrap();
        store.set("v", b"kept").await.unwrap();
        store.hset("h", "f", b"field").await.unwrap();
        store.append("s", b"entry").await.unwrap();
        assert_eq!(store.incr("n").await.unwrap(), 1);
    }
    let store = FileStore::open(dir.path()).unwrap();
    assert_eq!(store.get("v").await.unwrap().as_deref(), Some(&b"kept"[..]));
    assert_eq!(
        store.hget("h", "f").await.unwrap().as_deref(),
        Some(&b"field"[..])
    );
    assert_eq!(store.append("s", b"next").await.unwrap(), 2);
    assert_eq!(store.incr("n").await.unwrap(), 2);
}

#[tokio::test]
async fn leftovers_of_dead_writers_are_ignored_and_swept() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    store.set("v", b"whole").await.unwrap();
    // A writer that died between writing its temporary file and renaming it.
    let fresh = dir.path().join("tmp").join("999-1-00000000.tmp");
    let stale = dir.path().join("tmp").join("999-2-00000000.tmp");
    fs::write(&fresh, b"half a val").unwrap();
    fs::write(&stale, b"half a val").unwrap();
    let old = SystemTime::now() - 2 * STALE_TEMP;
    fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(old)
        .unwrap();
    // A file that is not ours, in the keys folder.
    fs::write(dir.path().join("keys").join("README"), b"not a key").unwrap();
    assert_eq!(store.keys("").await.unwrap(), vec!["v".to_string()]);
    assert_eq!(
        store.get("v").await.unwrap().as_deref(),
        Some(&b"whole"[..])
    );
    drop(store);
    let _reopened = FileStore::open(dir.path()).unwrap();
    assert!(
        fresh.exists(),
        "a recent temporary file may belong to a live writer"
    );
    assert!(!stale.exists(), "an old one is swept");
}

#[tokio::test]
async fn a_foreign_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("FORMAT"), "secuml-file-store 99\n").unwrap();
    assert!(matches!(
        FileStore::open(dir.path()),
        Err(StoreError::Corrupt { .. })
    ));
}

#[tokio::test]
async fn a_damaged_value_is_reported_as_corrupt() {
    let store = FileStore::open_temporary(Durability::Process).unwrap();
    store.set("v", b"x").await.unwrap();
    fs::write(store.path().join("keys").join("=v"), b"garbage").unwrap();
    assert!(matches!(
        store.get("v").await,
        Err(StoreError::Corrupt { .. })
    ));
}

#[tokio::test]
async fn a_key_too_long_for_a_file_name_is_refused() {
    let store = FileStore::open_temporary(Durability::Process).unwrap();
    let key = "é".repeat(60);
    assert!(matches!(
        store.set(&key, b"x").await,
        Err(StoreError::InvalidKey { .. })
    ));
    assert!(matches!(
        store.hset("h", &key, b"x").await,
        Err(StoreError::InvalidKey { .. })
    ));
}

#[tokio::test]
async fn a_temporary_store_is_removed_with_its_last_clone() {
    let store = FileStore::open_temporary(Durability::Process).unwrap();
    let path = store.path().to_path_buf();
    let clone = store.clone();
    drop(store);
    assert!(path.exists());
    drop(clone);
    assert!(!path.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_never_see_a_partial_value() {
    let store = FileStore::open_temporary(Durability::Process).unwrap();
    let sizes = [10usize, 100_000, 1, 300_000];
    store.set("big", &vec![0u8; sizes[0]]).await.unwrap();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for round in 1..200usize {
                let size = sizes[round % sizes.len()];
                store
                    .set("big", &vec![(round % 251) as u8; size])
                    .await
                    .unwrap();
            }
        })
    };
    while !writer.is_finished() {
        let value = store.get("big").await.unwrap().unwrap();
        assert!(
            sizes.contains(&value.len()),
            "torn value of {} bytes",
            value.len()
        );
        assert!(value.iter().all(|b| *b == value[0]), "mixed value");
    }
    writer.await.unwrap();
}
