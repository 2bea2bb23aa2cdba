//! MAC addresses, parsed from the forms AMT and operators use.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 48-bit Ethernet address. Displays as lowercase colon-separated hex (`00:be:43:d8:22:a4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

/// A string that is not a MAC address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a MAC address: {0:?} (expected six hex pairs separated by ':' or '-')")]
pub struct MacParseError(pub String);

impl FromStr for MacAddr {
    type Err = MacParseError;

    /// Accepts `00:be:43:d8:22:a4`, `00-BE-43-D8-22-A4` (AMT_EthernetPortSettings.MACAddress
    /// is dash-separated) and bare `00be43d822a4`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || MacParseError(s.to_string());
        let hex: String = s.chars().filter(|c| *c != ':' && *c != '-').collect();
        let separators = s.len() - hex.len();
        if hex.len() != 12 || !(separators == 0 || separators == 5) {
            return Err(err());
        }
        let mut out = [0u8; 6];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or_else(err)?, 16)
                .map_err(|_| err())?;
        }
        Ok(MacAddr(out))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_amt_and_colon_forms() {
        let a: MacAddr = "00-be-43-d8-22-a4".parse().unwrap();
        let b: MacAddr = "00:BE:43:D8:22:A4".parse().unwrap();
        let c: MacAddr = "00be43d822a4".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(a.to_string(), "00:be:43:d8:22:a4");
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "00:be:43:d8:22",
            "zz:be:43:d8:22:a4",
            "00:be:43:d8:22:a4:ff",
            "00:be43:d8:22:a4",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad} parsed");
        }
    }
}
