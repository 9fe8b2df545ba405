//! A watcher on a key prefix that records everything it receives, reconnects (to the next
//! replica) when its stream breaks or stalls, and also disconnects on purpose now and then, always
//! resuming one past the last revision it saw.

use std::time::Duration;

use futures::StreamExt;
use keel_proto::store::{event::EventType, store_client::StoreClient, WatchRequest};
use tokio::time::Instant;
use tonic::transport::Channel;

use super::StopFlag;
use crate::history::{HistoryRecorder, WatchLog};

/// Progress notifications asked of the server: also how a stalled stream is noticed.
const PROGRESS_MS: u64 = 200;
/// Pause before reconnecting after an error.
const RECONNECT_PAUSE: Duration = Duration::from_millis(50);

/// How one watcher behaves.
#[derive(Clone, Debug)]
pub struct WatcherConfig {
    pub watcher_id: u32,
    pub prefix: String,
    pub start_revision: u64,
    /// (replica, client); the watcher starts on `watcher_id % len` and moves on after a break.
    pub targets: Vec<(u64, StoreClient<Channel>)>,
    /// Break the stream on purpose this often.
    pub disconnect_every: Duration,
    /// No message for this long: the stream is considered dead.
    pub stall_timeout: Duration,
    /// Hard bounds.
    pub deadline: Instant,
    pub max_reconnects: u32,
}

/// Watches until `stop` is set and (if `until_revision` is given by then) the log has reached that
/// revision, or until the deadline. Returns the log.
pub async fn run_watcher(
    cfg: WatcherConfig,
    rec: &HistoryRecorder,
    stop: StopFlag,
    until_revision: tokio::sync::watch::Receiver<Option<u64>>,
) -> WatchLog {
    let mut at = cfg.watcher_id as usize % cfg.targets.len().max(1);
    let first = cfg.targets.get(at).map(|t| t.0).unwrap_or(0);
    let mut log = WatchLog::new(
        cfg.watcher_id,
        first,
        cfg.prefix.clone(),
        true,
        cfg.start_revision,
    );
    let mut reconnects = 0u32;
    let done = |log: &WatchLog| {
        stop.is_stopped()
            && until_revision
                .borrow()
                .is_none_or(|r| log.last_revision().is_some_and(|l| l >= r))
    };
    while !done(&log) && Instant::now() < cfg.deadline && reconnects <= cfg.max_reconnects {
        let Some((replica, client)) = cfg.targets.get(at).cloned() else {
            break;
        };
        let from = log.resume_revision();
        if reconnects > 0 || !log.entries.is_empty() {
            log.push_reconnect(rec.now_ns(), replica, from);
        }
        reconnects += 1;
        let broke = stream_once(&cfg, rec, client, from, &mut log, &done).await;
        if broke {
            at = (at + 1) % cfg.targets.len();
            tokio::time::sleep(RECONNECT_PAUSE).await;
        }
    }
    log
}

/// One stream: returns true if it broke (error, stall, end), false if it was closed on purpose
/// (timer or done).
async fn stream_once(
    cfg: &WatcherConfig,
    rec: &HistoryRecorder,
    mut client: StoreClient<Channel>,
    from: u64,
    log: &mut WatchLog,
    done: &impl Fn(&WatchLog) -> bool,
) -> bool {
    let req = WatchRequest {
        key: cfg.prefix.as_bytes().to_vec(),
        prefix: true,
        start_revision: from,
        prev_kv: false,
        progress_notify_ms: PROGRESS_MS,
    };
    let opened = tokio::time::timeout(cfg.stall_timeout, client.watch(req)).await;
    let mut stream = match opened {
        Ok(Ok(resp)) => resp.into_inner(),
        _ => return true,
    };
    let close_at = Instant::now() + cfg.disconnect_every;
    loop {
        if done(log) || Instant::now() >= cfg.deadline {
            return false;
        }
        if Instant::now() >= close_at {
            return false;
        }
        let msg = match tokio::time::timeout(cfg.stall_timeout, stream.next()).await {
            Ok(Some(Ok(msg))) => msg,
            _ => return true,
        };
        let now = rec.now_ns();
        if msg.events.is_empty() {
            if let Some(h) = msg.header {
                log.push_progress(now, h.revision);
            }
            continue;
        }
        for ev in msg.events {
            let Some(kv) = ev.kv else { continue };
            let value = (ev.r#type != EventType::Delete as i32)
                .then(|| String::from_utf8_lossy(&kv.value).to_string());
            log.push_event(
                now,
                kv.mod_revision,
                String::from_utf8_lossy(&kv.key).to_string(),
                value,
            );
        }
    }
}
