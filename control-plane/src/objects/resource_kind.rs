//! `ResourceKind`: one row of the table of Kubernetes kinds Keel serves (group, version, kind,
//! resource names, scope, status subresource, field selectors).

use std::fmt;

/// Which supported kind a [`ResourceKind`] row describes; lets pure code dispatch on the kind
/// (typed decoding, defaulting, validation) with an exhaustive `match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KindId {
    Namespace,
    Node,
    Pod,
    Service,
    Endpoints,
    ConfigMap,
    Secret,
    Event,
    ResourceQuota,
    ServiceAccount,
    PersistentVolume,
    PersistentVolumeClaim,
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
    HorizontalPodAutoscaler,
    Ingress,
}

/// Static description of one served kind. The store key segment for the core group is `core`
/// (Kubernetes' own group name for core is the empty string).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceKind {
    pub id: KindId,
    /// API group; `""` for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// Lower-case plural resource name, as in URLs and store keys (`deployments`).
    pub plural: &'static str,
    /// Lower-case singular resource name (`deployment`).
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    /// Whether `status` is a separate subresource (spec writes keep status and vice versa).
    pub has_status: bool,
    /// Field-selector labels accepted besides `metadata.name` and `metadata.namespace`.
    pub extra_field_selectors: &'static [&'static str],
}

impl ResourceKind {
    /// `v1` for the core group, `<group>/<version>` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The group as written in store keys: `core` for the core group.
    pub fn storage_group(&self) -> &'static str {
        if self.group.is_empty() {
            "core"
        } else {
            self.group
        }
    }

    /// `Deployment.apps` / `Pod`: the qualified kind Kubernetes prints in API errors.
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_string()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// `deployment.apps` / `pod`: the prefix kubectl prints before `/<name>` (`deployment.apps/web
    /// created`).
    pub fn kubectl_name(&self) -> String {
        if self.group.is_empty() {
            self.singular.to_string()
        } else {
            format!("{}.{}", self.singular, self.group)
        }
    }

    /// `deployments.apps` / `pods`: the group-qualified resource name.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Whether `label` may appear in a field selector for this kind.
    pub fn supports_field_selector(&self, label: &str) -> bool {
        label == "metadata.name"
            || (label == "metadata.namespace" && self.namespaced)
            || self.extra_field_selectors.contains(&label)
    }

    /// All field-selector labels this kind accepts, for error messages.
    pub fn field_selector_labels(&self) -> Vec<&'static str> {
        let mut labels = vec!["metadata.name"];
        if self.namespaced {
            labels.push("metadata.namespace");
        }
        labels.extend_from_slice(self.extra_field_selectors);
        labels
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.api_version(), self.kind)
    }
}

#[cfg(test)]
mod tests {
    use crate::objects::RegistryTable;

    #[test]
    fn names_for_core_and_grouped_kinds() {
        let pod = RegistryTable::by_kind("Pod").unwrap();
        assert_eq!(pod.api_version(), "v1");
        assert_eq!(pod.storage_group(), "core");
        assert_eq!(pod.qualified_kind(), "Pod");
        assert_eq!(pod.kubectl_name(), "pod");
        assert_eq!(pod.group_resource(), "pods");
        let deploy = RegistryTable::by_kind("Deployment").unwrap();
        assert_eq!(deploy.api_version(), "apps/v1");
        assert_eq!(deploy.storage_group(), "apps");
        assert_eq!(deploy.qualified_kind(), "Deployment.apps");
        assert_eq!(deploy.kubectl_name(), "deployment.apps");
        assert_eq!(deploy.group_resource(), "deployments.apps");
        assert_eq!(deploy.to_string(), "apps/v1 Deployment");
    }

    #[test]
    fn field_selectors_per_kind() {
        let pod = RegistryTable::by_kind("Pod").unwrap();
        assert!(pod.supports_field_selector("spec.nodeName"));
        assert!(pod.supports_field_selector("status.phase"));
        assert!(pod.supports_field_selector("metadata.namespace"));
        let ns = RegistryTable::by_kind("Namespace").unwrap();
        assert!(!ns.supports_field_selector("metadata.namespace"));
        assert!(ns.supports_field_selector("status.phase"));
        let cm = RegistryTable::by_kind("ConfigMap").unwrap();
        assert!(!cm.supports_field_selector("spec.nodeName"));
        assert_eq!(
            cm.field_selector_labels(),
            vec!["metadata.name", "metadata.namespace"]
        );
    }
}
