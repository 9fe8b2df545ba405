//! Deciding, from the Status answers of several replicas, which one leads the cell: pure code.

use keel_proto::cluster::StatusResponse;

/// A leader that a majority of the cell agrees on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaderView {
    pub leader_id: u64,
    pub term: u64,
}

/// The leader at the highest term seen, if that replica itself answered that it is the leader at
/// that term and a majority of the voters (`voters`, or the voter count in the leader's own
/// membership when it lists any) report the same leader and term. Otherwise a reason why not.
pub fn agreed_leader(statuses: &[StatusResponse], voters: usize) -> Result<LeaderView, String> {
    let term = statuses
        .iter()
        .map(|s| s.term)
        .max()
        .ok_or("no replica answered")?;
    let claims: Vec<&StatusResponse> = statuses
        .iter()
        .filter(|s| s.term == term && s.state == "leader")
        .collect();
    let leader = match claims.as_slice() {
        [one] => *one,
        [] => return Err(format!("no answering replica is leader at term {term}")),
        many => {
            let ids: Vec<u64> = many.iter().map(|s| s.id).collect();
            return Err(format!("several replicas claim term {term}: {ids:?}"));
        }
    };
    let listed_voters = leader.members.iter().filter(|m| m.role == "voter").count();
    let voters = if listed_voters > 0 {
        listed_voters
    } else {
        voters
    };
    let agree = statuses
        .iter()
        .filter(|s| {
            s.term == term && (s.id == leader.id || (s.has_leader && s.leader_id == leader.id))
        })
        .count();
    let quorum = voters / 2 + 1;
    if agree >= quorum {
        Ok(LeaderView {
            leader_id: leader.id,
            term,
        })
    } else {
        Err(format!(
            "replica {} leads term {term} but only {agree} of {voters} voters agree (need {quorum})",
            leader.id
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_proto::cluster::Member;

    fn st(id: u64, state: &str, leader: Option<u64>, term: u64) -> StatusResponse {
        StatusResponse {
            id,
            state: state.into(),
            has_leader: leader.is_some(),
            leader_id: leader.unwrap_or(0),
            term,
            ..Default::default()
        }
    }

    #[test]
    fn majority_agreement() {
        let s = [
            st(1, "follower", Some(2), 3),
            st(2, "leader", Some(2), 3),
            st(3, "follower", None, 2),
        ];
        assert_eq!(
            agreed_leader(&s, 3),
            Ok(LeaderView {
                leader_id: 2,
                term: 3
            })
        );
    }

    #[test]
    fn the_leader_must_answer_itself() {
        let s = [st(1, "follower", Some(2), 3), st(3, "follower", Some(2), 3)];
        assert!(agreed_leader(&s, 3).is_err());
    }

    #[test]
    fn a_stale_leader_does_not_count() {
        let s = [
            st(1, "leader", Some(1), 3),
            st(2, "candidate", None, 4),
            st(3, "follower", None, 4),
        ];
        assert!(agreed_leader(&s, 3).is_err());
    }

    #[test]
    fn a_lone_leader_is_not_enough() {
        let s = [st(1, "leader", Some(1), 5)];
        assert!(agreed_leader(&s, 3).is_err());
        assert!(agreed_leader(&s, 1).is_ok());
    }

    #[test]
    fn voters_come_from_the_leaders_membership() {
        let mut leader = st(1, "leader", Some(1), 5);
        leader.members = (1..=5)
            .map(|id| Member {
                id,
                role: "voter".into(),
                ..Default::default()
            })
            .collect();
        let s = [leader, st(2, "follower", Some(1), 5)];
        assert!(agreed_leader(&s, 3).is_err(), "2 of 5 is no majority");
    }

    #[test]
    fn nobody_answered() {
        assert!(agreed_leader(&[], 3).is_err());
    }
}
