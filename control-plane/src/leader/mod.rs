//! Leader-only work. The [`supervisor`] notices when this replica becomes leader of a term,
//! waits for a read barrier (everything committed before the term is applied locally), then
//! starts the [`brain`] — scheduler and controllers — with a cancellation token it cancels the
//! moment leadership is lost or the term changes. Every write the brain makes is fenced by its
//! term, so a deposed leader's late writes are rejected by the state machine.

pub mod brain;
pub mod controller_set;
pub mod partitioner;
pub mod supervisor;

pub use brain::BrainConfig;
pub use controller_set::ControllerSet;
pub use supervisor::run_supervisor;
