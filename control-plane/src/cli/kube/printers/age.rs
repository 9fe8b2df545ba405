//! Ages and timestamps as kubectl prints them: `HumanDuration` (5s, 3m12s, 2d) of a
//! creationTimestamp against a given "now", and describe's `Mon, 02 Jan 2006 15:04:05 -0700`.

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::Value;

/// The current time (jiff is built without its `std` clock here).
pub fn now() -> Timestamp {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::new(
        since_epoch.as_secs() as i64,
        since_epoch.subsec_nanos() as i32,
    )
    .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Parses an RFC 3339 timestamp (`metadata.creationTimestamp`).
pub fn parse_timestamp(v: Option<&Value>) -> Option<Timestamp> {
    v?.as_str()?.parse().ok()
}

/// `translateTimestampSince`: `<unknown>` when unset, else the human duration until `now`.
pub fn age(ts: Option<&Value>, now: Timestamp) -> String {
    match parse_timestamp(ts) {
        Some(t) => human_duration(now.duration_since(t)),
        None => "<unknown>".to_string(),
    }
}

/// Go's `duration.HumanDuration` (k8s.io/apimachinery/pkg/util/duration).
pub fn human_duration(d: SignedDuration) -> String {
    let seconds = d.as_secs();
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{}h", hours / 24, h)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{}d", hours / 24 / 365, dy)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// describe's timestamp format (RFC 1123 with a numeric zone), in UTC.
pub fn describe_time(ts: Option<&Value>) -> String {
    match parse_timestamp(ts) {
        Some(t) => t.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string(),
        None => "<unset>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secs(s: i64) -> String {
        human_duration(SignedDuration::from_secs(s))
    }

    #[test]
    fn human_durations_match_kubectl() {
        assert_eq!(secs(-5), "<invalid>");
        assert_eq!(secs(0), "0s");
        assert_eq!(secs(5), "5s");
        assert_eq!(secs(119), "119s");
        assert_eq!(secs(120), "2m");
        assert_eq!(secs(192), "3m12s");
        assert_eq!(secs(600), "10m");
        assert_eq!(secs(179 * 60), "179m");
        assert_eq!(secs(3 * 3600 + 5 * 60), "3h5m");
        assert_eq!(secs(8 * 3600), "8h");
        assert_eq!(secs(47 * 3600), "47h");
        assert_eq!(secs(48 * 3600), "2d");
        assert_eq!(secs(50 * 3600), "2d2h");
        assert_eq!(secs(10 * 86400), "10d");
        assert_eq!(secs(800 * 86400), "2y70d");
        assert_eq!(secs(3000 * 86400), "8y");
    }

    #[test]
    fn ages_from_timestamps() {
        let now: Timestamp = "2024-01-01T00:03:12Z".parse().unwrap();
        assert_eq!(age(Some(&json!("2024-01-01T00:00:00Z")), now), "3m12s");
        assert_eq!(age(None, now), "<unknown>");
        assert_eq!(
            describe_time(Some(&json!("2024-01-01T00:00:00Z"))),
            "Mon, 01 Jan 2024 00:00:00 +0000"
        );
    }
}
