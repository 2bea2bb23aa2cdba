//! How figures are written on the pages. Load that is not known is "unknown", never 0.

use std::time::{Duration, UNIX_EPOCH};

/// A figure, given by value or by reference (templates hand out both).
pub trait Figure<T> {
    fn value(self) -> T;
}

impl<T: Copy> Figure<T> for T {
    fn value(self) -> T {
        self
    }
}

impl<T: Copy> Figure<T> for &T {
    fn value(self) -> T {
        *self
    }
}

/// A busy share (0..1) as a whole percentage.
pub fn pct(share: impl Figure<f64>) -> String {
    let share = share.value();
    format!("{:.0}%", (share * 100.0).clamp(0.0, 100.0))
}

/// Bytes in binary units.
pub fn bytes(n: impl Figure<u64>) -> String {
    let n = n.value();
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// MiB in binary units.
pub fn mib(n: impl Figure<u64>) -> String {
    bytes(n.value().saturating_mul(1 << 20))
}

/// A rate in bytes per second.
pub fn rate(bps: impl Figure<f64>) -> String {
    let bps = bps.value();
    let n = if bps.is_finite() && bps > 0.0 {
        bps as u64
    } else {
        0
    };
    format!("{}/s", bytes(n))
}

/// Unix milliseconds as UTC, to the second.
pub fn time(at_ms: impl Figure<i64>) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(at_ms.value()).unwrap_or(0));
    humantime::format_rfc3339_seconds(at).to_string()
}

/// Used memory of a Dom0's host: "used / total".
pub fn memory(total_mib: impl Figure<u64>, free_mib: impl Figure<u64>) -> String {
    let (total, free) = (total_mib.value(), free_mib.value());
    format!("{} / {}", mib(total.saturating_sub(free)), mib(total))
}

/// A path segment with everything but unreserved characters percent-encoded (RFC 3986 §2.3).
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_as_an_operator_expects() {
        assert_eq!(pct(0.424), "42%");
        assert_eq!(pct(7.0), "100%");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(8 << 30), "8.0 GiB");
        assert_eq!(mib(1536), "1.5 GiB");
        assert_eq!(rate(f64::NAN), "0 B/s");
        assert_eq!(time(0), "1970-01-01T00:00:00Z");
        assert_eq!(memory(4096, 1024), "3.0 GiB / 4.0 GiB");
    }
}
