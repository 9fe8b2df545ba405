//! Reading the end of a (possibly large) log file, for error messages.

use std::{
    io::{Read, Seek, SeekFrom},
    path::Path,
};

/// The last `lines` lines of the file at `path`, looking at its last 64 KiB only.
pub fn read_tail(path: &Path, lines: usize) -> std::io::Result<String> {
    const WINDOW: u64 = 64 * 1024;
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(WINDOW)))?;
    let mut buf = Vec::new();
    file.take(WINDOW).read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    Ok(all[all.len().saturating_sub(lines)..].join("\n"))
}
