//! The linearizability search's memory of explored configurations, with dominance for optional
//! operations (those that may never take effect).

use std::collections::HashMap;
use std::hash::Hash;

/// A set of operations, one bit each.
type Bits = Box<[u64]>;

/// Explored configurations, keyed by (required operations linearized, model state), each with
/// the minimal sets of optional operations linearized along with them.
pub(crate) struct SearchMemo<S> {
    optional_mask: Vec<u64>,
    seen: HashMap<(Bits, S), Vec<Bits>>,
}

impl<S: Copy + Eq + Hash> SearchMemo<S> {
    /// `optional[i]`: operation i may never take effect.
    pub(crate) fn new(optional: &[bool]) -> Self {
        let mut optional_mask = vec![0u64; optional.len().div_ceil(64)];
        for (i, _) in optional.iter().enumerate().filter(|(_, &o)| o) {
            optional_mask[i / 64] |= 1 << (i % 64);
        }
        SearchMemo {
            optional_mask,
            seen: HashMap::new(),
        }
    }

    /// Records the configuration (`linearized`, `state`); false if it, or one with the same
    /// required operations and state and fewer optional ones, was recorded before (nothing new
    /// can be reached from it).
    pub(crate) fn visit(&mut self, linearized: &[u64], state: S) -> bool {
        let required: Bits = linearized
            .iter()
            .zip(&self.optional_mask)
            .map(|(l, m)| l & !m)
            .collect();
        let optional: Bits = linearized
            .iter()
            .zip(&self.optional_mask)
            .map(|(l, m)| l & m)
            .collect();
        let known = self.seen.entry((required, state)).or_default();
        if known.iter().any(|k| is_subset(k, &optional)) {
            return false;
        }
        known.retain(|k| !is_subset(&optional, k));
        known.push(optional);
        true
    }
}

fn is_subset(a: &[u64], b: &[u64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x & !y == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fewer_optional_operations_dominate() {
        // Ops 0 and 1 required, 2 and 3 optional.
        let mut memo = SearchMemo::new(&[false, false, true, true]);
        assert!(memo.visit(&[0b0101], 'a'));
        assert!(!memo.visit(&[0b0101], 'a'));
        assert!(
            !memo.visit(&[0b1101], 'a'),
            "a superset of optional ops is dominated"
        );
        assert!(memo.visit(&[0b0101], 'b'), "another state is new");
        assert!(memo.visit(&[0b0111], 'a'), "other required ops are new");
        assert!(memo.visit(&[0b0001], 'a'), "fewer optional ops are new");
        assert!(!memo.visit(&[0b1001], 'a'));
    }
}
