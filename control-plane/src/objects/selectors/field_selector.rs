//! `FieldSelector`: `field=value`, `field==value`, `field!=value` terms joined by commas, over the
//! fields a kind supports (`metadata.name`, `metadata.namespace`; pods also `spec.nodeName` and
//! `status.phase`). Values may escape `\,` `\=` `\!` and `\\`.

use std::fmt;

use serde_json::Value;

use super::selector_error::SelectorError;
use crate::objects::{DynamicObject, ResourceKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldOp {
    Equals,
    NotEquals,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldRequirement {
    pub field: String,
    pub op: FieldOp,
    pub value: String,
}

/// A conjunction of field requirements; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    pub fn everything() -> FieldSelector {
        FieldSelector::default()
    }

    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Parses the syntax without checking field names (see [`FieldSelector::parse_for`]).
    pub fn parse(input: &str) -> Result<FieldSelector, SelectorError> {
        let mut requirements = Vec::new();
        if input.trim().is_empty() {
            return Ok(FieldSelector::everything());
        }
        for term in split_unescaped(input, ',') {
            let (field, op, raw) = split_operator(term).ok_or_else(|| SelectorError::Syntax {
                input: input.to_string(),
                reason: format!("invalid selector: '{term}'; can't understand '{term}'"),
            })?;
            let field = field.trim();
            if field.is_empty() {
                return Err(SelectorError::Syntax {
                    input: input.to_string(),
                    reason: format!("missing field name in '{term}'"),
                });
            }
            requirements.push(FieldRequirement {
                field: field.to_string(),
                op,
                value: unescape(raw),
            });
        }
        Ok(FieldSelector { requirements })
    }

    /// Parses and checks that every field is one `kind` supports.
    pub fn parse_for(kind: &ResourceKind, input: &str) -> Result<FieldSelector, SelectorError> {
        let sel = FieldSelector::parse(input)?;
        for r in &sel.requirements {
            if !kind.supports_field_selector(&r.field) {
                return Err(SelectorError::UnsupportedField {
                    field: r.field.clone(),
                    kind: kind.kind.to_string(),
                    supported: kind
                        .field_selector_labels()
                        .into_iter()
                        .map(str::to_string)
                        .collect(),
                });
            }
        }
        Ok(sel)
    }

    /// Whether `obj` satisfies every requirement. A missing field reads as `""` (so
    /// `spec.nodeName=` selects unscheduled pods, as in Kubernetes).
    pub fn matches(&self, obj: &DynamicObject) -> bool {
        self.requirements.iter().all(|r| {
            let actual = match obj.field(&r.field) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (actual == r.value) == (r.op == FieldOp::Equals)
        })
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .requirements
            .iter()
            .map(|r| {
                let op = if r.op == FieldOp::Equals { "=" } else { "!=" };
                format!("{}{op}{}", r.field, escape(&r.value))
            })
            .collect();
        write!(f, "{}", parts.join(","))
    }
}

/// Splits at `sep` characters not preceded by a backslash escape.
fn split_unescaped(input: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in input.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(&input[start..i]);
            start = i + 1;
        }
    }
    parts.push(&input[start..]);
    parts
}

/// Finds the first unescaped `!=`, `==` or `=`.
fn split_operator(term: &str) -> Option<(&str, FieldOp, &str)> {
    let bytes = term.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'!' if bytes.get(i + 1) == Some(&b'=') => {
                return Some((&term[..i], FieldOp::NotEquals, &term[i + 2..]))
            }
            b'=' if bytes.get(i + 1) == Some(&b'=') => {
                return Some((&term[..i], FieldOp::Equals, &term[i + 2..]))
            }
            b'=' => return Some((&term[..i], FieldOp::Equals, &term[i + 1..])),
            _ => i += 1,
        }
    }
    None
}

fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=' | '!') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::{KindId, RegistryTable};
    use serde_json::json;

    fn pod(node: Option<&str>, phase: &str) -> DynamicObject {
        let mut v = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p1", "namespace": "default"}, "status": {"phase": phase}});
        if let Some(n) = node {
            v["spec"] = json!({"nodeName": n});
        }
        DynamicObject::from_value(v).unwrap()
    }

    #[test]
    fn parses_and_matches() {
        let pods = RegistryTable::get(KindId::Pod);
        let s =
            FieldSelector::parse_for(pods, "spec.nodeName=node-1,status.phase!=Failed").unwrap();
        assert!(s.matches(&pod(Some("node-1"), "Running")));
        assert!(!s.matches(&pod(Some("node-2"), "Running")));
        assert!(!s.matches(&pod(Some("node-1"), "Failed")));
        let unscheduled = FieldSelector::parse_for(pods, "spec.nodeName=").unwrap();
        assert!(unscheduled.matches(&pod(None, "Pending")));
        assert!(!unscheduled.matches(&pod(Some("n"), "Pending")));
        let by_name =
            FieldSelector::parse_for(pods, "metadata.name==p1,metadata.namespace=default");
        assert!(by_name.unwrap().matches(&pod(None, "Pending")));
        assert!(FieldSelector::parse("").unwrap().matches(&pod(None, "x")));
    }

    #[test]
    fn unsupported_fields_are_named() {
        let pods = RegistryTable::get(KindId::Pod);
        let err = FieldSelector::parse_for(pods, "spec.restartPolicy=Always").unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"spec.restartPolicy\" is not a known field selector for Pod: only \"metadata.name\", \
             \"metadata.namespace\", \"spec.nodeName\", \"status.phase\""
        );
        let deploys = RegistryTable::get(KindId::Deployment);
        let err = FieldSelector::parse_for(deploys, "spec.nodeName=x").unwrap_err();
        assert!(
            matches!(err, SelectorError::UnsupportedField { ref field, .. } if field == "spec.nodeName")
        );
    }

    #[test]
    fn syntax_and_escapes() {
        assert!(FieldSelector::parse("metadata.name").is_err());
        assert!(FieldSelector::parse("=x").is_err());
        assert!(FieldSelector::parse("a=b,").is_err());
        let s = FieldSelector::parse(r"metadata.name=a\,b\=c,status.phase!=x").unwrap();
        assert_eq!(s.requirements()[0].value, "a,b=c");
        assert_eq!(s.requirements()[1].op, FieldOp::NotEquals);
        assert_eq!(s.to_string(), r"metadata.name=a\,b\=c,status.phase!=x");
        assert_eq!(FieldSelector::parse(&s.to_string()).unwrap(), s);
    }
}
