//! Opening a replica's data dir: one RocksDB with column families for the Raft log, the Raft
//! metadata (vote, purge point) and the state machine, guarded by an identity file so a missing,
//! foreign or corrupt data dir is refused instead of being silently re-initialised.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rocksdb::{ColumnFamilyDescriptor, Options, DB};

use crate::raft::NodeId;
use crate::store::STATE_MACHINE_CFS;

/// Raft log entries: `index (u64 BE)` → bincode entry.
pub const CF_RAFT_LOG: &str = "raft_log";
/// Raft metadata: vote, last purged log id, committed log id.
pub const CF_RAFT_META: &str = "raft_meta";

/// Name of the identity file in a data dir.
pub const IDENTITY_FILE: &str = "KEEL_REPLICA";
const IDENTITY_MAGIC: &str = "keel-replica v1";

/// Why a data dir cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("data dir {0} does not exist or is empty; to create a new replica pass --initial-cluster (new cell), --join (existing cell) or --restore")]
    Missing(PathBuf),
    #[error("{0} is not a Keel data dir (it is not empty and has no {IDENTITY_FILE} file); refusing to touch it")]
    Foreign(PathBuf),
    #[error("data dir {path} belongs to replica {found}, not replica {wanted}")]
    WrongReplica {
        path: PathBuf,
        found: NodeId,
        wanted: NodeId,
    },
    #[error("data dir {path} is corrupt: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("data dir {path}: {detail}")]
    Io { path: PathBuf, detail: String },
}

/// What opening found.
pub struct OpenedDataDir {
    pub db: Arc<DB>,
    /// True when this call created the data dir (a new replica).
    pub created: bool,
    pub snapshot_dir: PathBuf,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> DataDirError {
    DataDirError::Io {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

/// Opens (or, when `may_create`, creates) the data dir of replica `id`.
pub fn open_data_dir(
    path: &Path,
    id: NodeId,
    may_create: bool,
) -> Result<OpenedDataDir, DataDirError> {
    let identity_path = path.join(IDENTITY_FILE);
    let is_empty = match std::fs::read_dir(path) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(io_err(path, e)),
    };
    let created = if is_empty {
        if !may_create {
            return Err(DataDirError::Missing(path.to_path_buf()));
        }
        std::fs::create_dir_all(path).map_err(|e| io_err(path, e))?;
        true
    } else {
        let text = match std::fs::read_to_string(&identity_path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(DataDirError::Foreign(path.to_path_buf()))
            }
            Err(e) => return Err(io_err(&identity_path, e)),
        };
        let found = parse_identity(&text).ok_or_else(|| DataDirError::Corrupt {
            path: path.to_path_buf(),
            detail: format!(
                "{IDENTITY_FILE} does not read `{IDENTITY_MAGIC} id=N`: {:?}",
                text.trim()
            ),
        })?;
        if found != id {
            return Err(DataDirError::WrongReplica {
                path: path.to_path_buf(),
                found,
                wanted: id,
            });
        }
        false
    };

    let db = open_db(&path.join("db"), created).map_err(|detail| DataDirError::Corrupt {
        path: path.to_path_buf(),
        detail,
    })?;
    let snapshot_dir = path.join("snapshots");
    std::fs::create_dir_all(&snapshot_dir).map_err(|e| io_err(&snapshot_dir, e))?;
    if created {
        // The identity file is written last: a crash before this point leaves a dir that the next
        // start refuses as foreign rather than one that looks complete.
        write_identity(&identity_path, id).map_err(|e| io_err(&identity_path, e))?;
    }
    Ok(OpenedDataDir {
        db: Arc::new(db),
        created,
        snapshot_dir,
    })
}

fn parse_identity(text: &str) -> Option<NodeId> {
    let rest = text.trim().strip_prefix(IDENTITY_MAGIC)?.trim();
    rest.strip_prefix("id=")?.parse().ok()
}

fn write_identity(path: &Path, id: NodeId) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    writeln!(f, "{IDENTITY_MAGIC} id={id}")?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Opens the RocksDB instance with every column family Keel uses. Existing databases are never
/// created afresh: a missing or unreadable one is an error.
pub fn open_db(path: &Path, create: bool) -> Result<DB, String> {
    let mut opts = Options::default();
    opts.create_if_missing(create);
    opts.create_missing_column_families(create);
    opts.set_paranoid_checks(true);
    opts.set_max_background_jobs(2);
    let mut names = vec![CF_RAFT_LOG, CF_RAFT_META];
    names.extend(STATE_MACHINE_CFS);
    let cfs = names
        .into_iter()
        .map(|name| ColumnFamilyDescriptor::new(name, Options::default()));
    DB::open_cf_descriptors(&opts, path, cfs).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_then_resume_then_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r1");
        // Missing without bootstrap flags.
        assert!(matches!(
            open_data_dir(&path, 1, false),
            Err(DataDirError::Missing(_))
        ));
        let opened = open_data_dir(&path, 1, true).unwrap();
        assert!(opened.created);
        drop(opened);
        // Resume.
        assert!(!open_data_dir(&path, 1, false).unwrap().created);
        // Another replica's dir.
        let err = open_data_dir(&path, 2, false).err().unwrap();
        assert!(
            err.to_string()
                .contains("belongs to replica 1, not replica 2"),
            "{err}"
        );
        // Foreign dir.
        let foreign = dir.path().join("foreign");
        std::fs::create_dir_all(&foreign).unwrap();
        std::fs::write(foreign.join("notes.txt"), "hello").unwrap();
        assert!(matches!(
            open_data_dir(&foreign, 1, true),
            Err(DataDirError::Foreign(_))
        ));
        // Corrupt identity.
        std::fs::write(path.join(IDENTITY_FILE), "garbage").unwrap();
        assert!(matches!(
            open_data_dir(&path, 1, false),
            Err(DataDirError::Corrupt { .. })
        ));
    }

    #[test]
    fn corrupt_rocksdb_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r1");
        drop(open_data_dir(&path, 1, true).unwrap());
        std::fs::write(path.join("db").join("CURRENT"), "MANIFEST-999999\n").unwrap();
        let err = open_data_dir(&path, 1, false).err().unwrap();
        assert!(matches!(err, DataDirError::Corrupt { .. }), "{err}");
    }
}
