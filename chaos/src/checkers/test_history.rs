//! Hand-built histories for the checkers' tests: times in milliseconds, one call per operation.

use crate::history::{
    CasExpect, FinalRead, History, LeaderSample, Op, OpId, OpKind, Outcome, Reply, StateSample,
};

const MS: u64 = 1_000_000;

/// Builds a [`History`] op by op.
#[derive(Default)]
pub(crate) struct TestHistory {
    pub h: History,
}

impl TestHistory {
    pub fn new() -> Self {
        Self::default()
    }

    fn push(
        &mut self,
        client: u32,
        key: &str,
        kind: OpKind,
        t: (u64, Option<u64>),
        outcome: Outcome,
    ) -> OpId {
        self.h.ops.push(Op {
            client,
            key: key.to_string(),
            kind,
            invoke_ns: t.0 * MS,
            complete_ns: t.1.map(|c| c * MS),
            outcome,
        });
        OpId(self.h.ops.len() - 1)
    }

    /// An acknowledged write at revision `rev`, invoked at `from` ms and answered at `to` ms.
    pub fn write(
        &mut self,
        client: u32,
        key: &str,
        value: &str,
        from: u64,
        to: u64,
        rev: u64,
    ) -> OpId {
        let kind = OpKind::Write {
            value: value.into(),
        };
        self.push(
            client,
            key,
            kind,
            (from, Some(to)),
            Outcome::Ok(Reply::Written { revision: rev }),
        )
    }

    /// A write that timed out at `to` ms.
    pub fn write_unknown(
        &mut self,
        client: u32,
        key: &str,
        value: &str,
        from: u64,
        to: u64,
    ) -> OpId {
        let kind = OpKind::Write {
            value: value.into(),
        };
        self.push(client, key, kind, (from, Some(to)), Outcome::Unknown)
    }

    pub fn write_failed(
        &mut self,
        client: u32,
        key: &str,
        value: &str,
        from: u64,
        to: u64,
    ) -> OpId {
        let kind = OpKind::Write {
            value: value.into(),
        };
        self.push(client, key, kind, (from, Some(to)), Outcome::Fail)
    }

    /// A read answered with `value` (no mod_revision recorded).
    pub fn read(
        &mut self,
        client: u32,
        key: &str,
        value: Option<&str>,
        from: u64,
        to: u64,
    ) -> OpId {
        self.read_rev(client, key, value, None, from, to)
    }

    pub fn read_rev(
        &mut self,
        client: u32,
        key: &str,
        value: Option<&str>,
        mod_revision: Option<u64>,
        from: u64,
        to: u64,
    ) -> OpId {
        let reply = Reply::Read {
            value: value.map(str::to_string),
            mod_revision,
        };
        self.push(
            client,
            key,
            OpKind::Read,
            (from, Some(to)),
            Outcome::Ok(reply),
        )
    }

    /// A CAS on the value; `answer`: `Some((succeeded, revision))`, or `None` for no answer.
    pub fn cas(
        &mut self,
        client: u32,
        key: &str,
        expected: CasExpect,
        new: &str,
        (from, to): (u64, u64),
        answer: Option<(bool, Option<u64>)>,
    ) -> OpId {
        let kind = OpKind::Cas {
            expected,
            new_value: new.into(),
        };
        let outcome = match answer {
            Some((succeeded, revision)) => Outcome::Ok(Reply::Cas {
                succeeded,
                revision,
            }),
            None => Outcome::Unknown,
        };
        self.push(client, key, kind, (from, Some(to)), outcome)
    }

    pub fn final_read(
        &mut self,
        key: &str,
        value: Option<&str>,
        mod_revision: Option<u64>,
        at: u64,
    ) {
        self.h.final_reads.push(FinalRead {
            key: key.into(),
            value: value.map(str::to_string),
            mod_revision,
            at_ns: at * MS,
        });
    }

    pub fn leader(&mut self, replica: u64, (from, to): (u64, u64), term: u64, leader: Option<u64>) {
        self.h.cluster.leader_samples.push(LeaderSample {
            replica,
            invoke_ns: from * MS,
            complete_ns: to * MS,
            term,
            leader,
        });
    }

    pub fn state(&mut self, replica: u64, (from, to): (u64, u64), revision: u64, hash: &str) {
        self.h
            .cluster
            .state_samples
            .push(state(replica, (from, to), revision, hash));
    }

    pub fn final_state(&mut self, replica: u64, (from, to): (u64, u64), revision: u64, hash: &str) {
        self.h
            .cluster
            .final_states
            .push(state(replica, (from, to), revision, hash));
    }

    pub fn build(self) -> History {
        self.h
    }
}

fn state(replica: u64, (from, to): (u64, u64), revision: u64, hash: &str) -> StateSample {
    StateSample {
        replica,
        invoke_ns: from * MS,
        complete_ns: to * MS,
        revision,
        state_hash: hash.into(),
    }
}
