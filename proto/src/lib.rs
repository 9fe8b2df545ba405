//! Keel wire protocols.
