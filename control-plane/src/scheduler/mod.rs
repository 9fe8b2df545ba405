//! The scheduler's pure core: `schedule(view, pod) -> Decision` over an immutable
//! [`ClusterView`], with filter plugins (`filters/`) and score plugins (`scores/`) registered in
//! [`Plugins`], and Borg's speed tricks — equivalence classes ([`EquivalenceCache`]), scoring a
//! sample of feasible nodes on big clusters ([`num_feasible_nodes_to_find`]), and batched
//! bindings whose application re-checks fit ([`BindingBatch`]). No IO: the leader's scheduling
//! loop feeds it views and pods and commits what it returns.
//!
//! Flow: [`ClusterView::build`] from the Nodes and Pods → [`PodInfo::from_pod`] for each
//! pending pod → [`Scheduler::plan`] (each decision assumed on the working view) → commit the
//! [`BindingBatch`]; apply it with [`BindingBatch::apply`] on the committed view (rejections are
//! retried) → for [`Decision::Unschedulable`], [`mark_unschedulable`] on the pod's status and
//! [`SchedulingQueue::mark_unschedulable`] until [`SchedulingQueue::cluster_changed`].
//!
//! Not enforced yet: pod affinity, anti-affinity on topology keys other than the hostname,
//! preferred anti-affinity, topology spread constraints, PreferNoSchedule taints in scoring,
//! extended resources and ephemeral storage, priorities and preemption.

mod anti_affinity;
mod binding_batch;
mod cluster_view;
mod condition;
mod config;
mod decision;
mod equivalence;
pub mod filters;
mod host_port;
mod node_info;
mod node_selector_match;
mod plugin;
mod pod_info;
mod queue;
mod registry;
mod resources;
mod sampling;
mod schedule;
#[allow(clippy::module_inception)]
mod scheduler;
pub mod scores;
mod toleration;

#[cfg(test)]
mod binding_batch_tests;
#[cfg(test)]
mod schedule_tests;
#[cfg(test)]
mod test_support;

pub use anti_affinity::{AntiAffinityTerm, NamespaceScope, HOSTNAME_TOPOLOGY_KEY};
pub use binding_batch::{BatchOutcome, Binding, BindingBatch, Rejection};
pub use cluster_view::{AssumeError, ClusterView};
pub use condition::{
    mark_unschedulable, unschedulable_condition, POD_SCHEDULED, REASON_UNSCHEDULABLE,
};
pub use config::SchedulerConfig;
pub use decision::{fit_error_message, Decision, NO_NODES_AVAILABLE};
pub use equivalence::{ClassKey, EquivalenceCache};
pub use host_port::HostPort;
pub use node_info::{NodeInfo, Readiness};
pub use node_selector_match::{selector_matches, term_matches};
pub use plugin::{
    default_normalize, FilterPlugin, FilterResult, ScorePlugin, Unfit, MAX_NODE_SCORE,
};
pub use pod_info::{owner_id, PodInfo, PodKey};
pub use queue::SchedulingQueue;
pub use registry::{Plugins, WeightedScore};
pub use resources::{
    PodRequests, Resources, DEFAULT_CPU_REQUEST_MILLIS, DEFAULT_MEMORY_REQUEST_BYTES,
};
pub use sampling::{
    num_feasible_nodes_to_find, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND, MIN_FEASIBLE_NODES_TO_FIND,
};
pub use schedule::{schedule, schedule_pod};
pub use scheduler::{Plan, Scheduler};
pub use toleration::{
    tolerated, toleration_matches, EFFECT_NO_EXECUTE, EFFECT_NO_SCHEDULE, EFFECT_PREFER_NO_SCHEDULE,
};
