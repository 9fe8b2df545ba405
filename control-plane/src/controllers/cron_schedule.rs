//! Cron schedules as Kubernetes' CronJob reads them (robfig/cron's standard parser): five fields
//! `minute hour day-of-month month day-of-week`, each a list of `*`, `?`, `n`, `a-b`, with an
//! optional `/step`; month names `JAN`..`DEC`, weekday names `SUN`..`SAT` (7 is Sunday too); the
//! macros `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`. When
//! both day fields are restricted (neither starts with `*` or `?`) a day matches either; otherwise
//! both. Times are evaluated in a time zone (`spec.timeZone`, UTC by default).
//!
//! Written here rather than taken from a crate: none was available to the build offline, and
//! the grammar is small enough to prove in the tests below.

use k8s_openapi::jiff::civil::{Date, DateTime};
use k8s_openapi::jiff::tz::TimeZone;
use k8s_openapi::jiff::{Timestamp, ToSpan};

/// A parsed schedule: the allowed values of each field as bit sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Both day fields are restricted: a day matches either.
    day_or: bool,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn value(s: &str, names: &[&str], first_named: u32) -> Result<u32, String> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
        return Ok(i as u32 + first_named);
    }
    s.parse::<u32>()
        .map_err(|_| format!("{s:?} is not a number"))
}

/// One field: a comma list of ranges with steps; returns its bit set and whether it was a star.
fn field(
    text: &str,
    min: u32,
    max: u32,
    names: &[&str],
    first_named: u32,
) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    let star = text.starts_with('*') || text.starts_with('?');
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().map_err(|_| format!("bad step in {item:?}"))?;
                if step == 0 {
                    return Err(format!("zero step in {item:?}"));
                }
                (r, Some(step))
            }
            None => (item, None),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, names, first_named)?, value(b, names, first_named)?)
        } else {
            let v = value(range, names, first_named)?;
            // `a/n` runs from a to the end of the field.
            (v, if step.is_some() { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return Err(format!("{item:?} is outside {min}-{max}"));
        }
        let step = step.unwrap_or(1);
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok((bits, star))
}

impl CronSchedule {
    /// Parses a five-field schedule or a macro.
    pub fn parse(text: &str) -> Result<CronSchedule, String> {
        let text = text.trim();
        let expanded = match text.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            m if m.starts_with('@') => return Err(format!("unknown macro {text:?}")),
            _ => text,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let [m, h, dom, mon, dow] = fields[..] else {
            return Err(format!(
                "{text:?} has {} fields, want 5 (minute hour day-of-month month day-of-week)",
                fields.len()
            ));
        };
        let (minutes, _) = field(m, 0, 59, &[], 0)?;
        let (hours, _) = field(h, 0, 23, &[], 0)?;
        let (days, dom_star) = field(dom, 1, 31, &[], 0)?;
        let (months, _) = field(mon, 1, 12, &MONTHS, 1)?;
        let (mut weekdays, dow_star) = field(dow, 0, 7, &WEEKDAYS, 0)?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(CronSchedule {
            minutes,
            hours,
            days,
            months,
            weekdays,
            day_or: !dom_star && !dow_star,
        })
    }

    fn day_matches(&self, d: Date) -> bool {
        let dom = self.days & (1 << d.day()) != 0;
        let dow = self.weekdays & (1 << d.weekday().to_sunday_zero_offset()) != 0;
        if self.day_or {
            dom || dow
        } else {
            dom && dow
        }
    }

    /// The first scheduled instant strictly after `after`, in `tz`; `None` if none within
    /// five years (e.g. `0 0 30 2 *`).
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let start = after.to_zoned(tz.clone()).datetime();
        // The next whole minute.
        let mut t = DateTime::new(
            start.year(),
            start.month(),
            start.day(),
            start.hour(),
            start.minute(),
            0,
            0,
        )
        .ok()?
        .checked_add(1.minute())
        .ok()?;
        let limit = t.year() + 5;
        while t.year() <= limit {
            if self.months & (1 << t.month()) == 0 {
                let first = t.date().first_of_month();
                t = first
                    .checked_add(1.month())
                    .ok()?
                    .to_datetime(Default::default());
                continue;
            }
            if !self.day_matches(t.date()) {
                t = t.date().tomorrow().ok()?.to_datetime(Default::default());
                continue;
            }
            if self.hours & (1 << t.hour()) == 0 {
                t = DateTime::new(t.year(), t.month(), t.day(), t.hour(), 0, 0, 0)
                    .ok()?
                    .checked_add(1.hour())
                    .ok()?;
                continue;
            }
            if self.minutes & (1 << t.minute()) == 0 {
                t = t.checked_add(1.minute()).ok()?;
                continue;
            }
            let at = tz.to_timestamp(t).ok()?;
            if at > after {
                return Some(at);
            }
            t = t.checked_add(1.minute()).ok()?;
        }
        None
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
        ] {
            assert!(CronSchedule::parse(bad).is_err(), "{bad}");
        }
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
