//! `keelctl set image KIND/NAME|KIND NAME CONTAINER=IMAGE... ('*=IMAGE' for all)`: updates
//! container images of pods and workload templates, by Update with the read resourceVersion.

use anyhow::bail;
use clap::{Args, Subcommand};
use serde_json::Value;

use crate::objects::KindId;

use super::output::{format_object, object_ref};
use super::resource_args::ResourceArgs;
use super::KubeContext;

#[derive(Debug, Clone, Subcommand)]
pub enum SetCommand {
    /// Update container images.
    Image(SetImageArgs),
}

#[derive(Debug, Clone, Args)]
pub struct SetImageArgs {
    /// KIND NAME or KIND/NAME, then CONTAINER=IMAGE pairs.
    #[arg(required = true)]
    pub args: Vec<String>,
}

const CONFLICT_RETRIES: usize = 5;

/// Where a kind keeps its pod spec.
pub fn pod_spec_path(kind: KindId) -> Option<&'static [&'static str]> {
    match kind {
        KindId::Pod => Some(&["spec"]),
        KindId::Deployment
        | KindId::ReplicaSet
        | KindId::StatefulSet
        | KindId::DaemonSet
        | KindId::Job => Some(&["spec", "template", "spec"]),
        KindId::CronJob => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        _ => None,
    }
}

/// Sets images in `obj`; returns whether anything changed. Unknown container names fail.
pub fn set_images(
    obj: &mut Value,
    path: &[&str],
    images: &[(String, String)],
) -> anyhow::Result<bool> {
    let mut spec = &mut *obj;
    for p in path {
        spec = spec
            .get_mut(*p)
            .ok_or_else(|| anyhow::anyhow!("the object has no {}", path.join(".")))?;
    }
    let mut changed = false;
    for (container, image) in images {
        let mut found = false;
        for list in ["initContainers", "containers"] {
            let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) else {
                continue;
            };
            for c in cs {
                if container == "*" || c.get("name").and_then(Value::as_str) == Some(container) {
                    found = true;
                    if c.get("image").and_then(Value::as_str) != Some(image) {
                        c["image"] = Value::String(image.clone());
                        changed = true;
                    }
                }
            }
        }
        if !found {
            bail!("unable to find container named \"{container}\"");
        }
    }
    Ok(changed)
}

pub async fn run(cmd: SetCommand, ctx: &KubeContext) -> anyhow::Result<()> {
    let SetCommand::Image(args) = cmd;
    let split = args
        .args
        .iter()
        .position(|a| a.contains('='))
        .unwrap_or(args.args.len());
    let (resource, pairs) = args.args.split_at(split);
    if pairs.is_empty() {
        bail!("at least one image update is required (CONTAINER=IMAGE)");
    }
    let images: Vec<(String, String)> = pairs
        .iter()
        .map(|p| {
            let (c, i) = p.split_once('=').unwrap_or((p, ""));
            if c.is_empty() || i.is_empty() {
                bail!("invalid image update {p:?}: expected CONTAINER=IMAGE");
            }
            Ok((c.to_string(), i.to_string()))
        })
        .collect::<anyhow::Result<_>>()?;
    let (kind, name) = ResourceArgs::parse_one(resource)?;
    let Some(path) = pod_spec_path(kind.id) else {
        bail!(
            "{} has no containers whose image could be set",
            kind.group_resource()
        );
    };
    let api = ctx.api().await?;
    for _ in 0..CONFLICT_RETRIES {
        let mut obj = api.get(kind, ctx.namespace(), &name).await?;
        if !set_images(&mut obj, path, &images)? {
            println!("{} image unchanged", object_ref(&obj));
            return Ok(());
        }
        match api.update(ctx.namespace(), &obj, false).await {
            Ok(updated) => {
                match ctx.object_output().and_then(|f| format_object(&updated, f)) {
                    Some(text) => print!("{text}"),
                    None => println!("{} image updated", object_ref(&updated)),
                }
                return Ok(());
            }
            Err(e) if e.is("Conflict") => continue,
            Err(e) => return Err(e.into()),
        }
    }
    bail!("{}/{name} kept changing; try again", kind.kubectl_name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn images_are_set_by_container_name() {
        let mut d = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}}}});
        let path = pod_spec_path(KindId::Deployment).unwrap();
        assert!(set_images(&mut d, path, &[("b".into(), "b:2".into())]).unwrap());
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][1]["image"],
            "b:2"
        );
        assert!(!set_images(&mut d, path, &[("b".into(), "b:2".into())]).unwrap());
        assert!(set_images(&mut d, path, &[("*".into(), "x".into())]).unwrap());
        assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["image"], "x");
        let e = set_images(&mut d, path, &[("nope".into(), "x".into())]).unwrap_err();
        assert_eq!(e.to_string(), "unable to find container named \"nope\"");
        assert!(pod_spec_path(KindId::ConfigMap).is_none());
    }
}
