//! The host's sysctls the service proxy depends on, checked and set when the proxy starts, each
//! with a log line saying what it changed and why:
//! - `net.ipv4.ip_forward = 1`: a pod's connection to a Service, and to a pod on another
//!   agent's bridge, is routed through the host;
//! - `net.ipv4.conf.all.route_localnet = 1`: a connection to a nodePort on 127.0.0.1 is DNATed
//!   to a pod; without it the kernel drops a packet with a 127.0.0.0/8 source that leaves
//!   through a bridge (masquerade then gives it the bridge's address);
//! - `net.bridge.bridge-nf-call-iptables = 1` (module `br_netfilter`): a reply from a pod to a
//!   client on the same bridge is bridged, not routed, and must still pass conntrack to be
//!   un-DNATed.
//!
//! These are host-wide: several agents on one host set the same values.

use std::path::Path;

/// One sysctl, as a path under /proc/sys.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub path: &'static str,
    pub want: &'static str,
    pub why: &'static str,
}

pub const SETTINGS: [Setting; 3] = [
    Setting {
        path: "net/ipv4/ip_forward",
        want: "1",
        why: "pods reach Services and pods on other bridges through the host",
    },
    Setting {
        path: "net/ipv4/conf/all/route_localnet",
        want: "1",
        why: "nodePorts answer on 127.0.0.1",
    },
    Setting {
        path: "net/bridge/bridge-nf-call-iptables",
        want: "1",
        why: "replies between pods on one bridge are un-DNATed",
    },
];

/// What happened to one setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    AlreadySet,
    Changed { was: String },
    Failed(String),
}

/// Makes every [`SETTINGS`] entry hold its value under `proc_sys` (normally `/proc/sys`),
/// loading `br_netfilter` first when the bridge settings are missing; logs each change and
/// failure.
pub fn ensure(proc_sys: &Path) -> Vec<(Setting, Outcome)> {
    if !proc_sys.join("net/bridge").exists() && proc_sys == Path::new("/proc/sys") {
        let loaded = std::process::Command::new("modprobe")
            .arg("br_netfilter")
            .status();
        tracing::info!(
            ?loaded,
            "modprobe br_netfilter (net.bridge sysctls missing)"
        );
    }
    SETTINGS
        .iter()
        .map(|s| {
            let outcome = ensure_one(proc_sys, s);
            let name = s.path.replace('/', ".");
            match &outcome {
                Outcome::AlreadySet => {
                    tracing::debug!(sysctl = %name, value = s.want, "already set")
                }
                Outcome::Changed { was } => {
                    tracing::info!("set {name} = {} (was {was}): {}", s.want, s.why)
                }
                Outcome::Failed(e) => tracing::warn!(
                    "cannot set {name} = {}: {e}; without it not all {}",
                    s.want,
                    s.why
                ),
            }
            (*s, outcome)
        })
        .collect()
}

fn ensure_one(proc_sys: &Path, s: &Setting) -> Outcome {
    let path = proc_sys.join(s.path);
    let was = match std::fs::read_to_string(&path) {
        Ok(v) => v.trim().to_string(),
        Err(e) => return Outcome::Failed(format!("reading {}: {e}", path.display())),
    };
    if was == s.want {
        return Outcome::AlreadySet;
    }
    match std::fs::write(&path, s.want) {
        Ok(()) => Outcome::Changed { was },
        Err(e) => Outcome::Failed(format!("writing {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_set_once_and_missing_ones_reported() {
        let dir = std::env::temp_dir().join(format!("keel-sysctl-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("net/ipv4/conf/all")).unwrap();
        std::fs::write(dir.join("net/ipv4/ip_forward"), "0\n").unwrap();
        std::fs::write(dir.join("net/ipv4/conf/all/route_localnet"), "1\n").unwrap();
        let first = ensure(&dir);
        assert_eq!(first[0].1, Outcome::Changed { was: "0".into() });
        assert_eq!(first[1].1, Outcome::AlreadySet);
        assert!(matches!(first[2].1, Outcome::Failed(_)), "{:?}", first[2]);
        assert_eq!(
            std::fs::read_to_string(dir.join("net/ipv4/ip_forward")).unwrap(),
            "1"
        );
        assert_eq!(ensure(&dir)[0].1, Outcome::AlreadySet);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
