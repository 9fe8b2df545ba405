//! The table a run prints at its end: one row per checker.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, Color, ContentArrangement, Table};

use super::{CheckResult, Verdict};

/// One row per result: name, verdict, violation count and the stats; below the table, the listed
/// violations and inconclusive reasons (at most `max_lines` of each per checker).
pub fn summary_table(results: &[CheckResult], max_lines: usize) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(120)
        .set_header(vec!["checker", "verdict", "violations", "stats"]);
    for r in results {
        let verdict = r.verdict();
        let color = match verdict {
            Verdict::Pass => Color::Green,
            Verdict::Fail => Color::Red,
            Verdict::Inconclusive => Color::Yellow,
        };
        let stats: Vec<String> = r.stats.iter().map(|(k, v)| format!("{k}={v}")).collect();
        table.add_row(vec![
            Cell::new(&r.name),
            Cell::new(verdict).fg(color),
            Cell::new(r.violation_count),
            Cell::new(stats.join(" ")),
        ]);
    }
    let mut out = table.to_string();
    for r in results {
        for v in r.violations.iter().take(max_lines) {
            out.push_str(&format!("\n[{}] VIOLATION {v}", r.name));
        }
        let unlisted = r
            .violation_count
            .saturating_sub(r.violations.len().min(max_lines) as u64);
        if unlisted > 0 {
            out.push_str(&format!("\n[{}] … and {unlisted} more violations", r.name));
        }
        for why in r.inconclusive.iter().take(max_lines) {
            out.push_str(&format!("\n[{}] INCONCLUSIVE {why}", r.name));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_every_checker_and_its_violations() {
        let mut bad = CheckResult::new("single-leader");
        bad.violation("term 3 has 2 leaders");
        bad.violation("term 4 has 2 leaders");
        let mut good = CheckResult::new("monotonic");
        good.stat("leader_samples", 12);
        let text = summary_table(&[good, bad], 1);
        assert!(text.contains("monotonic") && text.contains("PASS"));
        assert!(text.contains("leader_samples=12"));
        assert!(text.contains("FAIL"));
        assert!(text.contains("VIOLATION term 3 has 2 leaders"));
        assert!(!text.contains("term 4"));
        assert!(text.contains("and 1 more violations"));
    }
}
