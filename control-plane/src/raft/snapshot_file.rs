//! Snapshot files: a consistent copy of the state machine's column families, read through one
//! RocksDB snapshot and written to disk, checksummed, then streamed to lagging followers or saved
//! by an operator (`keelctl cluster snapshot save`).
//!
//! Layout: `KEELSNAP1`, u32 header length, bincode `SnapshotMeta`, then records
//! (u8 column family, u32 key length, key, u32 value length, value), then `0xFF` and the SHA-256
//! of every byte before it.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use openraft::alias::{LogIdOf, SnapshotMetaOf, StoredMembershipOf};
use rocksdb::{WriteBatch, DB};
use sha2::{Digest, Sha256};

use crate::raft::codec::{decode, encode};
use crate::raft::TypeConfig;
use crate::store::STATE_MACHINE_CFS;

const MAGIC: &[u8] = b"KEELSNAP1";
const END: u8 = 0xFF;
/// The state machine's metadata column family; its keys under [`RAFT_META_PREFIX`] belong to the
/// Raft layer and travel in the snapshot header instead of as records.
pub use crate::store::CF_META as SM_META_CF;
use crate::store::RAFT_META_PREFIX;
/// Last applied log id, written atomically with every applied entry.
pub const KEY_LAST_APPLIED: &[u8] = b"raft/last_applied";
/// Last applied membership.
pub const KEY_MEMBERSHIP: &[u8] = b"raft/membership";

/// A snapshot stored in a file; this is openraft's `SnapshotData` for Keel.
#[derive(Debug, Clone)]
pub struct SnapshotFile {
    pub path: PathBuf,
}

/// The Raft position of the state machine, as stored beside it.
pub fn read_applied(
    db: &DB,
    snap: Option<&rocksdb::Snapshot<'_>>,
) -> io::Result<(Option<LogIdOf<TypeConfig>>, StoredMembershipOf<TypeConfig>)> {
    let cf = db
        .cf_handle(SM_META_CF)
        .ok_or_else(|| io::Error::other("sm_meta missing"))?;
    let get = |key: &[u8]| match snap {
        Some(s) => s.get_cf(&cf, key),
        None => db.get_cf(&cf, key),
    };
    let applied = match get(KEY_LAST_APPLIED).map_err(io::Error::other)? {
        Some(bytes) => Some(decode(&bytes)?),
        None => None,
    };
    let membership = match get(KEY_MEMBERSHIP).map_err(io::Error::other)? {
        Some(bytes) => decode(&bytes)?,
        None => StoredMembershipOf::<TypeConfig>::default(),
    };
    Ok((applied, membership))
}

/// File name for a snapshot at `meta`: zero-padded index first so names sort by position.
pub fn file_name(meta: &SnapshotMetaOf<TypeConfig>) -> String {
    match &meta.last_log_id {
        Some(id) => format!("{:020}-{}.snap", id.index(), id.committed_leader_id()),
        None => "00000000000000000000-none.snap".to_string(),
    }
}

/// Writes a snapshot of the current state machine into `dir`, returning its meta and file.
pub fn write_snapshot(
    db: &DB,
    dir: &Path,
) -> io::Result<(SnapshotMetaOf<TypeConfig>, SnapshotFile)> {
    let snap = db.snapshot();
    let (last_log_id, last_membership) = read_applied(db, Some(&snap))?;
    let meta = SnapshotMetaOf::<TypeConfig> {
        last_log_id,
        last_membership,
    };
    let tmp = dir.join(format!("building-{}.part", std::process::id()));
    {
        let mut out = HashingWriter::new(BufWriter::new(File::create(&tmp)?));
        out.write_all(MAGIC)?;
        let header = encode(&meta)?;
        out.write_all(&(header.len() as u32).to_le_bytes())?;
        out.write_all(&header)?;
        for (index, name) in STATE_MACHINE_CFS.iter().enumerate() {
            let cf = db
                .cf_handle(name)
                .ok_or_else(|| io::Error::other(format!("{name} missing")))?;
            for item in snap.iterator_cf(&cf, rocksdb::IteratorMode::Start) {
                let (key, value) = item.map_err(io::Error::other)?;
                if *name == SM_META_CF && key.starts_with(RAFT_META_PREFIX) {
                    continue;
                }
                out.write_all(&[index as u8])?;
                out.write_all(&(key.len() as u32).to_le_bytes())?;
                out.write_all(&key)?;
                out.write_all(&(value.len() as u32).to_le_bytes())?;
                out.write_all(&value)?;
            }
        }
        out.write_all(&[END])?;
        let digest = out.digest();
        let mut inner = out.into_inner();
        inner.write_all(&digest)?;
        inner.flush()?;
        inner.get_ref().sync_all()?;
    }
    let path = dir.join(file_name(&meta));
    std::fs::rename(&tmp, &path)?;
    File::open(dir)?.sync_all()?;
    Ok((meta, SnapshotFile { path }))
}

/// Reads and checks a snapshot file: returns its meta, and calls `record` for every record.
/// The whole file is verified against its checksum before the first record is handed out.
pub fn read_snapshot(
    path: &Path,
    mut record: impl FnMut(&str, &[u8], &[u8]) -> io::Result<()>,
) -> io::Result<SnapshotMetaOf<TypeConfig>> {
    verify_checksum(path)?;
    let mut input = BufReader::new(File::open(path)?);
    let meta = read_header(&mut input, path)?;
    loop {
        let mut tag = [0u8; 1];
        input.read_exact(&mut tag)?;
        if tag[0] == END {
            return Ok(meta);
        }
        let name = STATE_MACHINE_CFS
            .get(tag[0] as usize)
            .ok_or_else(|| corrupt(path, format!("unknown column family tag {}", tag[0])))?;
        let key = read_chunk(&mut input)?;
        let value = read_chunk(&mut input)?;
        record(name, &key, &value)?;
    }
}

/// Reads only the meta of a snapshot file (no checksum pass).
pub fn read_meta(path: &Path) -> io::Result<SnapshotMetaOf<TypeConfig>> {
    let mut input = BufReader::new(File::open(path)?);
    read_header(&mut input, path)
}

/// Adds every record of the snapshot at `path` to `batch` (the caller clears the old state in the
/// same batch so the replacement is atomic).
pub fn load_into_batch(
    db: &DB,
    path: &Path,
    batch: &mut WriteBatch,
) -> io::Result<SnapshotMetaOf<TypeConfig>> {
    read_snapshot(path, |name, key, value| {
        let cf = db
            .cf_handle(name)
            .ok_or_else(|| io::Error::other(format!("{name} missing")))?;
        batch.put_cf(&cf, key, value);
        Ok(())
    })
}

fn read_header(input: &mut impl Read, path: &Path) -> io::Result<SnapshotMetaOf<TypeConfig>> {
    let mut magic = [0u8; MAGIC.len()];
    input.read_exact(&mut magic)?;
    if magic != MAGIC {
        return Err(corrupt(path, "not a Keel snapshot file (bad magic)".into()));
    }
    let header = read_chunk(input)?;
    decode(&header).map_err(|e| corrupt(path, format!("bad header: {e}")))
}

fn read_chunk(input: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    input.read_exact(&mut len)?;
    let mut buf = vec![0u8; u32::from_le_bytes(len) as usize];
    input.read_exact(&mut buf)?;
    Ok(buf)
}

fn verify_checksum(path: &Path) -> io::Result<()> {
    let len = std::fs::metadata(path)?.len();
    if len < (MAGIC.len() + 4 + 1 + 32) as u64 {
        return Err(corrupt(path, format!("only {len} bytes long")));
    }
    let mut input = BufReader::new(File::open(path)?);
    let mut hasher = Sha256::new();
    let mut remaining = len - 32;
    let mut buf = vec![0u8; 1 << 16];
    while remaining > 0 {
        let n = remaining.min(buf.len() as u64) as usize;
        input.read_exact(&mut buf[..n])?;
        hasher.update(&buf[..n]);
        remaining -= n as u64;
    }
    let mut stored = [0u8; 32];
    input.read_exact(&mut stored)?;
    if hasher.finalize().as_slice() != stored {
        return Err(corrupt(path, "checksum mismatch".into()));
    }
    Ok(())
}

fn corrupt(path: &Path, detail: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("snapshot {}: {detail}", path.display()),
    )
}

/// The newest snapshot file in `dir`, if any.
pub fn latest_in(dir: &Path) -> io::Result<Option<PathBuf>> {
    let mut best: Option<PathBuf> = None;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("snap") {
            continue;
        }
        if best
            .as_ref()
            .is_none_or(|b| path.file_name() > b.file_name())
        {
            best = Some(path);
        }
    }
    Ok(best)
}

/// Deletes every snapshot file in `dir` except `keep` (and leftovers of interrupted transfers).
pub fn remove_others(dir: &Path, keep: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path != keep {
            let _ = std::fs::remove_file(&path);
        }
    }
    Ok(())
}

struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
        }
    }
    fn digest(&mut self) -> [u8; 32] {
        self.hasher.clone().finalize().into()
    }
    fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
