//! Controller references: which owner controls an object (the ownerReference with
//! `controller: true`), and the reference a controller puts on what it creates.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

/// The uid of the object's controller (its ownerReference with `controller: true`).
pub fn controller_uid(meta: &ObjectMeta) -> Option<&str> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
        .map(|r| r.uid.as_str())
}

/// Whether the object is controlled by the owner with this uid (an empty uid controls nothing).
pub fn is_controlled_by(meta: &ObjectMeta, owner_uid: &str) -> bool {
    !owner_uid.is_empty() && controller_uid(meta) == Some(owner_uid)
}

/// The controller reference to an owner: `controller` and `blockOwnerDeletion` set, as
/// Kubernetes' controllers write it.
pub fn controller_ref(api_version: &str, kind: &str, owner: &ObjectMeta) -> OwnerReference {
    OwnerReference {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        name: owner.name.clone().unwrap_or_default(),
        uid: owner.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(uid: &str, controller: Option<bool>) -> ObjectMeta {
        ObjectMeta {
            owner_references: Some(vec![OwnerReference {
                uid: uid.into(),
                controller,
                ..Default::default()
            }]),
            ..Default::default()
        }
    }

    #[test]
    fn only_the_controller_reference_counts() {
        assert!(is_controlled_by(&owned("u1", Some(true)), "u1"));
        assert!(!is_controlled_by(&owned("u1", Some(true)), "u2"));
        assert!(!is_controlled_by(&owned("u1", None), "u1"));
        assert!(!is_controlled_by(&owned("", Some(true)), ""));
        assert!(!is_controlled_by(&ObjectMeta::default(), "u1"));
        let owner = ObjectMeta {
            name: Some("web".into()),
            uid: Some("u9".into()),
            ..Default::default()
        };
        let r = controller_ref("apps/v1", "ReplicaSet", &owner);
        assert_eq!(
            (
                r.name.as_str(),
                r.uid.as_str(),
                r.controller,
                r.block_owner_deletion
            ),
            ("web", "u9", Some(true), Some(true))
        );
    }
}
