//! The kubelet's AtomicWriter for configMap and secret volumes: the files live in a hidden,
//! timestamped directory (`..<time>`), `..data` is a symlink to it, and every visible name is a
//! symlink through `..data`. An update writes a new directory and swaps `..data` with one
//! rename, so a reader sees the old set or the new one, never a mix; then stale names and the
//! old directory go. Unchanged content touches nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::volume_plan::ProjectedFile;

const DATA: &str = "..data";
const DATA_TMP: &str = "..data_tmp";

/// Makes `dir` hold exactly `files`; whether anything changed.
pub fn write_atomic(dir: &Path, files: &[ProjectedFile]) -> io::Result<bool> {
    std::fs::create_dir_all(dir)?;
    let old = std::fs::read_link(dir.join(DATA)).ok();
    if let Some(old) = &old {
        if same_files(&dir.join(old), files)? && visible_links_ok(dir, files)? {
            return Ok(false);
        }
    }
    let ts = new_data_dir_name(dir);
    let ts_dir = dir.join(&ts);
    std::fs::create_dir(&ts_dir)?;
    std::fs::set_permissions(&ts_dir, std::fs::Permissions::from_mode(0o755))?;
    for f in files {
        let path = ts_dir.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &f.data)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(f.mode))?;
    }
    let tmp = dir.join(DATA_TMP);
    let _ = std::fs::remove_file(&tmp);
    symlink(&ts, &tmp)?;
    std::fs::rename(&tmp, dir.join(DATA))?;
    let wanted = top_level(files);
    for name in &wanted {
        let link = dir.join(name);
        let target = Path::new(DATA).join(name);
        match std::fs::read_link(&link) {
            Ok(t) if t == target => {}
            _ => {
                remove_any(&link)?;
                symlink(&target, &link)?;
            }
        }
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let hidden = name.starts_with("..");
        if (!hidden && !wanted.contains(&name)) || (hidden && name != DATA && name != ts) {
            remove_any(&entry.path())?;
        }
    }
    Ok(true)
}

/// The first component of every file's path.
fn top_level(files: &[ProjectedFile]) -> BTreeSet<String> {
    files
        .iter()
        .filter_map(|f| f.path.split('/').next().map(str::to_string))
        .collect()
}

fn visible_links_ok(dir: &Path, files: &[ProjectedFile]) -> io::Result<bool> {
    for name in top_level(files) {
        if std::fs::read_link(dir.join(&name)).ok() != Some(Path::new(DATA).join(&name)) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether `ts_dir` holds exactly `files` (paths, bytes and modes).
fn same_files(ts_dir: &Path, files: &[ProjectedFile]) -> io::Result<bool> {
    let mut have = BTreeMap::new();
    if !collect(ts_dir, ts_dir, &mut have)? {
        return Ok(false);
    }
    if have.len() != files.len() {
        return Ok(false);
    }
    for f in files {
        match have.get(Path::new(&f.path)) {
            Some(mode) if *mode == f.mode => {}
            _ => return Ok(false),
        }
        if std::fs::read(ts_dir.join(&f.path))? != f.data {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Regular files under `dir` (relative to `base`) with their permission bits; false when
/// `dir` is not a directory.
fn collect(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, u32>) -> io::Result<bool> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(false);
    };
    for e in entries {
        let e = e?;
        let meta = e.metadata()?;
        if meta.is_dir() {
            collect(base, &e.path(), out)?;
        } else {
            let rel = e
                .path()
                .strip_prefix(base)
                .map(Path::to_path_buf)
                .unwrap_or_default();
            out.insert(rel, meta.permissions().mode() & 0o7777);
        }
    }
    Ok(true)
}

fn new_data_dir_name(dir: &Path) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut n = 0u32;
    loop {
        let name = format!("..{}.{:09}.{n}", now.as_secs(), now.subsec_nanos());
        if !dir.join(&name).exists() {
            return name;
        }
        n += 1;
    }
}

fn remove_any(p: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, data: &str, mode: u32) -> ProjectedFile {
        ProjectedFile {
            path: path.into(),
            data: data.as_bytes().to_vec(),
            mode,
        }
    }

    fn visible(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with(".."))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn files_appear_through_data_and_updates_swap_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cfg");
        assert!(write_atomic(&dir, &[file("a", "1", 0o644), file("sub/b", "2", 0o400)]).unwrap());
        assert_eq!(std::fs::read_to_string(dir.join("a")).unwrap(), "1");
        assert_eq!(std::fs::read_to_string(dir.join("sub/b")).unwrap(), "2");
        let mode = std::fs::metadata(dir.join("sub/b"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o400);
        assert_eq!(
            std::fs::read_link(dir.join("a")).unwrap(),
            Path::new("..data/a")
        );
        let first = std::fs::read_link(dir.join(DATA)).unwrap();

        assert!(
            !write_atomic(&dir, &[file("a", "1", 0o644), file("sub/b", "2", 0o400)]).unwrap(),
            "unchanged"
        );
        assert_eq!(std::fs::read_link(dir.join(DATA)).unwrap(), first);

        assert!(write_atomic(&dir, &[file("a", "one", 0o644), file("c", "3", 0o644)]).unwrap());
        assert_eq!(std::fs::read_to_string(dir.join("a")).unwrap(), "one");
        assert_eq!(visible(&dir), ["a", "c"], "sub is gone");
        assert_ne!(std::fs::read_link(dir.join(DATA)).unwrap(), first);
        assert!(
            !dir.join(&first).exists(),
            "the old data directory is removed"
        );
        let hidden: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".."))
            .collect();
        assert_eq!(hidden.len(), 2, "..data and one data directory: {hidden:?}");

        assert!(
            write_atomic(&dir, &[file("a", "one", 0o600), file("c", "3", 0o644)]).unwrap(),
            "a mode change counts"
        );
        assert!(write_atomic(&dir, &[]).unwrap());
        assert!(visible(&dir).is_empty());
    }
}
