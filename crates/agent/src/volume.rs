//! `metal-agent volume send|receive`: one volume stream over TCP, each end given the same
//! one-time token (in the environment, so it stays out of the process list).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use clap::Subcommand;
use metal_xen::volume::{self, Compression, Expect, Kind, StreamError, Token};

/// How long either end waits for the other's next bytes before giving up.
const IDLE: Duration = Duration::from_secs(60);

#[derive(Subcommand)]
pub enum Op {
    /// Send DEVICE (a snapshot of a guest's volume, or any block device or file).
    Send {
        /// The receiving end.
        #[arg(long)]
        to: SocketAddr,
        /// The transfer's token: 64 hex digits, the same at both ends.
        #[arg(long, env = "METAL_STREAM_TOKEN", hide_env_values = true)]
        token: TokenArg,
        /// zstd level: negative levels are zstd's fast modes (-3, the default, suits fast
        /// links; 1 to 3 send fewer bytes over a slow one).
        #[arg(long, default_value_t = Compression::default().level, allow_negative_numbers = true)]
        level: i32,
        #[arg(value_name = "DEVICE")]
        device: PathBuf,
    },
    /// Receive one stream into DEVICE (at least as large as the volume sent), then exit.
    Receive {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long, env = "METAL_STREAM_TOKEN", hide_env_values = true)]
        token: TokenArg,
        #[arg(value_name = "DEVICE")]
        device: PathBuf,
    },
}

#[derive(Clone)]
pub struct TokenArg(Token);

impl FromStr for TokenArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bytes = hex::decode(s.trim()).map_err(|_| "the token is not hex".to_string())?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "the token is 64 hex digits (32 bytes)".to_string())?;
        Ok(Self(Token(bytes)))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("{path}: {source}")]
    Device {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{addr}: {source}")]
    Net {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Stream(#[from] StreamError),
}

pub struct Summary {
    verb: &'static str,
    size: u64,
    data: u64,
    zeros: u64,
    wire: Option<u64>,
    digest: u128,
    elapsed: Duration,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        write!(
            f,
            "{} {} bytes ({} data, {} zeros) in {:.3} s: {:.0} MB/s logical",
            self.verb,
            self.size,
            self.data,
            self.zeros,
            secs,
            self.size as f64 / secs / 1e6
        )?;
        if let Some(w) = self.wire {
            write!(f, ", {w} bytes on the wire")?;
        }
        write!(f, "; verified, digest {:032x}", self.digest)
    }
}

pub fn run(op: Op) -> Result<Summary, VolumeError> {
    match op {
        Op::Send {
            to,
            token,
            level,
            device,
        } => {
            let (file, size) = open(&device, false)?;
            let started = Instant::now();
            let mut conn = TcpStream::connect_timeout(&to, Duration::from_secs(10))
                .and_then(|c| tune(&c).map(|()| c))
                .map_err(|source| VolumeError::Net { addr: to, source })?;
            let compression = Compression {
                level,
                ..Compression::default()
            };
            let sent = volume::send_full(&mut conn, &file, size, &token.0, compression)?;
            Ok(Summary {
                verb: "sent",
                size: sent.size,
                data: sent.data_bytes,
                zeros: sent.zero_bytes,
                wire: Some(sent.wire_bytes),
                digest: sent.digest,
                elapsed: started.elapsed(),
            })
        }
        Op::Receive {
            listen,
            token,
            device,
        } => {
            let (file, size) = open(&device, true)?;
            let listener = TcpListener::bind(listen).map_err(|source| VolumeError::Net {
                addr: listen,
                source,
            })?;
            let (mut conn, peer) = listener.accept().map_err(|source| VolumeError::Net {
                addr: listen,
                source,
            })?;
            tune(&conn).map_err(|source| VolumeError::Net { addr: peer, source })?;
            let started = Instant::now();
            let expect = Expect {
                token: token.0,
                kind: Kind::Full,
                base: None,
            };
            let got = volume::receive(&mut conn, &file, size, &expect)?;
            Ok(Summary {
                verb: "received",
                size: got.size,
                data: got.data_bytes,
                zeros: got.zero_bytes,
                wire: None,
                digest: got.digest,
                elapsed: started.elapsed(),
            })
        }
    }
}

pub(crate) fn tune(c: &TcpStream) -> std::io::Result<()> {
    c.set_nodelay(true)?;
    c.set_read_timeout(Some(IDLE))?;
    c.set_write_timeout(Some(IDLE))
}

/// A block device or file and its size (a block device's size is where its end seeks to).
fn open(path: &Path, write: bool) -> Result<(File, u64), VolumeError> {
    let err = |source| VolumeError::Device {
        path: path.to_path_buf(),
        source,
    };
    let mut f = OpenOptions::new()
        .read(true)
        .write(write)
        .open(path)
        .map_err(err)?;
    let size = f.seek(SeekFrom::End(0)).map_err(err)?;
    Ok((f, size))
}
