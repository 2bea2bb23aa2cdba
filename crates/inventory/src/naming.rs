//! Hostname schemes and address pools: the pure part of allocation. The store calls these
//! inside its allocation transaction with the names and addresses already taken.

use std::collections::HashSet;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::Error;

/// The default hostname scheme: rack name, `-h`, slot number with at least two digits.
pub const DEFAULT_SCHEME: &str = "{rack}-h{n:02}";

/// A hostname scheme: literal text with `{rack}` and `{n}` (or `{n:0W}`, zero-padded to W
/// digits) placeholders, e.g. `{rack}-h{n:02}` → `r01-h07`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheme(Vec<Part>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Rack,
    Number { width: usize },
}

impl Scheme {
    /// Parses a scheme; it must contain `{n}` so that names differ.
    pub fn parse(scheme: &str) -> Result<Scheme, Error> {
        let bad = |why: &str| Error::Invalid(format!("hostname scheme {scheme:?}: {why}"));
        let mut parts = Vec::new();
        let mut rest = scheme;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let close = rest[open..].find('}').ok_or_else(|| bad("unclosed '{'"))?;
            let field = &rest[open + 1..open + close];
            parts.push(match field {
                "rack" => Part::Rack,
                "n" => Part::Number { width: 1 },
                f => match f.strip_prefix("n:0").map(str::parse::<usize>) {
                    Some(Ok(width)) if (1..=6).contains(&width) => Part::Number { width },
                    _ => return Err(bad(&format!("unknown placeholder {{{f}}}"))),
                },
            });
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        if !parts.iter().any(|p| matches!(p, Part::Number { .. })) {
            return Err(bad("needs {n} (the slot number) so that names differ"));
        }
        let sample = Scheme(parts.clone()).name("r", 1);
        if !valid_label(&sample) {
            return Err(bad(
                "does not give a valid DNS label (letters, digits, '-')",
            ));
        }
        Ok(Scheme(parts))
    }

    /// The name of slot `n` in `rack`.
    pub fn name(&self, rack: &str, n: i64) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Rack => rack.to_string(),
                Part::Number { width } => format!("{n:0width$}"),
            })
            .collect()
    }
}

/// Whether `s` is one DNS label as hostnames use them (RFC 1123 §2.1).
pub use metal_types::dns_name::valid_label;

/// The lowest slot number (from 1) not in `taken`.
pub fn free_slot(taken: &HashSet<i64>) -> i64 {
    (1..).find(|n| !taken.contains(n)).unwrap_or(1)
}

/// Parses a pool.
pub fn parse_pool(pool: &str) -> Result<IpNet, Error> {
    pool.parse::<IpNet>()
        .map_err(|e| Error::Invalid(format!("address pool {pool:?}: {e}")))
}

/// The lowest host address of `pool` not in `taken`, or `None` when the pool is full.
pub fn free_address(pool: &IpNet, taken: &HashSet<IpAddr>) -> Option<IpAddr> {
    pool.hosts().find(|a| !taken.contains(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        let s = Scheme::parse(DEFAULT_SCHEME).unwrap();
        assert_eq!(s.name("r01", 7), "r01-h07");
        assert_eq!(s.name("r01", 123), "r01-h123");
        assert_eq!(
            Scheme::parse("hardware{n:02}").unwrap().name("x", 1),
            "hardware01"
        );
        for bad in ["{rack}", "{rack}-{x}", "{n", "a_b{n}", "-{n}"] {
            assert!(Scheme::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn allocation_takes_the_lowest_free() {
        let pool = parse_pool("10.0.0.0/30").unwrap();
        let mut taken = HashSet::new();
        let a = free_address(&pool, &taken).unwrap();
        assert_eq!(a.to_string(), "10.0.0.1");
        taken.insert(a);
        let b = free_address(&pool, &taken).unwrap();
        assert_eq!(b.to_string(), "10.0.0.2");
        taken.insert(b);
        assert_eq!(free_address(&pool, &taken), None);
        let slots: HashSet<i64> = [1, 2, 4].into();
        assert_eq!(free_slot(&slots), 3);
        assert!(parse_pool("10.0.0.0/33").is_err());
    }
}
