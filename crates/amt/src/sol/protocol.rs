//! The AMT redirection protocol's messages, as bytes (Serial-over-LAN only).
//!
//! Layout from amt-protocol.md §2c (sources: kraxel/amtterm `RedirectionConstants.h` and
//! `redir.c`, MeshCommander `amt-redir-node-0.1.0.js`, captures in MeshCommander issue #24).
//! Integers are little-endian. Strings inside authentication messages are prefixed by a
//! one-byte length. Every function here is pure, so the framing can be tested byte for byte
//! and fuzzed without sockets.

/// Client → board message types.
pub const START_REDIRECTION_SESSION: u8 = 0x10;
pub const END_REDIRECTION_SESSION: u8 = 0x12;
pub const AUTHENTICATE_SESSION: u8 = 0x13;
pub const START_SOL_REDIRECTION: u8 = 0x20;
pub const END_SOL_REDIRECTION: u8 = 0x22;
pub const SOL_DATA_TO_HOST: u8 = 0x28;
/// Board → client message types.
pub const START_REDIRECTION_SESSION_REPLY: u8 = 0x11;
pub const AUTHENTICATE_SESSION_REPLY: u8 = 0x14;
pub const START_SOL_REDIRECTION_REPLY: u8 = 0x21;
pub const END_SOL_REDIRECTION_REPLY: u8 = 0x23;
pub const SOL_CONTROLS_FROM_HOST: u8 = 0x29;
pub const SOL_DATA_FROM_HOST: u8 = 0x2A;
/// Sent by either side.
pub const KEEPALIVE_PING: u8 = 0x24;
pub const HEARTBEAT: u8 = 0x2B;

/// Authentication types (the AuthenticateSession "auth type" byte).
pub const AUTH_QUERY: u8 = 0;
pub const AUTH_PLAIN: u8 = 1;
pub const AUTH_DIGEST: u8 = 4;

/// The URI the redirection digest is computed over.
pub const DIGEST_URI: &str = "/RedirectionService";
/// The nonce count amtterm and MeshCommander send in the single digest answer.
pub const DIGEST_NC: &str = "00000002";
/// Largest SOL payload we announce we can take in one frame (MaxTxBuffer).
pub const MAX_TX_BUFFER: u16 = 10_000;
/// Largest frame we accept from a board: a data header plus a u16 length of payload.
pub const MAX_FRAME: usize = 10 + u16::MAX as usize;

/// StartRedirectionSession for SOL: `10 00 00 00 "SOL "`.
pub fn start_session() -> Vec<u8> {
    vec![START_REDIRECTION_SESSION, 0, 0, 0, b'S', b'O', b'L', b' ']
}

/// AuthenticateSession asking for the supported methods: `13 00 00 00 00 00 00 00 00`.
pub fn auth_query() -> Vec<u8> {
    vec![AUTHENTICATE_SESSION, 0, 0, 0, AUTH_QUERY, 0, 0, 0, 0]
}

fn auth_message(kind: u8, fields: &[&[u8]]) -> Vec<u8> {
    let data: Vec<u8> = fields
        .iter()
        .flat_map(|f| std::iter::once(f.len() as u8).chain(f.iter().copied()))
        .collect();
    let mut out = vec![AUTHENTICATE_SESSION, 0, 0, 0, kind];
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    out
}

/// Longest user name, password or digest field a one-byte length prefix can carry.
pub const MAX_FIELD: usize = 255;

/// Plain authentication (type 1): user and password, each length-prefixed. Only firmware
/// before AMT 11 accepts it.
pub fn auth_plain(user: &str, password: &str) -> Vec<u8> {
    auth_message(AUTH_PLAIN, &[user.as_bytes(), password.as_bytes()])
}

/// Digest step 1: the user and URI with the other fields empty
/// (`[u]user 00 00 [n]"/RedirectionService" 00 00 00 00`).
pub fn auth_digest_start(user: &str) -> Vec<u8> {
    auth_message(
        AUTH_DIGEST,
        &[
            user.as_bytes(),
            b"",
            b"",
            DIGEST_URI.as_bytes(),
            b"",
            b"",
            b"",
            b"",
        ],
    )
}

/// The digest challenge the board sends after step 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub qop: String,
}

/// RFC 2617 §3.2.2.1 response over the redirection URI with qop `auth`.
pub fn digest_response(user: &str, password: &str, challenge: &Challenge, cnonce: &str) -> String {
    use md5::{Digest, Md5};
    let md5 = |s: String| hex::encode(Md5::digest(s.as_bytes()));
    let ha1 = md5(format!("{user}:{}:{password}", challenge.realm));
    let ha2 = md5(format!("POST:{DIGEST_URI}"));
    md5(format!(
        "{ha1}:{}:{DIGEST_NC}:{cnonce}:{}:{ha2}",
        challenge.nonce, challenge.qop
    ))
}

/// Digest step 2: user, realm, nonce, URI, cnonce, nc, response, qop, each length-prefixed.
pub fn auth_digest_answer(
    user: &str,
    challenge: &Challenge,
    cnonce: &str,
    response: &str,
) -> Vec<u8> {
    auth_message(
        AUTH_DIGEST,
        &[
            user.as_bytes(),
            challenge.realm.as_bytes(),
            challenge.nonce.as_bytes(),
            DIGEST_URI.as_bytes(),
            cnonce.as_bytes(),
            DIGEST_NC.as_bytes(),
            response.as_bytes(),
            challenge.qop.as_bytes(),
        ],
    )
}

/// StartSOLRedirection: sequence 0, MaxTxBuffer, TxTimeout 100 ms, TxOverflowTimeout 0,
/// RxTimeout 10 s, RxFlushTimeout 100 ms, Heartbeat interval, 4 reserved bytes (24 bytes).
pub fn start_sol(heartbeat_ms: u16) -> Vec<u8> {
    let mut out = vec![START_SOL_REDIRECTION, 0, 0, 0];
    out.extend_from_slice(&0u32.to_le_bytes());
    for v in [MAX_TX_BUFFER, 100, 0, 10_000, 100, heartbeat_ms] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&[0, 0, 0, 0]);
    out
}

/// SOL data to the host's serial port.
pub fn data_to_host(sequence: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![SOL_DATA_TO_HOST, 0, 0, 0];
    out.extend_from_slice(&sequence.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// An 8-byte message of a type that carries only a sequence number (heartbeat, close).
pub fn sequenced(kind: u8, sequence: u32) -> Vec<u8> {
    let mut out = vec![kind, 0, 0, 0];
    out.extend_from_slice(&sequence.to_le_bytes());
    out
}

/// EndRedirectionSession: `12 00 00 00`.
pub fn end_session() -> Vec<u8> {
    vec![END_REDIRECTION_SESSION, 0, 0, 0]
}

/// A message from the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// StartRedirectionSessionReply: status (0 ok, 2 busy, 3 unsupported, 0xFF error) and
    /// firmware major.minor.
    SessionReply {
        status: u8,
        major: u8,
        minor: u8,
    },
    /// AuthenticateSessionReply: status (0 ok, 1 continue, else failure), auth type, data.
    AuthReply {
        status: u8,
        kind: u8,
        data: Vec<u8>,
    },
    /// StartSOLRedirectionReply: status 0 ok.
    SolReply {
        status: u8,
    },
    /// Serial output of the host.
    Data {
        sequence: u32,
        payload: Vec<u8>,
    },
    /// Line-control status from the host (bit 2 = 4: system powered on).
    Controls {
        sequence: u32,
        control: u8,
        status: u8,
    },
    Heartbeat {
        sequence: u32,
    },
    KeepAlive {
        sequence: u32,
    },
    EndSolReply,
}

/// Why bytes from a board are not a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("unknown message type 0x{0:02x}")]
    UnknownType(u8),
    #[error("message of {0} bytes is larger than {MAX_FRAME}")]
    TooLarge(usize),
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Decodes one message from the front of `buf`. `Ok(None)`: more bytes are needed;
/// `Ok(Some((message, used)))`: `used` bytes form the message.
pub fn decode(buf: &[u8]) -> Result<Option<(Incoming, usize)>, FrameError> {
    let Some(&kind) = buf.first() else {
        return Ok(None);
    };
    let need = |n: usize| buf.len() < n;
    let total = match kind {
        START_REDIRECTION_SESSION_REPLY => {
            if need(13) {
                return Ok(None);
            }
            13 + buf[12] as usize
        }
        AUTHENTICATE_SESSION_REPLY => {
            if need(9) {
                return Ok(None);
            }
            let len = u32_at(buf, 5) as usize;
            if len > MAX_FRAME {
                return Err(FrameError::TooLarge(len));
            }
            9 + len
        }
        START_SOL_REDIRECTION_REPLY => 23,
        SOL_DATA_FROM_HOST => {
            if need(10) {
                return Ok(None);
            }
            10 + u16::from_le_bytes([buf[8], buf[9]]) as usize
        }
        SOL_CONTROLS_FROM_HOST => 10,
        HEARTBEAT | KEEPALIVE_PING | END_SOL_REDIRECTION_REPLY => 8,
        other => return Err(FrameError::UnknownType(other)),
    };
    if need(total) {
        return Ok(None);
    }
    let m = match kind {
        START_REDIRECTION_SESSION_REPLY => Incoming::SessionReply {
            status: buf[1],
            major: buf[6],
            minor: buf[7],
        },
        AUTHENTICATE_SESSION_REPLY => Incoming::AuthReply {
            status: buf[1],
            kind: buf[4],
            data: buf[9..total].to_vec(),
        },
        START_SOL_REDIRECTION_REPLY => Incoming::SolReply { status: buf[1] },
        SOL_DATA_FROM_HOST => Incoming::Data {
            sequence: u32_at(buf, 4),
            payload: buf[10..total].to_vec(),
        },
        SOL_CONTROLS_FROM_HOST => Incoming::Controls {
            sequence: u32_at(buf, 4),
            control: buf[8],
            status: buf[9],
        },
        HEARTBEAT => Incoming::Heartbeat {
            sequence: u32_at(buf, 4),
        },
        KEEPALIVE_PING => Incoming::KeepAlive {
            sequence: u32_at(buf, 4),
        },
        _ => Incoming::EndSolReply,
    };
    Ok(Some((m, total)))
}

/// Splits the data of a digest challenge into realm, nonce and qop.
pub fn parse_challenge(data: &[u8]) -> Option<Challenge> {
    let mut fields = Vec::new();
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let len = len as usize;
        if tail.len() < len {
            return None;
        }
        fields.push(String::from_utf8_lossy(&tail[..len]).into_owned());
        rest = &tail[len..];
    }
    match fields.as_slice() {
        [realm, nonce, qop, ..] => Some(Challenge {
            realm: realm.clone(),
            nonce: nonce.clone(),
            qop: qop.clone(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_bytes_match_the_documented_layout() {
        assert_eq!(start_session(), [0x10, 0, 0, 0, 0x53, 0x4F, 0x4C, 0x20]);
        assert_eq!(auth_query(), [0x13, 0, 0, 0, 0, 0, 0, 0, 0]);
        let step1 = auth_digest_start("admin");
        // len = ulen + urilen + 8 (amt-protocol.md §2c)
        assert_eq!(
            u32::from_le_bytes(step1[5..9].try_into().unwrap()) as usize,
            5 + DIGEST_URI.len() + 8
        );
        let mut expected = vec![0x13, 0, 0, 0, 4, 32, 0, 0, 0, 5];
        expected.extend_from_slice(b"admin");
        expected.extend_from_slice(&[0, 0, 19]);
        expected.extend_from_slice(b"/RedirectionService");
        expected.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(step1, expected);
        let sol = start_sol(5000);
        assert_eq!(sol.len(), 24);
        assert_eq!(&sol[..8], &[0x20, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&sol[18..20], &5000u16.to_le_bytes());
        assert_eq!(
            data_to_host(7, b"ab"),
            [0x28, 0, 0, 0, 7, 0, 0, 0, 2, 0, b'a', b'b']
        );
        assert_eq!(sequenced(HEARTBEAT, 3), [0x2B, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(end_session(), [0x12, 0, 0, 0]);
    }

    #[test]
    fn decodes_captured_replies() {
        // AMT 11.8 and 12.0 StartRedirectionSessionReply (MeshCommander issue #24).
        let amt11 = [0x11, 0, 0, 0, 1, 0, 0x0b, 0x08, 0x57, 0x01, 0, 0, 0];
        assert_eq!(
            decode(&amt11).unwrap(),
            Some((
                Incoming::SessionReply {
                    status: 0,
                    major: 11,
                    minor: 8
                },
                13
            ))
        );
        let methods = [0x14, 0, 0, 0, 0, 1, 0, 0, 0, 4];
        assert_eq!(
            decode(&methods).unwrap(),
            Some((
                Incoming::AuthReply {
                    status: 0,
                    kind: 0,
                    data: vec![4]
                },
                10
            ))
        );
        assert_eq!(
            decode(&methods[..9]).unwrap(),
            None,
            "partial message waits for more"
        );
        let data = [0x2A, 0, 0, 0, 9, 0, 0, 0, 3, 0, b'a', b'b', b'c', 0x2B];
        assert_eq!(
            decode(&data).unwrap(),
            Some((
                Incoming::Data {
                    sequence: 9,
                    payload: b"abc".to_vec()
                },
                13
            ))
        );
        assert_eq!(decode(&[0x99]), Err(FrameError::UnknownType(0x99)));
    }

    #[test]
    fn digest_matches_rfc2617_by_hand() {
        let c = Challenge {
            realm: "Digest:AB".into(),
            nonce: "n0nce".into(),
            qop: "auth".into(),
        };
        use md5::{Digest, Md5};
        let h = |s: &str| hex::encode(Md5::digest(s.as_bytes()));
        let ha1 = h("admin:Digest:AB:pw");
        let ha2 = h("POST:/RedirectionService");
        let want = h(&format!("{ha1}:n0nce:00000002:c1:auth:{ha2}"));
        assert_eq!(digest_response("admin", "pw", &c, "c1"), want);
        let data = [
            9, b'D', b'i', b'g', b'e', b's', b't', b':', b'A', b'B', 5, b'n', b'0', b'n', b'c',
            b'e', 4, b'a', b'u', b't', b'h',
        ];
        assert_eq!(parse_challenge(&data), Some(c));
        assert_eq!(parse_challenge(&[9, b'x']), None);
    }
}
