//! `keelctl label` and `keelctl annotate`: `KIND NAME|KIND/NAME key=value... key-...
//! [--overwrite]`, sent as a JSON merge patch of `metadata.labels` / `metadata.annotations`.

use anyhow::bail;
use clap::Args;
use serde_json::{Map, Value};

use super::output::{format_object, object_ref};
use super::resource_args::ResourceArgs;
use super::KubeContext;

#[derive(Debug, Clone, Args)]
pub struct MetadataArgs {
    /// KIND NAME or KIND/NAME, then key=value to set and key- to remove.
    #[arg(required = true)]
    pub args: Vec<String>,
    /// Allow replacing existing values.
    #[arg(long)]
    pub overwrite: bool,
}

/// Which map of metadata a verb edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataField {
    Labels,
    Annotations,
}

impl MetadataField {
    fn key(self) -> &'static str {
        match self {
            MetadataField::Labels => "labels",
            MetadataField::Annotations => "annotations",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            MetadataField::Labels => "labeled",
            MetadataField::Annotations => "annotated",
        }
    }
}

/// A change to one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Set(String, String),
    Remove(String),
}

/// Splits the arguments into the object reference and the changes.
pub fn split_args(args: &[String]) -> anyhow::Result<(Vec<String>, Vec<Change>)> {
    let first_change = args
        .iter()
        .position(|a| a.contains('=') || (a.ends_with('-') && a.len() > 1))
        .unwrap_or(args.len());
    let (resource, changes) = args.split_at(first_change);
    if changes.is_empty() {
        bail!("at least one key=value or key- is required");
    }
    let changes = changes
        .iter()
        .map(|c| match c.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok(Change::Set(k.to_string(), v.to_string())),
            Some(_) => bail!("invalid argument {c:?}: the key may not be empty"),
            None => match c.strip_suffix('-') {
                Some(k) => Ok(Change::Remove(k.to_string())),
                None => bail!("invalid argument {c:?}: expected key=value or key-"),
            },
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((resource.to_vec(), changes))
}

/// The merge patch for `changes` against the current map; `None` when nothing would change.
pub fn metadata_patch(
    field: MetadataField,
    current: Option<&Map<String, Value>>,
    changes: &[Change],
    overwrite: bool,
) -> anyhow::Result<Option<Value>> {
    let mut patch = Map::new();
    for c in changes {
        match c {
            Change::Set(k, v) => {
                let existing = current.and_then(|m| m.get(k)).and_then(Value::as_str);
                match existing {
                    Some(old) if old == v => {}
                    Some(old) if !overwrite => {
                        bail!("'{k}' already has a value ({old}), and --overwrite is false")
                    }
                    _ => {
                        patch.insert(k.clone(), Value::String(v.clone()));
                    }
                }
            }
            Change::Remove(k) => {
                if current.is_some_and(|m| m.contains_key(k)) {
                    patch.insert(k.clone(), Value::Null);
                }
            }
        }
    }
    if patch.is_empty() {
        return Ok(None);
    }
    let mut meta = Map::new();
    meta.insert(field.key().into(), Value::Object(patch));
    let mut top = Map::new();
    top.insert("metadata".into(), Value::Object(meta));
    Ok(Some(Value::Object(top)))
}

pub async fn run(
    args: MetadataArgs,
    field: MetadataField,
    ctx: &KubeContext,
) -> anyhow::Result<()> {
    let (resource, changes) = split_args(&args.args)?;
    let (kind, name) = ResourceArgs::parse_one(&resource)?;
    let api = ctx.api().await?;
    let live = api.get(kind, ctx.namespace(), &name).await?;
    let current = live
        .get("metadata")
        .and_then(|m| m.get(field.key()))
        .and_then(Value::as_object);
    let result = match metadata_patch(field, current, &changes, args.overwrite)? {
        None => {
            println!("{} not {}", object_ref(&live), field.verb());
            return Ok(());
        }
        Some(patch) => {
            api.merge_patch(kind, ctx.namespace(), &name, &patch, false)
                .await?
        }
    };
    match ctx.object_output().and_then(|f| format_object(&result, f)) {
        Some(text) => print!("{text}"),
        None => println!("{} {}", object_ref(&result), field.verb()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn arguments_split_into_object_and_changes() {
        let (r, c) = split_args(&s(&["deploy", "web", "a=1", "b-"])).unwrap();
        assert_eq!(r, s(&["deploy", "web"]));
        assert_eq!(
            c,
            vec![
                Change::Set("a".into(), "1".into()),
                Change::Remove("b".into())
            ]
        );
        let (r, _) = split_args(&s(&["deploy/web", "a="])).unwrap();
        assert_eq!(r, s(&["deploy/web"]));
        assert!(split_args(&s(&["deploy", "web"])).is_err());
    }

    #[test]
    fn patches_respect_overwrite() {
        let cur = json!({"a": "1", "b": "2"});
        let cur = cur.as_object();
        let p = metadata_patch(
            MetadataField::Labels,
            cur,
            &[
                Change::Set("c".into(), "3".into()),
                Change::Remove("b".into()),
            ],
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!(p, json!({"metadata": {"labels": {"c": "3", "b": null}}}));
        let e = metadata_patch(
            MetadataField::Labels,
            cur,
            &[Change::Set("a".into(), "9".into())],
            false,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "'a' already has a value (1), and --overwrite is false"
        );
        assert!(metadata_patch(
            MetadataField::Annotations,
            cur,
            &[Change::Set("a".into(), "9".into())],
            true
        )
        .unwrap()
        .is_some());
        assert_eq!(
            metadata_patch(
                MetadataField::Labels,
                cur,
                &[
                    Change::Set("a".into(), "1".into()),
                    Change::Remove("z".into())
                ],
                false
            )
            .unwrap(),
            None
        );
    }
}
