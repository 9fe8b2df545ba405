//! Starting one replica: open (or create) the data dir, build the Raft node on RocksDB, serve
//! gRPC for peers and clients on one port, then bootstrap, join or simply resume.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use keel_proto::cluster::cluster_client::ClusterClient;
use keel_proto::cluster::cluster_server::ClusterServer;
use keel_proto::node::node_plane_server::NodePlaneServer;
use keel_proto::objects::objects_server::ObjectsServer;
use keel_proto::raft::raft_server::RaftServer;
use keel_proto::store::store_server::StoreServer;
use openraft::async_runtime::WatchReceiver;
use openraft::{BasicNode, Config, SnapshotPolicy};

use crate::api::cluster_service::ClusterService;
use crate::api::node_service::NodeService;
use crate::api::objects_service::ObjectsService;
use crate::api::store_service::StoreService;
use crate::api::Proposer;
use crate::raft::log_store::{RocksLogStore, EXIT_DISK_FAILURE};
use crate::raft::network::{KeelNetwork, PeerChannels};
use crate::raft::raft_service::RaftService;
use crate::raft::rocks::open_data_dir;
use crate::raft::state_machine::KeelStateMachine;
use crate::raft::KeelRaft;
use crate::registry::{Registry, RegistrySettings};
use crate::server::{compactor, restore, ServerArgs};
use crate::store::{Mvcc, WatchHub};

const MAX_MESSAGE: usize = 64 << 20;
/// Longest wait at startup for Raft's first metrics (the state it loaded).
const FIRST_METRICS_WAIT: Duration = Duration::from_secs(5);

/// Runs a replica until SIGINT/SIGTERM.
pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    args.validate().map_err(anyhow::Error::msg)?;
    let may_create = args.initial_cluster.is_some() || args.join.is_some();
    let opened = open_data_dir(&args.data_dir, args.id, may_create)?;
    if !opened.created && args.restore.is_some() {
        bail!(
            "--restore needs an empty data dir, but {} already holds a replica",
            args.data_dir.display()
        );
    }
    let db = opened.db.clone();
    let mvcc = Mvcc::new(db.clone()).context("opening the state machine")?;
    if let (true, Some(file)) = (opened.created, &args.restore) {
        restore::restore_from(&db, &mvcc, file).map_err(anyhow::Error::msg)?;
    }
    let hub = WatchHub::new(1024).with_index(crate::registry::pod_node_index::pod_node_index());
    let sm = KeelStateMachine::new(
        db.clone(),
        mvcc.clone(),
        hub.clone(),
        opened.snapshot_dir.clone(),
    )?;
    let applied = sm.applied();
    let log_store = RocksLogStore::new(db.clone())?;
    let channels = PeerChannels::default();
    let network = KeelNetwork {
        self_id: args.id,
        channels: channels.clone(),
    };

    let config = Config {
        cluster_name: "keel".into(),
        heartbeat_interval: args.heartbeat_ms,
        election_timeout_min: args.election_timeout_ms,
        election_timeout_max: args.election_timeout_ms * 2,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(args.snapshot_logs),
        max_in_snapshot_log_to_keep: args.keep_logs,
        install_snapshot_timeout: 10_000,
        ..Default::default()
    }
    .validate()
    .context("raft configuration")?;
    let raft: KeelRaft = openraft::Raft::new(args.id, Arc::new(config), network, log_store, sm)
        .await
        .context("starting raft")?;
    watch_for_fatal(raft.clone());
    // Serve nothing before Raft has published the state it loaded: until then its metrics are the
    // initial ones (term 0, no log), and a Status answered now would show the term going back.
    let mut first_metrics = raft.metrics();
    if tokio::time::timeout(FIRST_METRICS_WAIT, first_metrics.changed())
        .await
        .is_err()
    {
        tracing::warn!("raft published no metrics within {FIRST_METRICS_WAIT:?}; serving anyway");
    }

    let proposer = Proposer::new(args.id, raft.clone(), channels.clone(), applied);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding --listen {}", args.listen))?;
    let store = StoreService {
        proposer: proposer.clone(),
        mvcc: mvcc.clone(),
        hub: hub.clone(),
        unsafe_local_reads: args.unsafe_local_reads,
    };
    if args.unsafe_local_reads {
        tracing::warn!(
            "--unsafe-local-reads: linearizable reads skip ReadIndex and may be stale (testing only)"
        );
    }
    let settings = RegistrySettings {
        allocator: crate::objects::ServiceAllocator::new(
            &args.service_cidr,
            crate::objects::DEFAULT_NODE_PORTS,
        )
        .map_err(|e| anyhow::anyhow!("--service-cidr: {}", e.0))?,
        pod_cidrs: crate::registry::PodCidrAllocator::new(
            &args.cluster_cidr,
            args.node_cidr_mask_size,
        )
        .map_err(|e| anyhow::anyhow!("--cluster-cidr: {}", e.0))?,
        max_events: args.max_events,
        event_ttl: Duration::from_secs(args.event_ttl_seconds),
    };
    let registry = Registry::new(proposer.clone(), mvcc.clone(), hub.clone(), settings);
    let objects = ObjectsService {
        registry: registry.clone(),
    };
    let liveness = crate::nodes::NodeLiveness::new();
    let cluster = Arc::new(ClusterService {
        id: args.id,
        addr: args.advertised(),
        raft: raft.clone(),
        mvcc: mvcc.clone(),
        proposer: proposer.clone(),
        channels: channels.clone(),
        db: db.clone(),
        export_dir: args.data_dir.join("exports"),
        registry: registry.clone(),
        liveness: liveness.clone(),
    });
    if let Some(addr) = args.metrics_listen {
        let sampled = cluster.clone();
        let endpoint = crate::metrics::http::Endpoint {
            raft: raft.clone(),
            sample_nodes: Arc::new(move |m| {
                let (_, owned, reporting) = sampled.partition_info();
                m.node_nodes_owned.set(owned.into());
                m.node_agents_reporting.set(reporting.into());
            }),
        };
        let bound = crate::metrics::http::serve(addr, endpoint)
            .await
            .with_context(|| format!("binding --metrics-listen {addr}"))?;
        tracing::info!(%bound, "serving /metrics, /healthz, /readyz");
    }
    let node_plane = NodeService {
        registry: registry.clone(),
        liveness: liveness.clone(),
        batcher: crate::nodes::StatusBatcher::start(
            registry.clone(),
            Duration::from_millis(100),
            1000,
        ),
        aggregate: !args.no_node_aggregation,
        registrations: Arc::new(tokio::sync::Semaphore::new(
            crate::api::node_service::REGISTRATIONS_IN_FLIGHT,
        )),
    };
    tokio::spawn(crate::nodes::summary_sender::run(
        registry.clone(),
        liveness.clone(),
    ));
    let raft_rpc = RaftService {
        id: args.id,
        raft: raft.clone(),
        snapshot_dir: opened.snapshot_dir.clone(),
        proposer: proposer.clone(),
    };
    let server = tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(
            RaftServer::new(raft_rpc)
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            StoreServer::new(store)
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            ObjectsServer::new(objects)
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            NodePlaneServer::new(node_plane)
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            ClusterServer::from_arc(cluster)
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
        )
        .serve_with_incoming_shutdown(incoming_nodelay(listener), shutdown_signal());
    let server = tokio::spawn(server);
    tracing::info!(id = args.id, listen = %args.listen, created = opened.created, "replica serving");

    if let Some(cluster) = &args.initial_cluster {
        if !raft.is_initialized().await? {
            let members: BTreeMap<_, _> = cluster
                .0
                .iter()
                .map(|(id, addr)| (*id, BasicNode { addr: addr.clone() }))
                .collect();
            match raft.initialize(members).await {
                Ok(()) => tracing::info!("bootstrapped a new cell"),
                // Another member's initialisation reached us first: that is the same cell.
                Err(e) => tracing::info!(error = %e, "cell already initialised by a peer"),
            }
        }
    }
    if let Some(join) = args.join.clone() {
        if !raft.is_initialized().await? {
            tokio::spawn(join_cell(join, args.id, args.advertised()));
        }
    }
    let brain = crate::leader::BrainConfig {
        node_monitor_grace: Duration::from_millis(args.node_monitor_grace_ms),
        default_eviction_toleration: Duration::from_millis(args.default_eviction_toleration_ms),
        controllers: args.controllers.clone(),
        ..Default::default()
    };
    tokio::spawn(crate::leader::run_supervisor(
        registry.clone(),
        brain,
        liveness,
    ));
    tokio::spawn(crate::registry::maintenance::run(
        registry,
        Duration::from_secs(2),
    ));
    tokio::spawn(compactor::run(
        raft.clone(),
        mvcc,
        proposer,
        args.history_retention,
        Duration::from_secs(5),
    ));

    server
        .await
        .context("server task")?
        .context("gRPC server")?;
    tracing::info!("shutting down");
    raft.shutdown().await.ok();
    Ok(())
}

/// Accepted connections with Nagle's algorithm off: replication and forwarding send many small
/// HTTP/2 frames, and Nagle plus delayed ACKs would stall them for ~40 ms. (Server::tcp_nodelay
/// only applies to listeners tonic binds itself.)
fn incoming_nodelay(
    listener: tokio::net::TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use futures::StreamExt;
    tokio_stream::wrappers::TcpListenerStream::new(listener).map(|conn| {
        let conn = conn?;
        conn.set_nodelay(true)?;
        Ok(conn)
    })
}

/// Asks the cell to add this replica as a learner, retrying until it answers.
async fn join_cell(via: String, id: u64, addr: String) {
    for attempt in 1..=120 {
        let result = async {
            let mut client = ClusterClient::connect(format!("http://{via}")).await?;
            client
                .add_learner(keel_proto::cluster::AddLearnerRequest {
                    id,
                    addr: addr.clone(),
                })
                .await
                .map_err(anyhow::Error::from)
        }
        .await;
        match result {
            Ok(_) => {
                tracing::info!(via, "joined the cell as a learner");
                return;
            }
            Err(e) => tracing::warn!(attempt, via, error = %e, "join failed; retrying"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tracing::error!(via, "giving up joining the cell");
}

/// A Raft that hit a fatal error (a storage failure above all) must not keep serving.
fn watch_for_fatal(raft: KeelRaft) {
    tokio::spawn(async move {
        let mut rx = raft.metrics();
        loop {
            if let Err(fatal) = &rx.borrow_watched().running_state {
                tracing::error!(error = %fatal, "raft stopped with a fatal error; stopping this replica");
                eprintln!("keel-server: raft stopped: {fatal}");
                std::process::exit(EXIT_DISK_FAILURE);
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    });
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
