//! Where a container's log files are: the CRI runtime writes each run of a container to
//! `<log root>/<namespace>_<name>_<uid>/<container>/<attempt>.log` (the sandbox log directory and
//! container log path the agent gives it, see `runtime::cri_spec`), one file per run, kept after
//! the container is replaced — so the previous run's log outlives its container, as the kubelet's
//! does.

use std::path::{Path, PathBuf};

/// Which run of a container to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    Current,
    Previous,
}

/// The attempt to read among the runs that have logs (`attempts` in any order): the newest, or
/// the one before it.
pub fn choose_attempt(attempts: &[u32], run: Run) -> Option<u32> {
    let mut sorted = attempts.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    match run {
        Run::Current => sorted.last().copied(),
        Run::Previous => sorted.len().checked_sub(2).map(|i| sorted[i]),
    }
}

/// The attempt number of a log file name (`3.log` → 3).
pub fn attempt_of(file_name: &str) -> Option<u32> {
    file_name.strip_suffix(".log")?.parse().ok()
}

/// The pod's log directory: the one of `uid`, or — without a uid — the newest one of a pod by
/// that name.
pub fn pod_log_dir(log_root: &Path, namespace: &str, name: &str, uid: &str) -> Option<PathBuf> {
    if !uid.is_empty() {
        let dir = log_root.join(format!("{namespace}_{name}_{uid}"));
        return dir.is_dir().then_some(dir);
    }
    // Names and namespaces never contain '_' (DNS labels and subdomains), so the prefix is exact.
    let prefix = format!("{namespace}_{name}_");
    std::fs::read_dir(log_root)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path())
}

/// The attempts of `container` that have a log file in the pod's log directory.
pub fn attempts(pod_dir: &Path, container: &str) -> Vec<u32> {
    std::fs::read_dir(pod_dir.join(container))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| attempt_of(&e.file_name().to_string_lossy()))
                .collect()
        })
        .unwrap_or_default()
}

/// The log file of one run of a container.
pub fn log_file(pod_dir: &Path, container: &str, attempt: u32) -> PathBuf {
    pod_dir.join(container).join(format!("{attempt}.log"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_run_is_the_newest_and_the_previous_the_one_before() {
        assert_eq!(choose_attempt(&[0, 2, 1], Run::Current), Some(2));
        assert_eq!(choose_attempt(&[0, 2, 1], Run::Previous), Some(1));
        assert_eq!(choose_attempt(&[0], Run::Previous), None);
        assert_eq!(choose_attempt(&[], Run::Current), None);
        assert_eq!(choose_attempt(&[3, 3], Run::Previous), None);
    }

    #[test]
    fn log_file_names_carry_the_attempt() {
        assert_eq!(attempt_of("0.log"), Some(0));
        assert_eq!(attempt_of("12.log"), Some(12));
        assert_eq!(attempt_of("x.log"), None);
        assert_eq!(attempt_of("1.log.gz"), None);
        assert_eq!(
            log_file(Path::new("/l/ns_web_u1"), "httpd", 2),
            Path::new("/l/ns_web_u1/httpd/2.log")
        );
    }
}
