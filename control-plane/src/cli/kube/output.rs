//! `OutputFormat` (`-o table|wide|yaml|json|name`) and printing objects as YAML, JSON or names.

use serde_json::{json, Value};

use crate::objects::RegistryTable;

use super::printers::{to_json, to_yaml};

/// kubectl's `-o`. `table` is the default human-readable form (what kubectl prints without -o).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Wide,
    Yaml,
    Json,
    Name,
}

/// `deployment.apps/web` for an object of a served kind (`kind/name` otherwise).
pub fn object_ref(obj: &Value) -> String {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let name = obj
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    match RegistryTable::by_api_version_kind(api_version, kind) {
        Ok(k) => format!("{}/{name}", k.kubectl_name()),
        Err(_) => format!("{}/{name}", kind.to_ascii_lowercase()),
    }
}

/// One object as YAML, JSON or its name; `None` for the table forms.
pub fn format_object(obj: &Value, format: OutputFormat) -> Option<String> {
    match format {
        OutputFormat::Yaml => Some(to_yaml(obj)),
        OutputFormat::Json => Some(to_json(obj)),
        OutputFormat::Name => Some(format!("{}\n", object_ref(obj))),
        OutputFormat::Table | OutputFormat::Wide => None,
    }
}

/// Several objects: a `v1 List` for YAML and JSON (as kubectl prints lists), one name a line
/// for `name`. A single object asked for by name prints as itself.
pub fn format_objects(objs: &[Value], format: OutputFormat, single: bool) -> Option<String> {
    if single && objs.len() == 1 {
        return format_object(&objs[0], format);
    }
    match format {
        OutputFormat::Yaml | OutputFormat::Json => {
            let list = json!({
                "apiVersion": "v1",
                "items": objs,
                "kind": "List",
                "metadata": {"resourceVersion": ""},
            });
            format_object(&list, format)
        }
        OutputFormat::Name => Some(
            objs.iter()
                .map(|o| format!("{}\n", object_ref(o)))
                .collect(),
        ),
        OutputFormat::Table | OutputFormat::Wide => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lists_and_single_objects() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}});
        let p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}});
        assert_eq!(object_ref(&d), "deployment.apps/web");
        assert_eq!(
            format_objects(&[d.clone(), p.clone()], OutputFormat::Name, false).unwrap(),
            "deployment.apps/web\npod/p\n"
        );
        let yaml = format_objects(std::slice::from_ref(&p), OutputFormat::Yaml, false).unwrap();
        assert_eq!(
            yaml,
            "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: p\nkind: List\nmetadata:\n  resourceVersion: \"\"\n"
        );
        assert_eq!(
            format_objects(&[p], OutputFormat::Yaml, true).unwrap(),
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"
        );
        assert!(format_objects(&[d], OutputFormat::Table, true).is_none());
    }
}
