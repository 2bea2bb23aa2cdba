//! A Serial-over-LAN session: connect (16994, or TLS on 16995 with the WS-Man pin), open the
//! redirection session, authenticate, start SOL, then exchange data.
//!
//! State machine (amtterm `redir.c` names it CONNECT → INIT → AUTH → INIT_SOL → RUN_SOL →
//! CLOSING): the handshake runs in order on the whole stream; after it, a writer task owns the
//! write half (data, our heartbeats, echoed keep-alives) so that reading — which callers put in
//! `select!` beside a keyboard — is cancel-safe. A board that sends nothing (not even a
//! heartbeat) for `dead_after` is reported as lost.

use std::sync::Arc;
use std::time::Duration;

use metal_wsman::{Credentials, KnownHosts};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout, timeout_at};

use super::protocol::{self as p, Incoming};
use crate::ports;

/// Where a board's redirection service listens: 16994, or 16995 with TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SolEndpoint {
    pub host: String,
    pub tls: bool,
}

impl SolEndpoint {
    pub fn new(host: impl Into<String>, tls: bool) -> Self {
        Self {
            host: host.into(),
            tls,
        }
    }

    /// The redirection port.
    pub fn port(&self) -> u16 {
        if self.tls {
            ports::REDIRECTION_TLS
        } else {
            ports::REDIRECTION
        }
    }

    /// `host:port`, the name errors and TLS pins use.
    pub fn key(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port())
        } else {
            format!("{}:{}", self.host, self.port())
        }
    }
}

/// Timing of a session.
#[derive(Debug, Clone, Copy)]
pub struct SolOptions {
    pub connect_timeout: Duration,
    /// How long each handshake step may take.
    pub handshake_timeout: Duration,
    /// How often we send a heartbeat, and the interval we ask the board to use.
    pub heartbeat: Duration,
    /// Silence after which the board is considered gone.
    pub dead_after: Duration,
}

impl Default for SolOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(10),
            heartbeat: Duration::from_secs(2),
            dead_after: Duration::from_secs(15),
        }
    }
}

/// How the session authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMethod {
    Digest,
    Plain,
}

/// Why a SOL session failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{host}: {kind}")]
pub struct SolError {
    /// `address:port` of the redirection endpoint.
    pub host: String,
    pub kind: SolErrorKind,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SolErrorKind {
    #[error("{0}")]
    Transport(metal_wsman::ErrorKind),
    #[error("the board refused the SOL session (status {status}: {})", session_status(*.status))]
    Refused { status: u8 },
    #[error("SOL authentication failed: wrong user or password, or the account is locked")]
    Auth,
    #[error("the board offers no authentication method metal supports (offered: {0:?})")]
    NoMethod(Vec<u8>),
    #[error("the board refused to start SOL redirection (status {0})")]
    SolRefused(u8),
    #[error("redirection protocol error: {0}")]
    Protocol(String),
    #[error("no data or heartbeat from the board for {} s; the session is lost", .0.as_secs())]
    HeartbeatLost(Duration),
    #[error("no answer during the SOL handshake within {} s", .0.as_secs())]
    HandshakeTimeout(Duration),
    #[error("connection lost: {0}")]
    Io(String),
}

impl SolError {
    /// The stable category used in `--json` output.
    pub fn category(&self) -> metal_types::output::ErrorKind {
        use metal_types::output::ErrorKind as C;
        match &self.kind {
            SolErrorKind::Transport(k) => {
                metal_wsman::Error::new(self.host.clone(), k.clone()).category()
            }
            SolErrorKind::Auth => C::Auth,
            SolErrorKind::Refused { .. }
            | SolErrorKind::SolRefused(_)
            | SolErrorKind::NoMethod(_) => C::Unsupported,
            SolErrorKind::HeartbeatLost(_) | SolErrorKind::HandshakeTimeout(_) => C::Timeout,
            SolErrorKind::Io(_) => C::Connection,
            SolErrorKind::Protocol(_) => C::Protocol,
        }
    }
}

fn session_status(status: u8) -> &'static str {
    match status {
        2 => "busy: another redirection session is open",
        3 => "unsupported",
        0xFF => "error (SOL or the redirection listener may be disabled)",
        _ => "unknown",
    }
}

/// What the board sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SolEvent {
    /// Bytes the host wrote to its serial port.
    Data(Vec<u8>),
    /// Line-control status from the host; bit 4 means "system powered on".
    Controls { control: u8, status: u8 },
    /// The board ended the session or closed the connection.
    Closed,
}

/// Status bit of `Controls`: the host powered on.
pub const STATUS_POWERED_ON: u8 = 4;

trait Stream: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Stream for T {}

enum Outgoing {
    Data(Vec<u8>),
    Raw(Vec<u8>),
    /// EndSOLRedirection (0x22).
    EndSol,
    /// EndRedirectionSession (0x12), then shut the connection down.
    EndSession,
}

/// An open SOL session.
pub struct SolSession {
    host: String,
    reader: ReadHalf<Box<dyn Stream>>,
    buf: Vec<u8>,
    out: mpsc::Sender<Outgoing>,
    writer: tokio::task::JoinHandle<()>,
    deadline_after: Duration,
    last_seen: Instant,
    /// Firmware major.minor from the session reply.
    pub firmware: (u8, u8),
    pub auth: AuthMethod,
}

/// Where to open a session, and with what.
pub struct SolTarget<'a> {
    pub endpoint: SolEndpoint,
    pub credentials: &'a Credentials,
    pub known_hosts: &'a Arc<KnownHosts>,
}

impl SolSession {
    /// Connects, authenticates and starts SOL.
    pub async fn open(target: SolTarget<'_>, options: SolOptions) -> Result<SolSession, SolError> {
        let endpoint = &target.endpoint;
        let host = endpoint.key();
        let err = |kind: SolErrorKind| SolError {
            host: host.clone(),
            kind,
        };
        let tcp = match timeout(
            options.connect_timeout,
            TcpStream::connect((endpoint.host.as_str(), endpoint.port())),
        )
        .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                return Err(err(SolErrorKind::Transport(
                    metal_wsman::ErrorKind::Connect(e.to_string()),
                )));
            }
            Err(_) => {
                return Err(err(SolErrorKind::Transport(
                    metal_wsman::ErrorKind::ConnectTimeout(options.connect_timeout),
                )));
            }
        };
        let _ = tcp.set_nodelay(true);
        let mut stream: Box<dyn Stream> = if endpoint.tls {
            let tls = timeout(
                options.connect_timeout,
                metal_wsman::tls::connect_pinned(tcp, &endpoint.host, &host, target.known_hosts),
            )
            .await
            .map_err(|_| {
                err(SolErrorKind::Transport(
                    metal_wsman::ErrorKind::ConnectTimeout(options.connect_timeout),
                ))
            })?
            .map_err(|k| err(SolErrorKind::Transport(k)))?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        let mut buf = Vec::new();
        let handshake = Handshake {
            stream: &mut stream,
            buf: &mut buf,
            step_timeout: options.handshake_timeout,
        };
        let (firmware, auth) = handshake
            .run(target.credentials, options.heartbeat)
            .await
            .map_err(err)?;
        let (reader, writer) = tokio::io::split(stream);
        let (out, rx) = mpsc::channel(64);
        let writer = tokio::spawn(write_loop(writer, rx, options.heartbeat));
        Ok(SolSession {
            host,
            reader,
            buf,
            out,
            writer,
            deadline_after: options.dead_after,
            last_seen: Instant::now(),
            firmware,
            auth,
        })
    }

    /// `address:port` of the session.
    pub fn host(&self) -> &str {
        &self.host
    }

    fn error(&self, kind: SolErrorKind) -> SolError {
        SolError {
            host: self.host.clone(),
            kind,
        }
    }

    /// Waits for the next event. Heartbeats and keep-alives are answered here. Cancel-safe.
    pub async fn next_event(&mut self) -> Result<SolEvent, SolError> {
        loop {
            while let Some((message, used)) = p::decode(&self.buf)
                .map_err(|e| self.error(SolErrorKind::Protocol(e.to_string())))?
            {
                self.buf.drain(..used);
                self.last_seen = Instant::now();
                match message {
                    Incoming::Data { payload, .. } => return Ok(SolEvent::Data(payload)),
                    Incoming::Controls {
                        control, status, ..
                    } => return Ok(SolEvent::Controls { control, status }),
                    Incoming::Heartbeat { sequence } => {
                        self.queue(Outgoing::Raw(p::sequenced(p::HEARTBEAT, sequence)))
                            .await?
                    }
                    Incoming::KeepAlive { sequence } => {
                        self.queue(Outgoing::Raw(p::sequenced(p::KEEPALIVE_PING, sequence)))
                            .await?
                    }
                    Incoming::EndSolReply => return Ok(SolEvent::Closed),
                    other => {
                        return Err(self.error(SolErrorKind::Protocol(format!(
                            "unexpected message during SOL: {other:?}"
                        ))));
                    }
                }
            }
            if self.buf.len() > p::MAX_FRAME {
                return Err(self.error(SolErrorKind::Protocol("oversized message".into())));
            }
            let deadline = self.last_seen + self.deadline_after;
            match timeout_at(deadline, self.reader.read_buf(&mut self.buf)).await {
                Err(_) => return Err(self.error(SolErrorKind::HeartbeatLost(self.deadline_after))),
                Ok(Ok(0)) => return Ok(SolEvent::Closed),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(self.error(SolErrorKind::Io(e.to_string()))),
            }
        }
    }

    async fn queue(&self, message: Outgoing) -> Result<(), SolError> {
        self.out
            .send(message)
            .await
            .map_err(|_| self.error(SolErrorKind::Io("the connection is closed".into())))
    }

    /// Sends keystrokes (or any bytes) to the host's serial port.
    pub async fn send(&self, data: &[u8]) -> Result<(), SolError> {
        for chunk in data.chunks(p::MAX_TX_BUFFER as usize) {
            self.queue(Outgoing::Data(chunk.to_vec())).await?;
        }
        Ok(())
    }

    /// Ends the session in order (EndSOLRedirection, its reply, EndRedirectionSession) and
    /// returns once the connection is shut down, so a new session can follow at once.
    pub async fn close(mut self) {
        if self.queue(Outgoing::EndSol).await.is_ok() {
            let wait = async {
                loop {
                    match self.next_event().await {
                        Ok(SolEvent::Closed) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
            };
            let _ = timeout(Duration::from_secs(2), wait).await;
            let _ = self.queue(Outgoing::EndSession).await;
        }
        drop(self.out);
        let _ = timeout(Duration::from_secs(2), self.writer).await;
    }
}

async fn write_loop(
    mut writer: tokio::io::WriteHalf<Box<dyn Stream>>,
    mut rx: mpsc::Receiver<Outgoing>,
    heartbeat: Duration,
) {
    let mut sequence: u32 = 0;
    let mut ticker = tokio::time::interval(heartbeat);
    ticker.tick().await;
    loop {
        let bytes = tokio::select! {
            message = rx.recv() => match message {
                Some(Outgoing::Data(data)) => {
                    sequence = sequence.wrapping_add(1);
                    p::data_to_host(sequence, &data)
                }
                Some(Outgoing::Raw(raw)) => raw,
                Some(Outgoing::EndSol) => {
                    sequence = sequence.wrapping_add(1);
                    p::sequenced(p::END_SOL_REDIRECTION, sequence)
                }
                Some(Outgoing::EndSession) => {
                    let _ = writer.write_all(&p::end_session()).await;
                    let _ = writer.shutdown().await;
                    return;
                }
                None => {
                    let _ = writer.shutdown().await;
                    return;
                }
            },
            _ = ticker.tick() => p::sequenced(p::HEARTBEAT, sequence),
        };
        if writer.write_all(&bytes).await.is_err() {
            return;
        }
    }
}

/// The handshake, on the whole stream, one step at a time.
struct Handshake<'a> {
    stream: &'a mut Box<dyn Stream>,
    buf: &'a mut Vec<u8>,
    step_timeout: Duration,
}

impl Handshake<'_> {
    async fn run(
        mut self,
        credentials: &Credentials,
        heartbeat: Duration,
    ) -> Result<((u8, u8), AuthMethod), SolErrorKind> {
        if credentials.user.len() > p::MAX_FIELD || credentials.password.len() > p::MAX_FIELD {
            return Err(SolErrorKind::Protocol(
                "user or password longer than 255 bytes".into(),
            ));
        }
        self.send(&p::start_session()).await?;
        let firmware = match self.receive().await? {
            Incoming::SessionReply {
                status: 0,
                major,
                minor,
            } => (major, minor),
            Incoming::SessionReply { status, .. } => return Err(SolErrorKind::Refused { status }),
            other => return Err(unexpected("StartRedirectionSessionReply", &other)),
        };
        self.send(&p::auth_query()).await?;
        let methods = match self.receive().await? {
            Incoming::AuthReply {
                status: 0, data, ..
            } => data,
            Incoming::AuthReply { status, .. } => {
                return Err(SolErrorKind::Protocol(format!(
                    "method query answered with status {status}"
                )));
            }
            other => return Err(unexpected("AuthenticateSessionReply", &other)),
        };
        // Digest wherever offered; plain only where a board offers nothing else (AMT < 11).
        let auth = if methods.contains(&p::AUTH_DIGEST) {
            self.digest(credentials).await?;
            AuthMethod::Digest
        } else if methods.contains(&p::AUTH_PLAIN) {
            self.send(&p::auth_plain(&credentials.user, &credentials.password))
                .await?;
            self.expect_auth_ok().await?;
            AuthMethod::Plain
        } else {
            return Err(SolErrorKind::NoMethod(methods));
        };
        let interval = u16::try_from(heartbeat.as_millis()).unwrap_or(u16::MAX);
        self.send(&p::start_sol(interval)).await?;
        match self.receive().await? {
            Incoming::SolReply { status: 0 } => Ok((firmware, auth)),
            Incoming::SolReply { status } => Err(SolErrorKind::SolRefused(status)),
            other => Err(unexpected("StartSOLRedirectionReply", &other)),
        }
    }

    async fn digest(&mut self, credentials: &Credentials) -> Result<(), SolErrorKind> {
        self.send(&p::auth_digest_start(&credentials.user)).await?;
        let challenge = match self.receive().await? {
            Incoming::AuthReply {
                status: 1, data, ..
            } => p::parse_challenge(&data)
                .ok_or_else(|| SolErrorKind::Protocol("malformed digest challenge".into()))?,
            Incoming::AuthReply { .. } => return Err(SolErrorKind::Auth),
            other => return Err(unexpected("digest challenge", &other)),
        };
        let cnonce = hex::encode(rand::random::<[u8; 16]>());
        let response = p::digest_response(
            &credentials.user,
            &credentials.password,
            &challenge,
            &cnonce,
        );
        self.send(&p::auth_digest_answer(
            &credentials.user,
            &challenge,
            &cnonce,
            &response,
        ))
        .await?;
        self.expect_auth_ok().await
    }

    async fn expect_auth_ok(&mut self) -> Result<(), SolErrorKind> {
        match self.receive().await {
            Ok(Incoming::AuthReply { status: 0, .. }) => Ok(()),
            Ok(Incoming::AuthReply { .. }) => Err(SolErrorKind::Auth),
            // Some firmware just closes the connection on a failed login.
            Err(SolErrorKind::Io(_)) => Err(SolErrorKind::Auth),
            Ok(other) => Err(unexpected("AuthenticateSessionReply", &other)),
            Err(e) => Err(e),
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), SolErrorKind> {
        timeout(self.step_timeout, self.stream.write_all(bytes))
            .await
            .map_err(|_| SolErrorKind::HandshakeTimeout(self.step_timeout))?
            .map_err(|e| SolErrorKind::Io(e.to_string()))
    }

    async fn receive(&mut self) -> Result<Incoming, SolErrorKind> {
        let deadline = Instant::now() + self.step_timeout;
        loop {
            match p::decode(self.buf).map_err(|e| SolErrorKind::Protocol(e.to_string()))? {
                // Heartbeats may arrive at any time; they carry nothing for the handshake.
                Some((Incoming::Heartbeat { .. } | Incoming::KeepAlive { .. }, used)) => {
                    self.buf.drain(..used);
                }
                Some((message, used)) => {
                    self.buf.drain(..used);
                    return Ok(message);
                }
                None => {}
            }
            match timeout_at(deadline, self.stream.read_buf(self.buf)).await {
                Err(_) => return Err(SolErrorKind::HandshakeTimeout(self.step_timeout)),
                Ok(Ok(0)) => {
                    return Err(SolErrorKind::Io("the board closed the connection".into()));
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(SolErrorKind::Io(e.to_string())),
            }
        }
    }
}

fn unexpected(wanted: &str, got: &Incoming) -> SolErrorKind {
    SolErrorKind::Protocol(format!("expected {wanted}, got {got:?}"))
}
