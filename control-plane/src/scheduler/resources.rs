//! `Resources`: the scheduler's resource vector (CPU millicores, memory bytes, pod slots), read
//! from a node's allocatable list or summed from a pod's containers the way kube-scheduler does.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;

use crate::objects::{parse_bytes, parse_cpu_millis};

/// CPU a container without a CPU request counts as when scoring (kube-scheduler's non-zero
/// default): 100m.
pub const DEFAULT_CPU_REQUEST_MILLIS: i64 = 100;
/// Memory a container without a memory request counts as when scoring: 200 MiB.
pub const DEFAULT_MEMORY_REQUEST_BYTES: i64 = 200 * 1024 * 1024;

/// CPU, memory and pod slots. Arithmetic saturates: quantities are bounded by validation, and a
/// saturated sum can only make a node look fuller, never emptier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Resources {
    pub cpu_millis: i64,
    pub memory_bytes: i64,
    pub pods: i64,
}

impl Resources {
    pub fn new(cpu_millis: i64, memory_bytes: i64, pods: i64) -> Resources {
        Resources {
            cpu_millis,
            memory_bytes,
            pods,
        }
    }

    pub fn add(&self, other: &Resources) -> Resources {
        Resources {
            cpu_millis: self.cpu_millis.saturating_add(other.cpu_millis),
            memory_bytes: self.memory_bytes.saturating_add(other.memory_bytes),
            pods: self.pods.saturating_add(other.pods),
        }
    }

    pub fn sub(&self, other: &Resources) -> Resources {
        Resources {
            cpu_millis: self.cpu_millis.saturating_sub(other.cpu_millis),
            memory_bytes: self.memory_bytes.saturating_sub(other.memory_bytes),
            pods: self.pods.saturating_sub(other.pods),
        }
    }

    /// Component-wise maximum.
    pub fn component_max(&self, other: &Resources) -> Resources {
        Resources {
            cpu_millis: self.cpu_millis.max(other.cpu_millis),
            memory_bytes: self.memory_bytes.max(other.memory_bytes),
            pods: self.pods.max(other.pods),
        }
    }

    /// Whether every component of `self` is at most the matching one of `limit`.
    pub fn fits_within(&self, limit: &Resources) -> bool {
        self.cpu_millis <= limit.cpu_millis
            && self.memory_bytes <= limit.memory_bytes
            && self.pods <= limit.pods
    }

    /// A node's `allocatable` (falling back to `capacity`, as the kubelet reports both). A
    /// missing or unparseable entry counts as zero: such a node fits nothing that asks for it.
    pub fn from_resource_list(list: Option<&BTreeMap<String, K8sQuantity>>) -> Resources {
        let get = |name: &str| list.and_then(|l| l.get(name)).map(|q| q.0.as_str());
        Resources {
            cpu_millis: get("cpu")
                .and_then(|q| parse_cpu_millis(q).ok())
                .unwrap_or(0),
            memory_bytes: get("memory").and_then(|q| parse_bytes(q).ok()).unwrap_or(0),
            pods: get("pods").and_then(|q| parse_bytes(q).ok()).unwrap_or(0),
        }
    }
}

/// What a pod asks of a node: `requested` is checked against allocatable by the fit filter
/// (`pods` = 1); `non_zero` is what the scores count, with kube-scheduler's defaults for
/// containers that request no CPU or memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PodRequests {
    pub requested: Resources,
    pub non_zero: Resources,
}

impl PodRequests {
    /// kube-scheduler's effective requests: the larger of the app containers (plus restartable
    /// init containers, i.e. sidecars) and the largest init container (plus the sidecars started
    /// before it), plus the pod overhead. A container's request falls back to its limit, as API
    /// defaulting does.
    pub fn of(spec: &PodSpec) -> PodRequests {
        let mut sum = Requests::default();
        for c in &spec.containers {
            sum = sum.add(&Requests::of(c));
        }
        let mut sidecars = Requests::default();
        let mut init_peak = Requests::default();
        for c in spec.init_containers.iter().flatten() {
            let r = Requests::of(c);
            let during = if c.restart_policy.as_deref() == Some("Always") {
                sum = sum.add(&r);
                sidecars = sidecars.add(&r);
                sidecars
            } else {
                r.add(&sidecars)
            };
            init_peak = init_peak.max(&during);
        }
        let overhead = Resources::from_resource_list(spec.overhead.as_ref());
        let overhead = Requests {
            exact: overhead,
            non_zero: overhead,
        };
        let total = sum.max(&init_peak).add(&overhead);
        PodRequests {
            requested: Resources {
                pods: 1,
                ..total.exact
            },
            non_zero: Resources {
                pods: 1,
                ..total.non_zero
            },
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Requests {
    exact: Resources,
    non_zero: Resources,
}

impl Requests {
    fn of(c: &Container) -> Requests {
        let res = c.resources.as_ref();
        let get = |name: &str| {
            res.and_then(|r| r.requests.as_ref().and_then(|m| m.get(name)))
                .or_else(|| res.and_then(|r| r.limits.as_ref().and_then(|m| m.get(name))))
                .map(|q| q.0.as_str())
        };
        let cpu = get("cpu").map(|q| parse_cpu_millis(q).unwrap_or(0));
        let memory = get("memory").map(|q| parse_bytes(q).unwrap_or(0));
        Requests {
            exact: Resources::new(cpu.unwrap_or(0), memory.unwrap_or(0), 0),
            non_zero: Resources::new(
                cpu.unwrap_or(DEFAULT_CPU_REQUEST_MILLIS),
                memory.unwrap_or(DEFAULT_MEMORY_REQUEST_BYTES),
                0,
            ),
        }
    }

    fn add(&self, other: &Requests) -> Requests {
        Requests {
            exact: self.exact.add(&other.exact),
            non_zero: self.non_zero.add(&other.non_zero),
        }
    }

    fn max(&self, other: &Requests) -> Requests {
        Requests {
            exact: self.exact.component_max(&other.exact),
            non_zero: self.non_zero.component_max(&other.non_zero),
        }
    }
}
