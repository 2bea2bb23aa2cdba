//! A domain name as an operator gives it (`--zone host.h`, `--ns ns`), checked before it
//! reaches a zone file or an RFC 2136 update.
//!
//! RFC 1035 §2.3.1 (preferred name syntax) as relaxed by RFC 1123 §2.1 (a label may start
//! with a digit): labels of 1–63 letters, digits and hyphens, neither starting nor ending with
//! a hyphen, at most 253 characters in all (RFC 1035 §2.3.4: 255 octets on the wire). So no
//! space, newline, `$`, `;`, `(` or `@` can ever end a record or start a directive
//! (`$INCLUDE`, `$ORIGIN`) in a master file (RFC 1035 §5.1).

use std::fmt;
use std::str::FromStr;

/// A checked domain name: lower case, without the final dot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DnsName(String);

/// Why a string is not a [`DnsName`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{shown} is not a domain name: {why}")]
pub struct DnsNameError {
    shown: String,
    why: &'static str,
}

/// Whether `label` is one label of the preferred syntax.
pub fn valid_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

impl FromStr for DnsName {
    type Err = DnsNameError;

    fn from_str(s: &str) -> Result<DnsName, DnsNameError> {
        let bad = |why| DnsNameError {
            shown: format!("{:?}", crate::text::board_text(s)),
            why,
        };
        let name = s.strip_suffix('.').unwrap_or(s);
        if name.is_empty() {
            return Err(bad("it is empty"));
        }
        if name.len() > 253 {
            return Err(bad("longer than 253 characters"));
        }
        if !name.split('.').all(valid_label) {
            return Err(bad(
                "each label is 1-63 letters, digits or '-', not starting or ending with '-'",
            ));
        }
        Ok(DnsName(name.to_ascii_lowercase()))
    }
}

impl DnsName {
    /// The name, lower case, without the final dot.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_preferred_syntax() {
        for good in ["host.h", "Host.H.", "r01-h01", "1and1.example", "a"] {
            let name: DnsName = good.parse().unwrap();
            assert_eq!(
                name.as_str(),
                good.trim_end_matches('.').to_ascii_lowercase()
            );
        }
        for bad in [
            "",
            ".",
            "host..h",
            "-host.h",
            "host-.h",
            "host h",
            "host.h\n$INCLUDE /etc/shadow",
            "@",
            "a;b",
            "x_y",
            &"a".repeat(64),
            &format!("{}.h", ["abcdefgh"; 30].join(".")),
        ] {
            assert!(bad.parse::<DnsName>().is_err(), "{bad:?}");
        }
        let err = "host.h\n$INCLUDE x"
            .parse::<DnsName>()
            .unwrap_err()
            .to_string();
        assert!(!err.contains('\n'), "{err}");
    }
}
