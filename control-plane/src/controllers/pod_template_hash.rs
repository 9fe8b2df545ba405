//! The `pod-template-hash`: a stable name for a Deployment's pod template, as label value and
//! ReplicaSet name suffix. Kubernetes hashes a deep-printed template with FNV-32a and renders the
//! decimal digits of the sum through `SafeEncodeString`'s consonant-and-digit alphabet; Keel
//! hashes the template's canonical JSON (k8s-openapi serialises fields in a fixed order and maps
//! sorted) with FNV-32a, without the `pod-template-hash` label, plus the Deployment's
//! `status.collisionCount` when set, and renders it the same way (≤ 10 DNS-safe characters).
//! The values differ from Kubernetes' own but are equally stable.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodTemplateSpec;

/// The label (and ReplicaSet selector key) carrying the hash.
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

/// Kubernetes' `SafeEncodeString` alphabet: no vowels (no words), no look-alike characters.
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

const FNV32_OFFSET: u32 = 0x811c_9dc5;
const FNV32_PRIME: u32 = 0x0100_0193;

fn fnv32a(bytes: &[u8], mut h: u32) -> u32 {
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(FNV32_PRIME);
    }
    h
}

/// The template without the `pod-template-hash` label (an emptied label map becomes `None`).
pub fn without_hash_label(template: &PodTemplateSpec) -> PodTemplateSpec {
    let mut t = template.clone();
    if let Some(meta) = t.metadata.as_mut() {
        if let Some(labels) = meta.labels.as_mut() {
            labels.remove(POD_TEMPLATE_HASH_LABEL);
            if labels.is_empty() {
                meta.labels = None;
            }
        }
    }
    t
}

/// Whether two templates are equal once the `pod-template-hash` label is ignored (Kubernetes'
/// `EqualIgnoreHash`), so a ReplicaSet's template matches its Deployment's.
pub fn templates_equal_ignoring_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    without_hash_label(a) == without_hash_label(b)
}

/// The hash of `template` (its own `pod-template-hash` label ignored), with the collision
/// count mixed in when set.
pub fn pod_template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let canonical = serde_json::to_vec(&without_hash_label(template)).unwrap_or_default();
    let mut h = fnv32a(&canonical, FNV32_OFFSET);
    if let Some(c) = collision_count {
        h = fnv32a(&c.to_le_bytes(), h);
    }
    h.to_string()
        .bytes()
        .map(|d| char::from(SAFE_ALPHABET[usize::from(d) % SAFE_ALPHABET.len()]))
        .collect()
}

/// `labels` plus `pod-template-hash=hash`.
pub fn labels_with_hash(
    labels: Option<&BTreeMap<String, String>>,
    hash: &str,
) -> BTreeMap<String, String> {
    let mut out = labels.cloned().unwrap_or_default();
    out.insert(POD_TEMPLATE_HASH_LABEL.to_string(), hash.to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn template(image: &str) -> PodTemplateSpec {
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some([("app".to_string(), "web".to_string())].into()),
                ..Default::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".into(),
                    image: Some(image.into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        }
    }

    #[test]
    fn fnv32a_matches_the_reference_vectors() {
        assert_eq!(fnv32a(b"", FNV32_OFFSET), 0x811c_9dc5);
        assert_eq!(fnv32a(b"a", FNV32_OFFSET), 0xe40c_292c);
        assert_eq!(fnv32a(b"foobar", FNV32_OFFSET), 0xbf9c_f968);
    }

    #[test]
    fn hash_is_stable_dns_safe_and_ignores_its_own_label() {
        let t = template("nginx:1");
        let h = pod_template_hash(&t, None);
        assert!(!h.is_empty() && h.len() <= 10, "{h}");
        assert!(h.bytes().all(|b| SAFE_ALPHABET.contains(&b)), "{h}");
        assert_eq!(h, pod_template_hash(&t.clone(), None));
        let mut labelled = t.clone();
        if let Some(m) = labelled.metadata.as_mut() {
            m.labels = Some(labels_with_hash(m.labels.as_ref(), &h));
        }
        assert_eq!(pod_template_hash(&labelled, None), h);
        assert!(templates_equal_ignoring_hash(&labelled, &t));
        assert_ne!(pod_template_hash(&template("nginx:2"), None), h);
        assert_ne!(pod_template_hash(&t, Some(1)), h);
        assert!(!templates_equal_ignoring_hash(&template("nginx:2"), &t));
    }

    #[test]
    fn an_only_hash_label_leaves_no_empty_label_map() {
        let mut t = template("x");
        if let Some(m) = t.metadata.as_mut() {
            m.labels = Some(labels_with_hash(None, "abc"));
        }
        assert_eq!(without_hash_label(&t).metadata.and_then(|m| m.labels), None);
    }
}
