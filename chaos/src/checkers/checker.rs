//! The trait every checker implements: one guarantee, judged on a whole history.

use super::CheckResult;
use crate::history::History;

/// One guarantee. Pure: judges a recorded [`History`] and never does IO.
pub trait Checker: Send + Sync {
    /// Short kebab-case name, also the [`CheckResult::name`].
    fn name(&self) -> &'static str;

    fn check(&self, history: &History) -> CheckResult;
}
