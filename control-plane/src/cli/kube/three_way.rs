//! Client-side apply's decision, as kubectl makes it: the manifest is recorded in the
//! `kubectl.kubernetes.io/last-applied-configuration` annotation, and an existing object gets a
//! three-way JSON merge patch — fields added or changed by the manifest (against the live
//! object) plus fields the previous manifest had and this one dropped (set to null, removed).
//! Fields the server or other writers set and no manifest ever named are kept. Lists are
//! replaced whole, but a list the manifest did not change whose live form only adds fields
//! (server defaults inside containers or ports) counts as unchanged. An empty patch means
//! "unchanged".

use serde_json::{Map, Value};

/// The annotation kubectl's client-side apply keeps the last manifest in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// What `apply` does with an object that exists.
#[derive(Debug, Clone, PartialEq)]
pub enum ApplyPlan {
    Unchanged,
    /// Send this object (the live one with the patch applied) as an Update.
    Update {
        object: Value,
        patch: Value,
    },
}

/// The annotation value for a manifest: the manifest without the annotation itself, as compact
/// JSON with sorted keys and a trailing newline (`annotations: {}` stays when it was the only
/// one, as in kubectl).
pub fn last_applied_value(manifest: &Value) -> String {
    let mut m = manifest.clone();
    if let Some(ann) = m
        .get_mut("metadata")
        .and_then(|md| md.get_mut("annotations"))
        .and_then(Value::as_object_mut)
    {
        ann.remove(LAST_APPLIED);
    } else if let Some(md) = m.get_mut("metadata").and_then(Value::as_object_mut) {
        md.insert("annotations".into(), Value::Object(Map::new()));
    }
    let mut text = serde_json::to_string(&m).unwrap_or_default();
    text.push('\n');
    text
}

/// The manifest with its last-applied annotation set.
pub fn with_last_applied(manifest: &Value) -> Value {
    let value = last_applied_value(manifest);
    let mut m = manifest.clone();
    if let Some(obj) = m.as_object_mut() {
        let md = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(md) = md.as_object_mut() {
            let ann = md
                .entry("annotations")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(ann) = ann.as_object_mut() {
                ann.insert(LAST_APPLIED.into(), Value::String(value));
            }
        }
    }
    m
}

/// The previous manifest recorded on a live object, if any (and if it parses).
pub fn last_applied_of(live: &Value) -> Option<Value> {
    let text = live
        .get("metadata")?
        .get("annotations")?
        .get(LAST_APPLIED)?
        .as_str()?;
    serde_json::from_str(text).ok()
}

/// Plans applying `manifest` (without the annotation) over `live`.
pub fn plan_apply(live: &Value, manifest: &Value) -> ApplyPlan {
    let modified = with_last_applied(manifest);
    let mut original = last_applied_of(live);
    if let Some(o) = original.as_mut().and_then(Value::as_object_mut) {
        o.remove("status");
    }
    let (Some(modified_map), Some(live_map)) = (modified.as_object(), live.as_object()) else {
        return ApplyPlan::Update {
            object: modified.clone(),
            patch: modified,
        };
    };
    let mut modified_map = modified_map.clone();
    // Status is the controllers' (and `kubectl apply` never writes it either).
    modified_map.remove("status");
    let patch = three_way_patch(
        original.as_ref().and_then(Value::as_object),
        &modified_map,
        Some(live_map),
    );
    if patch.is_empty() {
        return ApplyPlan::Unchanged;
    }
    let patch = Value::Object(patch);
    let mut object = live.clone();
    json_patch::merge(&mut object, &patch);
    ApplyPlan::Update { object, patch }
}

/// The merge patch taking `current` to `modified`, deleting what `original` had and `modified`
/// dropped.
pub fn three_way_patch(
    original: Option<&Map<String, Value>>,
    modified: &Map<String, Value>,
    current: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let mut patch = Map::new();
    for (k, m) in modified {
        let c = current.and_then(|c| c.get(k));
        let o = original.and_then(|o| o.get(k));
        match (m, c) {
            // null in a manifest means "not set" (`creationTimestamp: null`).
            (Value::Null, _) => {}
            (Value::Object(mm), Some(Value::Object(cm))) => {
                let sub = three_way_patch(o.and_then(Value::as_object), mm, Some(cm));
                if !sub.is_empty() {
                    patch.insert(k.clone(), Value::Object(sub));
                }
            }
            (Value::Object(mm), None) if mm.is_empty() => {}
            (Value::Array(_), Some(c @ Value::Array(_))) => {
                let unchanged_by_manifest = o.is_none_or(|o| o == m);
                if !(unchanged_by_manifest && subsumed(m, c)) {
                    patch.insert(k.clone(), m.clone());
                }
            }
            (m, Some(c)) if m == c => {}
            (m, _) => {
                patch.insert(k.clone(), strip_nulls(m));
            }
        }
    }
    if let Some(original) = original {
        for k in original.keys() {
            let live_has = current.is_some_and(|c| c.get(k).is_some_and(|v| !v.is_null()));
            if !modified.contains_key(k) && live_has {
                patch.insert(k.clone(), Value::Null);
            }
        }
    }
    patch
}

/// Whether `current` holds everything `manifest` says (objects may carry more fields; lists
/// must match element by element).
pub fn subsumed(manifest: &Value, current: &Value) -> bool {
    match (manifest, current) {
        (Value::Object(m), Value::Object(c)) => m.iter().all(|(k, v)| match c.get(k) {
            Some(cv) => subsumed(v, cv),
            None => v.is_null() || v.as_object().is_some_and(Map::is_empty),
        }),
        (Value::Array(m), Value::Array(c)) => {
            m.len() == c.len() && m.iter().zip(c).all(|(a, b)| subsumed(a, b))
        }
        (m, c) => m == c,
    }
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
#[path = "three_way_tests.rs"]
mod tests;
