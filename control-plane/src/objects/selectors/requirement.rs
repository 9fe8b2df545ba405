//! `Requirement`: one term of a label selector (`key in (a,b)`, `!key`, `key!=v`, ...).

use std::collections::BTreeSet;
use std::fmt;

use super::selector_error::SelectorError;
use crate::objects::validation::names;

/// A label selector operator. `==` parses as `Equals`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    Equals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

/// One selector term; values are kept sorted, so equal requirements compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: BTreeSet<String>,
}

impl Requirement {
    /// Checks Kubernetes' rules: a qualified-name key; label-value values; one value for
    /// `=`/`!=`, at least one for `in`/`notin`, none for exists, one integer for `>`/`<`.
    pub fn new(
        key: &str,
        operator: Operator,
        values: impl IntoIterator<Item = String>,
    ) -> Result<Requirement, SelectorError> {
        if let Some(reason) = names::qualified_name(key).into_iter().next() {
            return Err(SelectorError::InvalidKey {
                key: key.to_string(),
                reason,
            });
        }
        let values: BTreeSet<String> = values.into_iter().collect();
        let count_error = |reason: &str| SelectorError::Syntax {
            input: key.to_string(),
            reason: reason.to_string(),
        };
        match operator {
            Operator::Equals | Operator::NotEquals if values.len() != 1 => {
                return Err(count_error(
                    "exact-match compatibility requires one single value",
                ))
            }
            Operator::In | Operator::NotIn if values.is_empty() => {
                return Err(count_error(
                    "for 'in', 'notin' operators, values set can't be empty",
                ))
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                return Err(count_error(
                    "values set must be empty for exists and does not exist",
                ))
            }
            Operator::GreaterThan | Operator::LessThan => {
                let ok = values.len() == 1 && values.iter().all(|v| v.parse::<i64>().is_ok());
                if !ok {
                    return Err(count_error(
                        "for 'Gt', 'Lt' operators, exactly one integer value is required",
                    ));
                }
            }
            _ => {}
        }
        if !matches!(operator, Operator::GreaterThan | Operator::LessThan) {
            for v in &values {
                if let Some(reason) = names::label_value(v).into_iter().next() {
                    return Err(SelectorError::InvalidValue {
                        value: v.clone(),
                        reason,
                    });
                }
            }
        }
        Ok(Requirement {
            key: key.to_string(),
            operator,
            values,
        })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn operator(&self) -> Operator {
        self.operator
    }

    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.values.iter().map(String::as_str)
    }

    /// Whether a label set (given as a lookup) satisfies this requirement. A missing label
    /// satisfies `!=`, `notin` and `!key`.
    pub fn matches<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        let value = get(&self.key);
        match self.operator {
            Operator::Equals | Operator::In => value.is_some_and(|v| self.values.contains(v)),
            Operator::NotEquals | Operator::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(v), Some(bound)) = (value, self.values.iter().next()) else {
                    return false;
                };
                match (v.parse::<i64>(), bound.parse::<i64>()) {
                    (Ok(v), Ok(b)) if self.operator == Operator::GreaterThan => v > b,
                    (Ok(v), Ok(b)) => v < b,
                    _ => false,
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = || self.values.iter().cloned().collect::<Vec<_>>().join(",");
        match self.operator {
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
            Operator::Equals => write!(f, "{}={}", self.key, list()),
            Operator::NotEquals => write!(f, "{}!={}", self.key, list()),
            Operator::In => write!(f, "{} in ({})", self.key, list()),
            Operator::NotIn => write!(f, "{} notin ({})", self.key, list()),
            Operator::GreaterThan => write!(f, "{}>{}", self.key, list()),
            Operator::LessThan => write!(f, "{}<{}", self.key, list()),
        }
    }
}
