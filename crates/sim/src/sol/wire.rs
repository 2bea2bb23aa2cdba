//! The redirection protocol's framing, as a pure decoder of client messages and encoders of
//! board messages (amt-protocol.md §2c; message numbers and lengths as in Intel's
//! `RedirectionConstants.h`). Integers are little-endian.

/// StartRedirectionSession (C, 8 bytes).
pub(crate) const START_REDIRECTION_SESSION: u8 = 0x10;
/// StartRedirectionSessionReply (A, 13 bytes with no OEM data).
pub(crate) const START_REDIRECTION_SESSION_REPLY: u8 = 0x11;
/// EndRedirectionSession (C, 4 bytes).
pub(crate) const END_REDIRECTION_SESSION: u8 = 0x12;
/// AuthenticateSession (C, 9 + data).
pub(crate) const AUTHENTICATE_SESSION: u8 = 0x13;
/// AuthenticateSessionReply (A, 9 + data).
pub(crate) const AUTHENTICATE_SESSION_REPLY: u8 = 0x14;
/// StartSOLRedirection (C, 24 bytes).
pub(crate) const START_SOL_REDIRECTION: u8 = 0x20;
/// StartSOLRedirectionReply (A, 23 bytes).
pub(crate) const START_SOL_REDIRECTION_REPLY: u8 = 0x21;
/// EndSOLRedirection (C, 8 bytes).
pub(crate) const END_SOL_REDIRECTION: u8 = 0x22;
/// EndSOLRedirectionReply (A, 8 bytes).
pub(crate) const END_SOL_REDIRECTION_REPLY: u8 = 0x23;
/// Keep-alive ping (8 bytes).
pub(crate) const SOL_KEEP_ALIVE_PING: u8 = 0x24;
/// The undocumented message MeshCommander sends after 0x21 (14 bytes, amt-protocol.md §2c).
pub(crate) const MESHCOMMANDER_0X27: u8 = 0x27;
/// Data to the host (C, 10 + data).
pub(crate) const SOL_DATA_TO_HOST: u8 = 0x28;
/// Control/status from the host (A, 10 bytes).
pub(crate) const SOL_CONTROLS_FROM_HOST: u8 = 0x29;
/// Data from the host (A, 10 + data).
pub(crate) const SOL_DATA_FROM_HOST: u8 = 0x2A;
/// Heartbeat (8 bytes, both ways).
pub(crate) const SOL_HEARTBEAT: u8 = 0x2B;

/// StartRedirectionSession protocol tags.
pub(crate) const PROTOCOL_SOL: [u8; 4] = *b"SOL ";
/// Intel's IANA enterprise number, bytes 8–11 of the StartRedirectionSessionReply.
const IANA_INTEL: u32 = 343;

/// Largest AuthenticateSession data accepted (a digest step 2 is about 200 bytes).
pub(crate) const MAX_AUTH_DATA: u32 = 4096;

/// A malformed client message: the board closes the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WireError {
    /// No such message type (or one a board never receives).
    #[error("unknown redirection message type 0x{0:02x}")]
    UnknownType(u8),
    /// AuthenticateSession data longer than [`MAX_AUTH_DATA`].
    #[error("authentication data of {0} bytes")]
    TooLong(u32),
}

/// The client's SOL parameters (StartSOLRedirection, amt-protocol.md §2c), in milliseconds
/// except `max_tx_buffer` (bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SolSettings {
    pub seq: u32,
    pub max_tx_buffer: u16,
    pub tx_timeout: u16,
    pub tx_overflow_timeout: u16,
    pub rx_timeout: u16,
    pub rx_flush_timeout: u16,
    pub heartbeat: u16,
}

/// A message from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClientMsg {
    StartSession { protocol: [u8; 4] },
    EndSession,
    Authenticate { method: u8, data: Vec<u8> },
    StartSol(SolSettings),
    EndSol { seq: u32 },
    KeepAlivePing { seq: u32 },
    MeshCommander27,
    Data { data: Vec<u8> },
    Heartbeat { seq: u32 },
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Decodes the first message in `buf`: `Ok(None)` until it is complete, else the message
/// and its length.
pub(crate) fn decode(buf: &[u8]) -> Result<Option<(ClientMsg, usize)>, WireError> {
    let Some(&kind) = buf.first() else {
        return Ok(None);
    };
    // The length of the fixed part (or of the header that holds the variable length).
    let fixed = match kind {
        START_REDIRECTION_SESSION | SOL_HEARTBEAT | SOL_KEEP_ALIVE_PING | END_SOL_REDIRECTION => 8,
        END_REDIRECTION_SESSION => 4,
        AUTHENTICATE_SESSION => 9,
        START_SOL_REDIRECTION => 24,
        MESHCOMMANDER_0X27 => 14,
        SOL_DATA_TO_HOST => 10,
        other => return Err(WireError::UnknownType(other)),
    };
    if buf.len() < fixed {
        return Ok(None);
    }
    let total = match kind {
        AUTHENTICATE_SESSION => {
            let len = u32_at(buf, 5);
            if len > MAX_AUTH_DATA {
                return Err(WireError::TooLong(len));
            }
            fixed + len as usize
        }
        SOL_DATA_TO_HOST => fixed + usize::from(u16_at(buf, 8)),
        _ => fixed,
    };
    if buf.len() < total {
        return Ok(None);
    }
    let msg = match kind {
        START_REDIRECTION_SESSION => ClientMsg::StartSession {
            protocol: [buf[4], buf[5], buf[6], buf[7]],
        },
        END_REDIRECTION_SESSION => ClientMsg::EndSession,
        AUTHENTICATE_SESSION => ClientMsg::Authenticate {
            method: buf[4],
            data: buf[9..total].to_vec(),
        },
        START_SOL_REDIRECTION => ClientMsg::StartSol(SolSettings {
            seq: u32_at(buf, 4),
            max_tx_buffer: u16_at(buf, 8),
            tx_timeout: u16_at(buf, 10),
            tx_overflow_timeout: u16_at(buf, 12),
            rx_timeout: u16_at(buf, 14),
            rx_flush_timeout: u16_at(buf, 16),
            heartbeat: u16_at(buf, 18),
        }),
        END_SOL_REDIRECTION => ClientMsg::EndSol {
            seq: u32_at(buf, 4),
        },
        SOL_KEEP_ALIVE_PING => ClientMsg::KeepAlivePing {
            seq: u32_at(buf, 4),
        },
        MESHCOMMANDER_0X27 => ClientMsg::MeshCommander27,
        SOL_DATA_TO_HOST => ClientMsg::Data {
            data: buf[10..total].to_vec(),
        },
        _ => ClientMsg::Heartbeat {
            seq: u32_at(buf, 4),
        },
    };
    Ok(Some((msg, total)))
}

/// Splits `data` into length-prefixed strings (`[len u8] bytes`), exactly `n` of them with
/// nothing left over; `None` otherwise or if one is not UTF-8.
pub(crate) fn strings(data: &[u8], n: usize) -> Option<Vec<String>> {
    let mut out = Vec::with_capacity(n);
    let mut rest = data;
    for _ in 0..n {
        let (&len, tail) = rest.split_first()?;
        let len = usize::from(len);
        if tail.len() < len {
            return None;
        }
        out.push(String::from_utf8(tail[..len].to_vec()).ok()?);
        rest = &tail[len..];
    }
    rest.is_empty().then_some(out)
}

/// Length-prefixes each string (at most 255 bytes each; longer ones are cut).
pub(crate) fn put_strings(parts: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        let b = &p.as_bytes()[..p.len().min(255)];
        out.push(b.len() as u8);
        out.extend_from_slice(b);
    }
    out
}

/// `11 st 00 00 01 00 MJ MN 57 01 00 00 00`: protocol 1.0, firmware MJ.MN, Intel's IANA
/// number, no OEM data.
pub(crate) fn start_session_reply(status: u8, (major, minor): (u8, u8)) -> [u8; 13] {
    let mut r = [0u8; 13];
    r[0] = START_REDIRECTION_SESSION_REPLY;
    r[1] = status;
    r[4] = 1;
    r[6] = major;
    r[7] = minor;
    r[8..12].copy_from_slice(&IANA_INTEL.to_le_bytes());
    r
}

/// `14 st 00 00 method <len u32> data`.
pub(crate) fn auth_reply(status: u8, method: u8, data: &[u8]) -> Vec<u8> {
    let mut r = vec![AUTHENTICATE_SESSION_REPLY, status, 0, 0, method];
    r.extend_from_slice(&(data.len() as u32).to_le_bytes());
    r.extend_from_slice(data);
    r
}

/// `21 st 00 00 <seq> <MaxTxBuf> <TxTimeout> <TxOverflowTimeout> <RxTimeout>
/// <RxFlushTimeout> <Heartbeat> 00 00 00`: the settings the board uses.
pub(crate) fn start_sol_reply(status: u8, s: &SolSettings) -> [u8; 23] {
    let mut r = [0u8; 23];
    r[0] = START_SOL_REDIRECTION_REPLY;
    r[1] = status;
    r[4..8].copy_from_slice(&s.seq.to_le_bytes());
    for (i, v) in [
        s.max_tx_buffer,
        s.tx_timeout,
        s.tx_overflow_timeout,
        s.rx_timeout,
        s.rx_flush_timeout,
        s.heartbeat,
    ]
    .into_iter()
    .enumerate()
    {
        r[8 + 2 * i..10 + 2 * i].copy_from_slice(&v.to_le_bytes());
    }
    r
}

/// An 8-byte `kind 00 00 00 <seq>` message (heartbeat, ping, end replies).
pub(crate) fn short(kind: u8, seq: u32) -> [u8; 8] {
    let mut r = [kind, 0, 0, 0, 0, 0, 0, 0];
    r[4..].copy_from_slice(&seq.to_le_bytes());
    r
}

/// `29 00 00 00 <seq> <control> <status>` (control bits RTS 1, DTR 2, BREAK 4; status bits
/// TX overflow 1, loopback 2, system powered on 4, RX flush timeout 8, test mode 16).
pub(crate) fn control(seq: u32, control: u8, status: u8) -> [u8; 10] {
    let mut r = [SOL_CONTROLS_FROM_HOST, 0, 0, 0, 0, 0, 0, 0, control, status];
    r[4..8].copy_from_slice(&seq.to_le_bytes());
    r
}

/// Appends `data` as `2A 00 00 00 <seq> <len u16> bytes` frames of at most `max` bytes,
/// counting `seq` up by one per frame.
pub(crate) fn data_frames(out: &mut Vec<u8>, seq: &mut u32, data: &[u8], max: usize) {
    for chunk in data.chunks(max.max(1)) {
        out.extend_from_slice(&[SOL_DATA_FROM_HOST, 0, 0, 0]);
        out.extend_from_slice(&seq.to_le_bytes());
        out.extend_from_slice(&(chunk.len() as u16).to_le_bytes());
        out.extend_from_slice(chunk);
        *seq = seq.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_documented_client_messages() {
        let start = [0x10, 0, 0, 0, 0x53, 0x4F, 0x4C, 0x20];
        assert_eq!(
            decode(&start),
            Ok(Some((ClientMsg::StartSession { protocol: *b"SOL " }, 8)))
        );
        assert_eq!(decode(&start[..7]), Ok(None));
        let query = [0x13, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            decode(&query),
            Ok(Some((
                ClientMsg::Authenticate {
                    method: 0,
                    data: vec![]
                },
                9
            )))
        );
        // amtterm's StartSOLRedirection: 1000/100/0/10000/0/5000.
        let mut sol = vec![0x20, 0, 0, 0, 7, 0, 0, 0];
        for v in [1000u16, 100, 0, 10000, 0, 5000] {
            sol.extend_from_slice(&v.to_le_bytes());
        }
        sol.extend_from_slice(&[0; 4]);
        let Ok(Some((ClientMsg::StartSol(s), 24))) = decode(&sol) else {
            panic!("StartSOLRedirection not decoded");
        };
        assert_eq!((s.seq, s.max_tx_buffer, s.heartbeat), (7, 1000, 5000));
        let data = [0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0, b'h', b'i', 0x2B];
        assert_eq!(
            decode(&data),
            Ok(Some((
                ClientMsg::Data {
                    data: b"hi".to_vec()
                },
                12
            )))
        );
        assert_eq!(decode(&[0x55]), Err(WireError::UnknownType(0x55)));
        assert_eq!(
            decode(&[0x13, 0, 0, 0, 4, 0xFF, 0xFF, 0, 0]),
            Err(WireError::TooLong(0xFFFF))
        );
    }

    #[test]
    fn encodes_the_documented_replies() {
        // The AMT 11.8 capture of amt-protocol.md §2c.
        assert_eq!(
            start_session_reply(0, (11, 8)),
            [
                0x11, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0b, 0x08, 0x57, 0x01, 0x00, 0x00, 0x00
            ]
        );
        assert_eq!(auth_reply(0, 0, &[4]), [0x14, 0, 0, 0, 0, 1, 0, 0, 0, 4]);
        let mut out = Vec::new();
        let mut seq = 5;
        data_frames(&mut out, &mut seq, b"abc", 2);
        assert_eq!(
            out,
            [
                0x2A, 0, 0, 0, 5, 0, 0, 0, 2, 0, b'a', b'b', 0x2A, 0, 0, 0, 6, 0, 0, 0, 1, 0, b'c'
            ]
        );
        assert_eq!(seq, 7);
    }

    #[test]
    fn length_prefixed_strings_round_trip() {
        let data = put_strings(&["admin", "", "/RedirectionService"]);
        assert_eq!(
            strings(&data, 3).unwrap(),
            ["admin", "", "/RedirectionService"]
        );
        assert!(strings(&data, 2).is_none());
        assert!(strings(&data, 4).is_none());
        assert!(strings(&[5, b'a'], 1).is_none());
    }
}
