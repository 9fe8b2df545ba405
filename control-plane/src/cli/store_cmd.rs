//! `keelctl store get|put|del|watch|compact`.

use anyhow::Context;
use clap::Subcommand;
use keel_proto::store as pb;
use keel_proto::store::store_client::StoreClient;
use serde_json::json;

use crate::cli::connect::connect_any;
use crate::cli::Output;

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Read a key (or every key under a prefix).
    Get {
        key: String,
        #[arg(long)]
        prefix: bool,
        /// Read at this revision (0: latest).
        #[arg(long, default_value_t = 0)]
        rev: u64,
        #[arg(long, default_value_t = 0)]
        limit: u64,
        /// Local, possibly stale read.
        #[arg(long)]
        serializable: bool,
    },
    /// Write a key.
    Put { key: String, value: String },
    /// Delete a key (or every key under a prefix).
    Del {
        key: String,
        #[arg(long)]
        prefix: bool,
    },
    /// Print every change to a key or prefix, from a revision on.
    Watch {
        key: String,
        #[arg(long)]
        prefix: bool,
        #[arg(long, default_value_t = 0)]
        rev: u64,
        /// Stop after this many events (0: never).
        #[arg(long, default_value_t = 0)]
        count: u64,
    },
    /// Drop history older than a revision.
    Compact { revision: u64 },
}

fn kv_json(kv: &pb::KeyValue) -> serde_json::Value {
    json!({
        "key": String::from_utf8_lossy(&kv.key),
        "value": String::from_utf8_lossy(&kv.value),
        "create_revision": kv.create_revision,
        "mod_revision": kv.mod_revision,
        "version": kv.version,
    })
}

pub async fn run(cmd: StoreCommand, servers: &[String], output: Output) -> anyhow::Result<()> {
    let mut client =
        StoreClient::new(connect_any(servers).await?).max_decoding_message_size(64 << 20);
    match cmd {
        StoreCommand::Get {
            key,
            prefix,
            rev,
            limit,
            serializable,
        } => {
            let resp = client
                .range(pb::RangeRequest {
                    key: key.into_bytes(),
                    prefix,
                    revision: rev,
                    limit,
                    serializable,
                    ..Default::default()
                })
                .await
                .context("get")?
                .into_inner();
            match output {
                Output::Json => println!(
                    "{}",
                    json!({"revision": resp.header.map(|h| h.revision), "count": resp.count, "more": resp.more,
                           "kvs": resp.kvs.iter().map(kv_json).collect::<Vec<_>>()})
                ),
                Output::Table => {
                    for kv in &resp.kvs {
                        println!(
                            "{}\n{}",
                            String::from_utf8_lossy(&kv.key),
                            String::from_utf8_lossy(&kv.value)
                        );
                    }
                }
            }
        }
        StoreCommand::Put { key, value } => {
            let resp = client
                .put(pb::PutRequest {
                    key: key.into_bytes(),
                    value: value.into_bytes(),
                    prev_kv: false,
                })
                .await
                .context("put")?
                .into_inner();
            match output {
                Output::Json => println!("{}", json!({"revision": resp.revision})),
                Output::Table => println!("OK (revision {})", resp.revision),
            }
        }
        StoreCommand::Del { key, prefix } => {
            let resp = client
                .delete(pb::DeleteRequest {
                    key: key.into_bytes(),
                    prefix,
                    prev_kv: false,
                })
                .await
                .context("del")?
                .into_inner();
            match output {
                Output::Json => println!(
                    "{}",
                    json!({"deleted": resp.deleted, "revision": resp.revision})
                ),
                Output::Table => println!("{}", resp.deleted),
            }
        }
        StoreCommand::Watch {
            key,
            prefix,
            rev,
            count,
        } => {
            let mut stream = client
                .watch(pb::WatchRequest {
                    key: key.into_bytes(),
                    prefix,
                    start_revision: rev,
                    ..Default::default()
                })
                .await
                .context("watch")?
                .into_inner();
            let mut seen = 0u64;
            while let Some(resp) = stream.message().await.context("watch")? {
                for e in resp.events {
                    let kind = if e.r#type == pb::event::EventType::Delete as i32 {
                        "DELETE"
                    } else {
                        "PUT"
                    };
                    let kv = e.kv.unwrap_or_default();
                    match output {
                        Output::Json => println!("{}", json!({"type": kind, "kv": kv_json(&kv)})),
                        Output::Table => println!(
                            "{kind} {} (rev {})\n{}",
                            String::from_utf8_lossy(&kv.key),
                            kv.mod_revision,
                            String::from_utf8_lossy(&kv.value)
                        ),
                    }
                    seen += 1;
                    if count > 0 && seen >= count {
                        return Ok(());
                    }
                }
            }
        }
        StoreCommand::Compact { revision } => {
            let resp = client
                .compact(pb::CompactRequest { revision })
                .await
                .context("compact")?
                .into_inner();
            println!("compacted up to revision {}", resp.compact_revision);
        }
    }
    Ok(())
}
