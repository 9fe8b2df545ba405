//! How many feasible nodes to find before scoring (kube's `numFeasibleNodesToFind`): every node
//! below 100 nodes; otherwise `percentageOfNodesToScore`, which when 0 is adaptive — 50% at 100
//! nodes falling by 1% per 125 nodes to 5% at 5,625 and beyond — never fewer than 100 nodes.

/// Below this many nodes, all are examined.
pub const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
/// The adaptive percentage never falls below this.
pub const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: usize = 5;

pub fn num_feasible_nodes_to_find(
    num_all_nodes: usize,
    percentage_of_nodes_to_score: u32,
) -> usize {
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND {
        return num_all_nodes;
    }
    let percentage = match percentage_of_nodes_to_score as usize {
        0 => 50usize
            .saturating_sub(num_all_nodes / 125)
            .max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND),
        p if p >= 100 => return num_all_nodes,
        p => p,
    };
    (num_all_nodes * percentage / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_clusters_examine_every_node() {
        assert_eq!(num_feasible_nodes_to_find(5, 0), 5);
        assert_eq!(num_feasible_nodes_to_find(99, 10), 99);
    }

    #[test]
    fn adaptive_percentage_shrinks_with_cluster_size() {
        assert_eq!(num_feasible_nodes_to_find(100, 0), 100); // 49% of 100 < 100 → 100
        assert_eq!(num_feasible_nodes_to_find(1000, 0), 420); // 50 - 8 = 42%
        assert_eq!(num_feasible_nodes_to_find(5000, 0), 500); // 50 - 40 = 10%
        assert_eq!(num_feasible_nodes_to_find(10_000, 0), 500); // floor of 5%
    }

    #[test]
    fn explicit_percentage_and_floor_of_100() {
        assert_eq!(num_feasible_nodes_to_find(5000, 1), 100);
        assert_eq!(num_feasible_nodes_to_find(5000, 30), 1500);
        assert_eq!(num_feasible_nodes_to_find(5000, 100), 5000);
        assert_eq!(num_feasible_nodes_to_find(5000, 250), 5000);
    }
}
