//! The time-ordered, doubly-linked list of call and return events that the linearizability
//! search walks, with O(1) removal and restoration of an operation (dancing links).

use super::wgl_search::SearchOp;

pub(crate) const NIL: usize = usize::MAX;
pub(crate) const HEAD: usize = 0;

/// The time-ordered list of call and return events (node 0 is the head).
pub(crate) struct EventList {
    pub next: Vec<usize>,
    prev: Vec<usize>,
    pub op: Vec<usize>,
    pub is_call: Vec<bool>,
    /// For a call node, its return node.
    ret: Vec<usize>,
}

impl EventList {
    pub(crate) fn new(ops: &[SearchOp]) -> Self {
        // (time, calls before returns at equal times, op): ties count as concurrent.
        let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(ops.len() * 2);
        for (i, o) in ops.iter().enumerate() {
            events.push((o.invoke, false, i));
            events.push((o.complete.unwrap_or(u64::MAX), true, i));
        }
        events.sort_unstable();
        let n = events.len() + 1;
        let mut list = EventList {
            next: (1..=n).map(|i| if i == n { NIL } else { i }).collect(),
            prev: (0..n).map(|i| if i == 0 { NIL } else { i - 1 }).collect(),
            op: vec![0; n],
            is_call: vec![false; n],
            ret: vec![NIL; n],
        };
        let mut call_node = vec![NIL; ops.len()];
        for (pos, &(_, is_return, op)) in events.iter().enumerate() {
            let node = pos + 1;
            list.op[node] = op;
            list.is_call[node] = !is_return;
            if is_return {
                list.ret[call_node[op]] = node;
            } else {
                call_node[op] = node;
            }
        }
        list
    }

    fn unlink(&mut self, n: usize) {
        let (p, x) = (self.prev[n], self.next[n]);
        self.next[p] = x;
        if x != NIL {
            self.prev[x] = p;
        }
    }

    fn relink(&mut self, n: usize) {
        let (p, x) = (self.prev[n], self.next[n]);
        self.next[p] = n;
        if x != NIL {
            self.prev[x] = n;
        }
    }

    /// Removes a call and its return (restored by `unlift`, in reverse order).
    pub(crate) fn lift(&mut self, call: usize) {
        self.unlink(call);
        self.unlink(self.ret[call]);
    }

    pub(crate) fn unlift(&mut self, call: usize) {
        self.relink(self.ret[call]);
        self.relink(call);
    }
}
