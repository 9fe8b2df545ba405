//! Cron schedules as a CronJob's `spec.schedule` reads them: a thin adapter over the `croner`
//! crate, configured for standard (Vixie) cron: exactly five fields `minute hour day-of-month
//! month day-of-week` (no seconds, no year), month names `JAN`..`DEC`, weekday names
//! `SUN`..`SAT` (0 and 7 are Sunday), lists, ranges, `/step` (also `a/step`: from `a` to the
//! end of the field, as robfig/cron reads it), `?` as `*`, and the macros
//! `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`. When both day
//! fields are restricted a day matches either (croner's default, Vixie's and Kubernetes' rule);
//! when one is `*` only the other counts. Times are evaluated in a time zone (`spec.timeZone`,
//! UTC by default), so daylight-saving shifts follow the zone's rules.
//!
//! croner also accepts the Quartz-style extensions `L`, `W` and `#` in the day fields; Kubernetes
//! does not, but a schedule using them means the same thing to everyone who reads it.

use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use k8s_openapi::jiff::tz::TimeZone;
use k8s_openapi::jiff::Timestamp;

/// The field a schedule comes from, named in every parse error.
pub const SCHEDULE_FIELD: &str = "spec.schedule";

/// How far ahead [`CronSchedule::next_after`] looks (like robfig/cron: five years).
const SEARCH_YEARS: i16 = 5;

/// Why a schedule does not parse; shown as `spec.schedule: <reason>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError {
    /// The reason alone, for callers that name the field themselves.
    pub reason: String,
}

impl std::fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{SCHEDULE_FIELD}: {}", self.reason)
    }
}

impl std::error::Error for ScheduleError {}

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    cron: Cron,
}

/// Standard five-field cron: no seconds field, no year field, day fields OR'ed, and `a/n`
/// (from `a` to the end of the field every `n`), which robfig/cron and so Kubernetes accept.
fn vixie_parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .dom_and_dow(false)
        .sloppy_ranges(true)
        .build()
}

impl CronSchedule {
    /// Parses a five-field schedule or a macro. The error names [`SCHEDULE_FIELD`].
    pub fn parse(text: &str) -> Result<CronSchedule, ScheduleError> {
        let text = text.trim();
        // robfig/cron (Kubernetes) knows `@midnight`; croner calls it `@daily`.
        let text = if text.eq_ignore_ascii_case("@midnight") {
            "@daily"
        } else {
            text
        };
        // croner reads `+` before the weekday field as "day-of-month AND day-of-week", which
        // standard cron does not have.
        if text.contains('+') {
            return Err(ScheduleError {
                reason: "unparseable schedule: '+' is not cron syntax".into(),
            });
        }
        vixie_parser()
            .parse(text)
            .map(|cron| CronSchedule { cron })
            .map_err(|e| ScheduleError {
                reason: format!("unparseable schedule: {e}"),
            })
    }

    /// The first scheduled instant strictly after `after`, in `tz`; `None` if none within
    /// five years (e.g. `0 0 30 2 *`).
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let start = after.to_zoned(tz.clone());
        let limit = start.year().saturating_add(SEARCH_YEARS);
        let next = self.cron.find_next_occurrence(&start, false).ok()?;
        (next.year() <= limit).then(|| next.timestamp())
    }
}

/// The time zone named by `spec.timeZone` (IANA name), UTC when absent.
pub fn time_zone(name: Option<&str>) -> Result<TimeZone, String> {
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return Ok(TimeZone::UTC);
    };
    if let Ok(tz) = TimeZone::get(name) {
        return Ok(tz);
    }
    if name.contains("..") || name.starts_with('/') {
        return Err(format!("unknown time zone {name:?}"));
    }
    let data = std::fs::read(format!("/usr/share/zoneinfo/{name}"))
        .map_err(|_| format!("unknown time zone {name:?}"))?;
    TimeZone::tzif(name, &data).map_err(|e| format!("time zone {name:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn next(schedule: &str, after: &str) -> String {
        CronSchedule::parse(schedule)
            .unwrap()
            .next_after(ts(after), &TimeZone::UTC)
            .unwrap()
            .to_string()
    }

    #[test]
    fn every_minute_and_steps() {
        assert_eq!(
            next("* * * * *", "2026-01-01T00:00:00Z"),
            "2026-01-01T00:01:00Z"
        );
        assert_eq!(
            next("* * * * *", "2026-01-01T00:00:30Z"),
            "2026-01-01T00:01:00Z"
        );
        assert_eq!(
            next("*/15 * * * *", "2026-01-01T00:16:00Z"),
            "2026-01-01T00:30:00Z"
        );
        assert_eq!(
            next("5/20 * * * *", "2026-01-01T00:26:00Z"),
            "2026-01-01T00:45:00Z"
        );
        assert_eq!(
            next("0 */6 * * *", "2026-01-01T07:00:00Z"),
            "2026-01-01T12:00:00Z"
        );
    }

    #[test]
    fn ranges_lists_and_names() {
        assert_eq!(
            next("0 9-17 * * MON-FRI", "2026-01-02T17:30:00Z"),
            "2026-01-05T09:00:00Z"
        );
        assert_eq!(
            next("10,20,40 * * * *", "2026-01-01T00:20:00Z"),
            "2026-01-01T00:40:00Z"
        );
        assert_eq!(
            next("0 0 1 jun *", "2026-01-01T00:00:00Z"),
            "2026-06-01T00:00:00Z"
        );
        assert_eq!(
            next("0 0 * * 7", "2026-01-01T00:00:00Z"),
            "2026-01-04T00:00:00Z"
        );
        assert_eq!(
            next("0 0 * * sun", "2026-01-01T00:00:00Z"),
            "2026-01-04T00:00:00Z"
        );
    }

    #[test]
    fn macros() {
        assert_eq!(
            next("@hourly", "2026-01-01T00:00:00Z"),
            "2026-01-01T01:00:00Z"
        );
        assert_eq!(
            next("@daily", "2026-01-01T00:00:00Z"),
            "2026-01-02T00:00:00Z"
        );
        assert_eq!(
            next("@weekly", "2026-01-01T00:00:00Z"),
            "2026-01-04T00:00:00Z"
        );
        assert_eq!(
            next("@monthly", "2026-01-15T00:00:00Z"),
            "2026-02-01T00:00:00Z"
        );
        assert_eq!(
            next("@yearly", "2026-01-15T00:00:00Z"),
            "2027-01-01T00:00:00Z"
        );
        assert_eq!(
            next("@midnight", "2026-01-01T00:00:00Z"),
            "2026-01-02T00:00:00Z"
        );
    }

    #[test]
    fn both_day_fields_restricted_means_either() {
        // The 13th, or any Friday: Friday 2026-01-02 comes first.
        assert_eq!(
            next("0 0 13 * 5", "2026-01-01T00:00:00Z"),
            "2026-01-02T00:00:00Z"
        );
        // Only day-of-month restricted: the 13th.
        assert_eq!(
            next("0 0 13 * *", "2026-01-01T00:00:00Z"),
            "2026-01-13T00:00:00Z"
        );
        // Leap day.
        assert_eq!(
            next("0 0 29 2 *", "2026-01-01T00:00:00Z"),
            "2028-02-29T00:00:00Z"
        );
        assert!(CronSchedule::parse("0 0 30 2 *")
            .unwrap()
            .next_after(ts("2026-01-01T00:00:00Z"), &TimeZone::UTC)
            .is_none());
    }

    #[test]
    fn bad_schedules_are_refused() {
        for bad in [
            "* * * *",
            "* * * * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "*/0 * * * *",
            "5-1 * * * *",
            "@sometimes",
            "x * * * *",
            "0 0 * * +5",
        ] {
            let err = CronSchedule::parse(bad).expect_err(bad).to_string();
            assert!(
                err.starts_with("spec.schedule: unparseable schedule: "),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn question_mark_is_a_star_and_a_star_day_field_is_ignored() {
        // Only the weekday restricted (the day-of-month is `?`): Fridays only.
        assert_eq!(
            next("0 0 ? * FRI", "2026-01-03T00:00:00Z"),
            "2026-01-09T00:00:00Z"
        );
        // Only the day-of-month restricted: the 13th, whatever the weekday.
        assert_eq!(
            next("0 0 13 * ?", "2026-01-14T00:00:00Z"),
            "2026-02-13T00:00:00Z"
        );
    }

    #[test]
    fn an_impossible_schedule_answers_none_quickly() {
        let s = CronSchedule::parse("0 0 31 2 *").unwrap();
        let began = std::time::Instant::now();
        assert!(s
            .next_after(ts("2026-01-01T00:00:00Z"), &TimeZone::UTC)
            .is_none());
        assert!(
            began.elapsed() < std::time::Duration::from_secs(1),
            "{:?}",
            began.elapsed()
        );
    }

    #[test]
    fn time_zones_shift_the_schedule() {
        let tz = time_zone(Some("America/New_York")).unwrap();
        let s = CronSchedule::parse("0 9 * * *").unwrap();
        // 09:00 in New York in January is 14:00 UTC.
        assert_eq!(
            s.next_after(ts("2026-01-01T00:00:00Z"), &tz)
                .unwrap()
                .to_string(),
            "2026-01-01T14:00:00Z"
        );
        assert!(time_zone(Some("Mars/Olympus")).is_err());
        assert!(time_zone(Some("../etc/passwd")).is_err());
        let utc = time_zone(None).unwrap();
        assert_eq!(
            s.next_after(ts("2026-01-01T00:00:00Z"), &utc)
                .unwrap()
                .to_string(),
            "2026-01-01T09:00:00Z"
        );
    }
}
