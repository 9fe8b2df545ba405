//! `keelctl cluster status|add-learner|promote|remove|transfer-leader|snapshot`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use comfy_table::Table;
use keel_proto::cluster as pb;
use keel_proto::cluster::cluster_client::ClusterClient;
use serde_json::json;

use crate::cli::connect::{connect_any, connect_one};
use crate::cli::Output;

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Members, roles, leader, term, log and snapshot positions of every replica.
    Status,
    /// Add a replica as a non-voting learner (it catches up before this returns).
    AddLearner { id: u64, addr: String },
    /// Make a caught-up learner a voter.
    Promote { id: u64 },
    /// Remove a replica from the cell.
    Remove { id: u64 },
    /// Hand leadership to another voter.
    TransferLeader { id: u64 },
    /// Snapshots: `create` builds one now (and purges the log behind it); `save FILE` downloads a
    /// consistent copy of the state for disaster recovery (`keel-server --restore FILE`).
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    Create,
    Save { file: PathBuf },
}

fn members_json(members: &[pb::Member]) -> serde_json::Value {
    json!(members
        .iter()
        .map(|m| json!({"id": m.id, "addr": m.addr, "role": m.role, "matched_index": m.matched_index}))
        .collect::<Vec<_>>())
}

fn status_json(s: &pb::StatusResponse) -> serde_json::Value {
    json!({
        "id": s.id, "addr": s.addr, "state": s.state,
        "leader": if s.has_leader { Some(s.leader_id) } else { None },
        "term": s.term, "last_log_index": s.last_log_index, "commit_index": s.commit_index,
        "applied_index": s.applied_index, "snapshot_index": s.snapshot_index, "purged_index": s.purged_index,
        "revision": s.revision, "compact_revision": s.compact_revision, "state_hash": s.state_hash,
        "partition_owners": s.partition_owners, "nodes_owned": s.nodes_owned,
        "agents_reporting": s.agents_reporting,
    })
}

async fn status(servers: &[String], output: Output) -> anyhow::Result<()> {
    let mut any = ClusterClient::new(connect_any(servers).await?);
    let first = any
        .status(pb::StatusRequest {})
        .await
        .context("status")?
        .into_inner();
    // Ask every member for its own view; an unreachable member is shown as such.
    let mut rows = Vec::new();
    for m in &first.members {
        let view = match connect_one(&m.addr).await {
            Ok(ch) => ClusterClient::new(ch)
                .status(pb::StatusRequest {})
                .await
                .map(|r| r.into_inner())
                .ok(),
            Err(_) => None,
        };
        rows.push((m.clone(), view));
    }
    match output {
        Output::Json => {
            let replicas: Vec<_> = rows
                .iter()
                .map(|(m, v)| json!({"member": members_json(std::slice::from_ref(m))[0], "status": v.as_ref().map(status_json)}))
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "leader": if first.has_leader { Some(first.leader_id) } else { None },
                    "term": first.term,
                    "members": members_json(&first.members),
                    "replicas": replicas,
                }))?
            );
        }
        Output::Table => {
            let mut t = Table::new();
            t.set_header([
                "ID",
                "ADDRESS",
                "ROLE",
                "STATE",
                "TERM",
                "LAST LOG",
                "COMMIT",
                "APPLIED",
                "SNAPSHOT",
                "REVISION",
                "NODES OWNED",
                "AGENTS",
            ]);
            for (m, v) in &rows {
                match v {
                    Some(s) => t.add_row([
                        m.id.to_string(),
                        m.addr.clone(),
                        m.role.clone(),
                        s.state.clone(),
                        s.term.to_string(),
                        s.last_log_index.to_string(),
                        s.commit_index.to_string(),
                        s.applied_index.to_string(),
                        s.snapshot_index.to_string(),
                        s.revision.to_string(),
                        s.nodes_owned.to_string(),
                        s.agents_reporting.to_string(),
                    ]),
                    None => t.add_row([
                        m.id.to_string(),
                        m.addr.clone(),
                        m.role.clone(),
                        "unreachable".into(),
                    ]),
                };
            }
            println!("{t}");
            match first.has_leader {
                true => println!("leader: {} (term {})", first.leader_id, first.term),
                false => println!("leader: none known"),
            }
            match first.partition_owners.as_str() {
                "" => println!("node partitions: not published (agents report to the leader)"),
                owners => println!("node partitions: owned by replicas {owners}"),
            }
        }
    }
    Ok(())
}

fn print_members(resp: &pb::MembershipResponse, output: Output) {
    match output {
        Output::Json => println!(
            "{}",
            json!({"log_index": resp.log_index, "members": members_json(&resp.members)})
        ),
        Output::Table => {
            for m in &resp.members {
                println!("{} {} {}", m.id, m.addr, m.role);
            }
        }
    }
}

pub async fn run(cmd: ClusterCommand, servers: &[String], output: Output) -> anyhow::Result<()> {
    if let ClusterCommand::Status = cmd {
        return status(servers, output).await;
    }
    let mut client = ClusterClient::new(connect_any(servers).await?);
    match cmd {
        ClusterCommand::Status => unreachable!("handled above"),
        ClusterCommand::AddLearner { id, addr } => {
            let r = client
                .add_learner(pb::AddLearnerRequest { id, addr })
                .await
                .context("add-learner")?;
            print_members(&r.into_inner(), output);
        }
        ClusterCommand::Promote { id } => {
            let r = client
                .promote(pb::PromoteRequest { id })
                .await
                .context("promote")?;
            print_members(&r.into_inner(), output);
        }
        ClusterCommand::Remove { id } => {
            let r = client
                .remove(pb::RemoveRequest { id })
                .await
                .context("remove")?;
            print_members(&r.into_inner(), output);
        }
        ClusterCommand::TransferLeader { id } => {
            let r = client
                .transfer_leader(pb::TransferLeaderRequest { to: id })
                .await
                .context("transfer-leader")?;
            println!("leader: {}", r.into_inner().leader_id);
        }
        ClusterCommand::Snapshot(SnapshotCommand::Create) => {
            let r = client
                .trigger_snapshot(pb::TriggerSnapshotRequest {})
                .await
                .context("snapshot create")?;
            println!("snapshot at log index {}", r.into_inner().snapshot_index);
        }
        ClusterCommand::Snapshot(SnapshotCommand::Save { file }) => {
            let mut stream = client
                .save_snapshot(pb::SaveSnapshotRequest {})
                .await
                .context("snapshot save")?
                .into_inner();
            let tmp = file.with_extension("part");
            let mut out = std::fs::File::create(&tmp)
                .with_context(|| format!("creating {}", tmp.display()))?;
            let mut bytes = 0usize;
            while let Some(chunk) = stream.message().await.context("snapshot save")? {
                out.write_all(&chunk.data)?;
                bytes += chunk.data.len();
            }
            out.sync_all()?;
            std::fs::rename(&tmp, &file)?;
            println!("saved {bytes} bytes to {}", file.display());
        }
    }
    Ok(())
}
