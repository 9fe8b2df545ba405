//! The verdict of one checker on one history.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// At most this many violation messages are kept per checker; `violation_count` counts them all.
pub const MAX_LISTED_VIOLATIONS: usize = 100;

/// What one checker found. `ok` is false exactly when a violation was found. A checker that could
/// not decide part of the history (e.g. the linearizability search ran out of budget) says so in
/// `inconclusive`, without failing: see [`CheckResult::verdict`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    pub ok: bool,
    /// Human-readable, naming operations, clients, replicas and times; the first
    /// [`MAX_LISTED_VIOLATIONS`] only.
    pub violations: Vec<String>,
    pub violation_count: u64,
    /// What could not be decided, and why.
    pub inconclusive: Vec<String>,
    /// Counts and durations (durations in milliseconds, named `*_ms`).
    pub stats: BTreeMap<String, u64>,
}

/// A checker's overall answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    Pass,
    Fail,
    /// No violation found, but part of the history could not be decided.
    Inconclusive,
}

impl CheckResult {
    /// A passing result with nothing recorded yet.
    pub fn new(name: impl Into<String>) -> Self {
        CheckResult {
            name: name.into(),
            ok: true,
            violations: Vec::new(),
            violation_count: 0,
            inconclusive: Vec::new(),
            stats: BTreeMap::new(),
        }
    }

    pub fn violation(&mut self, message: impl Into<String>) {
        self.ok = false;
        self.violation_count += 1;
        if self.violations.len() < MAX_LISTED_VIOLATIONS {
            self.violations.push(message.into());
        }
    }

    pub fn inconclusive(&mut self, reason: impl Into<String>) {
        self.inconclusive.push(reason.into());
    }

    pub fn stat(&mut self, name: &str, value: u64) {
        self.stats.insert(name.to_string(), value);
    }

    /// Fail on any violation; otherwise Inconclusive if anything went undecided; otherwise Pass.
    pub fn verdict(&self) -> Verdict {
        if !self.ok {
            Verdict::Fail
        } else if !self.inconclusive.is_empty() {
            Verdict::Inconclusive
        } else {
            Verdict::Pass
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Inconclusive => "INCONCLUSIVE",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        let mut r = CheckResult::new("x");
        assert_eq!(r.verdict(), Verdict::Pass);
        r.inconclusive("budget");
        assert_eq!(r.verdict(), Verdict::Inconclusive);
        assert!(r.ok);
        r.violation("bad");
        assert_eq!(r.verdict(), Verdict::Fail);
        assert!(!r.ok);
    }

    #[test]
    fn caps_the_listed_violations() {
        let mut r = CheckResult::new("x");
        for i in 0..MAX_LISTED_VIOLATIONS + 5 {
            r.violation(format!("v{i}"));
        }
        assert_eq!(r.violations.len(), MAX_LISTED_VIOLATIONS);
        assert_eq!(r.violation_count, MAX_LISTED_VIOLATIONS as u64 + 5);
    }
}
