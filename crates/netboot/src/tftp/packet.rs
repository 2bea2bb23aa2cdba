//! The TFTP wire format: the packets of RFC 1350 §5 and the option extension of RFC 2347
//! (options after the mode, answered by an OACK, opcode 6) with the options of RFC 2348
//! (`blksize`), RFC 2349 (`timeout`, `tsize`) and RFC 7440 (`windowsize`).
//!
//! Pure functions over byte slices: nothing here touches a socket, and no input makes them
//! panic (property-tested below).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// RFC 1350 §5 opcodes (6 from RFC 2347 §2).
const RRQ: u16 = 1;
const WRQ: u16 = 2;
const DATA: u16 = 3;
const ACK: u16 = 4;
const ERROR: u16 = 5;
const OACK: u16 = 6;

/// Bytes before the payload of a DATA packet: opcode and block number (RFC 1350 §5).
pub const DATA_HEADER: usize = 4;
/// The block size without a `blksize` option (RFC 1350 §2).
pub const DEFAULT_BLKSIZE: u16 = 512;
/// RFC 2348 §2: valid block sizes are 8 to 65464 octets.
pub const BLKSIZE_RANGE: std::ops::RangeInclusive<u16> = 8..=65464;

/// The error codes of RFC 1350 §5 this server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum ErrorCode {
    /// "Not defined, see error message".
    NotDefined = 0,
    /// "File not found".
    FileNotFound = 1,
    /// "Access violation".
    AccessViolation = 2,
    /// "Illegal TFTP operation".
    IllegalOperation = 4,
}

/// The transfer mode of a request (RFC 1350 §1; "mail" is obsolete and refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bytes as they are.
    Octet,
    /// NVT ASCII: CR LF line ends, a lone CR sent as CR NUL (RFC 764).
    Netascii,
}

/// The options a client asked for, each kept only when its value is valid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// RFC 2348 `blksize`, 8..=65464.
    pub blksize: Option<u16>,
    /// RFC 2349 `timeout` in seconds, 1..=255.
    pub timeout: Option<u8>,
    /// RFC 2349 `tsize`: in a read request the client sends 0 and the server answers the size.
    pub tsize: Option<u64>,
    /// RFC 7440 `windowsize`, 1..=65535.
    pub windowsize: Option<u16>,
}

/// A read or write request (RFC 1350 §5 "RRQ/WRQ packet", options from RFC 2347 §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// A write request (this server refuses them).
    pub write: bool,
    /// The requested file name, as sent (no encoding is assumed).
    pub filename: PathBuf,
    /// The transfer mode.
    pub mode: Mode,
    /// The options, if any.
    pub options: Options,
}

/// Why a datagram is not a request this server can take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Shorter than an opcode, or a field lacks its terminating zero byte.
    #[error("truncated request")]
    Truncated,
    /// Another opcode: DATA, ACK, ERROR or OACK sent to the request port, or garbage.
    #[error("opcode {0} is not a request")]
    NotARequest(u16),
    /// A mode other than octet and netascii.
    #[error("mode {0:?} is not supported")]
    Mode(String),
}

/// Parses an RRQ or WRQ: `opcode | filename 0 | mode 0 | (option 0 value 0)*`.
///
/// RFC 2347 §2: option names and values are case-insensitive ASCII; an option this server does
/// not know, or with a value out of its range, is left out (and so not acknowledged), as are
/// trailing bytes that do not form a whole option.
pub fn parse_request(datagram: &[u8]) -> Result<Request, RequestError> {
    let write = match opcode(datagram) {
        Some(RRQ) => false,
        Some(WRQ) => true,
        Some(other) => return Err(RequestError::NotARequest(other)),
        None => return Err(RequestError::Truncated),
    };
    let mut fields = datagram[2..].split(|b| *b == 0);
    let filename = fields.next().ok_or(RequestError::Truncated)?;
    let mode = fields.next().ok_or(RequestError::Truncated)?;
    // `split` yields the bytes after the last zero as a final field: a request whose last field
    // is terminated leaves an empty one, anything else is an unterminated field.
    if !datagram.ends_with(&[0]) || datagram.len() < 4 {
        return Err(RequestError::Truncated);
    }
    let mode = match ascii_lower(mode).as_str() {
        "octet" => Mode::Octet,
        "netascii" => Mode::Netascii,
        other => return Err(RequestError::Mode(other.to_string())),
    };
    let rest: Vec<&[u8]> = fields.collect();
    let mut options = Options::default();
    for pair in rest.chunks_exact(2) {
        let value = std::str::from_utf8(pair[1]).ok();
        match ascii_lower(pair[0]).as_str() {
            "blksize" => {
                options.blksize = value
                    .and_then(decimal)
                    .filter(|v| *v >= u64::from(*BLKSIZE_RANGE.start()))
                    // RFC 2348 §2 lets the server answer a smaller size than asked.
                    .map(|v| v.min(u64::from(*BLKSIZE_RANGE.end())) as u16)
            }
            "timeout" => {
                options.timeout = value.and_then(|v| v.parse::<u8>().ok()).filter(|v| *v >= 1)
            }
            "tsize" => options.tsize = value.and_then(|v| v.parse().ok()),
            "windowsize" => {
                // RFC 7440 §3 allows 1..=65535; the server may answer less than asked.
                options.windowsize = value
                    .and_then(decimal)
                    .filter(|v| *v >= 1)
                    .map(|v| v.min(u64::from(u16::MAX)) as u16)
            }
            _ => {}
        }
    }
    Ok(Request {
        write,
        filename: PathBuf::from(OsStr::from_bytes(filename)),
        mode,
        options,
    })
}

/// What a client sends during a read transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// ACK of a block (RFC 1350 §5; block 0 acknowledges an OACK, RFC 2347 §2).
    Ack(u16),
    /// The client gives up, with its code and message.
    Error(u16, String),
    /// Anything else: ignored.
    Other,
}

/// Parses what a client sent to a transfer's port.
pub fn parse_reply(datagram: &[u8]) -> Reply {
    match opcode(datagram) {
        Some(ACK) if datagram.len() >= 4 => {
            Reply::Ack(u16::from_be_bytes([datagram[2], datagram[3]]))
        }
        Some(ERROR) if datagram.len() >= 4 => {
            let code = u16::from_be_bytes([datagram[2], datagram[3]]);
            let text = datagram[4..].split(|b| *b == 0).next().unwrap_or_default();
            Reply::Error(code, String::from_utf8_lossy(text).into_owned())
        }
        _ => Reply::Other,
    }
}

/// Writes the DATA header for `block` into the first [`DATA_HEADER`] bytes of `packet`.
pub fn put_data_header(packet: &mut [u8], block: u16) {
    packet[..2].copy_from_slice(&DATA.to_be_bytes());
    packet[2..4].copy_from_slice(&block.to_be_bytes());
}

/// An ERROR packet (RFC 1350 §5): code, message, zero byte.
pub fn error(code: ErrorCode, message: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(5 + message.len());
    p.extend_from_slice(&ERROR.to_be_bytes());
    p.extend_from_slice(&(code as u16).to_be_bytes());
    p.extend(message.bytes().filter(|b| *b != 0));
    p.push(0);
    p
}

/// An OACK (RFC 2347 §2): the accepted options, each name and value followed by a zero byte.
pub fn oack(options: &[(&str, u64)]) -> Vec<u8> {
    let mut p = OACK.to_be_bytes().to_vec();
    for (name, value) in options {
        p.extend_from_slice(name.as_bytes());
        p.push(0);
        p.extend_from_slice(value.to_string().as_bytes());
        p.push(0);
    }
    p
}

/// A decimal option value, saturating at `u64::MAX` (an absurdly large size still means
/// "as large as you allow").
fn decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(u64::MAX))
}

fn opcode(datagram: &[u8]) -> Option<u16> {
    (datagram.len() >= 2).then(|| u16::from_be_bytes([datagram[0], datagram[1]]))
}

fn ascii_lower(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rrq(fields: &[&str]) -> Vec<u8> {
        let mut p = vec![0, 1];
        for f in fields {
            p.extend_from_slice(f.as_bytes());
            p.push(0);
        }
        p
    }

    #[test]
    fn a_plain_read_request() {
        let r = parse_request(&rrq(&["undionly.kpxe", "octet"])).unwrap();
        assert!(!r.write);
        assert_eq!(r.filename, PathBuf::from("undionly.kpxe"));
        assert_eq!(r.mode, Mode::Octet);
        assert_eq!(r.options, Options::default());
    }

    #[test]
    fn options_are_case_insensitive_and_checked_against_their_ranges() {
        let r = parse_request(&rrq(&[
            "a",
            "NetASCII",
            "BLKSIZE",
            "1468",
            "tsize",
            "0",
            "Timeout",
            "3",
            "windowsize",
            "16",
            "multicast",
            "",
        ]))
        .unwrap();
        assert_eq!(r.mode, Mode::Netascii);
        assert_eq!(
            r.options,
            Options {
                blksize: Some(1468),
                timeout: Some(3),
                tsize: Some(0),
                windowsize: Some(16)
            }
        );
        let r = parse_request(&rrq(&[
            "a",
            "octet",
            "blksize",
            "7",
            "timeout",
            "0",
            "windowsize",
            "0",
            "tsize",
            "x",
        ]))
        .unwrap();
        assert_eq!(
            r.options,
            Options::default(),
            "out of range values are left out"
        );
        for huge in ["99999", "99999999999999999999999"] {
            let r =
                parse_request(&rrq(&["a", "octet", "blksize", huge, "windowsize", huge])).unwrap();
            assert_eq!(
                r.options.blksize,
                Some(65464),
                "RFC 2348: answer the largest valid size"
            );
            assert_eq!(r.options.windowsize, Some(65535));
        }
    }

    #[test]
    fn malformed_requests_are_named() {
        assert_eq!(parse_request(&[0]), Err(RequestError::Truncated));
        assert_eq!(parse_request(b"\x00\x01name"), Err(RequestError::Truncated));
        assert_eq!(
            parse_request(b"\x00\x01name\x00octet"),
            Err(RequestError::Truncated)
        );
        assert_eq!(
            parse_request(&[0, 4, 0, 1]),
            Err(RequestError::NotARequest(4))
        );
        assert_eq!(
            parse_request(&rrq(&["a", "mail"])),
            Err(RequestError::Mode("mail".into()))
        );
        let w = parse_request(&{
            let mut p = rrq(&["evil", "octet"]);
            p[1] = 2;
            p
        })
        .unwrap();
        assert!(w.write);
        // A dangling option name without its value is ignored, the request stands.
        let r = parse_request(&rrq(&["a", "octet", "blksize"])).unwrap();
        assert_eq!(r.options.blksize, None);
    }

    #[test]
    fn replies_and_packets() {
        assert_eq!(parse_reply(&[0, 4, 0xff, 0xfe]), Reply::Ack(65534));
        assert_eq!(
            parse_reply(b"\x00\x05\x00\x08no thanks\x00"),
            Reply::Error(8, "no thanks".into())
        );
        assert_eq!(parse_reply(&[0, 4, 1]), Reply::Other);
        assert_eq!(parse_reply(&[0, 3, 0, 1, 9]), Reply::Other);
        assert_eq!(
            error(ErrorCode::AccessViolation, "read\0only"),
            b"\x00\x05\x00\x02readonly\x00"
        );
        assert_eq!(
            oack(&[("blksize", 1468), ("tsize", 70000)]),
            b"\x00\x06blksize\x001468\x00tsize\x0070000\x00"
        );
        let mut p = [0u8; 6];
        put_data_header(&mut p, 258);
        assert_eq!(p, [0, 3, 1, 2, 0, 0]);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..700)) {
            let _ = parse_request(&bytes);
            let _ = parse_reply(&bytes);
        }

        #[test]
        fn requests_round_trip(name in "[a-zA-Z0-9._/-]{1,60}", blksize in 8u16..=65464, window in 1u16..) {
            let p = rrq(&[&name, "octet", "blksize", &blksize.to_string(), "windowsize", &window.to_string()]);
            let r = parse_request(&p).unwrap();
            prop_assert_eq!(r.filename, PathBuf::from(&name));
            prop_assert_eq!(r.options.blksize, Some(blksize));
            prop_assert_eq!(r.options.windowsize, Some(window));
        }
    }
}
