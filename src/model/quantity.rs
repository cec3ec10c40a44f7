//! Kubernetes resource quantities (`500m`, `1Gi`, `1.5`, `2e3`, `128974848`) as exact integers.
//!
//! A quantity is held in nano-units (10^-9 of a core or a byte) in an `i128`, so decimal and
//! binary suffixes compare exactly: `1000m` = `1`, `1Gi` = `1024Mi`, `1G` < `1Gi`. Knows nothing of
//! which object or field a quantity came from.

use serde_json::Value;
use std::cmp::Ordering;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(pub i128);

const NANO: i128 = 1_000_000_000;

impl Quantity {
    pub fn parse(s: &str) -> Option<Quantity> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        let (sign, body) = match s.as_bytes()[0] {
            b'-' => (-1i128, &s[1..]),
            b'+' => (1, &s[1..]),
            _ => (1, s),
        };
        // number part: digits with an optional decimal point
        let num_end = body
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(body.len());
        let (num, suffix) = body.split_at(num_end);
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return None;
        }
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        // value = digits * 10^(-frac_len)
        let digits = format!("{int_part}{frac_part}");
        let digits = digits.trim_start_matches('0');
        if digits.len() > 30 {
            return None;
        }
        let mantissa: i128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
        let mut exp10: i32 = -(frac_part.len() as i32);
        let mut mult2: u32 = 0;
        match suffix {
            "" => {}
            "n" => exp10 -= 9,
            "u" => exp10 -= 6,
            "m" => exp10 -= 3,
            "k" => exp10 += 3,
            "M" => exp10 += 6,
            "G" => exp10 += 9,
            "T" => exp10 += 12,
            "P" => exp10 += 15,
            "E" => exp10 += 18,
            "Ki" => mult2 = 10,
            "Mi" => mult2 = 20,
            "Gi" => mult2 = 30,
            "Ti" => mult2 = 40,
            "Pi" => mult2 = 50,
            "Ei" => mult2 = 60,
            other => {
                // decimal exponent: e3, E-3
                let e = other.strip_prefix('e').or_else(|| other.strip_prefix('E'))?;
                let n: i32 = e.parse().ok()?;
                if !(-40..=40).contains(&n) {
                    return None;
                }
                exp10 += n;
            }
        }
        // nano-units: mantissa * 10^(exp10 + 9) * 2^mult2
        let mut v = mantissa.checked_mul(1i128.checked_shl(mult2)?)?;
        let e = exp10 + 9;
        if e >= 0 {
            v = v.checked_mul(10i128.checked_pow(e as u32)?)?;
        } else {
            let d = 10i128.checked_pow((-e) as u32)?;
            // Kubernetes rounds up to the nearest nano-unit
            v = v / d + i128::from(v % d != 0);
        }
        Some(Quantity(sign * v))
    }

    pub fn from_value(v: &Value) -> Option<Quantity> {
        match v {
            Value::String(s) => Quantity::parse(s),
            Value::Number(n) => Quantity::parse(&n.to_string()),
            _ => None,
        }
    }

    pub fn from_millis(m: i128) -> Quantity {
        Quantity(m * 1_000_000)
    }
    pub fn from_bytes(b: i128) -> Quantity {
        Quantity(b * NANO)
    }
    pub fn millis(self) -> i128 {
        self.0 / 1_000_000
    }
    pub fn bytes(self) -> i128 {
        self.0 / NANO
    }
    /// CPU for humans: `250m`, `2`.
    pub fn cpu_string(self) -> String {
        let m = self.millis();
        if m % 1000 == 0 {
            format!("{}", m / 1000)
        } else {
            format!("{m}m")
        }
    }
    /// Memory for humans: `150Mi`, `1Gi`, `2.5Gi`, or bytes.
    pub fn mem_string(self) -> String {
        let b = self.bytes();
        for (suffix, shift) in [("Gi", 30), ("Mi", 20), ("Ki", 10)] {
            let unit = 1i128 << shift;
            if b >= unit && b % unit == 0 {
                return format!("{}{suffix}", b / unit);
            }
        }
        if b >= 1 << 30 {
            return format!("{:.1}Gi", b as f64 / (1u64 << 30) as f64);
        }
        if b >= 1 << 20 {
            return format!("{:.1}Mi", b as f64 / (1u64 << 20) as f64);
        }
        format!("{b}")
    }
}

impl PartialOrd<i128> for Quantity {
    fn partial_cmp(&self, other: &i128) -> Option<Ordering> {
        self.0.partial_cmp(other)
    }
}
impl PartialEq<i128> for Quantity {
    fn eq(&self, other: &i128) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}n", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Quantity as Q;

    fn q(s: &str) -> Q {
        Q::parse(s).unwrap_or_else(|| panic!("parse {s}"))
    }

    #[test]
    fn cpu_forms() {
        assert!(q("500m") < q("1"));
        assert_eq!(q("1000m"), q("1"));
        assert_eq!(q("0.5"), q("500m"));
        assert_eq!(q(".5"), q("500m"));
        assert_eq!(q("1e3"), q("1k"));
        assert_eq!(q("1E-3"), q("1m"));
        assert_eq!(q("100u"), q("100000n"));
        assert_eq!(q("2").millis(), 2000);
        assert_eq!(q("+2"), q("2"));
        assert!(q("-1") < q("0"));
    }

    #[test]
    fn memory_forms() {
        assert_eq!(q("1Gi"), q("1024Mi"));
        assert!(q("1G") < q("1Gi"));
        assert_eq!(q("1Ki").bytes(), 1024);
        assert_eq!(q("128974848"), q("123Mi"));
        assert_eq!(q("129e6"), q("129M"));
        assert_eq!(q("1Ei").bytes(), 1i128 << 60);
        assert_eq!(q("1.5Gi"), q("1536Mi"));
        assert_eq!(q("150Mi").mem_string(), "150Mi");
        assert_eq!(q("1Gi").mem_string(), "1Gi");
        assert_eq!(q("1000m").cpu_string(), "1");
        assert_eq!(q("50m").cpu_string(), "50m");
    }

    #[test]
    fn rejects_garbage() {
        for s in ["", "abc", "1.2.3", "1Xi", "m", "1e999", "--1", "1 Gi"] {
            assert!(Q::parse(s).is_none(), "{s}");
        }
        assert!(Q::from_value(&serde_json::json!(2)).is_some());
        assert!(Q::from_value(&serde_json::json!(null)).is_none());
    }
}
