//! One read transfer, on a thread and a UDP socket of its own.
//!
//! RFC 1350 §4: the server answers a request from a new port (its transfer ID) and talks to the
//! client's port only; the socket is `connect`ed to the client, so the kernel keeps other
//! senders away (they get ICMP port unreachable rather than RFC 1350's ERROR 5; the transfer is
//! undisturbed either way). A blocking socket with a receive timeout makes every block cost one
//! `send` and one `recv`, the least a lock-step protocol allows — the reason this engine exists
//! (see BENCHMARKS.md, "TFTP").
//!
//! Retransmission follows RFC 1123 §4.2.3.1: a block is sent again only when its ACK times out,
//! never because a duplicate ACK arrived (the "Sorcerer's Apprentice" bug). With `windowsize`
//! (RFC 7440 §4) the server sends up to that many blocks, then waits; an ACK for any block in the
//! window moves the window to the block after it, and a timeout sends the window again.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::net::RecvFlags;

use super::packet::{self, DATA_HEADER, ErrorCode, Reply};

/// The negotiated parameters of one transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Payload bytes per DATA packet.
    pub blksize: u16,
    /// Blocks sent before waiting for an ACK (1: lock-step).
    pub windowsize: u16,
    /// How long to wait for an ACK before sending again.
    pub timeout: Duration,
    /// Sends of the same window before giving up.
    pub attempts: u32,
}

/// How a transfer ended badly.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The client stopped answering.
    #[error("no ACK for block {block} after {attempts} sends")]
    Timeout {
        /// The first unacknowledged block.
        block: u16,
        /// Sends made.
        attempts: u32,
    },
    /// The client sent an ERROR packet.
    #[error("client gave up: error {code} {message:?}")]
    Client {
        /// RFC 1350 error code.
        code: u16,
        /// Its message.
        message: String,
    },
    /// The server is stopping.
    #[error("server stopping")]
    Stopped,
    /// The client sent a new request from the same port: this transfer is abandoned.
    #[error("client started over")]
    Cancelled,
    /// The client's port is closed (ICMP port unreachable on the connected socket).
    #[error("client went away")]
    Gone,
    /// Reading the file or using the socket failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// What a finished transfer sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Payload bytes.
    pub bytes: u64,
    /// DATA packets sent, retransmissions included.
    pub packets: u64,
}

/// How long a transfer polls for an ACK before it sleeps, while CPUs are to spare.
///
/// An ACK on a LAN or loopback comes back sooner than a sleeping thread is woken: on the 2-core
/// VM of BENCHMARKS.md one lock-step curl took 8.5–14 s for 32 MiB with sleeping waits and
/// 2.7–3.3 s with this poll (tftp-hpa, which sleeps, 10–17 s). While fewer transfers run than
/// there are CPUs, the polling uses a CPU that would be idle; with more, nobody polls.
const SPIN: Duration = Duration::from_micros(50);

/// What a transfer shares with the listener.
#[derive(Debug, Default)]
pub struct TransferFlags {
    /// Set by the listener when the client starts over; checked whenever a wait ends.
    pub cancel: AtomicBool,
    /// Set once the client has answered (an ACK, or an ERROR such as a PXE ROM's abort after
    /// learning `tsize`): the same request again is then a restart, not a resend.
    pub answered: AtomicBool,
}

/// A client, its socket and what the transfer shares with the server.
pub struct Peer<'a> {
    /// The socket, connected to the client.
    pub socket: &'a UdpSocket,
    /// Set when the server stops; checked whenever a wait ends.
    pub stop: &'a AtomicBool,
    /// This transfer's flags.
    pub flags: &'a TransferFlags,
    /// Transfers running now, this one included.
    pub running: &'a AtomicUsize,
    /// CPUs available to the server.
    pub cpus: usize,
}

impl Peer<'_> {
    /// Sends `oack` until the client acknowledges it with ACK 0 (RFC 2347 §2).
    pub fn send_oack(&self, oack: &[u8], params: &Params) -> Result<(), TransferError> {
        for attempt in 1..=params.attempts {
            self.socket.send(oack)?;
            match self.wait_ack(params.timeout, |block| block == 0)? {
                Some(_) => return Ok(()),
                None if attempt == params.attempts => break,
                None => {}
            }
        }
        Err(TransferError::Timeout {
            block: 0,
            attempts: params.attempts,
        })
    }

    /// Sends everything `source` yields as DATA blocks 1, 2, … (wrapping to 0 after 65535, as
    /// tftp-hpa and iPXE do) and returns once the last, short block is acknowledged.
    pub fn send_file(&self, source: &mut dyn Read, params: &Params) -> Result<Sent, TransferError> {
        let blksize = usize::from(params.blksize);
        let window = usize::from(params.windowsize.max(1));
        // Blocks sent and not yet acknowledged, oldest first; `base` is the first one's number.
        let mut unacked: VecDeque<Vec<u8>> = VecDeque::with_capacity(window);
        let mut spare: Vec<Vec<u8>> = Vec::with_capacity(window);
        let mut base: u16 = 1;
        let mut next: u16 = 1;
        let mut eof = false;
        let mut sent = Sent {
            bytes: 0,
            packets: 0,
        };
        let mut attempts = 0;
        loop {
            while !eof && unacked.len() < window {
                let mut p = spare.pop().unwrap_or_default();
                p.resize(DATA_HEADER + blksize, 0);
                packet::put_data_header(&mut p, next);
                let n = read_full(source, &mut p[DATA_HEADER..])?;
                p.truncate(DATA_HEADER + n);
                eof = n < blksize;
                sent.bytes += n as u64;
                next = next.wrapping_add(1);
                unacked.push_back(p);
            }
            if unacked.is_empty() {
                return Ok(sent);
            }
            self.still_wanted()?;
            for p in &unacked {
                self.socket.send(p)?;
                sent.packets += 1;
            }
            attempts += 1;
            let in_window = |block: u16| usize::from(block.wrapping_sub(base)) < unacked.len();
            match self.wait_ack(params.timeout, in_window)? {
                Some(block) => {
                    let acked = usize::from(block.wrapping_sub(base)) + 1;
                    spare.extend(unacked.drain(..acked));
                    base = block.wrapping_add(1);
                    attempts = 0;
                }
                None if attempts >= params.attempts => {
                    return Err(TransferError::Timeout {
                        block: base,
                        attempts,
                    });
                }
                None => {}
            }
        }
    }

    /// Waits up to `timeout` for an ACK that `wanted` accepts; `None` on timeout. Stale ACKs
    /// and stray packets are skipped without resetting the clock.
    fn wait_ack(
        &self,
        timeout: Duration,
        wanted: impl Fn(u16) -> bool,
    ) -> Result<Option<u16>, TransferError> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 516];
        let mut shortened = false;
        let result = loop {
            if let Err(e) = self.still_wanted() {
                break Err(e);
            }
            match self.recv(&mut buf) {
                Ok(n) => match packet::parse_reply(&buf[..n]) {
                    Reply::Ack(block) if wanted(block) => {
                        if !self.flags.answered.load(Ordering::Relaxed) {
                            self.flags.answered.store(true, Ordering::Relaxed);
                        }
                        break Ok(Some(block));
                    }
                    Reply::Error(code, message) => {
                        self.flags.answered.store(true, Ordering::Relaxed);
                        break Err(TransferError::Client { code, message });
                    }
                    Reply::Ack(_) | Reply::Other => {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            break Ok(None);
                        }
                        self.socket.set_read_timeout(Some(left))?;
                        shortened = true;
                    }
                },
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    break Ok(None);
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    break Err(TransferError::Gone);
                }
                Err(e) => break Err(e.into()),
            }
        };
        if shortened {
            self.socket.set_read_timeout(Some(timeout))?;
        }
        result
    }

    /// Whether the transfer should go on: not when the server stops or the client started over.
    fn still_wanted(&self) -> Result<(), TransferError> {
        if self.stop.load(Ordering::Relaxed) {
            Err(TransferError::Stopped)
        } else if self.flags.cancel.load(Ordering::Relaxed) {
            Err(TransferError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// One datagram from the client: polled for up to [`SPIN`] while CPUs are to spare, then
    /// waited for until the socket's read timeout.
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        if self.running.load(Ordering::Relaxed) < self.cpus {
            let until = Instant::now() + SPIN;
            loop {
                match rustix::net::recv(self.socket, &mut *buf, RecvFlags::DONTWAIT) {
                    Ok((n, _)) => return Ok(n),
                    Err(Errno::AGAIN | Errno::INTR) if Instant::now() < until => {
                        std::hint::spin_loop()
                    }
                    Err(Errno::AGAIN | Errno::INTR) => break,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        self.socket.recv(buf)
    }

    /// Sends an ERROR packet; the transfer ends with it (errors are not acknowledged).
    pub fn send_error(&self, code: ErrorCode, message: &str) {
        let _ = self.socket.send(&packet::error(code, message));
    }
}

/// A UDP socket on an ephemeral port of `local`, connected to `client`. With a wildcard listen
/// address the kernel picks the source address by route, which on a host with several
/// addresses in one subnet may differ from the one the client asked (tftp-hpa reads it with
/// `IP_PKTINFO`); `metal serve` listens on the server's address, so its replies come from it.
pub fn socket_for(
    local: SocketAddr,
    client: SocketAddr,
    timeout: Duration,
) -> io::Result<UdpSocket> {
    let socket = UdpSocket::bind(SocketAddr::new(local.ip(), 0))?;
    socket.connect(client)?;
    socket.set_read_timeout(Some(timeout))?;
    Ok(socket)
}

/// Fills `buf` unless the source ends first; returns the bytes read.
fn read_full(source: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match source.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Turns a file into NVT ASCII for a `netascii` transfer (RFC 1350 §1 refers to RFC 764): every
/// LF becomes CR LF and every CR becomes CR NUL.
pub struct Netascii<R> {
    inner: R,
    /// The second byte of an expanded pair that did not fit the caller's buffer.
    pending: Option<u8>,
}

impl<R: Read> Netascii<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        Netascii {
            inner,
            pending: None,
        }
    }
}

impl<R: Read> Read for Netascii<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        if let (Some(b), true) = (self.pending, !out.is_empty()) {
            out[0] = b;
            self.pending = None;
            n = 1;
        }
        let mut byte = [0u8; 1];
        // Reading byte by byte is fine: the source is a BufReader and netascii is rare.
        while n < out.len() {
            match self.inner.read(&mut byte) {
                Ok(1) => {}
                Ok(_) => break,
                // Bytes already converted are returned; the error comes again on the next call.
                Err(_) if n > 0 => break,
                Err(e) => return Err(e),
            }
            let (first, second) = match byte[0] {
                b'\n' => (b'\r', Some(b'\n')),
                b'\r' => (b'\r', Some(0)),
                b => (b, None),
            };
            out[n] = first;
            n += 1;
            if let Some(s) = second {
                if n < out.len() {
                    out[n] = s;
                    n += 1;
                } else {
                    self.pending = Some(s);
                }
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netascii_expands_line_ends_across_buffer_edges() {
        let mut r = Netascii::new(&b"a\nb\rc\n"[..]);
        let mut out = Vec::new();
        let mut buf = [0u8; 2];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(out, b"a\r\nb\r\0c\r\n");
    }

    /// A client on loopback that sends the ACKs `acks` lists for each DATA block it receives.
    fn client(
        acks: impl Fn(u16) -> Vec<u16> + Send + 'static,
    ) -> (UdpSocket, std::thread::JoinHandle<Vec<u16>>) {
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        c.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let sock = c.try_clone().unwrap();
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut buf = [0u8; 600];
            while let Ok((n, from)) = sock.recv_from(&mut buf) {
                let block = u16::from_be_bytes([buf[2], buf[3]]);
                seen.push(block);
                for a in acks(block) {
                    let mut p = vec![0, 4];
                    p.extend_from_slice(&a.to_be_bytes());
                    sock.send_to(&p, from).unwrap();
                }
                if n < 4 + 8 {
                    break;
                }
            }
            seen
        });
        (c, handle)
    }

    static STOP: AtomicBool = AtomicBool::new(false);
    static FLAGS: TransferFlags = TransferFlags {
        cancel: AtomicBool::new(false),
        answered: AtomicBool::new(false),
    };
    static RUNNING: AtomicUsize = AtomicUsize::new(1);

    fn server_socket(client: &UdpSocket) -> UdpSocket {
        let local = "127.0.0.1:0".parse().unwrap();
        socket_for(
            local,
            client.local_addr().unwrap(),
            Duration::from_millis(100),
        )
        .unwrap()
    }

    /// A peer that polls for ACKs (`spin`: a CPU to spare) or sleeps at once.
    fn peer_of(socket: &UdpSocket, spin: bool) -> Peer<'_> {
        Peer {
            socket,
            stop: &STOP,
            flags: &FLAGS,
            running: &RUNNING,
            cpus: if spin { 2 } else { 1 },
        }
    }

    fn params(windowsize: u16) -> Params {
        Params {
            blksize: 8,
            windowsize,
            timeout: Duration::from_millis(100),
            attempts: 3,
        }
    }

    #[test]
    fn a_lost_ack_is_resent_on_timeout_and_a_duplicate_ack_sends_nothing() {
        for spin in [false, true] {
            lost_and_duplicate_acks(spin);
        }
    }

    fn lost_and_duplicate_acks(spin: bool) {
        let dropped = std::sync::atomic::AtomicBool::new(false);
        let (c, handle) = client(move |block| match block {
            // The first ACK of block 2 is lost; block 3 gets a duplicate ACK 2 before its own.
            2 if !dropped.swap(true, Ordering::SeqCst) => vec![],
            3 => vec![2, 3],
            b => vec![b],
        });
        let s = server_socket(&c);
        let peer = peer_of(&s, spin);
        let data = b"0123456789abcdefghij"; // blocks of 8, 8, 4
        let sent = peer.send_file(&mut &data[..], &params(1)).unwrap();
        assert_eq!(sent.bytes, 20);
        assert_eq!(
            sent.packets, 4,
            "block 2 sent twice, block 3 once despite the duplicate"
        );
        assert_eq!(handle.join().unwrap(), vec![1, 2, 2, 3]);
    }

    #[test]
    fn a_closed_client_port_ends_the_transfer_as_gone() {
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        let s = server_socket(&c);
        drop(c);
        let peer = peer_of(&s, false);
        let err = peer
            .send_file(&mut &[1u8; 100][..], &params(1))
            .unwrap_err();
        // ICMP port unreachable reaches the connected socket: the transfer ends as "gone", not
        // after its sends run out ("no ACK"), even if the kernel rate-limits an ICMP or two.
        assert!(matches!(err, TransferError::Gone), "{err}");
    }

    #[test]
    fn a_window_moves_past_the_acked_block() {
        // The client acknowledges only even blocks: the server resends from the block after.
        let (c, handle) = client(|block| vec![block - block % 2]);
        let s = server_socket(&c);
        let peer = peer_of(&s, true);
        let data = [7u8; 8 * 5]; // 5 full blocks and an empty sixth
        let sent = peer.send_file(&mut &data[..], &params(4)).unwrap();
        assert_eq!(sent.bytes, 40);
        let seen = handle.join().unwrap();
        assert_eq!(&seen[..4], &[1, 2, 3, 4], "one window of four");
        assert_eq!(*seen.last().unwrap(), 6, "the empty last block ends it");
    }

    #[test]
    fn a_silent_client_times_out_and_a_client_error_ends_the_transfer() {
        let (c, _h) = client(|_| vec![]);
        let s = server_socket(&c);
        let peer = peer_of(&s, true);
        let err = peer
            .send_file(&mut &[1u8; 100][..], &params(1))
            .unwrap_err();
        assert!(
            matches!(
                err,
                TransferError::Timeout {
                    block: 1,
                    attempts: 3
                }
            ),
            "{err}"
        );

        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        let s = server_socket(&c);
        c.send_to(b"\x00\x05\x00\x08no\x00", s.local_addr().unwrap())
            .unwrap();
        let peer = peer_of(&s, true);
        let err = peer
            .send_oack(&packet::oack(&[("blksize", 8)]), &params(1))
            .unwrap_err();
        assert!(
            matches!(err, TransferError::Client { code: 8, .. }),
            "{err}"
        );
    }
}
