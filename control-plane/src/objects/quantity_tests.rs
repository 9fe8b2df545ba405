//! Tests for `Quantity`: Kubernetes' documented examples, errors, and monotonicity.

use super::*;
use proptest::prelude::*;

#[test]
fn cpu_examples() {
    assert_eq!(parse_cpu_millis("100m"), Ok(100));
    assert_eq!(parse_cpu_millis("0.5"), Ok(500));
    assert_eq!(parse_cpu_millis("2"), Ok(2000));
    assert_eq!(parse_cpu_millis(".5"), Ok(500));
    assert_eq!(parse_cpu_millis("1."), Ok(1000));
    assert_eq!(parse_cpu_millis("+1.5"), Ok(1500));
    assert_eq!(parse_cpu_millis("0.1m"), Ok(1), "rounds up like Kubernetes");
    assert_eq!(parse_cpu_millis("250000u"), Ok(250));
    assert_eq!(parse_cpu_millis("1n"), Ok(1));
    assert_eq!(parse_cpu_millis("0"), Ok(0));
    assert_eq!(parse_cpu_millis("-100m"), Ok(-100));
}

#[test]
fn memory_examples() {
    assert_eq!(parse_bytes("128Mi"), Ok(128 * 1024 * 1024));
    assert_eq!(parse_bytes("1G"), Ok(1_000_000_000));
    assert_eq!(parse_bytes("1e3"), Ok(1000));
    assert_eq!(parse_bytes("1E3"), Ok(1000));
    assert_eq!(parse_bytes("129e6"), Ok(129_000_000));
    assert_eq!(parse_bytes("129M"), Ok(129_000_000));
    assert_eq!(parse_bytes("123Mi"), Ok(128_974_848));
    assert_eq!(parse_bytes("1.5Gi"), Ok(1_610_612_736));
    assert_eq!(parse_bytes("1k"), Ok(1000));
    assert_eq!(parse_bytes("1Ki"), Ok(1024));
    assert_eq!(parse_bytes("1Ei"), Ok(1 << 60));
    assert_eq!(parse_bytes("8E"), Ok(8_000_000_000_000_000_000));
    assert_eq!(parse_bytes("1e-3"), Ok(1), "fractions of a byte round up");
    assert_eq!(
        parse_bytes("0.0000000000000000000000000000000000000000001"),
        Ok(1)
    );
    assert_eq!(
        parse_bytes("00000000000000000000000000000000000000000000042"),
        Ok(42)
    );
}

#[test]
fn syntax_errors() {
    for bad in [
        "", "m", "Mi", "1x", "1MiB", "1.2.3", "..", ".", "1 Mi", " 1", "1e", "1e+", "1ee3", "--1",
        "1-", "1mi", "1K", "e3", "1e99999", "0x10", "1,5",
    ] {
        let err = Quantity::parse(bad).unwrap_err();
        assert!(
            matches!(err, QuantityError::Syntax { .. }),
            "{bad:?}: {err}"
        );
        assert!(err
            .to_string()
            .starts_with("quantities must match the regular expression"));
    }
}

#[test]
fn overflow_errors() {
    for big in [
        "9223372036854775808",
        "10E",
        "9Ei",
        "1e19",
        "1e1000",
        "99999999999999999999Ki",
    ] {
        let err = Quantity::parse(big).unwrap_err();
        assert_eq!(
            err,
            QuantityError::Overflow {
                input: big.to_string()
            },
            "{big}"
        );
        assert!(err.to_string().contains("too large"));
    }
    assert_eq!(parse_bytes("9223372036854775807"), Ok(i64::MAX));
    assert_eq!(parse_bytes("-9223372036854775807"), Ok(-i64::MAX));
    assert!(matches!(
        parse_cpu_millis("9223372036854775807"),
        Err(QuantityError::Overflow { .. })
    ));
    let long = format!("1.{}", "1".repeat(60));
    assert_eq!(parse_cpu_millis(&long), Ok(1112));
}

#[test]
fn display_is_canonical_decimal() {
    let show = |s: &str| Quantity::parse(s).unwrap().to_string();
    assert_eq!(show("1.5"), "1500m");
    assert_eq!(show("2000m"), "2");
    assert_eq!(show("1Ki"), "1024");
    assert_eq!(show("0.25m"), "250u");
    assert_eq!(show("3n"), "3n");
    assert_eq!(show("-1.5"), "-1500m");
    assert_eq!(Quantity::from_millis(250).to_string(), "250m");
    assert_eq!(
        Quantity::from_units(3)
            .checked_add(&Quantity::from_millis(500))
            .unwrap()
            .to_string(),
        "3500m"
    );
    assert!(Quantity::from_units(i64::MAX)
        .checked_add(&Quantity::from_units(1))
        .is_none());
}

#[test]
fn ordering_follows_value() {
    let q = |s: &str| Quantity::parse(s).unwrap();
    assert!(q("1Gi") > q("1G"));
    assert!(q("100m") < q("0.2"));
    assert!(q("-1") < q("0"));
    assert_eq!(q("1000m"), q("1"));
    assert_eq!(q("1e3"), q("1k"));
}

fn suffix() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "", "m", "k", "M", "G", "Ki", "Mi", "Gi", "e2", "e-2", "u", "n",
    ])
}

proptest! {
    /// Parsing is monotone: a larger decimal mantissa with the same suffix never parses smaller,
    /// and the rounded accessors keep that order.
    #[test]
    fn parse_is_monotone(a in 0u64..10_000_000, b in 0u64..10_000_000, frac in 0u32..4, s in suffix()) {
        let (lo, hi) = (a.min(b), a.max(b));
        let scale = 10u64.pow(frac);
        let fmt = |v: u64| if frac == 0 {
            format!("{v}{s}")
        } else {
            format!("{}.{:0width$}{s}", v / scale, v % scale, width = frac as usize)
        };
        let (ql, qh) = (Quantity::parse(&fmt(lo)).unwrap(), Quantity::parse(&fmt(hi)).unwrap());
        prop_assert!(ql <= qh);
        prop_assert!(ql.value() <= qh.value());
        let millis = |q: &Quantity| q.milli_value().unwrap_or(i64::MAX);
        prop_assert!(millis(&ql) <= millis(&qh));
        prop_assert_eq!(lo == hi, ql == qh);
    }

    /// Whole numbers of millicores print and parse back to the same value.
    #[test]
    fn millis_round_trip(m in -1_000_000_000i64..1_000_000_000) {
        let q = Quantity::from_millis(m);
        prop_assert_eq!(Quantity::parse(&q.to_string()).unwrap(), q);
        prop_assert_eq!(q.milli_value(), Some(m));
    }

    /// Nothing panics on arbitrary input.
    #[test]
    fn never_panics(s in "[-+0-9.eEinumkKMGTP]{0,24}") {
        let _ = Quantity::parse(&s);
    }
}
