//! The probe rules of Kubernetes, decided without IO: each probe's spec with the API's defaults
//! (period 10 s, timeout 1 s, success 1, failure 3, no initial delay), when it is due (first at
//! initialDelaySeconds after the container started, then every periodSeconds), and what its
//! results mean — a probe's result flips only after successThreshold consecutive successes or
//! failureThreshold consecutive failures; readiness starts failed, liveness succeeded, startup
//! not yet; while a startup probe has not succeeded the others do not run and the container is
//! neither started nor ready; a liveness or startup probe that fails for good kills the
//! container. Times are durations since the container started.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProbeKind {
    Startup,
    Liveness,
    Readiness,
}

impl ProbeKind {
    /// As the kubelet names it in events ("Liveness").
    pub fn name(self) -> &'static str {
        match self {
            ProbeKind::Startup => "Startup",
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
        }
    }
}

/// What a probe does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeAction {
    /// Run a command in the container (CRI ExecSync); exit code 0 is success.
    Exec(Vec<String>),
    /// GET `path` on `host` (default: the pod IP) and `port`; 200–399 is success.
    HttpGet {
        host: Option<String>,
        port: u16,
        path: String,
        headers: Vec<(String, String)>,
    },
    /// Open a TCP connection to `host` (default: the pod IP) and `port`.
    TcpSocket { host: Option<String>, port: u16 },
    /// A probe the agent cannot run; it always fails with this message.
    Invalid(String),
}

/// One probe with the API's defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSpec {
    pub kind: ProbeKind,
    pub action: ProbeAction,
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

fn secs(v: Option<i32>, default: u64, min: u64) -> Duration {
    Duration::from_secs(
        v.and_then(|s| u64::try_from(s).ok())
            .unwrap_or(default)
            .max(min),
    )
}

fn count(v: Option<i32>, default: u32) -> u32 {
    v.and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

impl ProbeSpec {
    /// The spec of probe `p` of container `c`.
    pub fn new(kind: ProbeKind, p: &Probe, c: &Container) -> ProbeSpec {
        let action = action(p, c);
        ProbeSpec {
            kind,
            action,
            initial_delay: secs(p.initial_delay_seconds, 0, 0),
            period: secs(p.period_seconds, 10, 1),
            timeout: secs(p.timeout_seconds, 1, 1),
            // Liveness and startup probes must have successThreshold 1.
            success_threshold: if kind == ProbeKind::Readiness {
                count(p.success_threshold, 1)
            } else {
                1
            },
            failure_threshold: count(p.failure_threshold, 3),
        }
    }
}

fn action(p: &Probe, c: &Container) -> ProbeAction {
    if let Some(e) = &p.exec {
        let cmd = e.command.clone().unwrap_or_default();
        if cmd.is_empty() {
            return ProbeAction::Invalid("exec probe without a command".into());
        }
        return ProbeAction::Exec(cmd);
    }
    if let Some(h) = &p.http_get {
        if h.scheme
            .as_deref()
            .is_some_and(|s| !s.eq_ignore_ascii_case("HTTP"))
        {
            return ProbeAction::Invalid(format!(
                "httpGet scheme {} is not supported (HTTP only)",
                h.scheme.as_deref().unwrap_or_default()
            ));
        }
        return match port(&h.port, c) {
            Ok(port) => ProbeAction::HttpGet {
                host: h.host.clone().filter(|h| !h.is_empty()),
                port,
                path: h
                    .path
                    .clone()
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| "/".into()),
                headers: h
                    .http_headers
                    .iter()
                    .flatten()
                    .map(|h| (h.name.clone(), h.value.clone()))
                    .collect(),
            },
            Err(e) => ProbeAction::Invalid(e),
        };
    }
    if let Some(t) = &p.tcp_socket {
        return match port(&t.port, c) {
            Ok(port) => ProbeAction::TcpSocket {
                host: t.host.clone().filter(|h| !h.is_empty()),
                port,
            },
            Err(e) => ProbeAction::Invalid(e),
        };
    }
    if p.grpc.is_some() {
        return ProbeAction::Invalid("grpc probes are not supported".into());
    }
    ProbeAction::Invalid("the probe has no handler".into())
}

/// A port number, or the number of the container's port with that name.
fn port(p: &IntOrString, c: &Container) -> Result<u16, String> {
    let n = match p {
        IntOrString::Int(n) => *n,
        IntOrString::String(s) => match s.parse::<i32>() {
            Ok(n) => n,
            Err(_) => c
                .ports
                .iter()
                .flatten()
                .find(|cp| cp.name.as_deref() == Some(s.as_str()))
                .map(|cp| cp.container_port)
                .ok_or_else(|| format!("port {s:?} is not a named port of container {}", c.name))?,
        },
    };
    u16::try_from(n)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("invalid port {n}"))
}

/// One probe's running state.
#[derive(Debug, Clone)]
pub struct Tracker {
    pub spec: ProbeSpec,
    successes: u32,
    failures: u32,
    ok: bool,
    next_at: Duration,
}

impl Tracker {
    pub fn new(spec: ProbeSpec) -> Tracker {
        Tracker {
            ok: spec.kind == ProbeKind::Liveness,
            next_at: spec.initial_delay,
            successes: 0,
            failures: 0,
            spec,
        }
    }

    fn due(&self, at: Duration) -> bool {
        at >= self.next_at
    }

    /// Records one result observed at `at`; whether the probe has now failed for good.
    fn record(&mut self, success: bool, at: Duration) -> bool {
        self.next_at = at + self.spec.period;
        if success {
            self.failures = 0;
            self.successes += 1;
            if self.successes >= self.spec.success_threshold {
                self.ok = true;
            }
        } else {
            self.successes = 0;
            self.failures += 1;
            if self.failures >= self.spec.failure_threshold {
                self.ok = false;
            }
        }
        !self.ok && self.failures >= self.spec.failure_threshold
    }
}

/// What a probe result means for the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Continue,
    /// The liveness or startup probe failed for good: kill the container (restartPolicy then
    /// decides whether it comes back).
    Kill(ProbeKind),
}

/// The probes of one container instance.
#[derive(Debug, Clone)]
pub struct ContainerProbes {
    startup: Option<Tracker>,
    liveness: Option<Tracker>,
    readiness: Option<Tracker>,
}

impl ContainerProbes {
    pub fn new(c: &Container) -> ContainerProbes {
        let make =
            |kind, p: &Option<Probe>| p.as_ref().map(|p| Tracker::new(ProbeSpec::new(kind, p, c)));
        ContainerProbes {
            startup: make(ProbeKind::Startup, &c.startup_probe),
            liveness: make(ProbeKind::Liveness, &c.liveness_probe),
            readiness: make(ProbeKind::Readiness, &c.readiness_probe),
        }
    }

    /// Whether the container has any probe.
    pub fn any(&self) -> bool {
        self.startup.is_some() || self.liveness.is_some() || self.readiness.is_some()
    }

    /// `started`: no startup probe, or it succeeded.
    pub fn started(&self) -> bool {
        self.startup.as_ref().is_none_or(|t| t.ok)
    }

    /// `ready`: started, and no readiness probe or it succeeds.
    pub fn ready(&self) -> bool {
        self.started() && self.readiness.as_ref().is_none_or(|t| t.ok)
    }

    fn active(&self) -> Vec<&Tracker> {
        if self.started() {
            self.liveness.iter().chain(self.readiness.iter()).collect()
        } else {
            self.startup.iter().collect()
        }
    }

    /// The probes to run at `at`.
    pub fn due(&self, at: Duration) -> Vec<ProbeSpec> {
        self.active()
            .into_iter()
            .filter(|t| t.due(at))
            .map(|t| t.spec.clone())
            .collect()
    }

    /// When the next probe is due (None: no probe left to run).
    pub fn next_due(&self) -> Option<Duration> {
        self.active().iter().map(|t| t.next_at).min()
    }

    /// Records the result of the `kind` probe run at `at`.
    pub fn record(&mut self, kind: ProbeKind, success: bool, at: Duration) -> Verdict {
        let t = match kind {
            ProbeKind::Startup => self.startup.as_mut(),
            ProbeKind::Liveness => self.liveness.as_mut(),
            ProbeKind::Readiness => self.readiness.as_mut(),
        };
        let Some(t) = t else {
            return Verdict::Continue;
        };
        let failed = t.record(success, at);
        match kind {
            ProbeKind::Startup | ProbeKind::Liveness if failed => Verdict::Kill(kind),
            _ => Verdict::Continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn container(v: serde_json::Value) -> Container {
        serde_json::from_value(v).unwrap()
    }

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn defaults_and_handlers_follow_the_api() {
        let c = container(
            json!({"name": "c", "ports": [{"name": "http", "containerPort": 8080}],
            "readinessProbe": {"httpGet": {"port": "http"}},
            "livenessProbe": {"tcpSocket": {"port": 81}, "periodSeconds": 2, "successThreshold": 5},
            "startupProbe": {"exec": {"command": ["true"]}, "failureThreshold": 30}}),
        );
        let r = ProbeSpec::new(
            ProbeKind::Readiness,
            c.readiness_probe.as_ref().unwrap(),
            &c,
        );
        assert_eq!(
            r,
            ProbeSpec {
                kind: ProbeKind::Readiness,
                action: ProbeAction::HttpGet {
                    host: None,
                    port: 8080,
                    path: "/".into(),
                    headers: vec![]
                },
                initial_delay: s(0),
                period: s(10),
                timeout: s(1),
                success_threshold: 1,
                failure_threshold: 3,
            }
        );
        let l = ProbeSpec::new(ProbeKind::Liveness, c.liveness_probe.as_ref().unwrap(), &c);
        assert_eq!(
            l.action,
            ProbeAction::TcpSocket {
                host: None,
                port: 81
            }
        );
        assert_eq!(
            (l.period, l.success_threshold),
            (s(2), 1),
            "liveness successThreshold is 1"
        );
        let st = ProbeSpec::new(ProbeKind::Startup, c.startup_probe.as_ref().unwrap(), &c);
        assert_eq!(
            (st.action.clone(), st.failure_threshold),
            (ProbeAction::Exec(vec!["true".into()]), 30)
        );
        let bad = container(json!({"name": "c", "livenessProbe": {"httpGet": {"port": "nope"}}}));
        let b = ProbeSpec::new(
            ProbeKind::Liveness,
            bad.liveness_probe.as_ref().unwrap(),
            &bad,
        );
        assert!(matches!(b.action, ProbeAction::Invalid(m) if m.contains("named port")));
    }

    #[test]
    fn readiness_starts_false_and_follows_thresholds() {
        let c = container(
            json!({"name": "c", "readinessProbe": {"exec": {"command": ["x"]},
            "initialDelaySeconds": 5, "periodSeconds": 2, "successThreshold": 2, "failureThreshold": 2}}),
        );
        let mut p = ContainerProbes::new(&c);
        assert!(p.started() && !p.ready());
        assert!(p.due(s(4)).is_empty(), "not before the initial delay");
        assert_eq!(p.due(s(5)).len(), 1);
        assert_eq!(
            p.record(ProbeKind::Readiness, true, s(5)),
            Verdict::Continue
        );
        assert!(!p.ready(), "one success of two");
        assert!(p.due(s(6)).is_empty());
        assert_eq!(p.next_due(), Some(s(7)));
        p.record(ProbeKind::Readiness, true, s(7));
        assert!(p.ready());
        p.record(ProbeKind::Readiness, false, s(9));
        assert!(p.ready(), "one failure of two");
        p.record(ProbeKind::Readiness, true, s(11));
        p.record(ProbeKind::Readiness, false, s(13));
        assert!(p.ready(), "failures must be consecutive");
        assert_eq!(
            p.record(ProbeKind::Readiness, false, s(15)),
            Verdict::Continue,
            "readiness never kills"
        );
        assert!(!p.ready());
    }

    #[test]
    fn liveness_kills_after_failure_threshold_consecutive_failures() {
        let c = container(
            json!({"name": "c", "livenessProbe": {"exec": {"command": ["x"]}, "periodSeconds": 1}}),
        );
        let mut p = ContainerProbes::new(&c);
        assert!(p.ready(), "no readiness probe: ready once started");
        assert_eq!(
            p.record(ProbeKind::Liveness, false, s(0)),
            Verdict::Continue
        );
        assert_eq!(
            p.record(ProbeKind::Liveness, false, s(1)),
            Verdict::Continue
        );
        assert_eq!(p.record(ProbeKind::Liveness, true, s(2)), Verdict::Continue);
        assert_eq!(
            p.record(ProbeKind::Liveness, false, s(3)),
            Verdict::Continue
        );
        assert_eq!(
            p.record(ProbeKind::Liveness, false, s(4)),
            Verdict::Continue
        );
        assert_eq!(
            p.record(ProbeKind::Liveness, false, s(5)),
            Verdict::Kill(ProbeKind::Liveness)
        );
    }

    #[test]
    fn startup_gates_the_other_probes() {
        let c = container(json!({"name": "c",
            "startupProbe": {"exec": {"command": ["x"]}, "periodSeconds": 1, "failureThreshold": 2},
            "livenessProbe": {"exec": {"command": ["y"]}},
            "readinessProbe": {"exec": {"command": ["z"]}}}));
        let mut p = ContainerProbes::new(&c);
        assert!(!p.started() && !p.ready());
        let due: Vec<ProbeKind> = p.due(s(0)).iter().map(|d| d.kind).collect();
        assert_eq!(due, [ProbeKind::Startup]);
        p.record(ProbeKind::Startup, true, s(0));
        assert!(p.started() && !p.ready(), "readiness has not succeeded yet");
        let due: Vec<ProbeKind> = p.due(s(1)).iter().map(|d| d.kind).collect();
        assert_eq!(due, [ProbeKind::Liveness, ProbeKind::Readiness]);
        p.record(ProbeKind::Readiness, true, s(1));
        assert!(p.ready());

        let mut q = ContainerProbes::new(&c);
        assert_eq!(q.record(ProbeKind::Startup, false, s(0)), Verdict::Continue);
        assert_eq!(
            q.record(ProbeKind::Startup, false, s(1)),
            Verdict::Kill(ProbeKind::Startup)
        );
    }
}
