//! Which of the leader's loops run: `--controllers`, with kube-controller-manager's syntax. A
//! comma-separated list where `*` enables every loop, `name` enables one and `-name` disables
//! one; later items win. `--controllers=` (empty) runs none, which leaves a cell that only stores
//! and serves objects — what the object API's own tests want, like an apiserver alone.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// Every loop the leader can run, by the name `--controllers` knows it by.
pub const ALL_CONTROLLERS: &[&str] = &[
    "scheduler",
    "garbage-collector",
    "endpoints",
    "replicaset",
    "deployment",
    "daemonset",
    "job",
    "statefulset",
    "cronjob",
    "node-lifecycle",
    "partitioner",
];

/// The enabled loops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerSet(BTreeSet<&'static str>);

impl ControllerSet {
    /// Every loop.
    pub fn all() -> Self {
        ControllerSet(ALL_CONTROLLERS.iter().copied().collect())
    }

    /// No loop at all.
    pub fn none() -> Self {
        ControllerSet(BTreeSet::new())
    }

    /// Whether the loop `name` (one of [`ALL_CONTROLLERS`]) runs.
    pub fn enabled(&self, name: &str) -> bool {
        self.0.contains(name)
    }
}

impl Default for ControllerSet {
    fn default() -> Self {
        Self::all()
    }
}

impl FromStr for ControllerSet {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, String> {
        let mut set = ControllerSet::none();
        for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if item == "*" {
                set = ControllerSet::all();
                continue;
            }
            let (disable, name) = match item.strip_prefix('-') {
                Some(name) => (true, name),
                None => (false, item),
            };
            let Some(known) = ALL_CONTROLLERS.iter().copied().find(|c| *c == name) else {
                return Err(format!(
                    "unknown controller {name:?} (known: *, {})",
                    ALL_CONTROLLERS.join(", ")
                ));
            };
            if disable {
                set.0.remove(known);
            } else {
                set.0.insert(known);
            }
        }
        Ok(set)
    }
}

impl fmt::Display for ControllerSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().copied().collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_enables_all_and_minus_disables_one() {
        let set: ControllerSet = "*,-job".parse().unwrap();
        assert!(set.enabled("deployment"));
        assert!(!set.enabled("job"));
        assert_eq!(set.0.len(), ALL_CONTROLLERS.len() - 1);
    }

    #[test]
    fn a_plain_list_enables_only_what_it_names() {
        let set: ControllerSet = "scheduler, replicaset".parse().unwrap();
        assert!(set.enabled("scheduler") && set.enabled("replicaset"));
        assert!(!set.enabled("deployment"));
    }

    #[test]
    fn empty_enables_nothing() {
        assert_eq!("".parse::<ControllerSet>().unwrap(), ControllerSet::none());
    }

    #[test]
    fn an_unknown_name_is_refused_by_name() {
        let err = "*,-deploymnet".parse::<ControllerSet>().unwrap_err();
        assert!(err.contains("\"deploymnet\""), "{err}");
        assert!(err.contains("deployment"), "{err}");
    }
}
