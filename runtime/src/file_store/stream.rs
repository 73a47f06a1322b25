//! The stream log of a [`FileStore`](super::FileStore): an append-only file of checked records.
//!
//! After the 8-byte [`STREAM_MAGIC`], each record is
//! `seq: u64 LE | len: u32 LE | payload | len: u32 LE | check: u64 LE`, where `check` is FNV-1a
//! of the seq, the len and the payload. Sequence numbers are 1, 2, 3, ... with no gap.
//! Readers take no lock: they stop at the first record that is short, out of sequence or fails
//! its check, which can only be a record being written or one torn by a crash.
//! An appender holds the key's lock; it checks the last record through its trailer
//! (one read, whatever the length of the log), and only when that fails scans the log, cuts the
//! torn tail off, then writes the new record in one `write` at the end.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::layout::{fnv1a, io_err, read_up_to, STREAM_MAGIC};
use crate::store::{StoreError, StreamEntry};

/// Bytes a record takes beyond its payload.
const OVERHEAD: u64 = 24;
/// Where the first record starts.
const START: u64 = STREAM_MAGIC.len() as u64;

/// Builds one record.
fn record(seq: u64, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len())
        .expect("length checked by the caller")
        .to_le_bytes();
    let seq_bytes = seq.to_le_bytes();
    let check = fnv1a(&[&seq_bytes, &len, payload]);
    let mut bytes = Vec::with_capacity(payload.len() + OVERHEAD as usize);
    bytes.extend_from_slice(&seq_bytes);
    bytes.extend_from_slice(&len);
    bytes.extend_from_slice(payload);
    bytes.extend_from_slice(&len);
    bytes.extend_from_slice(&check.to_le_bytes());
    bytes
}

/// Parses one whole record (`bytes` is exactly its length); `None` if it does not check out.
fn parse(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let seq = u64::from_le_bytes(bytes.get(0..8)?.try_into().ok()?);
    let len = u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?) as usize;
    if bytes.len() != len + OVERHEAD as usize {
        return None;
    }
    let payload = &bytes[12..12 + len];
    let trailer_len = &bytes[12 + len..16 + len];
    let check = u64::from_le_bytes(bytes[16 + len..].try_into().ok()?);
    (trailer_len == &bytes[8..12] && check == fnv1a(&[&bytes[0..8], &bytes[8..12], payload]))
        .then_some((seq, payload))
}

/// Appends `payload` to the stream file at `path` (which exists and starts with the magic);
/// returns its sequence number. The caller holds the key's lock.
pub(super) fn append(path: &Path, payload: &[u8], sync: bool) -> Result<u64, StoreError> {
    if u32::try_from(payload.len()).is_err() {
        let e = io::Error::new(
            io::ErrorKind::InvalidInput,
            "stream entries are limited to 4 GiB",
        );
        return Err(io_err(path, e));
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| io_err(path, e))?;
    let size = file.metadata().map_err(|e| io_err(path, e))?.len();
    let (end, last_seq) = match last_record(&mut file, size).map_err(|e| io_err(path, e))? {
        Some(found) => found,
        None => scan(&mut file, size).map_err(|e| io_err(path, e))?,
    };
    if end != size {
        tracing::warn!(path = %path.display(), cut = size - end, "cutting a torn record off a stream");
        file.set_len(end).map_err(|e| io_err(path, e))?;
    }
    let seq = last_seq + 1;
    file.seek(SeekFrom::Start(end))
        .and_then(|_| file.write_all(&record(seq, payload)))
        .map_err(|e| io_err(path, e))?;
    if sync {
        file.sync_data().map_err(|e| io_err(path, e))?;
    }
    Ok(seq)
}

/// The end and seq of the last record, read through its trailer; `None` when it does not
/// check out (a torn tail) and the log must be scanned.
fn last_record(file: &mut File, size: u64) -> io::Result<Option<(u64, u64)>> {
    if size == START {
        return Ok(Some((START, 0)));
    }
    if size < START + OVERHEAD {
        return Ok(None);
    }
    let mut trailer = [0u8; 12];
    file.seek(SeekFrom::Start(size - 12))?;
    file.read_exact(&mut trailer)?;
    let len = u64::from(u32::from_le_bytes(
        trailer[0..4].try_into().expect("4 bytes"),
    ));
    let Some(start) = size
        .checked_sub(len + OVERHEAD)
        .filter(|start| *start >= START)
    else {
        return Ok(None);
    };
    let mut bytes = vec![0u8; (len + OVERHEAD) as usize];
    file.seek(SeekFrom::Start(start))?;
    file.read_exact(&mut bytes)?;
    Ok(parse(&bytes).map(|(seq, _)| (size, seq)))
}

/// Scans the log from the start; returns the end and seq of the last good record.
fn scan(file: &mut File, size: u64) -> io::Result<(u64, u64)> {
    file.seek(SeekFrom::Start(START))?;
    let mut reader = BufReader::new(&mut *file);
    let (mut end, mut last) = (START, 0);
    while let Some((seq, payload)) = next_record(&mut reader, size - end, last + 1)? {
        end += payload.len() as u64 + OVERHEAD;
        last = seq;
    }
    Ok((end, last))
}

/// Reads the record expected to carry `seq` if it lies within `remaining` bytes and checks out.
fn next_record(
    reader: &mut impl Read,
    remaining: u64,
    seq: u64,
) -> io::Result<Option<(u64, Vec<u8>)>> {
    let mut head = [0u8; 12];
    if remaining < OVERHEAD || read_up_to(reader, &mut head)? < head.len() {
        return Ok(None);
    }
    let len = u64::from(u32::from_le_bytes(head[8..12].try_into().expect("4 bytes")));
    if u64::from_le_bytes(head[0..8].try_into().expect("8 bytes")) != seq
        || len + OVERHEAD > remaining
    {
        return Ok(None);
    }
    let mut bytes = vec![0u8; (len + OVERHEAD) as usize];
    bytes[..12].copy_from_slice(&head);
    if read_up_to(reader, &mut bytes[12..])? < bytes.len() - 12 {
        return Ok(None);
    }
    Ok(parse(&bytes).map(|(seq, payload)| (seq, payload.to_vec())))
}

/// Reads up to `limit` entries above `after` from a stream file positioned just past its magic,
/// looking no further than `size` bytes from the file's start.
pub(super) fn read(
    file: File,
    size: u64,
    after: u64,
    limit: usize,
) -> io::Result<Vec<StreamEntry>> {
    let mut reader = BufReader::new(file);
    let (mut position, mut seq) = (START, 1);
    let mut entries = Vec::new();
    while entries.len() < limit && position < size {
        if seq <= after {
            // Skips the record through its length, unchecked: a torn record can only be the
            // last one, and then there is nothing after it to return anyway.
            let mut head = [0u8; 12];
            if size - position < OVERHEAD || read_up_to(&mut reader, &mut head)? < head.len() {
                break;
            }
            if u64::from_le_bytes(head[0..8].try_into().expect("8 bytes")) != seq {
                break;
            }
            let len = u64::from(u32::from_le_bytes(head[8..12].try_into().expect("4 bytes")));
            reader.seek_relative(i64::try_from(len + 12).unwrap_or(i64::MAX))?;
            position += len + OVERHEAD;
        } else {
            let Some((_, value)) = next_record(&mut reader, size - position, seq)? else {
                break;
            };
            position += value.len() as u64 + OVERHEAD;
            entries.push(StreamEntry { seq, value });
        }
        seq += 1;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_stream(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("stream");
        std::fs::write(&path, STREAM_MAGIC).unwrap();
        path
    }

    fn read_all(path: &Path, after: u64) -> Vec<StreamEntry> {
        let mut file = File::open(path).unwrap();
        let size = file.metadata().unwrap().len();
        file.seek(SeekFrom::Start(START)).unwrap();
        read(file, size, after, usize::MAX).unwrap()
    }

    #[test]
    fn appends_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = new_stream(dir.path());
        for i in 1..=5u64 {
            assert_eq!(
                append(&path, &vec![i as u8; i as usize * 10], false).unwrap(),
                i
            );
        }
        let entries = read_all(&path, 2);
        assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(entries[0].value, vec![3u8; 30]);
    }

    #[test]
    fn a_torn_tail_is_ignored_then_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = new_stream(dir.path());
        append(&path, b"first", false).unwrap();
        append(&path, b"second", false).unwrap();
        let whole = std::fs::metadata(&path).unwrap().len();
        // A writer that died half-way through its third record.
        let torn = record(3, b"third, never finished");
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&torn[..torn.len() - 5]).unwrap();
        assert_eq!(read_all(&path, 0).len(), 2);
        assert_eq!(append(&path, b"third", false).unwrap(), 3);
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            whole + OVERHEAD + 5
        );
        let values: Vec<Vec<u8>> = read_all(&path, 0).into_iter().map(|e| e.value).collect();
        assert_eq!(
            values,
            [b"first".to_vec(), b"second".to_vec(), b"third".to_vec()]
        );
    }

    #[test]
    fn garbage_of_any_length_after_the_last_record_is_ignored() {
        for garbage_len in [1usize, 11, 12, 23, 24, 40, 300] {
            let dir = tempfile::tempdir().unwrap();
            let path = new_stream(dir.path());
            append(&path, b"kept", false).unwrap();
            let mut file = OpenOptions::new().append(true).open(&path).unwrap();
            file.write_all(&vec![0xA5; garbage_len]).unwrap();
            assert_eq!(
                read_all(&path, 0).len(),
                1,
                "garbage of {garbage_len} bytes"
            );
            assert_eq!(append(&path, b"next", false).unwrap(), 2);
            assert_eq!(read_all(&path, 1)[0].value, b"next");
        }
    }
}
