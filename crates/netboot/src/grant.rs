//! Per-boot credentials: who may report events for a machine while it provisions.
//!
//! Anyone on the provisioning network can reach `POST /events`, so an event is believed only
//! when it carries the token of the machine's current boot and comes from that boot's
//! address. The token is made when the machine's iPXE script is served (it rides in the script,
//! on the booted kernel's command line as `metal.token=`), only its SHA-256 is kept, and it ends
//! with the boot (a [`ends_boot`] event) or when the next boot's script replaces it. MAAS issues
//! per-node OAuth tokens for its metadata service and Ironic an agent token for the same reason.
//!
//! Clients send it as `Authorization: Bearer TOKEN` (RFC 6750 §2.1). The token is 128 random
//! bits; a plain SHA-256 of it is enough (no password stretching: it cannot be guessed), and
//! digests are compared in constant time (`subtle`).

use std::net::IpAddr;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Random bytes in a token; written as twice as many hex digits. Kept short because iPXE's
/// multiboot command lines share one 512-byte buffer.
pub const TOKEN_BYTES: usize = 16;

/// Stages after which a boot's token is withdrawn: it is up, or it gave up.
pub const ENDING_STAGES: [&str; 3] = ["booted", "deployed", "failed"];

/// Whether an event of `stage` ends its boot.
pub fn ends_boot(stage: &str) -> bool {
    ENDING_STAGES.contains(&stage)
}

/// A fresh token, as it goes into a script. Only [`Grant`] (its digest) is kept.
pub fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// SHA-256 of a token.
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The credentials of one boot of one machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// SHA-256 of the token.
    pub token_sha256: [u8; 32],
    /// The only address events of this boot may come from.
    pub address: IpAddr,
    /// When the script carrying the token was served (Unix milliseconds).
    pub issued_ms: u64,
}

impl Grant {
    /// Whether `token` is this boot's.
    pub fn admits(&self, token: &str) -> bool {
        self.token_sha256.ct_eq(&digest(token)).into()
    }
}

/// An operator's token (for reading events), configured as its SHA-256 so the configuration
/// holds no secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperatorToken(pub [u8; 32]);

impl OperatorToken {
    /// Whether `token` is the operator's.
    pub fn admits(&self, token: &str) -> bool {
        self.0.ct_eq(&digest(token)).into()
    }
}

/// The bearer token of a request, if it has exactly one well-formed `Authorization: Bearer`.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let (scheme, token) = value.to_str().ok()?.split_once(' ')?;
    // RFC 6750 §2.1: the scheme is case-insensitive; b64token is 1*( ALPHA / DIGIT / "-" /
    // "." / "_" / "~" / "+" / "/" ) *"=".
    let token = token.trim();
    let valid = !token.is_empty()
        && token.len() <= 256
        && token
            .trim_end_matches('=')
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    (scheme.eq_ignore_ascii_case("bearer") && valid).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_grant_admits_its_token_only() {
        let token = new_token();
        assert_eq!(token.len(), 2 * TOKEN_BYTES);
        let grant = Grant {
            token_sha256: digest(&token),
            address: "127.0.0.1".parse().unwrap(),
            issued_ms: 0,
        };
        assert!(grant.admits(&token));
        assert!(!grant.admits(&new_token()));
        assert!(!grant.admits(""));
        assert_ne!(new_token(), new_token());
    }

    #[test]
    fn bearer_tokens_are_read_strictly() {
        let with = |values: &[&str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            }
            bearer(&h).map(str::to_string)
        };
        assert_eq!(with(&["Bearer abc123"]).as_deref(), Some("abc123"));
        assert_eq!(with(&["bearer abc="]).as_deref(), Some("abc="));
        assert_eq!(with(&[]), None);
        assert_eq!(with(&["Basic abc"]), None);
        assert_eq!(with(&["Bearer "]), None);
        assert_eq!(with(&["Bearer a b"]), None);
        assert_eq!(with(&["Bearer a", "Bearer b"]), None, "two tokens");
    }
}
