//! Session state for both transports: in memory, or persisted in an append-only log that
//! survives a crash.
//!
//! The log is a sequence of records `[len: u32][crc32: u32][kind: u8][data]`. Every change the
//! engine makes is appended: messages in flight, messages accepted but still queued, incoming
//! QoS 2 identifiers, the next packet identifier. Two rules:
//! - **A returned `publish` is in the file.** Before a publish call returns, the clients write
//!   the new records to the file ([`SessionStore::flush`]): from then on the message survives
//!   the process being killed (`SIGKILL` included), and a restarted process with the same file
//!   sends it.
//! - **Never on the wire without being on disk.** Before the bytes of a change go to the
//!   network, the records are also `fsync`ed ([`SessionStore::sync`]), so a power loss cannot
//!   make the client forget a packet the broker has seen. One `fsync` covers every change of a
//!   batch.
//!
//! On open, records are replayed up to the first torn or corrupt one, and the file is truncated
//! there. When the log grows well past the live state, it is compacted into a new file that
//! atomically replaces the old one.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use mqtt_engine::{MemoryStore, Outgoing, Store};
use mqtt_proto::{decode, Packet, ProtocolVersion, Publish};

const PUSH_PUBLISH: u8 = 1;
const PUSH_RELEASE: u8 = 2;
const REMOVE_OUTGOING: u8 = 3;
const INSERT_INCOMING: u8 = 4;
const REMOVE_INCOMING: u8 = 5;
const CLEAR: u8 = 6;
const NEXT_ID: u8 = 7;
const PUSH_QUEUED: u8 = 8;
const REMOVE_QUEUED: u8 = 9;
/// A queued publish was sent: it moves to the end of the in-flight sequence (one record, so the
/// move is atomic and the PUBLISH is not written twice).
const QUEUED_SENT: u8 = 10;

/// Compaction happens when the log is larger than this and 4× the live state.
const COMPACT_MIN_BYTES: u64 = 1 << 20;

/// The session store of the clients: in memory, or in a crash-safe file.
#[derive(Debug)]
pub struct SessionStore {
    mem: MemoryStore,
    /// Publishes accepted but not yet sent (file-backed stores only): identifier and the
    /// encoded PUBLISH, for compaction and for the next process.
    queued: VecDeque<(u16, Vec<u8>)>,
    log: Option<FileLog>,
}

#[derive(Debug)]
struct FileLog {
    path: PathBuf,
    file: File,
    /// Records appended since the last sync.
    pending: Vec<u8>,
    /// Size of the file.
    size: u64,
    /// Written since the last `fsync`.
    unsynced: bool,
    /// The first I/O error; the client reports it and stops.
    failed: Option<io::Error>,
}

impl SessionStore {
    /// State kept in memory only.
    pub fn memory() -> Self {
        Self {
            mem: MemoryStore::new(),
            queued: VecDeque::new(),
            log: None,
        }
    }

    /// State persisted in the file at `path`, created if missing, recovered if present.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let mut mem = MemoryStore::new();
        let mut queued = VecDeque::new();
        let valid = replay(&bytes, &mut mem, &mut queued);
        if valid < bytes.len() {
            // A torn or corrupt tail: the change it held never reached the network.
            file.set_len(valid as u64)?;
            file.sync_all()?;
        }
        let file = OpenOptions::new().append(true).open(&path)?;
        let log = FileLog {
            path,
            file,
            pending: Vec::new(),
            size: valid as u64,
            unsynced: false,
            failed: None,
        };
        Ok(Self {
            mem,
            queued,
            log: Some(log),
        })
    }

    /// Writes the changes made since the last call to the file (no `fsync`): they survive the
    /// process being killed. Called before a publish returns.
    pub fn flush(&mut self) -> io::Result<()> {
        let Some(log) = self.log.as_mut() else {
            return Ok(());
        };
        if let Some(e) = &log.failed {
            return Err(io::Error::new(e.kind(), e.to_string()));
        }
        if log.pending.is_empty() {
            return Ok(());
        }
        if let Err(e) = log.file.write_all(&log.pending) {
            let copy = io::Error::new(e.kind(), e.to_string());
            log.failed = Some(e);
            return Err(copy);
        }
        log.size += log.pending.len() as u64;
        log.pending.clear();
        log.unsynced = true;
        Ok(())
    }

    /// Writes and `fsync`s the changes made since the last call: they survive a power loss.
    /// Called before the bytes of those changes go to the network.
    pub fn sync(&mut self) -> io::Result<()> {
        self.flush()?;
        let Some(log) = self.log.as_mut() else {
            return Ok(());
        };
        if !log.unsynced {
            return Ok(());
        }
        if let Err(e) = log.file.sync_data() {
            let copy = io::Error::new(e.kind(), e.to_string());
            log.failed = Some(e);
            return Err(copy);
        }
        log.unsynced = false;
        if log.size > COMPACT_MIN_BYTES {
            let snapshot = snapshot(&self.mem, &self.queued);
            if log.size > 4 * snapshot.len() as u64 {
                self.compact(&snapshot)?;
            }
        }
        Ok(())
    }

    /// Rewrites the log as a snapshot of the live state, replacing the old file atomically.
    fn compact(&mut self, snapshot: &[u8]) -> io::Result<()> {
        let Some(log) = self.log.as_mut() else {
            return Ok(());
        };
        let tmp = log.path.with_extension("compact");
        {
            let mut f = File::create(&tmp)?;
            f.write_all(snapshot)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &log.path)?;
        if let Some(dir) = log.path.parent() {
            if let Ok(d) = File::open(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            }) {
                let _ = d.sync_all();
            }
        }
        log.file = OpenOptions::new().append(true).open(&log.path)?;
        log.size = snapshot.len() as u64;
        Ok(())
    }

    fn record(&mut self, kind: u8, data: &[u8]) {
        if let Some(log) = self.log.as_mut() {
            append_record(&mut log.pending, kind, data);
        }
    }
}

impl Default for SessionStore {
    fn default() -> Self {
        Self::memory()
    }
}

fn append_record(buf: &mut Vec<u8>, kind: u8, data: &[u8]) {
    let mut body = Vec::with_capacity(1 + data.len());
    body.push(kind);
    body.extend_from_slice(data);
    buf.extend_from_slice(&(body.len() as u32).to_be_bytes());
    buf.extend_from_slice(&crc32(&body).to_be_bytes());
    buf.extend_from_slice(&body);
}

/// A PUBLISH as stored: the MQTT 5 encoding, which carries every field of both versions.
fn encode_publish(publish: &Publish) -> Option<Vec<u8>> {
    let mut buf = BytesMut::new();
    publish.encode(ProtocolVersion::V5, &mut buf).ok()?;
    Some(buf.to_vec())
}

/// The live state as records.
fn snapshot(mem: &MemoryStore, queued: &VecDeque<(u16, Vec<u8>)>) -> Vec<u8> {
    let mut buf = Vec::new();
    append_record(&mut buf, NEXT_ID, &mem.next_packet_id().to_be_bytes());
    for entry in mem.outgoing() {
        match entry {
            Outgoing::Publish(p) => {
                append_record(
                    &mut buf,
                    PUSH_PUBLISH,
                    &encode_publish(&p.to_publish()).unwrap_or_default(),
                );
            }
            Outgoing::Release(id) => append_record(&mut buf, PUSH_RELEASE, &id.to_be_bytes()),
        }
    }
    for id in mem.incoming_ids() {
        append_record(&mut buf, INSERT_INCOMING, &id.to_be_bytes());
    }
    for (_, publish) in queued {
        append_record(&mut buf, PUSH_QUEUED, publish);
    }
    buf
}

/// Applies the records of `bytes` to `mem` and `queued`; returns the length of the valid
/// prefix.
fn replay(bytes: &[u8], mem: &mut MemoryStore, queued: &mut VecDeque<(u16, Vec<u8>)>) -> usize {
    let mut at = 0;
    while let Some(header) = bytes.get(at..at + 8) {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        let Some(body) = bytes.get(at + 8..at + 8 + len) else {
            break;
        };
        if len == 0 || crc32(body) != crc || !apply(body[0], &body[1..], mem, queued) {
            break;
        }
        at += 8 + len;
    }
    at
}

fn id_of(data: &[u8]) -> Option<u16> {
    <[u8; 2]>::try_from(data).ok().map(u16::from_be_bytes)
}

fn decode_publish(data: &[u8]) -> Option<Publish> {
    let mut buf = BytesMut::from(data);
    match decode(&mut buf, ProtocolVersion::V5, usize::MAX) {
        Ok(Some(Packet::Publish(p))) if p.packet_id.is_some() && buf.is_empty() => Some(p),
        _ => None,
    }
}

fn apply(
    kind: u8,
    data: &[u8],
    mem: &mut MemoryStore,
    queued: &mut VecDeque<(u16, Vec<u8>)>,
) -> bool {
    match kind {
        PUSH_QUEUED => match decode_publish(data).and_then(|p| p.packet_id) {
            Some(id) => queued.push_back((id, data.to_vec())),
            None => return false,
        },
        REMOVE_QUEUED => match id_of(data) {
            Some(id) => drop(remove_queued(queued, id)),
            None => return false,
        },
        QUEUED_SENT => match id_of(data)
            .and_then(|id| remove_queued(queued, id))
            .and_then(|data| decode_publish(&data))
        {
            Some(p) => mem.push_outgoing(Outgoing::Publish(p.into())),
            None => return false,
        },
        PUSH_PUBLISH => match decode_publish(data) {
            Some(p) => mem.push_outgoing(Outgoing::Publish(p.into())),
            None => return false,
        },
        PUSH_RELEASE => match id_of(data) {
            Some(id) => mem.push_outgoing(Outgoing::Release(id)),
            None => return false,
        },
        REMOVE_OUTGOING => match id_of(data) {
            Some(id) => drop(mem.remove_outgoing(id)),
            None => return false,
        },
        INSERT_INCOMING => match id_of(data) {
            Some(id) => drop(mem.insert_incoming(id)),
            None => return false,
        },
        REMOVE_INCOMING => match id_of(data) {
            Some(id) => drop(mem.remove_incoming(id)),
            None => return false,
        },
        CLEAR if data.is_empty() => {
            mem.clear();
            queued.clear();
        }
        NEXT_ID => match id_of(data) {
            Some(id) => mem.set_next_packet_id(id),
            None => return false,
        },
        _ => return false,
    }
    true
}

/// Removes the queued publish `id`; returns its encoding.
fn remove_queued(queued: &mut VecDeque<(u16, Vec<u8>)>, id: u16) -> Option<Vec<u8>> {
    // Queued messages leave in order: the match is at the front.
    let at = queued.iter().position(|(q, _)| *q == id)?;
    queued.remove(at).map(|(_, data)| data)
}

/// CRC-32 (IEEE), bitwise: records are small and written once.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

impl Store for SessionStore {
    fn push_outgoing(&mut self, entry: Outgoing) {
        if let Outgoing::Publish(p) = &entry {
            if let Some(id) = p
                .packet_id
                .filter(|id| self.queued.front().is_some_and(|q| q.0 == *id))
            {
                // Sent from the queue: the file already holds this PUBLISH.
                self.queued.pop_front();
                self.record(QUEUED_SENT, &id.to_be_bytes());
                self.mem.push_outgoing(entry);
                return;
            }
        }
        if self.log.is_some() {
            match &entry {
                Outgoing::Publish(p) => {
                    let data = encode_publish(&p.to_publish()).unwrap_or_default();
                    self.record(PUSH_PUBLISH, &data);
                }
                Outgoing::Release(id) => self.record(PUSH_RELEASE, &id.to_be_bytes()),
            }
        }
        self.mem.push_outgoing(entry);
    }

    fn remove_outgoing(&mut self, packet_id: u16) -> Option<Outgoing> {
        let removed = self.mem.remove_outgoing(packet_id);
        if removed.is_some() {
            self.record(REMOVE_OUTGOING, &packet_id.to_be_bytes());
        }
        removed
    }

    fn get_outgoing(&self, packet_id: u16) -> Option<&Outgoing> {
        self.mem.get_outgoing(packet_id)
    }

    fn outgoing(&self) -> impl Iterator<Item = &Outgoing> {
        self.mem.outgoing()
    }

    fn outgoing_len(&self) -> usize {
        self.mem.outgoing_len()
    }

    fn insert_incoming(&mut self, packet_id: u16) -> bool {
        let new = self.mem.insert_incoming(packet_id);
        if new {
            self.record(INSERT_INCOMING, &packet_id.to_be_bytes());
        }
        new
    }

    fn remove_incoming(&mut self, packet_id: u16) -> bool {
        let removed = self.mem.remove_incoming(packet_id);
        if removed {
            self.record(REMOVE_INCOMING, &packet_id.to_be_bytes());
        }
        removed
    }

    fn contains_incoming(&self, packet_id: u16) -> bool {
        self.mem.contains_incoming(packet_id)
    }

    fn incoming_len(&self) -> usize {
        self.mem.incoming_len()
    }

    fn clear(&mut self) {
        self.mem.clear();
        self.queued.clear();
        self.record(CLEAR, &[]);
    }

    fn push_queued(&mut self, publish: &Publish) {
        let (Some(id), Some(_)) = (publish.packet_id, self.log.as_ref()) else {
            return;
        };
        if let Some(data) = encode_publish(publish) {
            self.record(PUSH_QUEUED, &data);
            self.queued.push_back((id, data));
        }
    }

    fn remove_queued(&mut self, packet_id: u16) {
        if remove_queued(&mut self.queued, packet_id).is_some() {
            self.record(REMOVE_QUEUED, &packet_id.to_be_bytes());
        }
    }

    fn take_queued(&mut self) -> Vec<Publish> {
        self.queued
            .iter()
            .filter_map(|(_, data)| decode_publish(data))
            .collect()
    }

    fn next_packet_id(&self) -> u16 {
        self.mem.next_packet_id()
    }

    fn set_next_packet_id(&mut self, id: u16) {
        self.mem.set_next_packet_id(id);
        self.record(NEXT_ID, &id.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqtt_proto::{Publish, QoS};

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mqtt-store-{}-{name}", std::process::id()));
        let _ = fs::remove_file(&dir);
        dir
    }

    fn publish(id: u16) -> Outgoing {
        let mut p = Publish::new("t/x".try_into().expect("topic"), format!("payload {id}"))
            .with_qos(QoS::ExactlyOnce);
        p.packet_id = Some(id);
        p.properties.content_type = Some("text/plain".into());
        Outgoing::Publish(p.into())
    }

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn state_survives_reopening() {
        let path = temp_path("reopen");
        {
            let mut s = SessionStore::open(&path).expect("open");
            s.set_next_packet_id(9);
            s.push_outgoing(publish(1));
            s.push_outgoing(publish(2));
            s.push_outgoing(publish(3));
            s.remove_outgoing(2);
            s.remove_outgoing(1);
            s.push_outgoing(Outgoing::Release(1));
            s.insert_incoming(7);
            s.insert_incoming(8);
            s.remove_incoming(7);
            s.sync().expect("sync");
        }
        let s = SessionStore::open(&path).expect("reopen");
        let ids: Vec<u16> = s.outgoing().map(Outgoing::packet_id).collect();
        assert_eq!(ids, [3, 1], "sending order kept");
        assert_eq!(s.get_outgoing(3), Some(&publish(3)));
        assert!(s.contains_incoming(8) && !s.contains_incoming(7));
        assert_eq!(s.next_packet_id(), 9);
        let _ = fs::remove_file(&path);
    }

    #[test]
    fn unsynced_changes_are_not_on_disk() {
        let path = temp_path("unsynced");
        {
            let mut s = SessionStore::open(&path).expect("open");
            s.push_outgoing(publish(1));
            s.sync().expect("sync");
            s.push_outgoing(publish(2));
        }
        let s = SessionStore::open(&path).expect("reopen");
        assert_eq!(s.outgoing_len(), 1);
        let _ = fs::remove_file(&path);
    }

    #[test]
    fn torn_tail_is_cut_and_the_rest_recovered() {
        let path = temp_path("torn");
        {
            let mut s = SessionStore::open(&path).expect("open");
            s.push_outgoing(publish(1));
            s.push_outgoing(publish(2));
            s.sync().expect("sync");
        }
        let full = fs::read(&path).expect("read");
        // Cut the file inside the second record, as a crash during the write would.
        for cut in [full.len() - 1, full.len() - 10, full.len() / 2 + 3] {
            fs::write(&path, &full[..cut]).expect("write");
            let mut s = SessionStore::open(&path).expect("recover");
            assert_eq!(
                s.outgoing().map(Outgoing::packet_id).collect::<Vec<_>>(),
                [1],
                "cut at {cut}"
            );
            // The file is usable again after recovery.
            s.push_outgoing(publish(5));
            s.sync().expect("sync");
            let s = SessionStore::open(&path).expect("reopen");
            assert_eq!(
                s.outgoing().map(Outgoing::packet_id).collect::<Vec<_>>(),
                [1, 5]
            );
        }
        let _ = fs::remove_file(&path);
    }

    #[test]
    fn corrupt_record_stops_replay() {
        let path = temp_path("corrupt");
        {
            let mut s = SessionStore::open(&path).expect("open");
            s.push_outgoing(publish(1));
            s.push_outgoing(publish(2));
            s.sync().expect("sync");
        }
        let mut bytes = fs::read(&path).expect("read");
        let last = bytes.len() - 3;
        bytes[last] ^= 0xFF;
        fs::write(&path, &bytes).expect("write");
        let s = SessionStore::open(&path).expect("recover");
        assert_eq!(s.outgoing_len(), 1);
        let _ = fs::remove_file(&path);
    }

    #[test]
    fn compaction_keeps_the_live_state() {
        let path = temp_path("compact");
        let mut s = SessionStore::open(&path).expect("open");
        let big = |id: u16| {
            let mut p = Publish::new("t".try_into().expect("topic"), vec![id as u8; 8 * 1024])
                .with_qos(QoS::AtLeastOnce);
            p.packet_id = Some(id);
            Outgoing::Publish(p.into())
        };
        for round in 0..300u16 {
            let id = round % 100 + 1;
            s.push_outgoing(big(id));
            if round >= 3 {
                s.remove_outgoing((round - 3) % 100 + 1);
            }
            s.sync().expect("sync");
        }
        let size = fs::metadata(&path).expect("metadata").len();
        assert!(size < 2 * COMPACT_MIN_BYTES, "log compacted: {size} bytes");
        let live: Vec<u16> = s.outgoing().map(Outgoing::packet_id).collect();
        drop(s);
        let s = SessionStore::open(&path).expect("reopen");
        assert_eq!(
            s.outgoing().map(Outgoing::packet_id).collect::<Vec<_>>(),
            live
        );
        let _ = fs::remove_file(&path);
    }
}
