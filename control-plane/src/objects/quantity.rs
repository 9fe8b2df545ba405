//! `Quantity`: Kubernetes resource quantities (`100m`, `0.5`, `128Mi`, `1G`, `129e6`) parsed
//! exactly into fixed point, for CPU millicores and memory bytes (validation, quota, scheduler).

use std::fmt;
use std::str::FromStr;

/// The regular expression Kubernetes quotes when a quantity does not parse.
pub const QUANTITY_SYNTAX: &str = "quantities must match the regular expression \
     '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const NANOS_PER_UNIT: i128 = 1_000_000_000;
/// Largest magnitude in nano-units: Kubernetes bounds quantities by 2^63-1 units.
const MAX_NANOS: i128 = i64::MAX as i128 * NANOS_PER_UNIT;
/// Inputs longer than this are refused outright (no real quantity comes close).
const MAX_INPUT_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("{QUANTITY_SYNTAX}")]
    Syntax { input: String },
    #[error("quantity {input:?} is too large: the limit is 2^63-1")]
    Overflow { input: String },
}

/// A parsed quantity, exact to 10^-9 (finer digits round the magnitude up, as Kubernetes
/// rounds `0.1m` up to `1m`) and bounded by 2^63-1 in magnitude.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Quantity {
    nanos: i128,
}

impl Quantity {
    pub fn parse(input: &str) -> Result<Quantity, QuantityError> {
        let syntax = || QuantityError::Syntax {
            input: input.to_string(),
        };
        if input.is_empty() || input.len() > MAX_INPUT_LEN {
            return Err(syntax());
        }
        let (negative, rest) = match input.as_bytes()[0] {
            b'-' => (true, &input[1..]),
            b'+' => (false, &input[1..]),
            _ => (false, input),
        };
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(number_len);
        let mantissa = Mantissa::parse(number).ok_or_else(syntax)?;
        let (exp10, exp2) = parse_suffix(suffix).ok_or_else(syntax)?;
        let nanos = mantissa
            .to_nanos(exp10, exp2)
            .ok_or_else(|| QuantityError::Overflow {
                input: input.to_string(),
            })?;
        Ok(Quantity {
            nanos: if negative { -nanos } else { nanos },
        })
    }

    /// A quantity of whole units.
    pub fn from_units(units: i64) -> Quantity {
        Quantity {
            nanos: i128::from(units) * NANOS_PER_UNIT,
        }
    }

    /// A quantity of thousandths (CPU millicores).
    pub fn from_millis(millis: i64) -> Quantity {
        Quantity {
            nanos: i128::from(millis) * 1_000_000,
        }
    }

    /// The exact value in 10^-9 units.
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    /// Whole units, rounded up (Kubernetes' `Value()`): bytes for memory and storage.
    pub fn value(&self) -> i64 {
        // |nanos| <= MAX_NANOS, so the rounded quotient fits in i64.
        i64::try_from(div_ceil(self.nanos, NANOS_PER_UNIT)).unwrap_or(i64::MAX)
    }

    /// Thousandths, rounded up (Kubernetes' `MilliValue()`): millicores for CPU. `None` when the
    /// value exceeds i64 in thousandths.
    pub fn milli_value(&self) -> Option<i64> {
        i64::try_from(div_ceil(self.nanos, 1_000_000)).ok()
    }

    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// Sum, or `None` past the 2^63-1 bound.
    pub fn checked_add(&self, other: &Quantity) -> Option<Quantity> {
        let nanos = self.nanos.checked_add(other.nanos)?;
        (nanos.abs() <= MAX_NANOS).then_some(Quantity { nanos })
    }
}

/// CPU in millicores: `"100m"` → 100, `"0.5"` → 500, `"2"` → 2000.
pub fn parse_cpu_millis(input: &str) -> Result<i64, QuantityError> {
    Quantity::parse(input)?
        .milli_value()
        .ok_or_else(|| QuantityError::Overflow {
            input: input.to_string(),
        })
}

/// Memory or storage in bytes: `"128Mi"` → 134217728, `"1G"` → 10^9, `"129e6"` → 129000000.
pub fn parse_bytes(input: &str) -> Result<i64, QuantityError> {
    Ok(Quantity::parse(input)?.value())
}

impl FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

/// Canonical decimal form: whole units when exact, else `m`, `u` or `n` (`1500m`, `2`, `250u`).
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.nanos;
        if n % NANOS_PER_UNIT == 0 {
            write!(f, "{}", n / NANOS_PER_UNIT)
        } else if n % 1_000_000 == 0 {
            write!(f, "{}m", n / 1_000_000)
        } else if n % 1_000 == 0 {
            write!(f, "{}u", n / 1_000)
        } else {
            write!(f, "{n}n")
        }
    }
}

/// Ceiling division of the magnitude (rounds away from zero, as Kubernetes rounds up).
fn div_ceil(n: i128, d: i128) -> i128 {
    let q = n.abs() / d + i128::from(n.abs() % d != 0);
    if n < 0 {
        -q
    } else {
        q
    }
}

/// The digits of a number: `digits` × 10^-`frac_digits`, plus whether nonzero digits were
/// dropped because they lie far below nano precision.
struct Mantissa {
    digits: u128,
    frac_digits: i32,
    sticky: bool,
}

impl Mantissa {
    fn parse(number: &str) -> Option<Mantissa> {
        let (int, frac) = number.split_once('.').unwrap_or((number, ""));
        if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
            return None;
        }
        let mut m = Mantissa {
            digits: 0,
            frac_digits: 0,
            sticky: false,
        };
        for b in int.bytes() {
            m.digits = m
                .digits
                .checked_mul(10)?
                .checked_add(u128::from(b - b'0'))?;
        }
        for b in frac.bytes() {
            let next = m
                .digits
                .checked_mul(10)
                .and_then(|d| d.checked_add(u128::from(b - b'0')));
            match next {
                Some(d) if !m.sticky => {
                    m.digits = d;
                    m.frac_digits += 1;
                }
                // 38 significant digits are kept; later ones can only matter for rounding.
                _ => m.sticky |= b != b'0',
            }
        }
        Some(m)
    }

    /// `digits` × 10^(exp10 - frac_digits) × 2^exp2 in nano-units, rounded up; `None` on overflow.
    /// Dropped digits (`sticky`) only exist past 38 significant digits, so either the value
    /// overflows or they lie below one nano-unit and only force the round-up.
    fn to_nanos(&self, exp10: i32, exp2: u32) -> Option<i128> {
        if self.digits == 0 {
            return Some(0);
        }
        let shift = 9 + exp10 - self.frac_digits;
        let scaled = self.digits.checked_mul(1u128.checked_shl(exp2)?)?;
        let nanos = if shift >= 0 {
            scaled.checked_mul(10u128.checked_pow(u32::try_from(shift).ok()?)?)?
        } else {
            match 10u128.checked_pow(u32::try_from(-shift).ok()?) {
                Some(d) => scaled / d + u128::from(scaled % d != 0 || self.sticky),
                // 10^-shift exceeds any u128: the value is below one nano-unit.
                None => 1,
            }
        };
        let nanos = i128::try_from(nanos).ok()?;
        (nanos <= MAX_NANOS).then_some(nanos)
    }
}

/// The suffix as (power of ten, power of two), or `None` when it is not a Kubernetes suffix.
fn parse_suffix(suffix: &str) -> Option<(i32, u32)> {
    let decimal = |e: i32| Some((e, 0));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => Some((0, 10)),
        "Mi" => Some((0, 20)),
        "Gi" => Some((0, 30)),
        "Ti" => Some((0, 40)),
        "Pi" => Some((0, 50)),
        "Ei" => Some((0, 60)),
        _ => {
            let exp = suffix.strip_prefix(['e', 'E'])?;
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 4
            {
                return None;
            }
            exp.parse::<i32>().ok().map(|e| (e, 0))
        }
    }
}

#[cfg(test)]
#[path = "quantity_tests.rs"]
mod tests;
