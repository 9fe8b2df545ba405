//! `ObjectKey`: where an object lives in the store — `/registry/<group>/<resource>/<namespace>/<name>`
//! (group `core` for the core group; cluster-scoped kinds omit the namespace) — and the list
//! prefixes for one namespace or all of them.

use std::fmt;

use super::registry_table::RegistryTable;
use super::resource_kind::ResourceKind;

/// Every object key starts with this.
pub const REGISTRY_PREFIX: &str = "/registry/";

/// Longest name or namespace accepted in a key (Kubernetes' DNS-1123 subdomain limit).
pub const MAX_NAME_BYTES: usize = 253;

/// Why a key cannot be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("{kind} is namespaced: a namespace is required")]
    NamespaceRequired { kind: &'static str },
    #[error("{kind} is cluster-scoped: namespace {namespace:?} is not allowed")]
    NamespaceNotAllowed {
        kind: &'static str,
        namespace: String,
    },
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidSegment {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("not an object key: {0:?}")]
    NotAnObjectKey(String),
}

/// The identity of one stored object. Built only through [`ObjectKey::new`] or
/// [`ObjectKey::parse`], so its segments are always safe to join into a key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey {
    kind: &'static ResourceKind,
    namespace: Option<String>,
    name: String,
}

impl ObjectKey {
    /// A key for `name` of `kind`; `namespace` must be given exactly when the kind is namespaced.
    pub fn new(
        kind: &'static ResourceKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Self, KeyError> {
        let namespace = check_scope(kind, namespace)?;
        check_segment("name", name)?;
        Ok(ObjectKey {
            kind,
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        })
    }

    /// Parses a store key back into its kind, namespace and name.
    pub fn parse(key: &[u8]) -> Result<Self, KeyError> {
        let not_key = || KeyError::NotAnObjectKey(String::from_utf8_lossy(key).into_owned());
        let text = std::str::from_utf8(key).map_err(|_| not_key())?;
        let rest = text.strip_prefix(REGISTRY_PREFIX).ok_or_else(not_key)?;
        let parts: Vec<&str> = rest.split('/').collect();
        let (group, resource, namespace, name) = match parts.as_slice() {
            [g, r, ns, n] => (*g, *r, Some(*ns), *n),
            [g, r, n] => (*g, *r, None, *n),
            _ => return Err(not_key()),
        };
        let kind = RegistryTable::all()
            .iter()
            .find(|k| k.storage_group() == group && k.plural == resource)
            .ok_or_else(not_key)?;
        if kind.namespaced != namespace.is_some() {
            return Err(not_key());
        }
        ObjectKey::new(kind, namespace, name)
    }

    pub fn kind(&self) -> &'static ResourceKind {
        self.kind
    }

    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The store key bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", kind_prefix(self.kind))?;
        if let Some(ns) = &self.namespace {
            write!(f, "{ns}/")?;
        }
        write!(f, "{}", self.name)
    }
}

/// The prefix under which every object of `kind` lives in `namespace`, or in all namespaces when
/// `namespace` is `None` (always the case for cluster-scoped kinds). Ends with `/`, so namespace
/// `a` never matches objects in namespace `ab`.
pub fn list_prefix(
    kind: &'static ResourceKind,
    namespace: Option<&str>,
) -> Result<Vec<u8>, KeyError> {
    let mut prefix = kind_prefix(kind);
    if let Some(ns) = namespace {
        if !kind.namespaced {
            return Err(KeyError::NamespaceNotAllowed {
                kind: kind.kind,
                namespace: ns.to_string(),
            });
        }
        check_segment("namespace", ns)?;
        prefix.push_str(ns);
        prefix.push('/');
    }
    Ok(prefix.into_bytes())
}

fn kind_prefix(kind: &ResourceKind) -> String {
    format!("{REGISTRY_PREFIX}{}/{}/", kind.storage_group(), kind.plural)
}

fn check_scope<'a>(
    kind: &'static ResourceKind,
    namespace: Option<&'a str>,
) -> Result<Option<&'a str>, KeyError> {
    match (kind.namespaced, namespace) {
        (true, None) | (true, Some("")) => Err(KeyError::NamespaceRequired { kind: kind.kind }),
        (true, Some(ns)) => {
            check_segment("namespace", ns)?;
            Ok(Some(ns))
        }
        (false, None) | (false, Some("")) => Ok(None),
        (false, Some(ns)) => Err(KeyError::NamespaceNotAllowed {
            kind: kind.kind,
            namespace: ns.to_string(),
        }),
    }
}

/// Kubernetes' path-segment rule (no `/`, no `%`, not `.` or `..`) plus what the store needs
/// (non-empty, no NUL, bounded length). Full name syntax is validation's job, not the key's.
pub fn check_segment(what: &'static str, value: &str) -> Result<(), KeyError> {
    let reason = if value.is_empty() {
        Some("may not be empty")
    } else if value == "." || value == ".." {
        Some("may not be '.' or '..'")
    } else if value.contains('/') {
        Some("may not contain '/'")
    } else if value.contains('%') {
        Some("may not contain '%'")
    } else if value.contains('\0') {
        Some("may not contain NUL")
    } else if value.len() > MAX_NAME_BYTES {
        Some("must be no more than 253 bytes")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(KeyError::InvalidSegment {
            what,
            value: value.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::KindId;

    fn kind(id: KindId) -> &'static ResourceKind {
        RegistryTable::get(id)
    }

    #[test]
    fn builds_namespaced_and_cluster_keys() {
        let k = ObjectKey::new(kind(KindId::Deployment), Some("default"), "web").unwrap();
        assert_eq!(k.to_string(), "/registry/apps/deployments/default/web");
        let k = ObjectKey::new(kind(KindId::Pod), Some("kube-system"), "p").unwrap();
        assert_eq!(k.to_bytes(), b"/registry/core/pods/kube-system/p".to_vec());
        let k = ObjectKey::new(kind(KindId::Node), None, "node-1").unwrap();
        assert_eq!(k.to_string(), "/registry/core/nodes/node-1");
        let k = ObjectKey::new(kind(KindId::Namespace), Some(""), "default").unwrap();
        assert_eq!(k.to_string(), "/registry/core/namespaces/default");
        let k = ObjectKey::new(kind(KindId::Ingress), Some("a"), "b").unwrap();
        assert_eq!(k.to_string(), "/registry/networking.k8s.io/ingresses/a/b");
    }

    #[test]
    fn scope_is_enforced() {
        assert_eq!(
            ObjectKey::new(kind(KindId::Pod), None, "p"),
            Err(KeyError::NamespaceRequired { kind: "Pod" })
        );
        let err = ObjectKey::new(kind(KindId::Node), Some("default"), "n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Node is cluster-scoped: namespace \"default\" is not allowed"
        );
        assert!(list_prefix(kind(KindId::Node), Some("default")).is_err());
    }

    #[test]
    fn rejects_names_that_break_the_layout() {
        for bad in ["", ".", "..", "a/b", "a%2Fb", "a\0b"] {
            assert!(
                ObjectKey::new(kind(KindId::Pod), Some("default"), bad).is_err(),
                "{bad:?}"
            );
            assert!(ObjectKey::new(kind(KindId::Pod), Some(bad), "p").is_err() || bad.is_empty());
        }
        let long = "a".repeat(254);
        let err = ObjectKey::new(kind(KindId::Pod), Some("default"), &long).unwrap_err();
        assert!(err.to_string().contains("253"));
        assert!(ObjectKey::new(kind(KindId::Pod), Some("default"), &long[..253]).is_ok());
    }

    #[test]
    fn parse_round_trips() {
        for (id, ns, name) in [
            (KindId::Deployment, Some("default"), "web"),
            (KindId::Node, None, "node-1"),
            (KindId::HorizontalPodAutoscaler, Some("x"), "h.1"),
            (KindId::Ingress, Some("x"), "i"),
        ] {
            let k = ObjectKey::new(kind(id), ns, name).unwrap();
            assert_eq!(ObjectKey::parse(&k.to_bytes()).unwrap(), k);
        }
    }

    #[test]
    fn parse_rejects_foreign_keys() {
        for bad in [
            &b"/registry/apps/deployments/web"[..],
            b"/registry/core/nodes/default/n",
            b"/registry/core/widgets/default/w",
            b"/other/core/pods/default/p",
            b"/registry/core/pods/default/p/extra",
            b"/registry/core/pods/default/",
            b"\xff",
        ] {
            assert!(ObjectKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn list_prefixes() {
        let d = kind(KindId::Deployment);
        assert_eq!(
            list_prefix(d, Some("default")).unwrap(),
            b"/registry/apps/deployments/default/"
        );
        assert_eq!(
            list_prefix(d, None).unwrap(),
            b"/registry/apps/deployments/"
        );
        assert_eq!(
            list_prefix(kind(KindId::Node), None).unwrap(),
            b"/registry/core/nodes/"
        );
        let web = ObjectKey::new(d, Some("default"), "web")
            .unwrap()
            .to_bytes();
        assert!(web.starts_with(&list_prefix(d, Some("default")).unwrap()));
        assert!(!web.starts_with(&list_prefix(d, Some("def")).unwrap()));
        assert!(list_prefix(d, Some("a/b")).is_err());
    }
}
