//! A minimal TFTP client that asks for `blksize` and `windowsize`, for the TFTP benchmark
//! (`benches/netboot-tftp.sh`): curl and tftp-hpa's client never ask for a window, so they cannot
//! show what RFC 7440 buys.
//!
//! `tftp_get HOST:PORT NAME OUT [BLKSIZE [WINDOWSIZE]]` prints `bytes seconds`.

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        return Err("usage: tftp_get HOST:PORT NAME OUT [BLKSIZE [WINDOWSIZE]]".into());
    }
    let server: SocketAddr = args[1].parse()?;
    let blksize: usize = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(512);
    let windowsize: u16 = args.get(5).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&args[3])?);
    let start = Instant::now();
    let bytes = fetch(server, &args[2], blksize, windowsize, &mut out)?;
    out.flush()?;
    println!("{bytes} {:.3}", start.elapsed().as_secs_f64());
    Ok(())
}

/// RFC 1350 §6 read transfer with RFC 2347 options; RFC 7440 §4: the client acknowledges the
/// last block of each window, or, on a gap or a timeout, the last block received in order.
fn fetch(
    server: SocketAddr,
    name: &str,
    blksize: usize,
    windowsize: u16,
    out: &mut impl Write,
) -> Result<u64, Box<dyn std::error::Error>> {
    let sock = UdpSocket::bind(("0.0.0.0", 0))?;
    sock.set_read_timeout(Some(Duration::from_millis(500)))?;
    let mut rrq = vec![0, 1];
    for field in [name, "octet", "blksize", &blksize.to_string()] {
        rrq.extend_from_slice(field.as_bytes());
        rrq.push(0);
    }
    if windowsize > 1 {
        for field in ["windowsize", &windowsize.to_string()] {
            rrq.extend_from_slice(field.as_bytes());
            rrq.push(0);
        }
    }
    sock.send_to(&rrq, server)?;
    let mut buf = vec![0u8; blksize + 4];
    let mut peer: Option<SocketAddr> = None;
    let (mut blksize, mut window) = (512usize, 1u16);
    let mut last: u16 = 0;
    let mut in_window: u16 = 0;
    let mut total: u64 = 0;
    let mut timeouts = 0;
    loop {
        let (n, from) = match sock.recv_from(&mut buf) {
            Ok(r) => r,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                timeouts += 1;
                if timeouts > 20 {
                    return Err("server went silent".into());
                }
                match peer {
                    Some(p) => sock.send_to(&ack(last), p)?,
                    None => sock.send_to(&rrq, server)?,
                };
                in_window = 0;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        timeouts = 0;
        let p = &buf[..n];
        if n < 4 {
            continue;
        }
        let block = u16::from_be_bytes([p[2], p[3]]);
        match u16::from_be_bytes([p[0], p[1]]) {
            6 => {
                let fields: Vec<&[u8]> = p[2..].split(|b| *b == 0).collect();
                for kv in fields.chunks(2).filter(|kv| kv.len() == 2) {
                    let v = std::str::from_utf8(kv[1])?;
                    match kv[0] {
                        b"blksize" => blksize = v.parse()?,
                        b"windowsize" => window = v.parse()?,
                        _ => {}
                    }
                }
                buf.resize(blksize + 4, 0);
                peer = Some(from);
                sock.send_to(&ack(0), from)?;
            }
            3 => {
                peer = Some(from);
                if block != last.wrapping_add(1) {
                    // A gap: acknowledge what we have, the server resends from there.
                    sock.send_to(&ack(last), from)?;
                    in_window = 0;
                    continue;
                }
                out.write_all(&p[4..])?;
                total += (n - 4) as u64;
                last = block;
                in_window += 1;
                let done = n - 4 < blksize;
                if done || in_window >= window {
                    sock.send_to(&ack(last), from)?;
                    in_window = 0;
                }
                if done {
                    return Ok(total);
                }
            }
            5 => {
                return Err(
                    format!("TFTP error {block}: {}", String::from_utf8_lossy(&p[4..])).into(),
                );
            }
            _ => {}
        }
    }
}

fn ack(block: u16) -> [u8; 4] {
    let b = block.to_be_bytes();
    [0, 4, b[0], b[1]]
}
