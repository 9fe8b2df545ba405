//! Free TCP ports on 127.0.0.1, picked by binding port 0 and released for a child to bind.

use std::{
    collections::HashSet,
    net::TcpListener,
    sync::{Mutex, OnceLock},
};

use anyhow::Context;

/// Ports this process has already handed out: never hand one out twice, so two children started
/// close together cannot be given the same port.
fn handed_out() -> &'static Mutex<HashSet<u16>> {
    static SET: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    SET.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Most binds tried for one call before giving up.
const MAX_ATTEMPTS_PER_PORT: usize = 64;

/// `n` distinct free ports on 127.0.0.1. All are held bound until every one is picked, then
/// released; a port is never returned twice by this process.
pub fn free_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    let mut held = Vec::with_capacity(n);
    let mut ports = Vec::with_capacity(n);
    let mut attempts = 0;
    while ports.len() < n {
        attempts += 1;
        anyhow::ensure!(
            attempts <= MAX_ATTEMPTS_PER_PORT * n.max(1),
            "could not find {n} free ports on 127.0.0.1 in {attempts} binds"
        );
        let listener =
            TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0 to pick a free port")?;
        let port = listener.local_addr()?.port();
        let fresh = handed_out()
            .lock()
            .map_err(|_| anyhow::anyhow!("port registry poisoned"))?
            .insert(port);
        if fresh {
            ports.push(port);
        }
        held.push(listener);
    }
    drop(held);
    Ok(ports)
}

/// One free port on 127.0.0.1 (see [`free_ports`]).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(free_ports(1)?[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_and_bindable() {
        let ports = free_ports(8).unwrap();
        let unique: HashSet<_> = ports.iter().collect();
        assert_eq!(unique.len(), 8);
        for &p in &ports {
            TcpListener::bind(("127.0.0.1", p)).unwrap();
        }
        let again = free_ports(8).unwrap();
        assert!(again.iter().all(|p| !unique.contains(p)));
    }
}
