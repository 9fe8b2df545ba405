//! Human-readable times for violation messages: nanoseconds on the history clock as milliseconds.

/// `ns` as milliseconds with microsecond precision, e.g. `1234.567ms`; `u64::MAX` (an operation
/// that never completed) as `∞`.
pub fn format_ns(ns: u64) -> String {
    if ns == u64::MAX {
        return "∞".to_string();
    }
    format!("{}.{:03}ms", ns / 1_000_000, (ns / 1_000) % 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_milliseconds() {
        assert_eq!(format_ns(1_234_567_890), "1234.567ms");
        assert_eq!(format_ns(5_000), "0.005ms");
        assert_eq!(format_ns(u64::MAX), "∞");
    }
}
