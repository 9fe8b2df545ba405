//! `NetnsLab`: one run's namespaces — a hub with a bridge, one namespace per replica joined to it
//! by a veth — and the link faults applied inside them (see the module docs of
//! [`crate::network`]).

use std::{
    collections::{BTreeMap, BTreeSet},
    os::fd::AsRawFd,
    sync::{Mutex, MutexGuard},
};

use anyhow::Context;

use super::{run_tool, LinkRules, LinkState, NetnsNames};

/// The /24 every run uses inside its own hub (runs never share a hub, so they never clash).
const SUBNET: &str = "10.77.0";
/// The hub bridge's address: where the runner's clients come from.
const HUB_HOST: u8 = 1;
/// Replica `id` gets `10.77.0.<REPLICA_BASE + id>`.
const REPLICA_BASE: u64 = 10;
/// Highest replica id a lab can place.
const MAX_ID: u64 = 200;
/// The bridge inside the hub namespace.
const BRIDGE: &str = "br0";

/// The namespaces of one run. Create it (as root) before any thread that must live in the hub is
/// started, [`enter_hub`](Self::enter_hub) from the main thread, then add replicas.
#[derive(Debug)]
pub struct NetnsLab {
    names: NetnsNames,
    state: Mutex<LabState>,
}

#[derive(Debug, Default)]
struct LabState {
    replicas: BTreeSet<u64>,
    rules: BTreeMap<u64, LinkRules>,
    rate_limited: BTreeSet<u64>,
    torn_down: bool,
}

impl NetnsLab {
    /// Port every replica listens on (each has its own address).
    pub const PORT: u16 = 7000;

    /// Checks the tools, removes leftovers of crashed runs, and creates the hub namespace with its
    /// bridge at `10.77.0.1/24`.
    pub fn create() -> anyhow::Result<NetnsLab> {
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        anyhow::ensure!(
            euid == 0,
            "network namespaces need root (euid is {euid}); run as root or use --network loopback"
        );
        run_tool("ip", &["-V"], None).context("`ip` (iproute2) is needed")?;
        run_tool("nft", &["--version"], None)
            .context("`nft` is needed: run scripts/install-chaos-deps.sh")?;
        let removed = super::remove_stale_namespaces()?;
        if !removed.is_empty() {
            eprintln!(
                "keel-chaos: removed namespaces of crashed runs: {}",
                removed.join(" ")
            );
        }
        let lab = NetnsLab {
            names: NetnsNames::of_this_process(),
            state: Mutex::new(LabState::default()),
        };
        let hub = lab.names.hub();
        let cidr = format!("{SUBNET}.{HUB_HOST}/24");
        let steps: [&[&str]; 5] = [
            &["netns", "add", &hub],
            &["-n", &hub, "link", "set", "lo", "up"],
            &["-n", &hub, "link", "add", BRIDGE, "type", "bridge"],
            &["-n", &hub, "addr", "add", &cidr, "dev", BRIDGE],
            &["-n", &hub, "link", "set", BRIDGE, "up"],
        ];
        for args in steps {
            run_tool("ip", args, None)?;
        }
        Ok(lab)
    }

    pub fn names(&self) -> NetnsNames {
        self.names
    }

    fn lock(&self) -> MutexGuard<'_, LabState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves the calling thread into the hub namespace. Threads started afterwards by this thread
    /// (a tokio runtime's workers, the process spawner) are born there too, so call this from the
    /// main thread before starting the runtime.
    pub fn enter_hub(&self) -> anyhow::Result<()> {
        let path = format!("/run/netns/{}", self.names.hub());
        let file = std::fs::File::open(&path).with_context(|| format!("opening {path}"))?;
        // SAFETY: setns with a namespace fd we hold open; it only changes this thread's namespace.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        anyhow::ensure!(
            rc == 0,
            "setns into {path}: {}",
            std::io::Error::last_os_error()
        );
        Ok(())
    }

    /// Replica `id`'s IP address.
    pub fn replica_ip(id: u64) -> String {
        format!("{SUBNET}.{}", REPLICA_BASE + id)
    }

    /// Replica `id`'s listen address (`10.77.0.<10+id>:7000`).
    pub fn replica_addr(id: u64) -> String {
        format!("{}:{}", Self::replica_ip(id), Self::PORT)
    }

    /// The command prefix that runs a program inside replica `id`'s namespace.
    pub fn exec_prefix(&self, id: u64) -> Vec<String> {
        vec![
            "ip".into(),
            "netns".into(),
            "exec".into(),
            self.names.replica(id),
        ]
    }

    /// Whether replica `id` has a namespace in this lab.
    pub fn has_replica(&self, id: u64) -> bool {
        self.lock().replicas.contains(&id)
    }

    /// Creates replica `id`'s namespace, joined to the hub bridge, and returns its listen address.
    pub fn add_replica(&self, id: u64) -> anyhow::Result<String> {
        anyhow::ensure!((1..=MAX_ID).contains(&id), "replica ids 1..={MAX_ID} only");
        let mut state = self.lock();
        anyhow::ensure!(!state.torn_down, "the lab was torn down");
        anyhow::ensure!(
            !state.replicas.contains(&id),
            "replica {id} already has a namespace"
        );
        let (hub, ns) = (self.names.hub(), self.names.replica(id));
        let veth = format!("vr{id}");
        let cidr = format!("{}/24", Self::replica_ip(id));
        let steps: [&[&str]; 6] = [
            &["netns", "add", &ns],
            &[
                "-n", &hub, "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns",
                &ns,
            ],
            &["-n", &hub, "link", "set", &veth, "master", BRIDGE, "up"],
            &["-n", &ns, "addr", "add", &cidr, "dev", "eth0"],
            &["-n", &ns, "link", "set", "eth0", "up"],
            &["-n", &ns, "link", "set", "lo", "up"],
        ];
        state.replicas.insert(id);
        for args in steps {
            run_tool("ip", args, None)?;
        }
        Ok(Self::replica_addr(id))
    }

    /// Sets the link from replica `from` to replica `to` (one direction) and applies `from`'s
    /// rules at once.
    pub fn set_link(&self, from: u64, to: u64, link: LinkState) -> anyhow::Result<()> {
        let mut state = self.lock();
        anyhow::ensure!(
            state.replicas.contains(&from) && state.replicas.contains(&to),
            "no namespace for replica {from} or {to}"
        );
        let rules = state.rules.entry(from).or_default();
        rules.set(&Self::replica_ip(to), link);
        let script = rules.nft_script();
        self.apply_nft(from, &script)
    }

    /// The current state of the link from `from` to `to`.
    pub fn link(&self, from: u64, to: u64) -> LinkState {
        self.lock()
            .rules
            .get(&from)
            .map(|r| r.get(&Self::replica_ip(to)))
            .unwrap_or(LinkState::Open)
    }

    fn apply_nft(&self, id: u64, script: &str) -> anyhow::Result<()> {
        let ns = self.names.replica(id);
        run_tool(
            "ip",
            &["netns", "exec", &ns, "nft", "-f", "-"],
            Some(script),
        )
        .with_context(|| format!("applying nftables rules in {ns}"))?;
        Ok(())
    }

    /// Limits everything replica `id` sends to `kbit` kbit/s with a token bucket (`None`: no
    /// limit). The queue this builds up is the closest thing to link delay this kernel offers.
    pub fn set_rate_limit(&self, id: u64, kbit: Option<u32>) -> anyhow::Result<()> {
        let mut state = self.lock();
        let ns = self.names.replica(id);
        let had = state.rate_limited.contains(&id);
        match kbit {
            Some(kbit) => {
                let rate = format!("{kbit}kbit");
                run_tool(
                    "ip",
                    &[
                        "netns", "exec", &ns, "tc", "qdisc", "replace", "dev", "eth0", "root",
                        "tbf", "rate", &rate, "burst", "32kbit", "latency", "2s",
                    ],
                    None,
                )?;
                state.rate_limited.insert(id);
            }
            None if had => {
                run_tool(
                    "ip",
                    &[
                        "netns", "exec", &ns, "tc", "qdisc", "del", "dev", "eth0", "root",
                    ],
                    None,
                )?;
                state.rate_limited.remove(&id);
            }
            None => {}
        }
        Ok(())
    }

    /// Opens every link and removes every rate limit.
    pub fn heal_all(&self) -> anyhow::Result<()> {
        let (rules, limited): (Vec<u64>, Vec<u64>) = {
            let state = self.lock();
            (
                state.rules.keys().copied().collect(),
                state.rate_limited.iter().copied().collect(),
            )
        };
        for id in rules {
            self.lock().rules.remove(&id);
            self.apply_nft(id, &LinkRules::default().nft_script())?;
        }
        for id in limited {
            self.set_rate_limit(id, None)?;
        }
        Ok(())
    }

    /// Deletes every namespace of this lab (with their veths, bridge and rules). Idempotent; also
    /// done on drop. Processes still inside are not killed: stop the cluster first.
    pub fn teardown(&self) -> anyhow::Result<()> {
        let mut state = self.lock();
        if state.torn_down {
            return Ok(());
        }
        state.torn_down = true;
        let mut errors = Vec::new();
        let mut names: Vec<String> = state
            .replicas
            .iter()
            .map(|id| self.names.replica(*id))
            .collect();
        names.push(self.names.hub());
        for name in names {
            if let Err(e) = run_tool("ip", &["netns", "del", &name], None) {
                errors.push(format!("{e:#}"));
            }
        }
        anyhow::ensure!(errors.is_empty(), "teardown: {}", errors.join("; "));
        Ok(())
    }
}

impl Drop for NetnsLab {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            eprintln!("keel-chaos: {e:#}");
        }
    }
}
