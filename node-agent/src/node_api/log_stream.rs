//! Streaming one run of a container's log file to a caller: the lines in it now (after `--tail`
//! and `--since`), then — when following — every line appended, until the run ends (checked
//! through the runtime about once a second) or the caller goes away.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use keel_proto::agent::LogChunk;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tonic::Status;

use super::cri_log::{render, LineAssembler, LogFilter, LogLine};

/// How often a followed file is read again.
const POLL: Duration = Duration::from_millis(200);
/// How many polls between two checks that the run still goes on.
const POLLS_PER_CHECK: u32 = 5;

/// The bytes of `pending` up to its last newline, as text (lossy: a record may hold any bytes),
/// fed to `asm`; those bytes are removed from `pending`.
fn take_lines(asm: &mut LineAssembler, pending: &mut Vec<u8>) -> Vec<LogLine> {
    let Some(end) = pending.iter().rposition(|b| *b == b'\n') else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&pending[..=end]).into_owned();
    pending.drain(..=end);
    asm.push_text(&text).0
}

async fn send(tx: &mpsc::Sender<Result<LogChunk, Status>>, lines: &[LogLine]) -> bool {
    if lines.is_empty() {
        return !tx.is_closed();
    }
    tx.send(Ok(LogChunk {
        data: render(lines),
    }))
    .await
    .is_ok()
}

/// Sends the log at `path` to `tx`. With `running` (following), keeps sending appended lines
/// until `running()` says the run ended (then sends what is left and stops) or `tx` closes.
pub async fn stream_log<F, Fut>(
    path: &Path,
    filter: LogFilter,
    running: Option<F>,
    tx: mpsc::Sender<Result<LogChunk, Status>>,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let mut file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) => {
            let _ = tx
                .send(Err(Status::not_found(format!(
                    "cannot open the log file {}: {e}",
                    path.display()
                ))))
                .await;
            return;
        }
    };
    let mut asm = LineAssembler::default();
    let mut pending = Vec::new();
    if let Err(e) = file.read_to_end(&mut pending).await {
        let _ = tx.send(Err(Status::internal(e.to_string()))).await;
        return;
    }
    let now = filter.apply(take_lines(&mut asm, &mut pending));
    if !send(&tx, &now).await {
        return;
    }
    let Some(mut running) = running else { return };
    let since_only = LogFilter {
        tail: None,
        ..filter
    };
    let mut polls = 0u32;
    loop {
        tokio::time::sleep(POLL).await;
        polls += 1;
        let ended = polls.is_multiple_of(POLLS_PER_CHECK) && !running().await;
        if let Err(e) = file.read_to_end(&mut pending).await {
            let _ = tx.send(Err(Status::internal(e.to_string()))).await;
            return;
        }
        let lines = since_only.apply(take_lines(&mut asm, &mut pending));
        if !send(&tx, &lines).await || ended {
            return;
        }
    }
}
