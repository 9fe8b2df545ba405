//! `keelctl rollout status|history|undo|restart|pause|resume deployment/NAME`: kubectl's
//! rollout verbs for Deployments (also `deploy/NAME`, `deployments NAME`), with kubectl's
//! wording. Revisions live on the Deployment's ReplicaSets (`deployment.kubernetes.io/revision`);
//! `undo` writes an old ReplicaSet's template back into the Deployment (apps/v1 has no
//! `rollbackTo`), `restart` stamps the template with `kubectl.kubernetes.io/restartedAt`.
//! `status` polls the Deployment once a second until the rollout finishes or `--timeout`.

use std::time::Duration;

use anyhow::{anyhow, bail};
use clap::{ArgAction, Args, Subcommand};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::jiff::Timestamp;
use serde_json::{json, Value};

use crate::controllers::controller_ref::is_controlled_by;
use crate::controllers::deployment_annotations::{revision_of, CHANGE_CAUSE_ANNOTATION};
use crate::controllers::deployment_status::{condition, PROGRESSING, TIMED_OUT};
use crate::controllers::pod_template_hash::{templates_equal_ignoring_hash, without_hash_label};
use crate::objects::{KindId, ResourceKind};

use super::output::{format_object, object_ref, OutputFormat};
use super::printers::tabwriter::DESCRIBE;
use super::resource_args::ResourceArgs;
use super::KubeContext;

/// The template annotation `rollout restart` sets.
pub const RESTARTED_AT_ANNOTATION: &str = "kubectl.kubernetes.io/restartedAt";

const CONFLICT_RETRIES: usize = 5;

#[derive(Debug, Clone, Subcommand)]
pub enum RolloutCommand {
    /// Show the status of the rollout (waits until it finishes unless --watch=false).
    Status(StatusArgs),
    /// View the rollout history (revisions and their change causes).
    History(HistoryArgs),
    /// Roll back to the previous revision, or to --to-revision.
    Undo(UndoArgs),
    /// Restart every pod of the Deployment (a new rollout of the same template).
    Restart(Target),
    /// Pause the rollout: template changes wait until it is resumed.
    Pause(Target),
    /// Resume a paused rollout.
    Resume(Target),
}

#[derive(Debug, Clone, Args)]
pub struct Target {
    /// deployment/NAME, deploy/NAME or deployments NAME.
    #[arg(required = true)]
    pub resource: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: Target,
    /// Wait until the rollout finishes (--watch=false prints the status once).
    #[arg(short = 'w', long, action = ArgAction::Set, default_value_t = true,
          num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub watch: bool,
    /// How long to wait (like 30s, 10m, 1h; 0 waits forever).
    #[arg(long, default_value = "10m")]
    pub timeout: String,
}

#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub target: Target,
    /// Show the pod template of this revision.
    #[arg(long)]
    pub revision: Option<i64>,
}

#[derive(Debug, Clone, Args)]
pub struct UndoArgs {
    #[command(flatten)]
    pub target: Target,
    /// The revision to roll back to (0: the previous one).
    #[arg(long, default_value_t = 0)]
    pub to_revision: i64,
}

/// A `--timeout` value: `90s`, `10m`, `1h`, `1h30m`, a bare number of seconds, `0` (forever).
pub fn parse_timeout(s: &str) -> anyhow::Result<Option<Duration>> {
    let bad = || anyhow!("invalid --timeout {s:?}: use a duration like 30s, 10m or 1h");
    let mut total = 0u64;
    let mut digits = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
    }
    if !digits.is_empty() {
        total += digits.parse::<u64>().map_err(|_| bad())?;
    } else if s.trim().is_empty() {
        return Err(bad());
    }
    Ok((total > 0).then(|| Duration::from_secs(total)))
}

/// kubectl's rollout status line for a Deployment, and whether the rollout is done. A rollout
/// past its progress deadline is an error.
pub fn status_message(d: &Deployment) -> anyhow::Result<(String, bool)> {
    let name = d.metadata.name.as_deref().unwrap_or_default();
    let status = d.status.clone().unwrap_or_default();
    if d.metadata.generation.unwrap_or(0) > status.observed_generation.unwrap_or(0) {
        return Ok((
            "Waiting for deployment spec update to be observed...".into(),
            false,
        ));
    }
    if condition(&status, PROGRESSING).and_then(|c| c.reason.as_deref()) == Some(TIMED_OUT) {
        bail!("deployment {name:?} exceeded its progress deadline");
    }
    let n = |v: Option<i32>| v.unwrap_or(0);
    let (updated, replicas, available) = (
        n(status.updated_replicas),
        n(status.replicas),
        n(status.available_replicas),
    );
    let wanted = d.spec.as_ref().and_then(|s| s.replicas);
    let waiting = |what: String| {
        Ok((
            format!("Waiting for deployment {name:?} rollout to finish: {what}"),
            false,
        ))
    };
    if let Some(want) = wanted.filter(|w| updated < *w) {
        return waiting(format!(
            "{updated} out of {want} new replicas have been updated..."
        ));
    }
    if replicas > updated {
        return waiting(format!(
            "{} old replicas are pending termination...",
            replicas - updated
        ));
    }
    if available < updated {
        return waiting(format!(
            "{available} of {updated} updated replicas are available..."
        ));
    }
    Ok((format!("deployment {name:?} successfully rolled out"), true))
}

/// The ReplicaSets `d` controls, by revision (those without one left out).
pub fn owned_revisions<'a>(d: &Deployment, replicasets: &'a [ReplicaSet]) -> Vec<&'a ReplicaSet> {
    let uid = d.metadata.uid.as_deref().unwrap_or("");
    let mut owned: Vec<&ReplicaSet> = replicasets
        .iter()
        .filter(|rs| is_controlled_by(&rs.metadata, uid) && revision_of(rs) > 0)
        .collect();
    owned.sort_by_key(|rs| revision_of(rs));
    owned
}

/// `REVISION  CHANGE-CAUSE` rows (kubectl's history table) for `owned` (by revision).
pub fn history_table(owned: &[&ReplicaSet]) -> String {
    let mut text = String::from("REVISION\tCHANGE-CAUSE\n");
    for rs in owned {
        let cause = rs
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(CHANGE_CAUSE_ANNOTATION))
            .filter(|c| !c.is_empty())
            .map_or("<none>", String::as_str);
        text.push_str(&format!("{}\t{cause}\n", revision_of(rs)));
    }
    DESCRIBE.format(&text)
}

/// The ReplicaSet to roll back to: revision `to` (0: the highest revision below the latest).
pub fn rollback_target<'a>(
    name: &str,
    owned: &[&'a ReplicaSet],
    to: i64,
) -> anyhow::Result<&'a ReplicaSet> {
    if to > 0 {
        return owned
            .iter()
            .find(|rs| revision_of(rs) == to)
            .copied()
            .ok_or_else(|| anyhow!("unable to find specified revision {to} in history"));
    }
    match owned {
        [.., previous, _latest] => Ok(previous),
        _ => bail!("no rollout history found for deployment {name:?}"),
    }
}

/// The template `undo` writes: the ReplicaSet's, without its `pod-template-hash` label.
pub fn undo_template(rs: &ReplicaSet) -> PodTemplateSpec {
    without_hash_label(
        &rs.spec
            .as_ref()
            .and_then(|s| s.template.clone())
            .unwrap_or_default(),
    )
}

/// `2026-01-02T03:04:05Z`: `now` to the second, as kubectl writes `restartedAt`.
pub fn restarted_at(now: Timestamp) -> String {
    Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string()
}

fn deployment_kind(resource: &[String]) -> anyhow::Result<(&'static ResourceKind, String)> {
    let (kind, name) = ResourceArgs::parse_one(resource)?;
    if kind.id != KindId::Deployment {
        bail!(
            "rollout is only implemented for deployments (got {})",
            kind.group_resource()
        );
    }
    Ok((kind, name))
}

fn typed<T: serde::de::DeserializeOwned>(v: &Value) -> anyhow::Result<T> {
    Ok(serde_json::from_value(v.clone())?)
}

pub async fn run(cmd: RolloutCommand, ctx: &KubeContext) -> anyhow::Result<()> {
    match cmd {
        RolloutCommand::Status(a) => status(a, ctx).await,
        RolloutCommand::History(a) => history(a, ctx).await,
        RolloutCommand::Undo(a) => undo(a, ctx).await,
        RolloutCommand::Restart(t) => restart(t, ctx).await,
        RolloutCommand::Pause(t) => set_paused(t, true, ctx).await,
        RolloutCommand::Resume(t) => set_paused(t, false, ctx).await,
    }
}

async fn status(a: StatusArgs, ctx: &KubeContext) -> anyhow::Result<()> {
    let (kind, name) = deployment_kind(&a.target.resource)?;
    let timeout = parse_timeout(&a.timeout)?;
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let api = ctx.api().await?;
    let mut last = String::new();
    loop {
        let d: Deployment = typed(&api.get(kind, ctx.namespace(), &name).await?)?;
        let (message, done) = status_message(&d)?;
        if message != last {
            println!("{message}");
            last = message;
        }
        if done || !a.watch {
            return Ok(());
        }
        if deadline.is_some_and(|t| tokio::time::Instant::now() >= t) {
            bail!("timed out waiting for the condition");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn owned_replicasets(ctx: &KubeContext, d: &Deployment) -> anyhow::Result<Vec<ReplicaSet>> {
    let api = ctx.api().await?;
    let kind = super::resource_args::kind("replicasets.apps")?;
    let list = api.list(kind, ctx.namespace(), "", "").await?;
    let all: Vec<ReplicaSet> = list
        .items
        .iter()
        .map(typed)
        .collect::<anyhow::Result<_>>()?;
    Ok(owned_revisions(d, &all).into_iter().cloned().collect())
}

async fn history(a: HistoryArgs, ctx: &KubeContext) -> anyhow::Result<()> {
    let (kind, name) = deployment_kind(&a.target.resource)?;
    let api = ctx.api().await?;
    let obj = api.get(kind, ctx.namespace(), &name).await?;
    let d: Deployment = typed(&obj)?;
    let owned = owned_replicasets(ctx, &d).await?;
    let refs: Vec<&ReplicaSet> = owned.iter().collect();
    match a.revision {
        Some(r) => {
            let rs = refs
                .iter()
                .find(|rs| revision_of(rs) == r)
                .ok_or_else(|| anyhow!("unable to find the specified revision"))?;
            let template = serde_json::to_value(undo_template(rs))?;
            let yaml = format_object(&template, OutputFormat::Yaml).unwrap_or_default();
            println!("{} with revision #{r}", object_ref(&obj));
            println!("Pod Template:");
            for line in yaml.lines() {
                println!("  {line}");
            }
        }
        None => {
            println!("{} ", object_ref(&obj));
            println!("{}", history_table(&refs));
        }
    }
    Ok(())
}

/// Reads the Deployment, lets `change` edit it (`Ok(false)`: nothing to do), updates it with
/// the read resourceVersion, retrying on conflicts.
async fn update_deployment(
    ctx: &KubeContext,
    name: &str,
    mut change: impl FnMut(&mut Deployment) -> anyhow::Result<bool>,
) -> anyhow::Result<Option<Value>> {
    let (kind, api) = (
        super::resource_args::kind("deployments.apps")?,
        ctx.api().await?,
    );
    for _ in 0..CONFLICT_RETRIES {
        let mut obj = api.get(kind, ctx.namespace(), name).await?;
        let mut d: Deployment = typed(&obj)?;
        if !change(&mut d)? {
            return Ok(None);
        }
        let spec = d
            .spec
            .as_ref()
            .ok_or_else(|| anyhow!("the deployment has no spec"))?;
        obj["spec"] = serde_json::to_value(spec)?;
        match api.update(ctx.namespace(), &obj, false).await {
            Ok(updated) => return Ok(Some(updated)),
            Err(e) if e.is("Conflict") => continue,
            Err(e) => return Err(e.into()),
        }
    }
    bail!("deployment.apps/{name} kept changing; try again")
}

fn print_done(ctx: &KubeContext, obj: &Value, verb: &str) {
    match ctx.object_output().and_then(|f| format_object(obj, f)) {
        Some(text) => print!("{text}"),
        None => println!("{} {verb}", object_ref(obj)),
    }
}

async fn undo(a: UndoArgs, ctx: &KubeContext) -> anyhow::Result<()> {
    let (kind, name) = deployment_kind(&a.target.resource)?;
    let api = ctx.api().await?;
    let d: Deployment = typed(&api.get(kind, ctx.namespace(), &name).await?)?;
    let owned = owned_replicasets(ctx, &d).await?;
    let refs: Vec<&ReplicaSet> = owned.iter().collect();
    let target = rollback_target(&name, &refs, a.to_revision)?;
    let revision = revision_of(target);
    let template = undo_template(target);
    let updated = update_deployment(ctx, &name, |d| {
        let spec = d.spec.as_mut().ok_or_else(|| anyhow!("the deployment has no spec"))?;
        if spec.paused == Some(true) {
            bail!("you cannot rollback a paused deployment; resume it first with 'keelctl rollout resume deployment/{name}' and try again");
        }
        if templates_equal_ignoring_hash(&spec.template, &template) {
            return Ok(false);
        }
        spec.template = template.clone();
        Ok(true)
    })
    .await?;
    match updated {
        Some(obj) => print_done(ctx, &obj, "rolled back"),
        None => println!(
            "deployment.apps/{name} skipped rollback (current template already matches revision {revision})"
        ),
    }
    Ok(())
}

async fn restart(t: Target, ctx: &KubeContext) -> anyhow::Result<()> {
    let (_, name) = deployment_kind(&t.resource)?;
    let stamp = restarted_at(ctx.now);
    let updated = update_deployment(ctx, &name, |d| {
        let spec = d
            .spec
            .as_mut()
            .ok_or_else(|| anyhow!("the deployment has no spec"))?;
        if spec.paused == Some(true) {
            bail!("can't restart paused deployment (run rollout resume first)");
        }
        spec.template
            .metadata
            .get_or_insert_with(Default::default)
            .annotations
            .get_or_insert_with(Default::default)
            .insert(RESTARTED_AT_ANNOTATION.to_string(), stamp.clone());
        Ok(true)
    })
    .await?;
    if let Some(obj) = updated {
        print_done(ctx, &obj, "restarted");
    }
    Ok(())
}

async fn set_paused(t: Target, paused: bool, ctx: &KubeContext) -> anyhow::Result<()> {
    let (kind, name) = deployment_kind(&t.resource)?;
    let api = ctx.api().await?;
    let obj = api.get(kind, ctx.namespace(), &name).await?;
    let (verb, already) = if paused {
        ("paused", "already paused")
    } else {
        ("resumed", "already resumed")
    };
    if obj["spec"]["paused"].as_bool().unwrap_or(false) == paused {
        println!("{} {already}", object_ref(&obj));
        return Ok(());
    }
    let patch = json!({"spec": {"paused": paused}});
    let updated = api
        .merge_patch(kind, ctx.namespace(), &name, &patch, false)
        .await?;
    print_done(ctx, &updated, verb);
    Ok(())
}

#[cfg(test)]
#[path = "rollout_tests.rs"]
mod tests;
