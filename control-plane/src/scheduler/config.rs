//! `SchedulerConfig`: the plugins to run and how many nodes to score.

use std::sync::Arc;

use super::registry::Plugins;

#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    pub plugins: Arc<Plugins>,
    /// kube's `percentageOfNodesToScore`; 0 = adaptive (see [`super::num_feasible_nodes_to_find`]).
    pub percentage_of_nodes_to_score: u32,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            plugins: Arc::new(Plugins::default_set()),
            percentage_of_nodes_to_score: 0,
        }
    }
}
