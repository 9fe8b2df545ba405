//! `keelctl scale KIND/NAME|KIND NAME --replicas=N [--current-replicas=M]` for Deployments,
//! ReplicaSets and StatefulSets.

use clap::Args;
use serde_json::json;

use crate::objects::KindId;

use super::output::{format_object, object_ref};
use super::resource_args::ResourceArgs;
use super::KubeContext;

#[derive(Debug, Clone, Args)]
pub struct ScaleArgs {
    /// KIND NAME or KIND/NAME.
    #[arg(required = true)]
    pub resource: Vec<String>,
    /// The new number of replicas.
    #[arg(long, required = true)]
    pub replicas: i64,
    /// Only scale if the object has this many replicas now.
    #[arg(long)]
    pub current_replicas: Option<i64>,
}

pub async fn run(args: ScaleArgs, ctx: &KubeContext) -> anyhow::Result<()> {
    if args.replicas < 0 {
        anyhow::bail!(
            "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0"
        );
    }
    let (kind, name) = ResourceArgs::parse_one(&args.resource)?;
    if !matches!(
        kind.id,
        KindId::Deployment | KindId::ReplicaSet | KindId::StatefulSet
    ) {
        anyhow::bail!(
            "cannot scale {}: only deployments, replicasets and statefulsets have replicas",
            kind.group_resource()
        );
    }
    let api = ctx.api().await?;
    let mut patch = json!({"spec": {"replicas": args.replicas}});
    if let Some(expected) = args.current_replicas {
        let live = api.get(kind, ctx.namespace(), &name).await?;
        let current = live["spec"]["replicas"].as_i64().unwrap_or(1);
        if current != expected {
            anyhow::bail!("Expected replicas to be {expected}, was {current}");
        }
        // Scale only that version of the object.
        patch["metadata"] = json!({"resourceVersion": live["metadata"]["resourceVersion"]});
    }
    let result = api
        .merge_patch(kind, ctx.namespace(), &name, &patch, false)
        .await?;
    match ctx.object_output().and_then(|f| format_object(&result, f)) {
        Some(text) => print!("{text}"),
        None => println!("{} scaled", object_ref(&result)),
    }
    Ok(())
}
