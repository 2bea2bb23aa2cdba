//! HTTP transport to one WS-Man endpoint: a single keep-alive connection, HTTP Digest sent
//! pre-emptively from a cached challenge, connect/read timeouts, a response size cap, and TLS
//! with a pinned certificate.
//!
//! Why it is shaped this way (amt-protocol.md §2b, §7):
//! - AMT answers every 401 with `Connection: close`, so a client that waits for a challenge on
//!   each request pays two TCP (and TLS) handshakes per call. We cache the challenge and send
//!   `Authorization` with the next `nc` (RFC 2617 §3.2.2: the nonce count counts up per nonce).
//! - On a 401 we take the new challenge and retry exactly once: AMT locks the account after
//!   repeated failures, so a retry loop can lock out the operator.
//! - The digest `uri` is `/wsman`, the request path, never the full URL.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{
    AUTHORIZATION, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, SERVER, WWW_AUTHENTICATE,
};
use http_auth::{PasswordParams, digest::DigestClient};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::budget::{Held, MemoryPool};
use crate::endpoint::{Credentials, Endpoint};
use crate::error::{Error, ErrorKind};
use crate::tls::KnownHosts;

/// The request path of every WS-Man call and the digest `uri`.
pub const WSMAN_PATH: &str = "/wsman";
/// Limits and TLS trust shared by all sessions of a command.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    pub connect_timeout: Duration,
    /// From sending a request to the last byte of its response.
    pub read_timeout: Duration,
    /// Responses larger than this are refused, not buffered.
    pub max_response_bytes: usize,
    /// What all sessions sharing these options may hold beyond each answer's free bytes.
    pub memory: MemoryPool,
    pub known_hosts: Arc<KnownHosts>,
    /// Send the cached digest challenge pre-emptively (the default). When false, every request
    /// first collects a fresh 401 challenge, as naive clients do; kept for comparison
    /// benchmarks.
    pub reuse_challenge: bool,
}

impl Default for TransportOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(20),
            // 70 times the largest recorded AMT answer (7.3 KB).
            max_response_bytes: 512 * 1024,
            memory: MemoryPool::default(),
            known_hosts: Arc::new(KnownHosts::in_memory()),
            reuse_challenge: true,
        }
    }
}

/// Counters of one session, for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// HTTP requests sent.
    pub requests: u32,
    /// 401 responses received.
    pub unauthorized: u32,
    /// TCP (or TLS) connections opened.
    pub connections: u32,
}

/// A raw HTTP answer.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub status: u16,
    pub body: Bytes,
    /// The memory the body holds, given back when it is dropped.
    pub _held: Held,
}

/// One board's connection and authentication state. Requests on a session are sequential.
pub struct Session {
    endpoint: Endpoint,
    credentials: Credentials,
    options: Arc<TransportOptions>,
    sender: Option<SendRequest<Full<Bytes>>>,
    digest: Option<DigestClient>,
    server: Option<String>,
    stats: Stats,
}

impl Session {
    pub fn new(
        endpoint: Endpoint,
        credentials: Credentials,
        options: Arc<TransportOptions>,
    ) -> Self {
        Self {
            endpoint,
            credentials,
            options,
            sender: None,
            digest: None,
            server: None,
            stats: Stats::default(),
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The last `Server:` header seen (`Intel(R) Active Management Technology 12.0.67.1579`).
    pub fn server_header(&self) -> Option<&str> {
        self.server.as_deref()
    }

    fn error(&self, kind: ErrorKind) -> Error {
        Error::new(self.endpoint.key(), kind)
    }

    /// POSTs a SOAP envelope to `/wsman` and returns the status and body. Handles the digest
    /// exchange: a 401 is answered once with the new challenge, a second 401 is an error.
    pub(crate) async fn post(&mut self, envelope: &str) -> Result<HttpResponse, Error> {
        let mut retried = false;
        if !self.options.reuse_challenge {
            self.digest = None;
        }
        loop {
            let authorization = match self.digest.as_mut() {
                Some(digest) => {
                    let params = PasswordParams {
                        username: &self.credentials.user,
                        password: &self.credentials.password,
                        uri: WSMAN_PATH,
                        method: "POST",
                        body: None,
                    };
                    let value = digest.respond(&params).map_err(|e| {
                        Error::new(
                            self.endpoint.key(),
                            ErrorKind::Http {
                                status: 401,
                                detail: format!("cannot answer the digest challenge: {e}"),
                            },
                        )
                    })?;
                    Some(value)
                }
                None => None,
            };
            let (response, challenge) = self.exchange(envelope, authorization).await?;
            if response.status != 401 {
                return Ok(response);
            }
            self.stats.unauthorized += 1;
            self.sender = None;
            if retried {
                self.digest = None;
                return Err(self.error(ErrorKind::Auth));
            }
            let challenge = challenge.ok_or_else(|| {
                self.error(ErrorKind::Http {
                    status: 401,
                    detail: "no WWW-Authenticate header".into(),
                })
            })?;
            self.digest = Some(parse_digest_challenge(&challenge).map_err(|e| {
                self.error(ErrorKind::Http {
                    status: 401,
                    detail: format!("unusable digest challenge: {e}"),
                })
            })?);
            retried = true;
        }
    }

    /// Sends one request without credentials and returns the HTTP status. An AMT board answers
    /// 401 with its `Server:` header; an unauthenticated request is not a failed login, so
    /// probing costs no lockout attempt.
    pub(crate) fn options(&self) -> &TransportOptions {
        &self.options
    }

    pub(crate) async fn probe(&mut self, envelope: &str) -> Result<u16, Error> {
        let (response, _) = self.exchange(envelope, None).await?;
        if response.status == 401 {
            self.sender = None;
        }
        Ok(response.status)
    }

    /// One HTTP request/response on the kept-alive connection (opening it if needed).
    async fn exchange(
        &mut self,
        envelope: &str,
        authorization: Option<String>,
    ) -> Result<(HttpResponse, Option<String>), Error> {
        let mut sender = match self.sender.take() {
            Some(mut s) if !s.is_closed() => match s.ready().await {
                Ok(()) => s,
                // The board closed the idle connection; nothing was sent on it yet.
                Err(_) => self.connect().await?,
            },
            _ => self.connect().await?,
        };
        let mut builder = http::Request::post(WSMAN_PATH)
            .header(HOST, self.endpoint.key())
            .header(CONTENT_TYPE, "application/soap+xml;charset=UTF-8");
        if let Some(value) = authorization {
            builder = builder.header(AUTHORIZATION, value);
        }
        let request = builder
            .body(Full::new(Bytes::copy_from_slice(envelope.as_bytes())))
            .map_err(|e| self.error(ErrorKind::Connection(e.to_string())))?;
        self.stats.requests += 1;
        let read_timeout = self.options.read_timeout;
        let limit = self.options.max_response_bytes;
        let pool = self.options.memory.clone();
        let result = tokio::time::timeout(read_timeout, async {
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| ErrorKind::Connection(describe_hyper(&e)))?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            if let Some(length) = headers
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
                && length > limit
            {
                return Err(ErrorKind::TooLarge(limit));
            }
            let mut body = response.into_body();
            let mut buf = BytesMut::new();
            let mut held = Held::new(&pool);
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| ErrorKind::Connection(describe_hyper(&e)))?;
                if let Ok(data) = frame.into_data() {
                    if buf.len() + data.len() > limit {
                        return Err(ErrorKind::TooLarge(limit));
                    }
                    held.grow(data.len()).map_err(ErrorKind::OverBudget)?;
                    buf.extend_from_slice(&data);
                }
            }
            Ok((status, headers, buf.freeze(), held))
        })
        .await;
        let (status, headers, body, held) = match result {
            Ok(Ok(r)) => r,
            Ok(Err(kind)) => return Err(self.error(kind)),
            Err(_) => return Err(self.error(ErrorKind::ReadTimeout(read_timeout))),
        };
        if let Some(server) = headers.get(SERVER).and_then(|v| v.to_str().ok()) {
            self.server = Some(server.to_string());
        }
        let closing = headers
            .get(CONNECTION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if !closing {
            self.sender = Some(sender);
        }
        let challenge = headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.trim_start().to_ascii_lowercase().starts_with("digest"))
            .map(str::to_string);
        Ok((
            HttpResponse {
                status,
                body,
                _held: held,
            },
            challenge,
        ))
    }

    async fn connect(&mut self) -> Result<SendRequest<Full<Bytes>>, Error> {
        let connect_timeout = self.options.connect_timeout;
        let target = (self.endpoint.host.as_str(), self.endpoint.port);
        let tcp = match tokio::time::timeout(connect_timeout, TcpStream::connect(target)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(self.error(ErrorKind::Connect(e.to_string()))),
            Err(_) => return Err(self.error(ErrorKind::ConnectTimeout(connect_timeout))),
        };
        // Small request/response exchanges: don't let Nagle hold back the request.
        let _ = tcp.set_nodelay(true);
        self.stats.connections += 1;
        if !self.endpoint.tls {
            return self.handshake(tcp).await;
        }
        let pin_key = self.endpoint.key();
        let handshake = crate::tls::connect_pinned(
            tcp,
            &self.endpoint.host,
            &pin_key,
            &self.options.known_hosts,
        );
        let tls = match tokio::time::timeout(connect_timeout, handshake).await {
            Ok(r) => r.map_err(|kind| self.error(kind))?,
            Err(_) => return Err(self.error(ErrorKind::ConnectTimeout(connect_timeout))),
        };
        self.handshake(tls).await
    }

    async fn handshake<S>(&self, stream: S) -> Result<SendRequest<Full<Bytes>>, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| self.error(ErrorKind::Connection(describe_hyper(&e))))?;
        let host = self.endpoint.key();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%host, error = %e, "connection ended");
            }
        });
        Ok(sender)
    }
}

/// Parses a `WWW-Authenticate` value and keeps its Digest challenge. AMT's header spacing is
/// irregular and `qop` may be a list (`"auth-int, auth"`); http-auth parses both, and we answer
/// with qop=auth (no body hash), which every AMT version accepts.
///
/// A challenge without `qop`, or without `auth` among its options, is refused. RFC 2617
/// §3.2.2 answers such a challenge the RFC 2069 way, with no `cnonce` and no `nc`: the
/// response depends on the server's nonce alone, so whoever sees it can replay it, and the
/// client cannot keep counting requests on one nonce. Every AMT version offers qop=auth, so
/// a challenge without it is a downgrade (or not AMT), and the board is told so.
fn parse_digest_challenge(header: &str) -> Result<DigestClient, String> {
    let challenges = http_auth::parse_challenges(header).map_err(|e| e.to_string())?;
    let digest = challenges
        .iter()
        .find(|c| c.scheme.eq_ignore_ascii_case("Digest"))
        .ok_or("no Digest challenge")?;
    let qop = digest
        .params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("qop"))
        .map(|(_, v)| v.to_unescaped());
    let offers_auth = qop
        .as_deref()
        .is_some_and(|q| q.split(',').any(|o| o.trim().eq_ignore_ascii_case("auth")));
    if !offers_auth {
        return Err(match qop {
            None => "Digest challenge without qop (RFC 2069 style: no client nonce, replayable); refused, AMT always offers qop=auth".into(),
            Some(q) => format!("Digest challenge offers qop {:?} but not auth; refused", q.chars().take(40).collect::<String>()),
        });
    }
    DigestClient::try_from(digest)
}

fn describe_hyper(e: &hyper::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_amt_challenges() {
        // AMT 16.1.25 (rps#779): irregular spacing and a qop list.
        let c = parse_digest_challenge(
            r#"Digest realm="Digest:2517B2332AFD88353D5F5FD352697901", nonce="QYePBLMVAAAAAAAAjfXveceOM5bNfu/K",stale="false",qop="auth-int, auth""#,
        )
        .unwrap();
        assert_eq!(c.realm(), "Digest:2517B2332AFD88353D5F5FD352697901");
        assert_eq!(c.nonce(), "QYePBLMVAAAAAAAAjfXveceOM5bNfu/K");
        // AMT 8.0.3 (amtc#2).
        assert!(parse_digest_challenge(r#"Digest realm="Digest:10DF0000000000000000000000000000", nonce="+S5HDg4iAACIkRUMJoai5Xyxlc9qWHgc",stale="false",qop="auth""#).is_ok());
        assert!(parse_digest_challenge("Basic realm=\"x\"").is_err());
        assert!(parse_digest_challenge("Digest realm=").is_err());
        let no_qop =
            parse_digest_challenge(r#"Digest realm="Digest:AA", nonce="abc""#).unwrap_err();
        assert!(no_qop.contains("without qop"), "{no_qop}");
        let int_only =
            parse_digest_challenge(r#"Digest realm="Digest:AA", nonce="abc", qop="auth-int""#)
                .unwrap_err();
        assert!(int_only.contains("not auth"), "{int_only}");
    }

    #[test]
    fn digest_response_counts_up_and_uses_wsman_uri() {
        let mut c = parse_digest_challenge(
            r#"Digest realm="Digest:AA", nonce="abc",stale="false",qop="auth""#,
        )
        .unwrap();
        let p = PasswordParams {
            username: "admin",
            password: "pw",
            uri: WSMAN_PATH,
            method: "POST",
            body: None,
        };
        let first = c.respond(&p).unwrap();
        let second = c.respond(&p).unwrap();
        assert!(
            first.contains("nc=00000001") && second.contains("nc=00000002"),
            "{first} / {second}"
        );
        assert!(
            first.contains("uri=\"/wsman\"") && first.contains("qop=auth"),
            "{first}"
        );
    }

    #[test]
    fn credentials_debug_hides_password() {
        let c = Credentials {
            user: "admin".into(),
            password: "Secr3t!pw".into(),
        };
        assert!(!format!("{c:?}").contains("Secr3t"));
    }
}
