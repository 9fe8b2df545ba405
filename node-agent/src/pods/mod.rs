//! What a pod needs besides its containers, decided in pure code with thin IO shells beside it:
//! the ConfigMaps and Secrets it refers to (`cluster_api`, `pod_objects`, answered from memory
//! by `object_cache`), its environment (`env`), its volumes and mounts (`volume_plan` pure,
//! `atomic_writer` and `volume_manager` on disk), and its probes (`probe_state` pure,
//! `probe_action` and `probe_manager` running them).

pub mod atomic_writer;
pub mod cluster_api;
pub mod env;
pub mod object_cache;
pub mod pod_objects;
pub mod probe_action;
pub mod probe_manager;
pub mod probe_state;
pub mod volume_manager;
pub mod volume_plan;
