//! Target specifications: what a command acts on.
//!
//! A target is an IP address, a CIDR block, an inventory hostname, `rack:NAME` or `all`
//! (ARCHITECTURE.md, "CLI contract"). Addresses and blocks need no inventory; names, racks and
//! `all` are resolved by the inventory.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// One target as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A single address.
    Ip(IpAddr),
    /// Every host address of a block (network and broadcast excluded for IPv4 prefixes < 31).
    Cidr(IpNet),
    /// `rack:NAME`.
    Rack(String),
    /// `all`.
    All,
    /// A hostname recorded in the inventory.
    Name(String),
}

/// A target that cannot be parsed or expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("empty target")]
    Empty,
    #[error("invalid target {0:?}: {1}")]
    Invalid(String, String),
    #[error("target {0} expands to {1} addresses, more than the limit of {2}")]
    TooLarge(String, u128, u128),
}

/// The largest block a CIDR target may expand to (a /16 of IPv4).
pub const MAX_CIDR_HOSTS: u128 = 65_536;

impl FromStr for Target {
    type Err = TargetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(TargetError::Empty);
        }
        if s == "all" {
            return Ok(Self::All);
        }
        if let Some(rack) = s.strip_prefix("rack:") {
            if rack.is_empty() {
                return Err(TargetError::Invalid(s.into(), "rack name is empty".into()));
            }
            return Ok(Self::Rack(rack.to_string()));
        }
        if s.contains('/') {
            let net: IpNet = s
                .parse()
                .map_err(|e| TargetError::Invalid(s.into(), format!("{e}")))?;
            let size = host_count(&net);
            if size > MAX_CIDR_HOSTS {
                return Err(TargetError::TooLarge(s.into(), size, MAX_CIDR_HOSTS));
            }
            return Ok(Self::Cidr(net));
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Self::Ip(ip));
        }
        if s.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Err(TargetError::Invalid(
                s.into(),
                "not a valid IPv4 address".into(),
            ));
        }
        let valid_name = s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        if !valid_name || s.len() > 253 {
            return Err(TargetError::Invalid(
                s.into(),
                "not an IP address, CIDR, rack:NAME, all, or hostname".into(),
            ));
        }
        Ok(Self::Name(s.to_string()))
    }
}

fn host_count(net: &IpNet) -> u128 {
    let bits = net.max_prefix_len() - net.prefix_len();
    if bits >= 127 {
        u128::MAX
    } else {
        1u128 << bits
    }
}

impl Target {
    /// Parses a comma-separated list (`10.0.0.1,10.0.0.2,10.0.1.0/28`).
    pub fn parse_list(s: &str) -> Result<Vec<Target>, TargetError> {
        s.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(str::parse)
            .collect()
    }

    /// The addresses of an address or block target; `None` for targets the inventory resolves.
    pub fn addresses(&self) -> Option<Vec<IpAddr>> {
        match self {
            Self::Ip(ip) => Some(vec![*ip]),
            Self::Cidr(net) => Some(net.hosts().collect()),
            _ => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(ip) => write!(f, "{ip}"),
            Self::Cidr(net) => write!(f, "{net}"),
            Self::Rack(r) => write!(f, "rack:{r}"),
            Self::All => f.write_str("all"),
            Self::Name(n) => f.write_str(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(
            "127.0.10.5".parse::<Target>().unwrap(),
            Target::Ip("127.0.10.5".parse().unwrap())
        );
        assert!(matches!(
            "127.0.10.0/26".parse::<Target>().unwrap(),
            Target::Cidr(_)
        ));
        assert_eq!(
            "rack:r01".parse::<Target>().unwrap(),
            Target::Rack("r01".into())
        );
        assert_eq!("all".parse::<Target>().unwrap(), Target::All);
        assert_eq!(
            "node01.lab".parse::<Target>().unwrap(),
            Target::Name("node01.lab".into())
        );
    }

    #[test]
    fn cidr_expands_to_hosts_only() {
        let t: Target = "127.0.10.0/26".parse().unwrap();
        let addrs = t.addresses().unwrap();
        assert_eq!(addrs.len(), 62);
        assert_eq!(addrs[0].to_string(), "127.0.10.1");
        assert_eq!(addrs[61].to_string(), "127.0.10.62");
    }

    #[test]
    fn rejects_bad_targets() {
        for bad in [
            "",
            "rack:",
            "300.1.1.1",
            "10.0.0.0/33",
            "no_underscores",
            "10.0.0.0/8",
        ] {
            assert!(bad.parse::<Target>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn lists() {
        let l = Target::parse_list("127.0.0.1, 127.0.0.2,rack:a").unwrap();
        assert_eq!(l.len(), 3);
    }
}
