//! Finding the project's binaries (`keel-server`, ...) next to the running test or tool.

use std::path::PathBuf;

/// Environment variable naming the one directory to look in, instead of the default ones.
pub const BIN_DIR_ENV: &str = "KEEL_BIN_DIR";

/// The workspace's binaries that tests and tools start through [`find_binary`], with the package
/// that builds each.
pub const PROJECT_BINARIES: [(&str, &str); 4] = [
    ("keel-server", "keel-control-plane"),
    ("keelctl", "keel-control-plane"),
    ("keel-bench", "keel-chaos"),
    ("keel-chaos", "keel-chaos"),
];

/// The `cargo build` command that builds binary `name`.
fn build_hint(name: &str) -> String {
    match PROJECT_BINARIES.iter().find(|(bin, _)| *bin == name) {
        Some((bin, package)) => format!("cargo build -p {package} --bin {bin}"),
        None => format!("cargo build --bin {name}"),
    }
}

/// Where [`find_binary`] looks, in order: `$KEEL_BIN_DIR` alone if set; otherwise the directory
/// of the running executable and its parent (test binaries live in `target/<profile>/deps`,
/// binaries in `target/<profile>`).
pub fn binary_search_dirs() -> Vec<PathBuf> {
    if let Some(dir) = std::env::var_os(BIN_DIR_ENV).filter(|d| !d.is_empty()) {
        return vec![PathBuf::from(dir)];
    }
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(PathBuf::from))
    {
        if let Some(parent) = dir.parent() {
            dirs.push(dir.clone());
            dirs.push(parent.to_path_buf());
        } else {
            dirs.push(dir);
        }
    }
    dirs
}

/// The path of binary `name` in the first of `dirs` that holds it.
pub fn find_binary_in(name: &str, dirs: &[PathBuf]) -> anyhow::Result<PathBuf> {
    for dir in dirs {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    anyhow::bail!(
        "binary `{name}` not found; looked in [{}]. Build it first (`{}`), \
         or set {BIN_DIR_ENV} to the directory that holds it",
        looked.join(", "),
        build_hint(name)
    )
}

/// The path of binary `name` in [`binary_search_dirs`], or an error naming where it looked.
pub fn find_binary(name: &str) -> anyhow::Result<PathBuf> {
    find_binary_in(name, &binary_search_dirs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binary_names_the_directories() {
        let dir = tempfile::tempdir().unwrap();
        let err = find_binary_in("no-such-binary", &[dir.path().to_path_buf()]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("no-such-binary"), "{msg}");
        assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    }

    #[test]
    fn names_the_package_that_builds_a_project_binary() {
        let dir = tempfile::tempdir().unwrap();
        let err = find_binary_in("keel-chaos", &[dir.path().to_path_buf()]).unwrap_err();
        assert!(
            err.to_string()
                .contains("cargo build -p keel-chaos --bin keel-chaos"),
            "{err}"
        );
        assert_eq!(build_hint("x"), "cargo build --bin x");
    }

    #[test]
    fn finds_a_file_in_the_second_directory() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::write(b.path().join("tool"), b"").unwrap();
        let found = find_binary_in("tool", &[a.path().into(), b.path().into()]).unwrap();
        assert_eq!(found, b.path().join("tool"));
    }
}
