//! `FieldError` and `ErrorList`: validation failures with field paths, formatted as the
//! Kubernetes API server formats them (`spec.replicas: Invalid value: -1: must be ...`).

use std::fmt;

/// A value as shown in an error: strings quoted, numbers bare, anything else as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown(pub String);

impl From<&str> for Shown {
    fn from(s: &str) -> Self {
        Shown(format!("{s:?}"))
    }
}
impl From<&String> for Shown {
    fn from(s: &String) -> Self {
        Shown(format!("{s:?}"))
    }
}
impl From<i64> for Shown {
    fn from(n: i64) -> Self {
        Shown(n.to_string())
    }
}
impl From<i32> for Shown {
    fn from(n: i32) -> Self {
        Shown(n.to_string())
    }
}
impl From<&serde_json::Value> for Shown {
    fn from(v: &serde_json::Value) -> Self {
        Shown(v.to_string())
    }
}

/// The kind of failure, with Kubernetes' wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldErrorKind {
    Required,
    Invalid(Shown),
    NotSupported(Shown, Vec<String>),
    Duplicate(Shown),
    NotFound(Shown),
    Forbidden,
    TooLong(usize),
    TooMany(usize),
}

/// One invalid field: `path` is dotted with `[i]` / `[key]` subscripts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub kind: FieldErrorKind,
    pub detail: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.path)?;
        let detail = |f: &mut fmt::Formatter<'_>, sep: &str| {
            if self.detail.is_empty() {
                Ok(())
            } else {
                write!(f, "{sep}{}", self.detail)
            }
        };
        match &self.kind {
            FieldErrorKind::Required => {
                write!(f, "Required value")?;
                detail(f, ": ")
            }
            FieldErrorKind::Invalid(v) => {
                write!(f, "Invalid value: {}", v.0)?;
                detail(f, ": ")
            }
            FieldErrorKind::NotSupported(v, supported) => {
                write!(f, "Unsupported value: {}", v.0)?;
                if !supported.is_empty() {
                    let quoted: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
                    write!(f, ": supported values: {}", quoted.join(", "))?;
                }
                Ok(())
            }
            FieldErrorKind::Duplicate(v) => write!(f, "Duplicate value: {}", v.0),
            FieldErrorKind::NotFound(v) => write!(f, "Not found: {}", v.0),
            FieldErrorKind::Forbidden => {
                write!(f, "Forbidden")?;
                detail(f, ": ")
            }
            FieldErrorKind::TooLong(max) => write!(f, "Too long: may not be more than {max} bytes"),
            FieldErrorKind::TooMany(max) => write!(f, "Too many: must have at most {max} items"),
        }
    }
}

/// Every error found in one object, in the order found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorList(pub Vec<FieldError>);

impl ErrorList {
    pub fn new() -> Self {
        ErrorList(Vec::new())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }

    pub fn extend(&mut self, other: ErrorList) {
        self.0.extend(other.0);
    }

    fn push(&mut self, path: &str, kind: FieldErrorKind, detail: impl Into<String>) {
        self.0.push(FieldError {
            path: path.to_string(),
            kind,
            detail: detail.into(),
        });
    }

    pub fn required(&mut self, path: &str, detail: impl Into<String>) {
        self.push(path, FieldErrorKind::Required, detail);
    }

    pub fn invalid(&mut self, path: &str, value: impl Into<Shown>, detail: impl Into<String>) {
        self.push(path, FieldErrorKind::Invalid(value.into()), detail);
    }

    /// One `Invalid` error per message (name validators return several).
    pub fn invalid_each(&mut self, path: &str, value: &str, messages: Vec<String>) {
        for m in messages {
            self.invalid(path, value, m);
        }
    }

    /// One `Invalid` error per message, for an integer value.
    pub fn invalid_each_int(&mut self, path: &str, value: i32, messages: Vec<String>) {
        for m in messages {
            self.invalid(path, value, m);
        }
    }

    pub fn not_supported(&mut self, path: &str, value: impl Into<Shown>, supported: &[&str]) {
        let supported = supported.iter().map(|s| s.to_string()).collect();
        self.push(
            path,
            FieldErrorKind::NotSupported(value.into(), supported),
            "",
        );
    }

    pub fn duplicate(&mut self, path: &str, value: impl Into<Shown>) {
        self.push(path, FieldErrorKind::Duplicate(value.into()), "");
    }

    pub fn not_found(&mut self, path: &str, value: impl Into<Shown>) {
        self.push(path, FieldErrorKind::NotFound(value.into()), "");
    }

    pub fn forbidden(&mut self, path: &str, detail: impl Into<String>) {
        self.push(path, FieldErrorKind::Forbidden, detail);
    }

    pub fn too_long(&mut self, path: &str, max: usize) {
        self.push(path, FieldErrorKind::TooLong(max), "");
    }

    pub fn too_many(&mut self, path: &str, max: usize) {
        self.push(path, FieldErrorKind::TooMany(max), "");
    }

    /// `field is immutable`, as Kubernetes reports a changed immutable field.
    pub fn immutable(&mut self, path: &str, value: impl Into<Shown>) {
        self.invalid(path, value, "field is immutable");
    }

    /// `Ok(())` when empty, else the kubectl-style [`InvalidObject`] error.
    pub fn into_result(self, kind: &str, name: &str) -> Result<(), InvalidObject> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(InvalidObject {
                kind: kind.to_string(),
                name: name.to_string(),
                errors: self,
            })
        }
    }
}

/// An object refused by validation. Displays as kubectl prints it:
/// `The Deployment "web" is invalid: spec.replicas: ...`, or one `* error` line per error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InvalidObject {
    pub kind: String,
    pub name: String,
    pub errors: ErrorList,
}

impl fmt::Display for InvalidObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "The {} {:?} is invalid: ", self.kind, self.name)?;
        match self.errors.0.as_slice() {
            [one] => write!(f, "{one}"),
            many => {
                for e in many {
                    write!(f, "\n* {e}")?;
                }
                Ok(())
            }
        }
    }
}

/// Child path helpers: `join(p, "spec")`, `index(p, 0)`, `key(p, "cpu")`.
pub fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else {
        format!("{parent}.{child}")
    }
}

pub fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

pub fn key(parent: &str, k: &str) -> String {
    format!("{parent}[{k}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_kubernetes() {
        let mut errs = ErrorList::new();
        errs.invalid(
            "metadata.name",
            "Web_1",
            "a lowercase RFC 1123 subdomain ...",
        );
        errs.required("spec.containers[0].image", "");
        errs.invalid(
            "spec.ports[0].port",
            70000,
            "must be between 1 and 65535, inclusive",
        );
        errs.not_supported(
            "spec.restartPolicy",
            "Sometimes",
            &["Always", "OnFailure", "Never"],
        );
        errs.duplicate("spec.containers[1].name", "web");
        errs.forbidden("metadata.namespace", "not allowed on this type");
        errs.too_long("metadata.annotations", 262144);
        errs.immutable(
            "spec.selector",
            &serde_json::json!({"matchLabels": {"app": "x"}}),
        );
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "metadata.name: Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain ...",
                "spec.containers[0].image: Required value",
                "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
                "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \
                 \"Always\", \"OnFailure\", \"Never\"",
                "spec.containers[1].name: Duplicate value: \"web\"",
                "metadata.namespace: Forbidden: not allowed on this type",
                "metadata.annotations: Too long: may not be more than 262144 bytes",
                "spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"x\"}}: field is immutable",
            ]
        );
    }

    #[test]
    fn invalid_object_single_and_many() {
        let mut errs = ErrorList::new();
        assert_eq!(errs.clone().into_result("Deployment", "web"), Ok(()));
        errs.invalid("spec.replicas", -1, "must be greater than or equal to 0");
        let one = errs.clone().into_result("Deployment", "web").unwrap_err();
        assert_eq!(
            one.to_string(),
            "The Deployment \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater \
             than or equal to 0"
        );
        errs.required("spec.selector", "");
        let many = errs.into_result("Deployment", "web").unwrap_err();
        assert_eq!(
            many.to_string(),
            "The Deployment \"web\" is invalid: \n* spec.replicas: Invalid value: -1: must be \
             greater than or equal to 0\n* spec.selector: Required value"
        );
        assert_eq!(join("", "spec"), "spec");
        assert_eq!(key(&index(&join("spec", "c"), 2), "cpu"), "spec.c[2][cpu]");
    }
}
