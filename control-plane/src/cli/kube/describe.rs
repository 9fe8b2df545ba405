//! `keelctl describe KIND [NAME...] | KIND/NAME [-l SELECTOR] [-A]`: each object's details and
//! the events about it (Events in its namespace whose involvedObject is the object).

use clap::Args;
use serde_json::Value;

use crate::objects::{RegistryTable, ResourceKind};

use super::describers::describe;
use super::printers::fields::str_at;
use super::resource_args::ResourceArgs;
use super::{no_resources_message, report, AlreadyReported, KubeContext, ObjectsApi};

#[derive(Debug, Clone, Args)]
pub struct DescribeArgs {
    /// KIND [NAME...] or KIND/NAME...
    #[arg(required = true)]
    pub resources: Vec<String>,
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Leave out the events.
    #[arg(long = "show-events", default_value_t = true, action = clap::ArgAction::Set)]
    pub show_events: bool,
}

/// Whether event `e` is about `obj` (same uid, or same kind, namespace and name).
pub fn is_about(e: &Value, obj: &Value) -> bool {
    let uid = str_at(obj, "metadata.uid");
    let involved_uid = str_at(e, "involvedObject.uid");
    if !uid.is_empty() && !involved_uid.is_empty() {
        return uid == involved_uid;
    }
    str_at(e, "involvedObject.kind") == str_at(obj, "kind")
        && str_at(e, "involvedObject.name") == str_at(obj, "metadata.name")
        && str_at(e, "involvedObject.namespace") == str_at(obj, "metadata.namespace")
}

async fn events_for(api: &ObjectsApi, obj: &Value) -> Vec<Value> {
    let events_kind = match RegistryTable::by_resource("events") {
        Ok(k) => k,
        Err(_) => return Vec::new(),
    };
    let ns = str_at(obj, "metadata.namespace");
    // Events are best-effort, as in kubectl: a failure to list them leaves the section empty.
    let Ok(list) = api
        .list(
            events_kind,
            if ns.is_empty() { "default" } else { ns },
            "",
            "",
        )
        .await
    else {
        return Vec::new();
    };
    let mut evs: Vec<Value> = list
        .items
        .into_iter()
        .filter(|e| is_about(e, obj))
        .collect();
    evs.sort_by(|a, b| {
        let t = |e: &Value| {
            let last = str_at(e, "lastTimestamp");
            if last.is_empty() {
                str_at(e, "eventTime").to_string()
            } else {
                last.to_string()
            }
        };
        t(a).cmp(&t(b))
    });
    evs
}

pub async fn run(args: DescribeArgs, ctx: &KubeContext) -> anyhow::Result<()> {
    let api = ctx.api().await?;
    let mut objects: Vec<(&'static ResourceKind, Value)> = Vec::new();
    let mut failed = false;
    match ResourceArgs::parse(&args.resources)? {
        ResourceArgs::Named(named) => {
            for (kind, name) in named {
                match api.get(kind, ctx.namespace(), &name).await {
                    Ok(o) => objects.push((kind, o)),
                    Err(e) => {
                        report(&e.into());
                        failed = true;
                    }
                }
            }
        }
        ResourceArgs::Kinds(kinds) => {
            let ns = if args.all_namespaces {
                ""
            } else {
                ctx.namespace()
            };
            let selector = args.selector.clone().unwrap_or_default();
            for kind in kinds {
                for o in api.list(kind, ns, &selector, "").await?.items {
                    objects.push((kind, o));
                }
            }
            if objects.is_empty() {
                let ns = (!args.all_namespaces).then_some(ctx.namespace());
                eprintln!("{}", no_resources_message(ns));
            }
        }
    }
    for (i, (kind, obj)) in objects.iter().enumerate() {
        if i > 0 {
            println!();
            println!();
        }
        let events = if args.show_events {
            events_for(api, obj).await
        } else {
            Vec::new()
        };
        print!("{}", describe(kind, obj, &events, ctx.now));
    }
    if failed {
        return Err(AlreadyReported.into());
    }
    Ok(())
}
