//! The leader's controllers: an informer-and-work-queue runtime ([`Informer`], [`WorkQueue`],
//! [`run_reconciler`]) and one reconciler per file. Every controller reads this replica's own
//! local state through informers (no network between the brain and the store), decides in pure
//! code, and writes back through the registry fenced by the Raft term it runs in.

pub mod context;
pub mod cron_schedule;
pub mod cronjob;
pub mod cronjob_plan;
pub mod daemonset;
mod daemonset_plan;
pub mod deployment;
pub mod endpoints;
pub mod events;
pub mod garbage_collector;
pub mod hpa_plan;
mod informer;
pub mod job;
mod job_plan;
pub mod node_lifecycle;
mod reconciler;
pub mod replicaset;
pub mod scheduling_loop;
pub mod statefulset;
pub mod statefulset_plan;
mod work_queue;

pub use context::{ControllerContext, Informers, Write};
pub use informer::{Informer, InformerEvent, ObjectRef};
pub use reconciler::{run_reconciler, Action, ReconcileError, Reconciler};
pub use work_queue::WorkQueue;

pub mod controller_ref;
#[cfg(test)]
mod plan_test_support;
pub mod pod_readiness;
pub mod pod_template_hash;
pub mod replicaset_plan;

pub use replicaset_plan::{plan_replicaset, ReplicaSetPlan};

pub mod deployment_annotations;
mod deployment_history;
pub mod deployment_plan;
mod deployment_rollout;
pub mod deployment_status;
pub mod rollout_limits;
#[cfg(test)]
pub(crate) mod rollout_sim_tests;

pub use deployment_plan::{plan_deployment, DeploymentPlan};
