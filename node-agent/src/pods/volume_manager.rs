//! `VolumeManager`: makes a pod's planned volumes real under `<root>/<pod uid>/volumes/` — emptyDir
//! directories (tmpfs for medium Memory), hostPath type checks and creation, configMap and
//! secret files through the atomic writer (secrets on tmpfs) — and removes them all, unmounting
//! its tmpfs mounts first, when the pod goes.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::atomic_writer::write_atomic;
use super::volume_plan::{PlannedVolume, VolumeError, VolumeSetup};

#[derive(Debug, Clone)]
pub struct VolumeManager {
    root: PathBuf,
}

impl VolumeManager {
    /// Pods' volume directories go under `root`.
    pub fn new(root: PathBuf) -> VolumeManager {
        VolumeManager { root }
    }

    /// The pod's own directory.
    pub fn pod_dir(&self, uid: &str) -> PathBuf {
        self.root.join(uid)
    }

    /// Sets up (or refreshes) every volume; the first failure is returned.
    pub fn setup(&self, volumes: &[PlannedVolume]) -> Result<(), VolumeError> {
        for v in volumes {
            setup_one(&v.setup).map_err(|message| VolumeError::Invalid {
                volume: v.name.clone(),
                message,
            })?;
        }
        Ok(())
    }

    /// Removes the pod's volumes (unmounting tmpfs first); hostPaths are never touched.
    pub fn teardown(&self, uid: &str) {
        let dir = self.pod_dir(uid);
        if uid.is_empty() || !dir.exists() {
            return;
        }
        if let Ok(kinds) = std::fs::read_dir(dir.join("volumes")) {
            for kind in kinds.flatten() {
                for vol in std::fs::read_dir(kind.path())
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    if is_mount_point(&vol.path()) {
                        if let Err(e) = unmount(&vol.path()) {
                            tracing::warn!(path = %vol.path().display(), error = %e, "umount failed");
                            return; // never delete through a mount we could not take down
                        }
                    }
                }
            }
        }
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tracing::warn!(path = %dir.display(), error = %e, "removing a pod's volumes failed");
        }
    }

    /// Removes the directories of pods not in `keep` (left behind while the agent was down).
    pub fn sweep(&self, keep: &std::collections::BTreeSet<String>) {
        for e in std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten()
        {
            let uid = e.file_name().to_string_lossy().into_owned();
            if !keep.contains(&uid) {
                tracing::info!(%uid, "removing volumes of a pod that is gone");
                self.teardown(&uid);
            }
        }
    }
}

fn setup_one(setup: &VolumeSetup) -> Result<(), String> {
    let io = |what: &str, p: &Path, e: io::Error| format!("{what} {}: {e}", p.display());
    match setup {
        VolumeSetup::EmptyDir {
            dir,
            memory,
            size_limit,
        } => {
            std::fs::create_dir_all(dir).map_err(|e| io("mkdir", dir, e))?;
            if *memory && !is_mount_point(dir) {
                let size = size_limit.map(|s| format!(",size={s}")).unwrap_or_default();
                mount_tmpfs(dir, &format!("mode=0777{size}"))
                    .map_err(|e| io("mount tmpfs on", dir, e))?;
            }
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777))
                .map_err(|e| io("chmod", dir, e))
        }
        VolumeSetup::HostPath { path, type_ } => host_path(path, type_),
        VolumeSetup::Files { dir, tmpfs, files } => {
            std::fs::create_dir_all(dir).map_err(|e| io("mkdir", dir, e))?;
            if *tmpfs && !is_mount_point(dir) {
                mount_tmpfs(dir, "mode=0755").map_err(|e| io("mount tmpfs on", dir, e))?;
            }
            write_atomic(dir, files)
                .map(|changed| {
                    if changed {
                        tracing::info!(dir = %dir.display(), files = files.len(), "volume files written");
                    }
                })
                .map_err(|e| io("writing files into", dir, e))
        }
    }
}

/// hostPath's `type`: the `...OrCreate` kinds create, the others check.
fn host_path(path: &Path, type_: &str) -> Result<(), String> {
    let meta = std::fs::metadata(path);
    let fail = |what: &str| {
        Err(format!(
            "hostPath type check failed: {} is not a {what}",
            path.display()
        ))
    };
    match type_ {
        "" => Ok(()),
        "DirectoryOrCreate" => {
            std::fs::create_dir_all(path).map_err(|e| format!("mkdir {}: {e}", path.display()))
        }
        "FileOrCreate" => {
            if meta.is_err() {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                }
                std::fs::File::create(path)
                    .map_err(|e| format!("create {}: {e}", path.display()))?;
            }
            Ok(())
        }
        "Directory" if meta.as_ref().is_ok_and(|m| m.is_dir()) => Ok(()),
        "Directory" => fail("directory"),
        "File" if meta.as_ref().is_ok_and(|m| m.is_file()) => Ok(()),
        "File" => fail("file"),
        "Socket" if meta.as_ref().is_ok_and(|m| m.file_type().is_socket()) => Ok(()),
        "Socket" => fail("socket"),
        "CharDevice" if meta.as_ref().is_ok_and(|m| m.file_type().is_char_device()) => Ok(()),
        "CharDevice" => fail("character device"),
        "BlockDevice" if meta.as_ref().is_ok_and(|m| m.file_type().is_block_device()) => Ok(()),
        "BlockDevice" => fail("block device"),
        other => Err(format!("unknown hostPath type {other:?}")),
    }
}

/// A directory on another device than its parent is a mount point.
fn is_mount_point(p: &Path) -> bool {
    let (Ok(me), Some(Ok(parent))) = (std::fs::metadata(p), p.parent().map(std::fs::metadata))
    else {
        return false;
    };
    me.dev() != parent.dev()
}

fn cstr(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

fn mount_tmpfs(dir: &Path, options: &str) -> io::Result<()> {
    let target = cstr(dir)?;
    let fstype = c"tmpfs";
    let data = CString::new(options).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: every pointer is a NUL-terminated string that outlives the call.
    let r = unsafe {
        libc::mount(
            fstype.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            data.as_ptr().cast(),
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn unmount(dir: &Path) -> io::Result<()> {
    let target = cstr(dir)?;
    // SAFETY: a NUL-terminated path that outlives the call.
    if unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pods::volume_plan::ProjectedFile;

    #[test]
    fn volumes_are_set_up_and_torn_down_with_the_pod() {
        let tmp = tempfile::tempdir().unwrap();
        let vm = VolumeManager::new(tmp.path().join("pods"));
        let pod = vm.pod_dir("u1");
        let host = tmp.path().join("host/made");
        let vols = vec![
            PlannedVolume {
                name: "scratch".into(),
                setup: VolumeSetup::EmptyDir {
                    dir: pod.join("volumes/empty-dir/scratch"),
                    memory: false,
                    size_limit: None,
                },
            },
            PlannedVolume {
                name: "h".into(),
                setup: VolumeSetup::HostPath {
                    path: host.clone(),
                    type_: "DirectoryOrCreate".into(),
                },
            },
            PlannedVolume {
                name: "cfg".into(),
                setup: VolumeSetup::Files {
                    dir: pod.join("volumes/configmap/cfg"),
                    tmpfs: false,
                    files: vec![ProjectedFile {
                        path: "k".into(),
                        data: b"v".to_vec(),
                        mode: 0o644,
                    }],
                },
            },
        ];
        vm.setup(&vols).unwrap();
        assert!(pod.join("volumes/empty-dir/scratch").is_dir());
        assert!(host.is_dir());
        assert_eq!(
            std::fs::read_to_string(pod.join("volumes/configmap/cfg/k")).unwrap(),
            "v"
        );
        let missing = PlannedVolume {
            name: "d".into(),
            setup: VolumeSetup::HostPath {
                path: tmp.path().join("nope"),
                type_: "Directory".into(),
            },
        };
        let e = vm.setup(&[missing]).unwrap_err().to_string();
        assert!(
            e.contains("volume \"d\"") && e.contains("is not a directory"),
            "{e}"
        );
        vm.teardown("u1");
        assert!(!pod.exists());
        assert!(host.is_dir(), "hostPaths are left alone");
    }
}
