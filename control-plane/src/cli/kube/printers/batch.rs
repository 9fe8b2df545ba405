//! Table rows for the batch group: Jobs and CronJobs.

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use super::age::{age, human_duration, parse_timestamp};
use super::fields::{container_cells, format_label_selector, get, int_at, list_at, str_at};

pub const JOB: &[&str] = &["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"];
pub const CRONJOB: &[&str] = &[
    "NAME",
    "SCHEDULE",
    "TIMEZONE",
    "SUSPEND",
    "ACTIVE",
    "LAST SCHEDULE",
    "AGE",
];
pub const WIDE: &[&str] = &["CONTAINERS", "IMAGES", "SELECTOR"];

fn has_condition(o: &Value, ty: &str) -> bool {
    list_at(o, "status.conditions")
        .iter()
        .find(|c| str_at(c, "type") == ty)
        .is_some_and(|c| str_at(c, "status") == "True")
}

pub fn job(o: &Value, wide: bool, now: Timestamp) -> Vec<String> {
    let succeeded = int_at(o, "status.succeeded");
    let completions = match get(o, "spec.completions").and_then(Value::as_i64) {
        Some(c) => format!("{succeeded}/{c}"),
        None => match int_at(o, "spec.parallelism") {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let start = parse_timestamp(get(o, "status.startTime"));
    let end = parse_timestamp(get(o, "status.completionTime"));
    let duration = match (start, end) {
        (None, _) => String::new(),
        (Some(s), None) => human_duration(now.duration_since(s)),
        (Some(s), Some(e)) => human_duration(e.duration_since(s)),
    };
    let status = if has_condition(o, "Complete") {
        "Complete"
    } else if has_condition(o, "Failed") {
        "Failed"
    } else if get(o, "metadata.deletionTimestamp").is_some_and(|v| !v.is_null()) {
        "Terminating"
    } else if has_condition(o, "Suspended") {
        "Suspended"
    } else if has_condition(o, "FailureTarget") {
        "FailureTarget"
    } else if has_condition(o, "SuccessCriteriaMet") {
        "SuccessCriteriaMet"
    } else {
        "Running"
    };
    let mut cells = vec![
        str_at(o, "metadata.name").to_string(),
        status.to_string(),
        completions,
        duration,
        age(get(o, "metadata.creationTimestamp"), now),
    ];
    if wide {
        let (names, images) = container_cells(list_at(o, "spec.template.spec.containers"));
        cells.extend([
            names,
            images,
            format_label_selector(get(o, "spec.selector")),
        ]);
    }
    cells
}

pub fn cronjob(o: &Value, wide: bool, now: Timestamp) -> Vec<String> {
    let tz = match str_at(o, "spec.timeZone") {
        "" => "<none>",
        tz => tz,
    };
    let suspend = match get(o, "spec.suspend").and_then(Value::as_bool) {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let last = match get(o, "status.lastScheduleTime") {
        Some(t) if !t.is_null() => age(Some(t), now),
        _ => "<none>".to_string(),
    };
    let mut cells = vec![
        str_at(o, "metadata.name").to_string(),
        str_at(o, "spec.schedule").to_string(),
        tz.to_string(),
        suspend.to_string(),
        list_at(o, "status.active").len().to_string(),
        last,
        age(get(o, "metadata.creationTimestamp"), now),
    ];
    if wide {
        let (names, images) =
            container_cells(list_at(o, "spec.jobTemplate.spec.template.spec.containers"));
        cells.extend([
            names,
            images,
            format_label_selector(get(o, "spec.jobTemplate.spec.selector")),
        ]);
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn job_and_cronjob_rows() {
        let now: Timestamp = "2024-01-01T00:01:00Z".parse().unwrap();
        let j = json!({"metadata": {"name": "pi", "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"completions": 1},
            "status": {"succeeded": 1, "startTime": "2024-01-01T00:00:00Z", "completionTime": "2024-01-01T00:00:09Z",
                "conditions": [{"type": "Complete", "status": "True"}]}});
        assert_eq!(
            job(&j, false, now),
            vec!["pi", "Complete", "1/1", "9s", "60s"]
        );
        let c = json!({"metadata": {"name": "c", "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"schedule": "*/1 * * * *", "suspend": false}});
        assert_eq!(
            cronjob(&c, false, now),
            vec!["c", "*/1 * * * *", "<none>", "False", "0", "<none>", "60s"]
        );
    }
}
