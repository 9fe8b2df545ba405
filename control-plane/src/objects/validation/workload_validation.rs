//! Validation of the workload kinds: Deployment, ReplicaSet, StatefulSet, DaemonSet, Job,
//! CronJob — replicas, selectors that match their template's labels, strategies, templates.

use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as K8sSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::controllers::cron_schedule::{time_zone, CronSchedule, SCHEDULE_FIELD};

use super::field_error::{join, ErrorList, Shown};
use super::meta_validation::{validate_label_selector, validate_labels};
use super::pod_validation::validate_pod_spec;
use crate::objects::selectors::LabelSelector;

fn non_negative(errs: &mut ErrorList, path: &str, v: Option<i32>) {
    if let Some(v) = v.filter(|v| *v < 0) {
        errs.invalid(path, v, "must be greater than or equal to 0");
    }
}

/// Selector present, non-empty, valid, and matching the template's labels; template valid with
/// a restart policy from `restart_policies`.
fn validate_selector_and_template(
    selector: Option<&K8sSelector>,
    template: Option<&core::PodTemplateSpec>,
    restart_policies: &[&str],
    errs: &mut ErrorList,
) {
    let labels = template
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.as_ref());
    match selector {
        None => errs.required("spec.selector", ""),
        Some(sel) => {
            validate_label_selector(sel, "spec.selector", errs);
            let empty = sel.match_labels.as_ref().is_none_or(|m| m.is_empty())
                && sel.match_expressions.as_ref().is_none_or(|e| e.is_empty());
            if empty {
                errs.invalid(
                    "spec.selector",
                    &serde_json::json!({}),
                    "empty selector is invalid for deployment",
                );
            } else if let Ok(parsed) = LabelSelector::from_k8s(sel) {
                if !parsed.matches_map(labels) {
                    let shown = serde_json::to_value(labels).unwrap_or_default();
                    errs.invalid(
                        "spec.template.metadata.labels",
                        Shown(shown.to_string()),
                        "`selector` does not match template `labels`",
                    );
                }
            }
        }
    }
    validate_template(template, "spec.template", restart_policies, errs);
}

fn validate_template(
    template: Option<&core::PodTemplateSpec>,
    path: &str,
    restart_policies: &[&str],
    errs: &mut ErrorList,
) {
    let Some(t) = template else {
        errs.required(path, "");
        return;
    };
    if let Some(m) = &t.metadata {
        validate_labels(
            m.labels.as_ref(),
            &join(&join(path, "metadata"), "labels"),
            errs,
        );
    }
    let spec_path = join(path, "spec");
    match &t.spec {
        None => errs.required(&spec_path, ""),
        Some(spec) => {
            validate_pod_spec(spec, &spec_path, errs);
            let policy = spec.restart_policy.as_deref().unwrap_or("");
            if !restart_policies.contains(&policy) {
                errs.not_supported(&join(&spec_path, "restartPolicy"), policy, restart_policies);
            }
        }
    }
}

/// `intOrPercent` ≥ 0, and a percentage at most 100% when `max_100`.
fn int_or_percent(
    errs: &mut ErrorList,
    path: &str,
    v: Option<&IntOrString>,
    max_100: bool,
) -> bool {
    match v {
        None => false,
        Some(IntOrString::Int(n)) => {
            non_negative(errs, path, Some(*n));
            *n == 0
        }
        Some(IntOrString::String(s)) => {
            match s.strip_suffix('%').and_then(|n| n.parse::<i32>().ok()) {
                None => {
                    errs.invalid(path, s, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')");
                    false
                }
                Some(n) => {
                    if max_100 && n > 100 {
                        errs.invalid(path, s, "must not be greater than 100%");
                    }
                    n == 0
                }
            }
        }
    }
}

pub fn validate_deployment(d: &apps::Deployment, errs: &mut ErrorList) {
    let Some(spec) = &d.spec else {
        errs.required("spec", "");
        return;
    };
    non_negative(errs, "spec.replicas", spec.replicas);
    validate_selector_and_template(
        Some(&spec.selector),
        Some(&spec.template),
        &["Always"],
        errs,
    );
    if let Some(strategy) = &spec.strategy {
        match strategy.type_.as_deref().unwrap_or("") {
            "RollingUpdate" => {
                if let Some(ru) = &strategy.rolling_update {
                    let su = int_or_percent(
                        errs,
                        "spec.strategy.rollingUpdate.maxSurge",
                        ru.max_surge.as_ref(),
                        false,
                    );
                    let un = int_or_percent(
                        errs,
                        "spec.strategy.rollingUpdate.maxUnavailable",
                        ru.max_unavailable.as_ref(),
                        true,
                    );
                    if su && un {
                        errs.invalid(
                            "spec.strategy.rollingUpdate.maxUnavailable",
                            0,
                            "may not be 0 when `maxSurge` is 0",
                        );
                    }
                }
            }
            "Recreate" => {
                if strategy.rolling_update.is_some() {
                    errs.forbidden(
                        "spec.strategy.rollingUpdate",
                        "may not be specified when strategy `type` is 'Recreate'",
                    );
                }
            }
            other => {
                errs.not_supported("spec.strategy.type", other, &["Recreate", "RollingUpdate"])
            }
        }
    }
    non_negative(
        errs,
        "spec.revisionHistoryLimit",
        spec.revision_history_limit,
    );
    non_negative(errs, "spec.minReadySeconds", spec.min_ready_seconds);
    if let Some(p) = spec.progress_deadline_seconds {
        if p <= spec.min_ready_seconds.unwrap_or(0) {
            errs.invalid(
                "spec.progressDeadlineSeconds",
                p,
                "must be greater than minReadySeconds",
            );
        }
    }
}

pub fn validate_replicaset(r: &apps::ReplicaSet, errs: &mut ErrorList) {
    let Some(spec) = &r.spec else {
        errs.required("spec", "");
        return;
    };
    non_negative(errs, "spec.replicas", spec.replicas);
    non_negative(errs, "spec.minReadySeconds", spec.min_ready_seconds);
    validate_selector_and_template(
        Some(&spec.selector),
        spec.template.as_ref(),
        &["Always"],
        errs,
    );
}

pub fn validate_statefulset(s: &apps::StatefulSet, errs: &mut ErrorList) {
    let Some(spec) = &s.spec else {
        errs.required("spec", "");
        return;
    };
    non_negative(errs, "spec.replicas", spec.replicas);
    validate_selector_and_template(
        Some(&spec.selector),
        Some(&spec.template),
        &["Always"],
        errs,
    );
    if let Some(p) = spec
        .pod_management_policy
        .as_deref()
        .filter(|p| !["OrderedReady", "Parallel"].contains(p))
    {
        errs.not_supported("spec.podManagementPolicy", p, &["OrderedReady", "Parallel"]);
    }
    let ty = spec
        .update_strategy
        .as_ref()
        .and_then(|u| u.type_.as_deref());
    if let Some(t) = ty.filter(|t| !["RollingUpdate", "OnDelete"].contains(t)) {
        errs.not_supported(
            "spec.updateStrategy.type",
            t,
            &["OnDelete", "RollingUpdate"],
        );
    }
    non_negative(
        errs,
        "spec.revisionHistoryLimit",
        spec.revision_history_limit,
    );
}

pub fn validate_daemonset(d: &apps::DaemonSet, errs: &mut ErrorList) {
    let Some(spec) = &d.spec else {
        errs.required("spec", "");
        return;
    };
    validate_selector_and_template(
        Some(&spec.selector),
        Some(&spec.template),
        &["Always"],
        errs,
    );
    let ty = spec
        .update_strategy
        .as_ref()
        .and_then(|u| u.type_.as_deref());
    if let Some(t) = ty.filter(|t| !["RollingUpdate", "OnDelete"].contains(t)) {
        errs.not_supported(
            "spec.updateStrategy.type",
            t,
            &["OnDelete", "RollingUpdate"],
        );
    }
    non_negative(
        errs,
        "spec.revisionHistoryLimit",
        spec.revision_history_limit,
    );
}

pub fn validate_job_spec(spec: &batch::JobSpec, errs: &mut ErrorList) {
    non_negative(errs, "spec.parallelism", spec.parallelism);
    non_negative(errs, "spec.completions", spec.completions);
    non_negative(errs, "spec.backoffLimit", spec.backoff_limit);
    if let Some(a) = spec.active_deadline_seconds.filter(|a| *a <= 0) {
        errs.invalid("spec.activeDeadlineSeconds", a, "must be greater than 0");
    }
    if let Some(m) = spec
        .completion_mode
        .as_deref()
        .filter(|m| !["NonIndexed", "Indexed"].contains(m))
    {
        errs.not_supported("spec.completionMode", m, &["NonIndexed", "Indexed"]);
    }
    // The selector is generated at create time unless manualSelector is set.
    validate_selector_and_template(
        spec.selector.as_ref(),
        Some(&spec.template),
        &["OnFailure", "Never"],
        errs,
    );
}

pub fn validate_cronjob(c: &batch::CronJob, errs: &mut ErrorList) {
    let Some(spec) = &c.spec else {
        errs.required("spec", "");
        return;
    };
    if let Err(e) = CronSchedule::parse(&spec.schedule) {
        errs.invalid(SCHEDULE_FIELD, &spec.schedule, e.reason);
    }
    if let Some(zone) = spec.time_zone.as_deref() {
        if let Err(reason) = time_zone(Some(zone)) {
            errs.invalid("spec.timeZone", zone, reason);
        }
    }
    if let Some(p) = spec
        .concurrency_policy
        .as_deref()
        .filter(|p| !["Allow", "Forbid", "Replace"].contains(p))
    {
        errs.not_supported("spec.concurrencyPolicy", p, &["Allow", "Forbid", "Replace"]);
    }
    non_negative(
        errs,
        "spec.successfulJobsHistoryLimit",
        spec.successful_jobs_history_limit,
    );
    non_negative(
        errs,
        "spec.failedJobsHistoryLimit",
        spec.failed_jobs_history_limit,
    );
    match &spec.job_template.spec {
        None => errs.required("spec.jobTemplate.spec", ""),
        Some(job) => {
            let mut inner = ErrorList::new();
            validate_template(
                Some(&job.template),
                "spec.template",
                &["OnFailure", "Never"],
                &mut inner,
            );
            for mut e in inner.0 {
                e.path = e.path.replacen("spec.", "spec.jobTemplate.spec.", 1);
                errs.0.push(e);
            }
        }
    }
}
