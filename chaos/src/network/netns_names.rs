//! The names of one run's namespaces: `kc<pid>-hub` and `kc<pid>-r<id>`, so that leftovers of a
//! crashed run can be told apart from those of a live one.

/// Prefix of every namespace keel-chaos creates.
pub const PREFIX: &str = "kc";

/// Namespace names of the run with process id `pid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetnsNames {
    pub pid: u32,
}

impl NetnsNames {
    /// The names of this process's run.
    pub fn of_this_process() -> Self {
        NetnsNames {
            pid: std::process::id(),
        }
    }

    /// The hub namespace (bridge, runner).
    pub fn hub(&self) -> String {
        format!("{PREFIX}{}-hub", self.pid)
    }

    /// Replica `id`'s namespace.
    pub fn replica(&self, id: u64) -> String {
        format!("{PREFIX}{}-r{id}", self.pid)
    }

    /// The pid of the run that made namespace `name`, if it is one of ours.
    pub fn owner_of(name: &str) -> Option<u32> {
        let rest = name.strip_prefix(PREFIX)?;
        let (pid, role) = rest.split_once('-')?;
        let ours = role == "hub"
            || role
                .strip_prefix('r')
                .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
        if ours {
            pid.parse().ok()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_to_their_owner() {
        let n = NetnsNames { pid: 4242 };
        assert_eq!(n.hub(), "kc4242-hub");
        assert_eq!(n.replica(3), "kc4242-r3");
        assert_eq!(NetnsNames::owner_of(&n.hub()), Some(4242));
        assert_eq!(NetnsNames::owner_of(&n.replica(12)), Some(4242));
        for foreign in ["kc-hub", "kcx-hub", "kc12-rx", "kc12-r", "other", "kc12-db"] {
            assert_eq!(NetnsNames::owner_of(foreign), None, "{foreign}");
        }
    }
}
