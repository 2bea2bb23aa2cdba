//! One connection to the redirection port, board side (amt-protocol.md §2c):
//! StartRedirectionSession → AuthenticateSession (query, plain or digest) →
//! StartSOLRedirection → data both ways, heartbeats, control messages → EndSOLRedirection
//! (0x22 → 0x23) and EndRedirectionSession (0x12).
//!
//! Choices where the sources are silent:
//! - StartRedirectionSession status: 3 (unsupported) for IDER/KVM or any tag but `SOL `;
//!   0xFF (error) while SOL is disabled in `AMT_RedirectionService.EnabledState` (the
//!   documented codes are 0, 2, 3 and 0xFF, and "unsupported" would claim the firmware cannot
//!   do SOL at all); 2 (busy) while another SOL session is open (one per board). The
//!   connection is closed after a refusal.
//! - The StartSOLRedirectionReply echoes the client's settings except MaxTxBuffer (the frame
//!   size the board uses: the client's value, at most 1 KiB) and Heartbeat (the board's
//!   interval in ms).
//! - 0x2A data frames, 0x2B heartbeats and 0x29 controls each count their own sequence
//!   number up from 1. A client's 0x24 ping is echoed as is (amtterm echoes them, §2c; Intel's
//!   RedirectionConstants.h also names a 0x25 pong, which no client in the sources handles).
//!   The client's own 0x2B heartbeats are taken silently, never echoed (echoing them to a
//!   client that echoes ours would loop).
//! - A session whose client sends nothing for five heartbeat intervals is closed.
//! - 0x29 is sent with status 4 ("system powered on") when the host powers on and 0 when it
//!   powers off, and with status 1 (TX overflow) when output was dropped for a client that
//!   fell more than 16 MiB behind.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::auth::{Authenticator, Step};
use super::console::Out;
use super::host_input::HostInput;
use super::wire::{self, ClientMsg, SolSettings, WireError};
use crate::board::{Board, ENABLED_SOL_BIT, Fault, SolFault};
use crate::events::{SimEvent, SolAuth};

/// How long the client may take over each message before SOL starts.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the board waits for 0x12 after answering 0x22.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Heartbeat intervals of client silence after which the session is closed.
const SILENT_HEARTBEATS: u32 = 5;
/// Largest 0x2A payload.
const MAX_FRAME: u16 = 1024;
/// StartRedirectionSessionReply statuses (amt-protocol.md §2c).
const START_OK: u8 = 0;
const START_BUSY: u8 = 2;
const START_UNSUPPORTED: u8 = 3;
const START_ERROR: u8 = 0xFF;
/// 0x29 status bits.
const STATUS_TX_OVERFLOW: u8 = 1;
const STATUS_POWERED_ON: u8 = 4;

/// An accepted connection with its read buffer.
struct Conn<S> {
    io: S,
    buf: Vec<u8>,
}

/// Why reading the next message failed.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("connection lost")]
    Closed,
    #[error("{0}")]
    Malformed(#[from] WireError),
    #[error("client too slow")]
    Timeout,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    /// A complete message already buffered, if any.
    fn buffered(&mut self) -> Result<Option<ClientMsg>, WireError> {
        Ok(wire::decode(&self.buf)?.map(|(msg, len)| {
            self.buf.drain(..len);
            msg
        }))
    }

    /// Reads once; 0 = the client closed.
    async fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.io.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// The next message, waiting at most `limit`.
    async fn next(&mut self, limit: Duration) -> Result<ClientMsg, ReadError> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(msg) = self.buffered()? {
                return Ok(msg);
            }
            match tokio::time::timeout_at(deadline, self.fill()).await {
                Err(_) => return Err(ReadError::Timeout),
                Ok(Ok(0) | Err(_)) => return Err(ReadError::Closed),
                Ok(Ok(_)) => {}
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.io.write_all(bytes).await?;
        self.io.flush().await
    }
}

/// Holds one of the board's SOL session slots; gives it back when dropped.
struct Slot(Arc<Board>);

impl Drop for Slot {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.sol_sessions = st.sol_sessions.saturating_sub(1);
    }
}

/// Serves one connection until it ends or the simulator shuts down.
pub(crate) async fn serve<S>(io: S, board: Arc<Board>, mut shutdown: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if *board.sol_fault.borrow() == SolFault::Drop {
        return;
    }
    let mut conn = Conn {
        io,
        buf: Vec::new(),
    };
    let started = tokio::select! {
        s = handshake(&mut conn, &board) => s,
        _ = shutdown.wait_for(|down| *down) => return,
    };
    let Some((settings, auth, slot)) = started else {
        return;
    };
    run(conn, &board, settings, auth, shutdown).await;
    drop(slot);
}

fn refused(board: &Board, reason: &str) {
    let _ = board.events.send(SimEvent::SolRefused {
        ip: board.ip,
        reason: reason.to_string(),
    });
}

/// Everything before SOL data: returns the client's settings, how it authenticated and the
/// session slot, or `None` when the connection is to be closed.
async fn handshake<S>(
    conn: &mut Conn<S>,
    board: &Arc<Board>,
) -> Option<(SolSettings, SolAuth, Slot)>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let ClientMsg::StartSession { protocol } = conn.next(HANDSHAKE_TIMEOUT).await.ok()? else {
        return None;
    };
    let refusal = if protocol != wire::PROTOCOL_SOL {
        Some((START_UNSUPPORTED, "only SOL redirection is simulated"))
    } else {
        let st = board.lock();
        if st.redirection.0 & ENABLED_SOL_BIT == 0 || board.current_fault() == Fault::SolLocked {
            Some((START_ERROR, "SOL disabled"))
        } else if board.control().blocks_redirection() {
            Some((START_ERROR, "user consent required: no code was entered"))
        } else if st.sol_sessions > 0 {
            Some((START_BUSY, "busy: a SOL session is already open"))
        } else {
            None
        }
    };
    let version = board.cfg.profile.firmware_major_minor();
    let status = refusal.map_or(START_OK, |(status, _)| status);
    conn.send(&wire::start_session_reply(status, version))
        .await
        .ok()?;
    if let Some((_, reason)) = refusal {
        refused(board, reason);
        return None;
    }

    let mut auth = Authenticator::default();
    let how = loop {
        let ClientMsg::Authenticate { method, data } = conn.next(HANDSHAKE_TIMEOUT).await.ok()?
        else {
            return None;
        };
        match auth.step(board, method, &data) {
            Step::Reply(reply) => conn.send(&reply).await.ok()?,
            Step::Done(reply, how) => {
                conn.send(&reply).await.ok()?;
                break how;
            }
            Step::Refuse(reply, reason) => {
                let _ = conn.send(&reply).await;
                refused(board, reason);
                return None;
            }
        }
    };

    let ClientMsg::StartSol(settings) = conn.next(HANDSHAKE_TIMEOUT).await.ok()? else {
        return None;
    };
    let taken = {
        let mut st = board.lock();
        let free = st.sol_sessions == 0;
        if free {
            st.sol_sessions += 1;
        }
        free
    };
    if !taken {
        let _ = conn
            .send(&wire::start_sol_reply(START_BUSY, &settings))
            .await;
        refused(board, "busy: a SOL session is already open");
        return None;
    }
    Some((settings, how, Slot(Arc::clone(board))))
}

/// Waits for the simulator to shut down (dropping the watch guard before returning).
async fn shut_down(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|down| *down).await;
}

/// Waits for the next heartbeat tick, or forever when heartbeats are off.
async fn tick(ticker: &mut Option<Interval>) {
    match ticker {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Sequence counters and byte totals of a running session.
#[derive(Default)]
struct Counters {
    data_seq: u32,
    heartbeat_seq: u32,
    control_seq: u32,
    to_host: u64,
    from_host: u64,
}

/// The SOL phase: until the client closes, goes silent or away, or a fault drops it.
async fn run<S>(
    mut conn: Conn<S>,
    board: &Arc<Board>,
    settings: SolSettings,
    how: SolAuth,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = match settings.max_tx_buffer {
        0 => MAX_FRAME,
        n => n.min(MAX_FRAME),
    };
    let interval = board.cfg.sol_heartbeat;
    let used = SolSettings {
        max_tx_buffer: frame,
        heartbeat: u16::try_from(interval.as_millis()).unwrap_or(u16::MAX),
        ..settings
    };
    if conn
        .send(&wire::start_sol_reply(START_OK, &used))
        .await
        .is_err()
    {
        return;
    }
    let tap = board.console.attach();
    let _ = board.events.send(SimEvent::SolOpened {
        ip: board.ip,
        auth: how,
    });
    let mut faults = board.sol_fault.subscribe();
    let mut ticker = (!interval.is_zero()).then(|| {
        let mut t = tokio::time::interval_at(Instant::now() + interval, interval);
        t.set_missed_tick_behavior(MissedTickBehavior::Delay);
        t
    });
    let mut n = Counters {
        data_seq: 1,
        heartbeat_seq: 1,
        control_seq: 1,
        ..Counters::default()
    };
    let mut last_heard = Instant::now();
    let reason = loop {
        let silent = *faults.borrow_and_update() == SolFault::Silent;
        match conn.buffered() {
            Err(_) => break "malformed message",
            Ok(Some(msg)) => match handle(&mut conn, board, msg, &mut n).await {
                Ok(()) => continue,
                Err(reason) => break reason,
            },
            Ok(None) => {}
        }
        tokio::select! {
            read = conn.fill() => match read {
                Ok(0) | Err(_) => break "connection lost",
                Ok(_) => last_heard = Instant::now(),
            },
            _ = tick(&mut ticker) => {
                if last_heard.elapsed() >= interval * SILENT_HEARTBEATS {
                    break "client silent";
                }
                if !silent {
                    let hb = wire::short(wire::SOL_HEARTBEAT, n.heartbeat_seq);
                    n.heartbeat_seq = n.heartbeat_seq.wrapping_add(1);
                    if conn.send(&hb).await.is_err() {
                        break "connection lost";
                    }
                }
            }
            _ = board.console.changed(), if !silent => {
                if flush(&mut conn, board, tap, frame, &mut n).await.is_err() {
                    break "connection lost";
                }
            }
            changed = faults.changed() => match changed {
                Err(_) => break "simulator shut down",
                Ok(()) if *faults.borrow() == SolFault::Drop => break "dropped (fault)",
                // Leaving the silent fault: send what queued up meanwhile.
                Ok(()) => if flush(&mut conn, board, tap, frame, &mut n).await.is_err() {
                    break "connection lost";
                },
            },
            _ = shut_down(&mut shutdown) => break "simulator shut down",
        }
    };
    board.console.detach(tap);
    let _ = board.events.send(SimEvent::SolClosed {
        ip: board.ip,
        to_host: n.to_host,
        from_host: n.from_host,
        reason: reason.to_string(),
    });
}

/// Answers one client message in the SOL phase; `Err` ends the session with a reason.
async fn handle<S>(
    conn: &mut Conn<S>,
    board: &Board,
    msg: ClientMsg,
    n: &mut Counters,
) -> Result<(), &'static str>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let lost = |_| "connection lost";
    match msg {
        ClientMsg::Data { data } => {
            n.to_host += data.len() as u64;
            // The host task only goes away at shutdown.
            let _ = board.host.send(HostInput::Keys(data));
            Ok(())
        }
        ClientMsg::Heartbeat { .. } | ClientMsg::MeshCommander27 => Ok(()),
        ClientMsg::KeepAlivePing { seq } => conn
            .send(&wire::short(wire::SOL_KEEP_ALIVE_PING, seq))
            .await
            .map_err(lost),
        ClientMsg::EndSol { seq } => {
            conn.send(&wire::short(wire::END_SOL_REDIRECTION_REPLY, seq))
                .await
                .map_err(lost)?;
            // Then the client ends the redirection session (0x12) and closes.
            let _ = conn.next(CLOSE_TIMEOUT).await;
            Err("closed by the client")
        }
        ClientMsg::EndSession => Err("closed by the client"),
        ClientMsg::StartSession { .. }
        | ClientMsg::Authenticate { .. }
        | ClientMsg::StartSol(_) => Err("protocol error: handshake message during SOL"),
    }
}

/// Sends everything the console queued for this session.
async fn flush<S>(
    conn: &mut Conn<S>,
    board: &Board,
    tap: u64,
    frame: u16,
    n: &mut Counters,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut out = Vec::new();
    for item in board.console.take(tap) {
        let status = match item {
            Out::Data(bytes) => {
                n.from_host += bytes.len() as u64;
                wire::data_frames(&mut out, &mut n.data_seq, &bytes, usize::from(frame));
                continue;
            }
            Out::Power(true) => STATUS_POWERED_ON,
            Out::Power(false) => 0,
            Out::Overflow if board.lock().machine.power() == 2 => {
                STATUS_TX_OVERFLOW | STATUS_POWERED_ON
            }
            Out::Overflow => STATUS_TX_OVERFLOW,
        };
        out.extend_from_slice(&wire::control(n.control_seq, 0, status));
        n.control_seq = n.control_seq.wrapping_add(1);
    }
    if out.is_empty() {
        return Ok(());
    }
    conn.send(&out).await
}
