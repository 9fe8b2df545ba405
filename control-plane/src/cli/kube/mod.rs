//! kubectl's verbs for keelctl: `get`, `describe`, `apply`, `create`, `delete`, `edit`,
//! `label`, `annotate`, `scale`, `set image`, `rollout`, `api-resources`, speaking the Objects API
//! (keel.objects.v1) to any replica, with kubectl's printers and messages; `logs` and `exec`
//! speak to the agent of the pod's node (keel.agent.v1), `top` to the agents of the nodes.

pub mod annotate_label;
pub mod api_resources;
pub mod apply;
pub mod base64;
pub mod config;
pub mod create;
pub mod delete;
pub mod describe;
pub mod describers;
pub mod edit;
pub mod exec;
pub mod generators;
pub mod get;
pub mod logs;
pub mod manifest_files;
pub mod node_agent;
pub mod objects_api;
pub mod output;
pub mod printers;
pub mod resource_args;
pub mod rollout;
pub mod scale;
pub mod set_image;
pub mod three_way;
pub mod top;
pub mod watch;

use std::fmt;

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::objects::{RegistryTable, ResourceKind};

pub use config::{KeelConfig, Settings};
pub use objects_api::{ApiError, ObjectsApi};
pub use output::OutputFormat;

/// The error of a command that already printed its failures (one per object) to stderr; the
/// binary exits 1 without printing more.
#[derive(Debug, Clone, Copy)]
pub struct AlreadyReported;

impl fmt::Display for AlreadyReported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "one or more operations failed")
    }
}

impl std::error::Error for AlreadyReported {}

/// Prints an error as kubectl does: server errors as they are, others after `error: `.
pub fn report(e: &anyhow::Error) {
    if let Some(api) = e.downcast_ref::<ApiError>() {
        eprintln!("{api}");
    } else {
        eprintln!("error: {e:#}");
    }
}

/// What every verb needs: where the cell is, the namespace, the output format and the clock.
pub struct KubeContext {
    pub settings: Settings,
    pub output: Option<OutputFormat>,
    pub now: Timestamp,
    api: OnceCell<ObjectsApi>,
}

impl KubeContext {
    pub fn new(settings: Settings, output: Option<OutputFormat>) -> KubeContext {
        KubeContext {
            settings,
            output,
            now: printers::age::now(),
            api: OnceCell::new(),
        }
    }

    /// The Objects client, connected on first use.
    pub async fn api(&self) -> anyhow::Result<&ObjectsApi> {
        self.api
            .get_or_try_init(|| ObjectsApi::connect(&self.settings.servers))
            .await
    }

    pub fn namespace(&self) -> &str {
        &self.settings.namespace
    }

    /// The output format for verbs that print objects only when asked (`apply`, `create`...).
    pub fn object_output(&self) -> Option<OutputFormat> {
        self.output.filter(|o| {
            matches!(
                o,
                OutputFormat::Yaml | OutputFormat::Json | OutputFormat::Name
            )
        })
    }

    /// The namespace an object from a manifest goes to: its own, else `-n`/the default; a
    /// manifest namespace that contradicts an explicit `-n` is refused, as kubectl does.
    pub fn namespace_for(&self, kind: &ResourceKind, obj: &Value) -> anyhow::Result<String> {
        if !kind.namespaced {
            return Ok(String::new());
        }
        let own = obj
            .get("metadata")
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if own.is_empty() {
            return Ok(self.namespace().to_string());
        }
        if self.settings.namespace_explicit && own != self.namespace() {
            anyhow::bail!(
                "the namespace from the provided object \"{own}\" does not match the namespace \"{}\". You must pass '--namespace={own}' to perform this operation.",
                self.namespace()
            );
        }
        Ok(own.to_string())
    }
}

/// The served kind of an object from a manifest or the server.
pub fn kind_of(obj: &Value) -> anyhow::Result<&'static ResourceKind> {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    Ok(RegistryTable::by_api_version_kind(api_version, kind)?)
}

/// `metadata.name` of an object.
pub fn name_of(obj: &Value) -> &str {
    obj.get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Sets `metadata.namespace` when `namespace` is not empty.
pub fn set_namespace(obj: &mut Value, namespace: &str) {
    if namespace.is_empty() {
        return;
    }
    if let Some(map) = obj.as_object_mut() {
        let meta = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("namespace".into(), Value::String(namespace.into()));
        }
    }
}

/// `"No resources found in default namespace."` / `"No resources found"`.
pub fn no_resources_message(namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("No resources found in {ns} namespace."),
        None => "No resources found".to_string(),
    }
}
