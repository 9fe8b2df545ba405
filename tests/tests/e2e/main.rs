//! End-to-end tests against real `keel-server` processes with real RocksDB data dirs, on
//! 127.0.0.1. One test binary (cheap to link); each file is one area.

mod support;

mod bad_input;
mod cell;
mod failover;
mod keelctl;
mod membership;
mod snapshots;
mod watch;
