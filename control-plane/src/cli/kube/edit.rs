//! `keelctl edit KIND NAME|KIND/NAME`: the object as YAML in `$KUBE_EDITOR`/`$EDITOR` (vi), then
//! an Update with the resourceVersion that was read; an invalid edit is reported and the file
//! kept, an unchanged one cancels.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context};
use clap::Args;
use serde_json::Value;

use crate::objects::parse_manifest;

use super::output::{format_object, object_ref};
use super::printers::to_yaml;
use super::resource_args::ResourceArgs;
use super::KubeContext;

#[derive(Debug, Clone, Args)]
pub struct EditArgs {
    /// KIND NAME or KIND/NAME.
    #[arg(required = true)]
    pub resource: Vec<String>,
}

const HEADER: &str = "# Please edit the object below. Lines beginning with a '#' will be ignored,
# and an empty file will abort the edit. If an error occurs while saving this file will be
# reopened with the relevant failures.
#
";

/// The editor command line: `$KUBE_EDITOR`, else `$EDITOR`, else `vi`.
pub fn editor() -> String {
    std::env::var("KUBE_EDITOR")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .or_else(|| {
            std::env::var("EDITOR")
                .ok()
                .filter(|e| !e.trim().is_empty())
        })
        .unwrap_or_else(|| "vi".to_string())
}

/// What the user saved: `None` when it is empty or unchanged (edit cancelled).
pub fn edited_object(original_text: &str, saved: &str) -> anyhow::Result<Option<Value>> {
    let strip = |t: &str| -> String {
        t.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let saved_body = strip(saved);
    if saved_body.trim().is_empty() || saved_body == strip(original_text) {
        return Ok(None);
    }
    let docs = parse_manifest(&saved_body)
        .map_err(|e| anyhow::anyhow!("the edited file is not valid: {e}"))?;
    if docs.len() != 1 {
        bail!(
            "the edited file must hold exactly one object (found {})",
            docs.len()
        );
    }
    Ok(docs.into_iter().next().map(|d| d.object.into_value()))
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "keelctl-edit-{}-{}.yaml",
        std::process::id(),
        name.replace('/', "-")
    ))
}

pub async fn run(args: EditArgs, ctx: &KubeContext) -> anyhow::Result<()> {
    let (kind, name) = ResourceArgs::parse_one(&args.resource)?;
    let api = ctx.api().await?;
    let live = api.get(kind, ctx.namespace(), &name).await?;
    let text = format!("{HEADER}{}", to_yaml(&live));
    let path = temp_path(&format!("{}-{name}", kind.plural));
    std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    let editor = editor();
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&path)
        .status()
        .with_context(|| format!("running the editor ({editor})"));
    let saved = std::fs::read_to_string(&path);
    let _ = std::fs::remove_file(&path);
    let status = status?;
    if !status.success() {
        bail!("the editor ({editor}) exited with {status}; nothing was changed");
    }
    let saved = saved.with_context(|| format!("reading {}", path.display()))?;
    let Some(edited) = edited_object(&text, &saved)? else {
        println!("Edit cancelled, no changes made.");
        return Ok(());
    };
    if super::kind_of(&edited)?.id != kind.id || super::name_of(&edited) != name {
        bail!("the edit may not change the kind or the name of the object");
    }
    let updated = api.update(ctx.namespace(), &edited, false).await?;
    match ctx.object_output().and_then(|f| format_object(&updated, f)) {
        Some(t) => print!("{t}"),
        None => println!("{} edited", object_ref(&updated)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_and_empty_edits_cancel() {
        let original = format!("{HEADER}apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n");
        assert_eq!(edited_object(&original, &original).unwrap(), None);
        assert_eq!(edited_object(&original, "# only comments\n").unwrap(), None);
        let changed = original.replace("name: a", "name: a\n  labels:\n    x: z");
        let v = edited_object(&original, &changed).unwrap().unwrap();
        assert_eq!(v["metadata"]["labels"]["x"], "z");
        let broken = original.replace("  name: a", "  name: a\n labels: {}");
        assert!(edited_object(&original, &broken)
            .unwrap_err()
            .to_string()
            .contains("line"));
    }
}
