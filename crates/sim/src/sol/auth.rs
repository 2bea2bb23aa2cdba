//! AuthenticateSession on the redirection port (amt-protocol.md §2c): the method query,
//! plain user/password (firmware before AMT 11, issue 3) and RFC 2617 digest carried in
//! length-prefixed strings. Wrong credentials count towards the same lockout as `/wsman`
//! (amt-protocol.md §2b), and an empty digest response is a failure (CVE-2017-5689).

use std::time::Instant;

use crate::board::Board;
use crate::digest::{Lockout, md5_hex, random_nonce};
use crate::events::{SimEvent, SolAuth};

use super::wire::{auth_reply, put_strings, strings};

/// Auth type 0: list the methods.
pub(crate) const METHOD_QUERY: u8 = 0;
/// Auth type 1: user name and password in clear.
pub(crate) const METHOD_PLAIN: u8 = 1;
/// Auth type 4: RFC 2617 digest.
pub(crate) const METHOD_DIGEST: u8 = 4;
/// Reply status: success.
const STATUS_OK: u8 = 0;
/// Reply status of a digest challenge: "continue" (amt-protocol.md §2c).
const STATUS_CONTINUE: u8 = 1;
/// Reply status of a refusal. No capture of a failed reply exists in the sources; 1 already
/// means "continue" in the digest exchange, so the simulator uses 2.
pub(crate) const STATUS_FAILED: u8 = 2;
/// The digest `uri` of the redirection service.
const DIGEST_URI: &str = "/RedirectionService";

/// What to do after one AuthenticateSession message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Send the reply and wait for the next message.
    Reply(Vec<u8>),
    /// Send the reply: the client is authenticated.
    Done(Vec<u8>, SolAuth),
    /// Send the reply and close the connection.
    Refuse(Vec<u8>, &'static str),
}

/// The authentication exchange of one connection.
#[derive(Debug, Default)]
pub(crate) struct Authenticator {
    /// The nonce of the digest challenge sent on this connection.
    nonce: Option<String>,
}

impl Authenticator {
    /// Answers one AuthenticateSession message of auth type `method`.
    pub(crate) fn step(&mut self, board: &Board, method: u8, data: &[u8]) -> Step {
        let offered = board.cfg.profile.redirection_auth_methods();
        if method == METHOD_QUERY {
            return Step::Reply(auth_reply(STATUS_OK, METHOD_QUERY, offered));
        }
        let refuse = |why| Step::Refuse(auth_reply(STATUS_FAILED, method, &[]), why);
        if !offered.contains(&method) {
            return refuse("authentication method not offered");
        }
        match method {
            METHOD_PLAIN => match strings(data, 2).as_deref() {
                Some([user, password]) => {
                    let good = *user == board.cfg.user && *password == board.cfg.password;
                    self.finish(board, good, method, SolAuth::Plain)
                }
                _ => refuse("malformed plain authentication"),
            },
            _ => self.digest(board, data),
        }
    }

    /// Digest: step 1 (no nonce, no response) gets a challenge; step 2 is checked as
    /// `MD5(HA1:nonce:nc:cnonce:qop:MD5("POST:/RedirectionService"))`.
    fn digest(&mut self, board: &Board, data: &[u8]) -> Step {
        let refuse = |why| Step::Refuse(auth_reply(STATUS_FAILED, METHOD_DIGEST, &[]), why);
        let Some(f) = strings(data, 8) else {
            return refuse("malformed digest authentication");
        };
        let [user, realm, nonce, uri, cnonce, nc, response, qop] = f.as_slice() else {
            return refuse("malformed digest authentication");
        };
        if nonce.is_empty() && response.is_empty() {
            let fresh = random_nonce();
            let challenge = put_strings(&[&board.id.realm, &fresh, "auth"]);
            self.nonce = Some(fresh);
            return Step::Reply(auth_reply(STATUS_CONTINUE, METHOD_DIGEST, &challenge));
        }
        if self.nonce.as_deref() != Some(nonce.as_str()) || uri != DIGEST_URI || qop != "auth" {
            return refuse("digest nonce, uri or qop not as challenged");
        }
        let ha1 = md5_hex(&format!(
            "{}:{}:{}",
            board.cfg.user, board.id.realm, board.cfg.password
        ));
        let ha2 = md5_hex(&format!("POST:{DIGEST_URI}"));
        let expected = md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}"));
        // An empty response never matches (CVE-2017-5689 / INTEL-SA-00075).
        let good = *user == board.cfg.user
            && *realm == board.id.realm
            && !response.is_empty()
            && response.eq_ignore_ascii_case(&expected);
        self.nonce = None;
        self.finish(board, good, METHOD_DIGEST, SolAuth::Digest)
    }

    /// Applies the lockout: a locked account is refused whatever the credentials.
    fn finish(&self, board: &Board, good: bool, method: u8, how: SolAuth) -> Step {
        let policy = Lockout {
            threshold: board.cfg.lockout_threshold,
            duration: board.cfg.lockout,
        };
        let now = Instant::now();
        let mut st = board.lock();
        if st.auth.locked(now) {
            return Step::Refuse(auth_reply(STATUS_FAILED, method, &[]), "account locked");
        }
        if good {
            st.auth.record_success();
            return Step::Done(auth_reply(STATUS_OK, method, &[]), how);
        }
        let locked_now = st.auth.record_failure(now, policy);
        drop(st);
        if locked_now {
            let _ = board.events.send(SimEvent::Locked { ip: board.ip });
        }
        Step::Refuse(
            auth_reply(STATUS_FAILED, method, &[]),
            "wrong user name or password",
        )
    }
}
