//! Keel control plane.
