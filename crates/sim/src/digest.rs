//! HTTP Digest access authentication, server side (RFC 2617 §3, qop=auth, MD5), with AMT's
//! habits: the challenge layout of real firmware, pre-emptive reuse of a nonce with a growing
//! `nc`, and an account lockout after repeated failures (amt-protocol.md §2b).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use md5::{Digest, Md5};
use rand::Rng;

/// Nonces remembered per board; the oldest is forgotten first.
const MAX_NONCES: usize = 256;

/// Per-board authentication state.
#[derive(Debug, Default)]
pub(crate) struct AuthState {
    /// Issued nonce -> highest `nc` accepted so far (0 = never used).
    nonces: HashMap<String, u32>,
    order: VecDeque<String>,
    /// Consecutive failed attempts.
    failures: u32,
    locked_until: Option<Instant>,
}

/// The credentials a board accepts.
pub(crate) struct Credentials<'a> {
    pub user: &'a str,
    pub password: &'a str,
    pub realm: &'a str,
}

/// Lockout policy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lockout {
    pub threshold: u32,
    pub duration: Duration,
}

/// The verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Valid credentials, fresh `nc`.
    Accepted,
    /// Answer 401. `stale` = the credentials were right but the nonce or `nc` was not
    /// (RFC 2617 §3.2.1). `locked_now` = this failure locked the account.
    Challenge { stale: bool, locked_now: bool },
}

const REJECT: Verdict = Verdict::Challenge {
    stale: false,
    locked_now: false,
};
const STALE: Verdict = Verdict::Challenge {
    stale: true,
    locked_now: false,
};

/// A fresh nonce: 32 characters of the base64 alphabet, like AMT's (amt-protocol.md §2b).
pub(crate) fn random_nonce() -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = rand::rng();
    (0..32)
        .map(|_| B64[rng.random_range(0..B64.len())] as char)
        .collect()
}

pub(crate) fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

/// Splits the parameters of a `Digest` credentials header (RFC 2617 §3.2.2). Values may be
/// quoted (with `\` escapes) or bare tokens. Returns `None` for anything unparseable.
pub(crate) fn parse_header(header: &str) -> Option<HashMap<String, String>> {
    let (scheme, rest) = header.trim_start().split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("Digest") {
        return None;
    }
    let mut params = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
        if chars.peek().is_none() {
            return Some(params);
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ','))
            .collect::<String>()
            .trim()
            .to_ascii_lowercase();
        if chars.next() != Some('=') || key.is_empty() {
            return None;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let value = if chars.next_if_eq(&'"').is_some() {
            let mut v = String::new();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => v.push(chars.next()?),
                    c => v.push(c),
                }
            }
            v
        } else {
            std::iter::from_fn(|| chars.next_if(|c| *c != ','))
                .collect::<String>()
                .trim()
                .to_string()
        };
        params.insert(key, value);
    }
}

impl AuthState {
    /// Issues a fresh nonce for `/wsman` and remembers it for `nc` tracking.
    pub(crate) fn new_nonce(&mut self) -> String {
        let nonce = random_nonce();
        if self.order.len() >= MAX_NONCES
            && let Some(old) = self.order.pop_front()
        {
            self.nonces.remove(&old);
        }
        self.order.push_back(nonce.clone());
        self.nonces.insert(nonce.clone(), 0);
        nonce
    }

    /// Whether the account is locked at `now`.
    pub(crate) fn locked(&mut self, now: Instant) -> bool {
        match self.locked_until {
            Some(until) if now < until => true,
            Some(_) => {
                self.locked_until = None;
                false
            }
            None => false,
        }
    }

    /// Counts one failed login made over another channel (the redirection port); true when
    /// this failure locked the account.
    pub(crate) fn record_failure(&mut self, now: Instant, policy: Lockout) -> bool {
        matches!(
            self.fail(now, policy),
            Verdict::Challenge {
                locked_now: true,
                ..
            }
        )
    }

    /// A successful login over another channel ends the run of failures.
    pub(crate) fn record_success(&mut self) {
        self.failures = 0;
    }

    fn fail(&mut self, now: Instant, policy: Lockout) -> Verdict {
        self.failures += 1;
        if policy.threshold > 0 && self.failures >= policy.threshold {
            self.failures = 0;
            self.locked_until = Some(now + policy.duration);
            return Verdict::Challenge {
                stale: false,
                locked_now: true,
            };
        }
        REJECT
    }

    /// Checks the `Authorization` header of a `method` request.
    ///
    /// Failed attempts (counted towards the lockout) are: a wrong user name, a wrong
    /// response, and an empty `response=""` (CVE-2017-5689 / INTEL-SA-00075, which AMT
    /// 6.0–11.6 wrongly accepted). Not counted: no header, an unparseable header, a digest
    /// `uri` other than `/wsman`, a qop other than `auth`, and stale nonces or replayed `nc`.
    /// While the account is locked every request is refused without further counting.
    pub(crate) fn verify(
        &mut self,
        header: Option<&str>,
        method: &str,
        creds: &Credentials<'_>,
        policy: Lockout,
        now: Instant,
    ) -> Verdict {
        let Some(p) = header.and_then(parse_header) else {
            return REJECT;
        };
        let field = |k: &str| p.get(k).map(String::as_str);
        if self.locked(now) {
            return REJECT;
        }
        if field("response") == Some("") {
            return self.fail(now, policy);
        }
        let (
            Some(user),
            Some(realm),
            Some(nonce),
            Some(uri),
            Some(response),
            Some(qop),
            Some(nc),
            Some(cnonce),
        ) = (
            field("username"),
            field("realm"),
            field("nonce"),
            field("uri"),
            field("response"),
            field("qop"),
            field("nc"),
            field("cnonce"),
        )
        else {
            return REJECT;
        };
        let algorithm_ok = field("algorithm").is_none_or(|a| a.eq_ignore_ascii_case("MD5"));
        let nc_value = u32::from_str_radix(nc, 16).ok().filter(|_| nc.len() == 8);
        let (true, "/wsman", "auth", Some(nc_value)) = (algorithm_ok, uri, qop, nc_value) else {
            return REJECT;
        };
        // RFC 2617 §3.2.2.1: request-digest = KD(H(A1), nonce ":" nc ":" cnonce ":" qop ":" H(A2))
        let ha1 = md5_hex(&format!(
            "{}:{}:{}",
            creds.user, creds.realm, creds.password
        ));
        let ha2 = md5_hex(&format!("{method}:{uri}"));
        let expected = md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}"));
        if user != creds.user || realm != creds.realm || !response.eq_ignore_ascii_case(&expected) {
            return self.fail(now, policy);
        }
        self.failures = 0;
        match self.nonces.get_mut(nonce) {
            Some(last) if nc_value > *last => {
                *last = nc_value;
                Verdict::Accepted
            }
            _ => STALE,
        }
    }
}

/// The `WWW-Authenticate` value of a 401, spaced exactly as AMT spaces it: `", "` after the
/// realm, `","` elsewhere (amt-protocol.md §2b). Without `qop` it is the RFC 2069-style
/// challenge no AMT sends ([`crate::Fault::DigestWithoutQop`]).
pub(crate) fn challenge(realm: &str, nonce: &str, stale: bool, qop: bool) -> String {
    let qop = if qop { ",qop=\"auth\"" } else { "" };
    format!("Digest realm=\"{realm}\", nonce=\"{nonce}\",stale=\"{stale}\"{qop}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREDS: Credentials<'static> = Credentials {
        user: "admin",
        password: "pw",
        realm: "Digest:00",
    };
    const POLICY: Lockout = Lockout {
        threshold: 3,
        duration: Duration::from_secs(60),
    };

    fn header(nonce: &str, nc: &str, password: &str) -> String {
        let ha1 = md5_hex(&format!("admin:Digest:00:{password}"));
        let ha2 = md5_hex("POST:/wsman");
        let resp = md5_hex(&format!("{ha1}:{nonce}:{nc}:c1:auth:{ha2}"));
        format!(
            "Digest username=\"admin\", realm=\"Digest:00\", nonce=\"{nonce}\", uri=\"/wsman\", response=\"{resp}\", qop=auth, nc={nc}, cnonce=\"c1\""
        )
    }

    #[test]
    fn parses_quoted_and_bare_values() {
        let p = parse_header(r#"Digest a="x, y",b=tok , c="q\"d""#).unwrap();
        assert_eq!(p["a"], "x, y");
        assert_eq!(p["b"], "tok");
        assert_eq!(p["c"], "q\"d");
        assert!(parse_header("Basic abc").is_none());
        assert!(parse_header("Digest a=\"unterminated").is_none());
    }

    #[test]
    fn nonce_reuse_replay_and_lockout() {
        let now = Instant::now();
        let mut st = AuthState::default();
        let n = st.new_nonce();
        assert_eq!(n.len(), 32);
        let ok = |st: &mut AuthState, nc: &str| {
            st.verify(Some(&header(&n, nc, "pw")), "POST", &CREDS, POLICY, now)
        };
        assert_eq!(ok(&mut st, "00000001"), Verdict::Accepted);
        assert_eq!(ok(&mut st, "00000002"), Verdict::Accepted);
        assert_eq!(ok(&mut st, "00000002"), STALE);
        let bad = header(&n, "00000009", "wrong");
        for _ in 0..2 {
            assert_eq!(st.verify(Some(&bad), "POST", &CREDS, POLICY, now), REJECT);
        }
        assert!(matches!(
            st.verify(Some(&bad), "POST", &CREDS, POLICY, now),
            Verdict::Challenge {
                locked_now: true,
                ..
            }
        ));
        assert_eq!(ok(&mut st, "00000010"), REJECT);
        let later = now + Duration::from_secs(61);
        let h = header(&n, "00000011", "pw");
        assert_eq!(
            st.verify(Some(&h), "POST", &CREDS, POLICY, later),
            Verdict::Accepted
        );
    }
}
