//! The answers of `/healthz` (is Raft running) and `/readyz` (does this replica know a leader and
//! has it applied what is committed), computed from openraft's metrics.

use crate::raft::TypeConfig;

/// How far the applied index may trail the committed index for a replica to be ready.
pub const READY_MAX_LAG: u64 = 100;

/// `Ok` while Raft runs; the fatal error's text once openraft stopped.
pub fn healthz(m: &openraft::RaftMetrics<TypeConfig>) -> Result<(), String> {
    match &m.running_state {
        Ok(()) => Ok(()),
        Err(fatal) => Err(format!("raft stopped: {fatal}")),
    }
}

/// `Ok` when a leader is known and the applied index is within [`READY_MAX_LAG`] of the
/// committed one; otherwise why not.
pub fn readyz(m: &openraft::RaftMetrics<TypeConfig>) -> Result<(), String> {
    healthz(m)?;
    let Some(leader) = m.current_leader else {
        return Err("no leader known".into());
    };
    let committed = m.local_committed.as_ref().map(|l| l.index()).unwrap_or(0);
    let applied = m.last_applied.as_ref().map(|l| l.index()).unwrap_or(0);
    ready_by_indexes(leader, committed, applied)
}

/// The index part of [`readyz`].
pub fn ready_by_indexes(leader: u64, committed: u64, applied: u64) -> Result<(), String> {
    if applied + READY_MAX_LAG < committed {
        return Err(format!(
            "applied index {applied} trails committed index {committed} (leader {leader})"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_within_the_lag() {
        assert!(ready_by_indexes(1, 10, 10).is_ok());
        assert!(ready_by_indexes(1, 10 + READY_MAX_LAG, 10).is_ok());
        let err = ready_by_indexes(2, 11 + READY_MAX_LAG, 10).unwrap_err();
        assert!(err.contains("trails"), "{err}");
    }
}
