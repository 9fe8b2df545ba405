//! `AgentArgs`: keel-agent's command line.

use std::path::PathBuf;

use clap::Parser;

/// Which container runtime drives the pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimeKind {
    /// containerd (or any CRI runtime) over CRI: real sandboxes, images and containers.
    Cri,
    /// In memory: pods "run" without containers (hollow nodes for tests and scale runs).
    Fake,
}

/// Whether and how the agent programs Services in the kernel (see `proxy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProxyMode {
    /// The agent's own nftables table `ip keel-proxy-<node>`.
    Nftables,
    /// Leave the kernel alone.
    None,
}

/// keel-agent — makes the pods bound to this node real.
#[derive(Debug, Clone, Parser)]
#[command(name = "keel-agent", version)]
pub struct AgentArgs {
    /// Replica addresses (HOST:PORT, comma separated); the agent moves to the next one when its
    /// replica fails.
    #[arg(long, env = "KEEL_SERVERS", default_value = "127.0.0.1:7001")]
    pub servers: String,
    /// This node's name (DNS-1123 subdomain).
    #[arg(long)]
    pub node_name: String,
    #[arg(long, value_enum, default_value_t = RuntimeKind::Cri)]
    pub runtime: RuntimeKind,
    /// With `--runtime cri`: use the CRI runtime on this socket instead of starting the agent's
    /// own containerd.
    #[arg(long)]
    pub cri_socket: Option<PathBuf>,
    /// The agent's own directory: its containerd (config, socket, root, state, log), the CNI
    /// config and IP leases, pod logs. Default: /var/lib/keel-agent/<node-name>.
    #[arg(long)]
    pub root_dir: Option<PathBuf>,
    /// The local image registry (`HOST:PORT`, plain HTTP): containerd pulls from it, also as the
    /// mirror of docker.io, and the sandbox image defaults to `<registry>/keel/pause:1`.
    #[arg(long)]
    pub registry: Option<String>,
    /// The pod sandbox ("pause") image; pulled when the agent starts.
    #[arg(long)]
    pub sandbox_image: Option<String>,
    /// The containerd binary the agent supervises.
    #[arg(long, default_value = "containerd")]
    pub containerd_bin: PathBuf,
    /// Where the CNI plugins are (Debian's containernetworking-plugins).
    #[arg(long, default_value = "/usr/lib/cni")]
    pub cni_bin_dir: PathBuf,
    /// Services in the kernel; default: `nftables` with `--runtime cri`, `none` with `fake`.
    #[arg(long, value_enum)]
    pub proxy_mode: Option<ProxyMode>,
    /// The cell's service CIDR (keel-server `--service-cidr`): new connections to an address
    /// in it that no Service translates are rejected, never routed out. Empty: off.
    #[arg(long, default_value = "10.96.0.0/12")]
    pub service_cidr: String,
    /// The service proxy re-applies its table this often even when nothing changed.
    #[arg(long, default_value_t = 30)]
    pub proxy_resync_seconds: u64,
    /// Allocatable CPU (Kubernetes quantity).
    #[arg(long, default_value = "4")]
    pub cpu: String,
    /// Allocatable memory (Kubernetes quantity).
    #[arg(long, default_value = "8Gi")]
    pub memory: String,
    #[arg(long, default_value_t = 110)]
    pub max_pods: u32,
    /// Node labels, `k=v,k2=v2`.
    #[arg(long, default_value = "")]
    pub labels: String,
    /// Run this many hollow nodes in this one process (fake runtime only), named
    /// `<node-name>-0` … `<node-name>-<N-1>`; 1 = just `--node-name`.
    #[arg(long, default_value_t = 1)]
    pub hollow_nodes: u32,
    /// The address reported as the node's InternalIP.
    #[arg(long, default_value = "127.0.0.1")]
    pub node_ip: String,
    /// The port of the agent's own API (logs and exec with `--runtime cri`; resource usage) on
    /// `--node-ip`, reported in the Node's status.daemonEndpoints.kubeletEndpoint; 0 picks a
    /// free port (always, for each of `--hollow-nodes`).
    #[arg(long, default_value_t = 0)]
    pub agent_port: u16,
}

impl AgentArgs {
    /// `--root-dir`, or /var/lib/keel-agent/<node-name>.
    pub fn root_dir(&self) -> PathBuf {
        self.root_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("/var/lib/keel-agent").join(&self.node_name))
    }

    /// `--proxy-mode`, or its default for the runtime.
    pub fn proxy_mode(&self) -> ProxyMode {
        self.proxy_mode.unwrap_or(match self.runtime {
            RuntimeKind::Cri => ProxyMode::Nftables,
            RuntimeKind::Fake => ProxyMode::None,
        })
    }

    /// `--sandbox-image`, or the registry's pause image.
    pub fn sandbox_image(&self) -> Option<String> {
        self.sandbox_image
            .clone()
            .or_else(|| self.registry.as_ref().map(|r| format!("{r}/keel/pause:1")))
    }

    pub fn servers(&self) -> Vec<String> {
        self.servers
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    pub fn label_pairs(&self) -> Vec<(String, String)> {
        self.labels
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect()
    }
}
