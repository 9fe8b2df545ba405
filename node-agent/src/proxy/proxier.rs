//! `Proxier`: the service proxy's loop. It mirrors Services and Endpoints from the cell
//! ([`ObjectMirror`]), and after each burst of changes renders the table ([`render`]) and
//! applies it with one `nft -f` transaction — only when the text differs from what it last
//! applied. A timer re-applies the same text anyway (someone may have flushed the table), a
//! failed apply is retried within a second, and a broken watch moves to the next replica and
//! resumes there while the kernel keeps the last rules. Stopping removes the table.

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Endpoints, Service};
use keel_proto::objects::objects_client::ObjectsClient;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::kernel_settings;
use super::nft::Nft;
use super::object_mirror::{ObjectMirror, BOOKMARK_EVERY_MS};
use super::ruleset::{render, table_name, RulesetOptions};
use super::service_ports::service_ports;
use crate::cell_client::CellClient;
use crate::config::{AgentArgs, ProxyMode};

/// How the proxy runs.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    /// This node's name: the table is `ip keel-proxy-<node>`.
    pub node: String,
    /// See [`RulesetOptions::service_cidr`].
    pub service_cidr: Option<(Ipv4Addr, u8)>,
    /// How often the table is re-applied when nothing changed.
    pub resync: Duration,
    pub nft: Nft,
}

/// The running proxy; [`Proxier::stop`] removes its table (dropping it does too, blocking).
pub struct Proxier {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    table: String,
    nft: Nft,
}

impl Proxier {
    /// The proxy `args` ask for: `None` with `--proxy-mode none` (the default for the fake
    /// runtime); otherwise the host's sysctls set and the loop started.
    pub fn from_args(args: &AgentArgs) -> anyhow::Result<Option<Proxier>> {
        if args.proxy_mode() == ProxyMode::None {
            tracing::info!("service proxy off (--proxy-mode none)");
            return Ok(None);
        }
        let service_cidr = match args.service_cidr.trim() {
            "" => None,
            cidr => Some(parse_ipv4_cidr(cidr)?),
        };
        kernel_settings::ensure(Path::new("/proc/sys"));
        let opts = ProxyOptions {
            node: args.node_name.clone(),
            service_cidr,
            resync: Duration::from_secs(args.proxy_resync_seconds.max(1)),
            nft: Nft::default(),
        };
        let proxier = Proxier::start(CellClient::new(args.servers())?, opts);
        tracing::info!(table = proxier.table(), "service proxy: nftables");
        Ok(Some(proxier))
    }

    /// Starts the loop on `cell` (a client of its own, so its replica moves independently of
    /// the pod watch's).
    pub fn start(cell: CellClient, opts: ProxyOptions) -> Proxier {
        let table = table_name(&opts.node);
        let nft = opts.nft.clone();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(run(cell, opts, stopped));
        Proxier {
            stop: Some(stop),
            task: Some(task),
            table,
            nft,
        }
    }

    /// The agent's nft table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Stops the loop and removes the table.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Proxier {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            remove_table(&self.nft, &self.table);
        }
    }
}

fn remove_table(nft: &Nft, table: &str) {
    match nft.delete_table_blocking(table) {
        Ok(()) => tracing::info!(%table, "removed the service proxy's nft table"),
        Err(e) => {
            tracing::warn!(%table, error = %e, "removing the service proxy's nft table failed")
        }
    }
}

/// A burst of watch events is applied together this long after its first event.
const SETTLE: Duration = Duration::from_millis(50);
/// Listing and starting both watches on one replica may take this long before the next one is
/// tried (a replica cut off may accept the connection and never answer).
const CONNECT_WITHIN: Duration = Duration::from_secs(10);
/// A failed apply is retried after this long.
const RETRY: Duration = Duration::from_secs(1);
/// A watch with neither an event nor a BOOKMARK for this long is abandoned (its replica may be
/// cut off without the connection failing).
const SILENT_FOR: Duration = Duration::from_millis(4 * BOOKMARK_EVERY_MS as u64);

async fn run(cell: CellClient, opts: ProxyOptions, mut stopped: oneshot::Receiver<()>) {
    let mut state = State {
        services: ObjectMirror::new("services"),
        endpoints: ObjectMirror::new("endpoints"),
        ruleset: RulesetOptions {
            table: table_name(&opts.node),
            service_cidr: opts.service_cidr,
        },
        nft: opts.nft.clone(),
        applied: None,
    };
    let mut resync =
        tokio::time::interval_at(tokio::time::Instant::now() + opts.resync, opts.resync);
    resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pause = Duration::from_millis(100);
    'connect: loop {
        let connected = tokio::select! {
            _ = &mut stopped => break 'connect,
            c = tokio::time::timeout(CONNECT_WITHIN, state.connect(&cell)) => c
                .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within {CONNECT_WITHIN:?}"))),
        };
        let (mut services, mut endpoints) = match connected {
            Ok(streams) => streams,
            Err(e) => {
                tracing::warn!(replica = %cell.current(), error = %e,
                    "service proxy: watching Services and Endpoints failed; moving on");
                cell.rotate();
                tokio::select! {
                    _ = &mut stopped => break 'connect,
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        pause = Duration::from_millis(100);
        let mut pending = !state.sync(false).await;
        let settle = tokio::time::sleep(RETRY);
        tokio::pin!(settle);
        if pending {
            settle.as_mut().reset(tokio::time::Instant::now() + RETRY);
        }
        let silent = tokio::time::sleep(SILENT_FOR);
        tokio::pin!(silent);
        let mut heard = [tokio::time::Instant::now(); 2];
        let broken = loop {
            let changed = tokio::select! {
                _ = &mut stopped => break 'connect,
                m = services.message() => {
                    heard[0] = tokio::time::Instant::now();
                    state.services.handle(m)
                }
                m = endpoints.message() => {
                    heard[1] = tokio::time::Instant::now();
                    state.endpoints.handle(m)
                }
                _ = &mut silent => {
                    let quiet = heard.iter().min().copied().unwrap_or_else(tokio::time::Instant::now);
                    if quiet.elapsed() >= SILENT_FOR {
                        break tonic::Status::deadline_exceeded("a watch went silent");
                    }
                    silent.as_mut().reset(quiet + SILENT_FOR);
                    continue;
                }
                _ = resync.tick() => {
                    if !state.sync(true).await && !pending {
                        pending = true;
                        settle.as_mut().reset(tokio::time::Instant::now() + RETRY);
                    }
                    continue;
                }
                _ = &mut settle, if pending => {
                    pending = !state.sync(false).await;
                    if pending {
                        settle.as_mut().reset(tokio::time::Instant::now() + RETRY);
                    }
                    continue;
                }
            };
            match changed {
                Ok(true) if !pending => {
                    pending = true;
                    settle.as_mut().reset(tokio::time::Instant::now() + SETTLE);
                }
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        tracing::warn!(replica = %cell.current(), error = %broken,
            "service proxy: a watch broke; resuming on the next replica");
        cell.rotate();
    }
    remove_table(&state.nft, &state.ruleset.table);
}

struct State {
    services: ObjectMirror<Service>,
    endpoints: ObjectMirror<Endpoints>,
    ruleset: RulesetOptions,
    nft: Nft,
    /// The script last applied successfully.
    applied: Option<String>,
}

type Streams = (
    tonic::Streaming<keel_proto::objects::WatchEvent>,
    tonic::Streaming<keel_proto::objects::WatchEvent>,
);

impl State {
    /// Watches of both kinds on the current replica (listing first where needed).
    async fn connect(&mut self, cell: &CellClient) -> anyhow::Result<Streams> {
        let mut client = ObjectsClient::new(cell.channel()?);
        let services = self.services.watch(&mut client).await?;
        let endpoints = self.endpoints.watch(&mut client).await?;
        tracing::info!(replica = %cell.current(),
            services = self.services.items().len(), endpoints = self.endpoints.items().len(),
            services_from = self.services.resource_version(),
            endpoints_from = self.endpoints.resource_version(),
            "service proxy: watching Services and Endpoints");
        Ok((services, endpoints))
    }

    /// Renders the table and applies it if it changed (or `always`); false when nft failed.
    async fn sync(&mut self, always: bool) -> bool {
        let ports = service_ports(self.services.items().values(), self.endpoints.items());
        let script = render(&self.ruleset, &ports);
        if !always && self.applied.as_deref() == Some(script.as_str()) {
            return true;
        }
        match self.nft.apply(&script).await {
            Ok(()) => {
                if self.applied.as_deref() != Some(script.as_str()) {
                    let backends: usize = ports.iter().map(|p| p.backends.len()).sum();
                    let unserved = ports.iter().filter(|p| p.backends.is_empty()).count();
                    tracing::info!(table = %self.ruleset.table, service_ports = ports.len(),
                        backends, without_endpoints = unserved, "service proxy: programmed");
                }
                self.applied = Some(script);
                true
            }
            Err(e) => {
                tracing::warn!(table = %self.ruleset.table, error = %e,
                    "service proxy: applying the table failed; retrying");
                false
            }
        }
    }
}

/// "10.96.0.0/12" → (10.96.0.0, 12).
pub fn parse_ipv4_cidr(cidr: &str) -> anyhow::Result<(Ipv4Addr, u8)> {
    let (net, prefix) = cidr
        .split_once('/')
        .ok_or_else(|| anyhow::anyhow!("{cidr:?} is not an IPv4 CIDR"))?;
    let net: Ipv4Addr = net
        .parse()
        .map_err(|e| anyhow::anyhow!("{cidr:?} is not an IPv4 CIDR: {e}"))?;
    let prefix: u8 = prefix
        .parse()
        .ok()
        .filter(|p| *p <= 32)
        .ok_or_else(|| anyhow::anyhow!("{cidr:?}: the prefix length is not 0-32"))?;
    Ok((net, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_cidrs_parse_and_bad_ones_are_refused() {
        assert_eq!(
            parse_ipv4_cidr("10.96.0.0/12").unwrap(),
            (Ipv4Addr::new(10, 96, 0, 0), 12)
        );
        for bad in [
            "10.96.0.0",
            "10.96.0.0/33",
            "fd00::/64",
            "x/8",
            "10.96.0.0/12; flush ruleset",
        ] {
            assert!(parse_ipv4_cidr(bad).is_err(), "{bad}");
        }
    }
}
