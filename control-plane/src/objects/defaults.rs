//! Defaulting as the Kubernetes API server does it (`SetDefaults_*`): fills the fields users
//! usually leave out, so stored objects are complete. ClusterIP / nodePort allocation needs
//! cluster state and lives in `ServiceAllocator`.

use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::typed_object::TypedObject;

fn set<T>(field: &mut Option<T>, value: T) {
    if field.is_none() {
        *field = Some(value);
    }
}

fn set_str(field: &mut Option<String>, value: &str) {
    if field.as_deref().unwrap_or("").is_empty() {
        *field = Some(value.to_string());
    }
}

/// Fills defaults in place for every kind that has any.
pub fn apply_defaults(obj: &mut TypedObject) {
    match obj {
        TypedObject::Pod(p) => {
            if let Some(spec) = p.spec.as_mut() {
                default_pod_spec(spec);
            }
        }
        TypedObject::Deployment(d) => {
            if let Some(spec) = d.spec.as_mut() {
                default_deployment(spec);
            }
        }
        TypedObject::ReplicaSet(r) => {
            if let Some(spec) = r.spec.as_mut() {
                set(&mut spec.replicas, 1);
                default_template(spec.template.as_mut());
            }
        }
        TypedObject::StatefulSet(s) => {
            if let Some(spec) = s.spec.as_mut() {
                default_statefulset(spec);
            }
        }
        TypedObject::DaemonSet(d) => {
            if let Some(spec) = d.spec.as_mut() {
                default_daemonset(spec);
            }
        }
        TypedObject::Job(j) => {
            if let Some(spec) = j.spec.as_mut() {
                default_job(spec);
            }
        }
        TypedObject::CronJob(c) => {
            if let Some(spec) = c.spec.as_mut() {
                set_str(&mut spec.concurrency_policy, "Allow");
                set(&mut spec.suspend, false);
                set(&mut spec.successful_jobs_history_limit, 3);
                set(&mut spec.failed_jobs_history_limit, 1);
                if let Some(job) = spec.job_template.spec.as_mut() {
                    default_job(job);
                }
            }
        }
        TypedObject::Service(s) => {
            if let Some(spec) = s.spec.as_mut() {
                default_service(spec);
            }
        }
        TypedObject::Secret(s) => set_str(&mut s.type_, "Opaque"),
        TypedObject::PersistentVolume(pv) => {
            if let Some(spec) = pv.spec.as_mut() {
                set_str(&mut spec.persistent_volume_reclaim_policy, "Retain");
                set_str(&mut spec.volume_mode, "Filesystem");
            }
        }
        TypedObject::PersistentVolumeClaim(pvc) => {
            if let Some(spec) = pvc.spec.as_mut() {
                set_str(&mut spec.volume_mode, "Filesystem");
            }
        }
        TypedObject::HorizontalPodAutoscaler(h) => {
            if let Some(spec) = h.spec.as_mut() {
                set(&mut spec.min_replicas, 1);
            }
        }
        _ => {}
    }
}

/// Pod defaults: restartPolicy Always, dnsPolicy ClusterFirst, terminationGracePeriodSeconds 30,
/// schedulerName default-scheduler, securityContext {}, and per-container defaults.
pub fn default_pod_spec(spec: &mut core::PodSpec) {
    set_str(&mut spec.restart_policy, "Always");
    set_str(&mut spec.dns_policy, "ClusterFirst");
    set(&mut spec.termination_grace_period_seconds, 30);
    set_str(&mut spec.scheduler_name, "default-scheduler");
    set(
        &mut spec.security_context,
        core::PodSecurityContext::default(),
    );
    for c in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
    {
        default_container(c);
    }
}

fn default_container(c: &mut core::Container) {
    let policy = image_pull_policy(c.image.as_deref().unwrap_or(""));
    set_str(&mut c.image_pull_policy, policy);
    set_str(&mut c.termination_message_path, "/dev/termination-log");
    set_str(&mut c.termination_message_policy, "File");
    for port in c.ports.iter_mut().flatten() {
        set_str(&mut port.protocol, "TCP");
    }
}

/// `Always` for `:latest` or an untagged image, else `IfNotPresent` (a digest counts as pinned).
pub fn image_pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

fn default_template(template: Option<&mut core::PodTemplateSpec>) {
    if let Some(spec) = template.and_then(|t| t.spec.as_mut()) {
        default_pod_spec(spec);
    }
}

fn percent(p: &str) -> IntOrString {
    IntOrString::String(p.to_string())
}

fn default_deployment(spec: &mut apps::DeploymentSpec) {
    set(&mut spec.replicas, 1);
    let strategy = spec.strategy.get_or_insert_with(Default::default);
    set_str(&mut strategy.type_, "RollingUpdate");
    if strategy.type_.as_deref() == Some("RollingUpdate") {
        let ru = strategy.rolling_update.get_or_insert_with(Default::default);
        set(&mut ru.max_unavailable, percent("25%"));
        set(&mut ru.max_surge, percent("25%"));
    }
    set(&mut spec.revision_history_limit, 10);
    set(&mut spec.progress_deadline_seconds, 600);
    default_template(Some(&mut spec.template));
}

fn default_statefulset(spec: &mut apps::StatefulSetSpec) {
    set(&mut spec.replicas, 1);
    set_str(&mut spec.pod_management_policy, "OrderedReady");
    let strategy = spec.update_strategy.get_or_insert_with(Default::default);
    set_str(&mut strategy.type_, "RollingUpdate");
    if strategy.type_.as_deref() == Some("RollingUpdate") {
        let ru = strategy.rolling_update.get_or_insert_with(Default::default);
        set(&mut ru.partition, 0);
    }
    set(&mut spec.revision_history_limit, 10);
    default_template(Some(&mut spec.template));
}

fn default_daemonset(spec: &mut apps::DaemonSetSpec) {
    let strategy = spec.update_strategy.get_or_insert_with(Default::default);
    set_str(&mut strategy.type_, "RollingUpdate");
    if strategy.type_.as_deref() == Some("RollingUpdate") {
        let ru = strategy.rolling_update.get_or_insert_with(Default::default);
        set(&mut ru.max_unavailable, IntOrString::Int(1));
        set(&mut ru.max_surge, IntOrString::Int(0));
    }
    set(&mut spec.revision_history_limit, 10);
    default_template(Some(&mut spec.template));
}

fn default_job(spec: &mut batch::JobSpec) {
    if spec.completions.is_none() && spec.parallelism.is_none() {
        spec.completions = Some(1);
    }
    set(&mut spec.parallelism, 1);
    set(&mut spec.backoff_limit, 6);
    set_str(&mut spec.completion_mode, "NonIndexed");
    set(&mut spec.suspend, false);
    set(&mut spec.manual_selector, false);
    default_template(Some(&mut spec.template));
}

/// Service defaults: type ClusterIP, sessionAffinity None, internalTrafficPolicy Cluster,
/// externalTrafficPolicy Cluster for node ports, port protocol TCP, targetPort = port.
pub fn default_service(spec: &mut core::ServiceSpec) {
    set_str(&mut spec.type_, "ClusterIP");
    set_str(&mut spec.session_affinity, "None");
    let ty = spec.type_.as_deref().unwrap_or("");
    if ty != "ExternalName" {
        set_str(&mut spec.internal_traffic_policy, "Cluster");
    }
    if ty == "NodePort" || ty == "LoadBalancer" {
        set_str(&mut spec.external_traffic_policy, "Cluster");
    }
    for port in spec.ports.iter_mut().flatten() {
        set_str(&mut port.protocol, "TCP");
        if port.target_port.is_none() {
            port.target_port = Some(IntOrString::Int(port.port));
        }
    }
}

#[cfg(test)]
#[path = "defaults_tests.rs"]
mod tests;
