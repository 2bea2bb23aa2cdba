// A raw redirection-protocol client for the SOL tests: hand-written frames straight from
// the byte tables of amt-protocol.md §2c, its own digest computation, nothing from
// metal-sim.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{PASSWORD, USER, md5_hex};

pub const SOL_PORT: u16 = 16994;
pub const SOL_TLS_PORT: u16 = 16995;
pub const START_SOL_SESSION: [u8; 8] = [0x10, 0x00, 0x00, 0x00, 0x53, 0x4F, 0x4C, 0x20];
pub const QUERY: [u8; 9] = [0x13, 0, 0, 0, 0, 0, 0, 0, 0];
pub const AUTH_OK_DIGEST: [u8; 9] = [0x14, 0, 0, 0, 4, 0, 0, 0, 0];
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A message from the board in the SOL phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Data { seq: u32, data: Vec<u8> },
    Control { seq: u32, control: u8, status: u8 },
    Heartbeat(u32),
    Ping(u32),
    EndSolReply(u32),
}

pub struct Sol<S> {
    pub stream: S,
    buf: Vec<u8>,
    /// Echo the board's heartbeats back, as amtterm does.
    pub echo_heartbeats: bool,
}

pub async fn sol_connect(ip: Ipv4Addr, port: u16) -> Sol<TcpStream> {
    let stream = TcpStream::connect(SocketAddr::from((ip, port)))
        .await
        .expect("connect to the redirection port");
    Sol::new(stream)
}

fn lp(out: &mut Vec<u8>, s: &str) {
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// AuthenticateSession with auth type `method` and `data`.
pub fn authenticate(method: u8, data: &[u8]) -> Vec<u8> {
    let mut m = vec![0x13, 0, 0, 0, method];
    m.extend_from_slice(&(data.len() as u32).to_le_bytes());
    m.extend_from_slice(data);
    m
}

/// Plain user/password (auth type 1).
pub fn plain(user: &str, password: &str) -> Vec<u8> {
    let mut d = Vec::new();
    lp(&mut d, user);
    lp(&mut d, password);
    authenticate(1, &d)
}

/// Digest step 1: `[ulen]user 00 00 [urilen]"/RedirectionService" 00 00 00 00`.
pub fn digest_step1(user: &str) -> Vec<u8> {
    let mut d = Vec::new();
    lp(&mut d, user);
    d.extend_from_slice(&[0, 0]);
    lp(&mut d, "/RedirectionService");
    d.extend_from_slice(&[0, 0, 0, 0]);
    authenticate(4, &d)
}

/// Digest step 2 with an explicit response.
pub fn digest_step2(user: &str, realm: &str, nonce: &str, response: &str) -> Vec<u8> {
    let mut d = Vec::new();
    for s in [
        user,
        realm,
        nonce,
        "/RedirectionService",
        "c0ffee42",
        "00000002",
        response,
        "auth",
    ] {
        lp(&mut d, s);
    }
    authenticate(4, &d)
}

/// `MD5(HA1:nonce:00000002:cnonce:auth:MD5("POST:/RedirectionService"))`.
pub fn digest_response(user: &str, password: &str, realm: &str, nonce: &str) -> String {
    let ha1 = md5_hex(&format!("{user}:{realm}:{password}"));
    let ha2 = md5_hex("POST:/RedirectionService");
    md5_hex(&format!("{ha1}:{nonce}:00000002:c0ffee42:auth:{ha2}"))
}

/// StartSOLRedirection as amtterm sends it: 1000/100/0/10000/0/5000.
pub fn start_sol(max_tx: u16) -> Vec<u8> {
    let mut m = vec![0x20, 0, 0, 0, 1, 0, 0, 0];
    for v in [max_tx, 100, 0, 10000, 0, 5000] {
        m.extend_from_slice(&v.to_le_bytes());
    }
    m.extend_from_slice(&[0, 0, 0, 0]);
    m
}

/// Data to the host (0x28), seq left at 0 as amtterm does.
pub fn data(bytes: &[u8]) -> Vec<u8> {
    let mut m = vec![0x28, 0, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
    m.extend_from_slice(bytes);
    m
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sol<S> {
    pub fn new(stream: S) -> Self {
        Self {
            stream,
            buf: Vec::new(),
            echo_heartbeats: true,
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("send");
        self.stream.flush().await.expect("flush");
    }

    /// Exactly `n` bytes, or `None` if the board closed first.
    pub async fn exact(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            let mut chunk = [0u8; 65536];
            let read = tokio::time::timeout(READ_TIMEOUT, self.stream.read(&mut chunk))
                .await
                .expect("the board answers in time");
            match read {
                Ok(0) | Err(_) => return None,
                Ok(k) => self.buf.extend_from_slice(&chunk[..k]),
            }
        }
        Some(self.buf.drain(..n).collect())
    }

    /// True if the board closes the connection within 3 s (with nothing more to read).
    pub async fn closed(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut b = [0u8; 64];
        matches!(
            tokio::time::timeout(Duration::from_secs(3), self.stream.read(&mut b)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }

    /// An AuthenticateSessionReply: 9 bytes plus its data.
    pub async fn auth_reply(&mut self) -> Vec<u8> {
        let mut r = self.exact(9).await.expect("auth reply header");
        let len = le32(&r[5..9]) as usize;
        r.extend(self.exact(len).await.expect("auth reply data"));
        r
    }

    /// Runs the digest exchange; returns the final reply.
    pub async fn digest(&mut self, user: &str, password: &str) -> Vec<u8> {
        self.send(&digest_step1(user)).await;
        let challenge = self.auth_reply().await;
        assert_eq!(&challenge[..5], &[0x14, 0x01, 0x00, 0x00, 0x04]);
        let (realm, nonce, qop) = challenge_fields(&challenge[9..]);
        assert_eq!(qop, "auth");
        let response = digest_response(user, password, &realm, &nonce);
        self.send(&digest_step2(user, &realm, &nonce, &response))
            .await;
        self.auth_reply().await
    }

    /// The whole handshake with the test credentials, asserting each step succeeds.
    pub async fn open(&mut self) {
        self.send(&START_SOL_SESSION).await;
        let reply = self.exact(13).await.expect("start reply");
        assert_eq!(reply[1], 0, "StartRedirectionSession refused: {reply:02x?}");
        assert_eq!(self.digest(USER, PASSWORD).await, AUTH_OK_DIGEST);
        self.send(&start_sol(1000)).await;
        let reply = self.exact(23).await.expect("StartSOLRedirectionReply");
        assert_eq!(&reply[..2], &[0x21, 0x00]);
    }

    /// The next message of the SOL phase (`None` once the board closed).
    pub async fn frame(&mut self) -> Option<Frame> {
        let head = self.exact(8).await?;
        let seq = le32(&head[4..8]);
        Some(match head[0] {
            0x2A => {
                let len = self.exact(2).await?;
                let len = u16::from_le_bytes([len[0], len[1]]) as usize;
                Frame::Data {
                    seq,
                    data: self.exact(len).await?,
                }
            }
            0x29 => {
                let cs = self.exact(2).await?;
                Frame::Control {
                    seq,
                    control: cs[0],
                    status: cs[1],
                }
            }
            0x2B => {
                if self.echo_heartbeats {
                    self.send(&head).await;
                }
                Frame::Heartbeat(seq)
            }
            0x24 => Frame::Ping(seq),
            0x23 => Frame::EndSolReply(seq),
            other => panic!("unexpected message type 0x{other:02x}: {head:02x?}"),
        })
    }

    /// Collects host output until it contains `needle` (within 30 s); returns all of it.
    pub async fn until(&mut self, needle: &str) -> String {
        let mut text = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {needle:?} within 30 s; got {:?}",
                String::from_utf8_lossy(&text)
            );
            match self.frame().await {
                Some(Frame::Data { data, .. }) => {
                    text.extend(data);
                    if String::from_utf8_lossy(&text).contains(needle) {
                        return String::from_utf8_lossy(&text).into_owned();
                    }
                }
                Some(_) => {}
                None => panic!(
                    "closed before {needle:?}; got {:?}",
                    String::from_utf8_lossy(&text)
                ),
            }
        }
    }

    /// Types `keys` on the host's console.
    pub async fn type_keys(&mut self, keys: &str) {
        self.send(&data(keys.as_bytes())).await;
    }
}

/// (realm, nonce, qop) from a challenge's length-prefixed strings.
pub fn challenge_fields(d: &[u8]) -> (String, String, String) {
    let mut out = Vec::new();
    let mut rest = d;
    for _ in 0..3 {
        let len = rest[0] as usize;
        out.push(String::from_utf8(rest[1..1 + len].to_vec()).expect("UTF-8"));
        rest = &rest[1 + len..];
    }
    assert!(rest.is_empty(), "trailing bytes in the challenge");
    (out[0].clone(), out[1].clone(), out[2].clone())
}
