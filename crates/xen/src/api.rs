//! The agent's HTTP API, as both ends see it: `metal-agent serve` answers these paths with
//! these JSON bodies over mutual TLS, `metal-ops` calls them. Paths are under `/v1`.
//!
//! | method and path                     | body → answer                                  |
//! |-------------------------------------|------------------------------------------------|
//! | `GET  /v1/host`                     | → [`Host`]                                     |
//! | `GET  /v1/load?window=SECS`         | → [`crate::load::Load`] over that window       |
//! | `POST /v1/guests`                   | [`Define`] → [`GuestStatus`] (volume made)     |
//! | `POST /v1/guests/NAME/receive`      | [`Receive`] → [`Listening`]                    |
//! | `GET  /v1/guests/NAME/receive`      | → [`ReceiveStatus`]                            |
//! | `POST /v1/guests/NAME/configure`    | [`Network`] → [`GuestStatus`]                  |
//! | `POST /v1/guests/NAME/send`         | [`Send`] → [`SendReport`] (after the verdict)  |
//! | `POST /v1/guests/NAME/start`        | → [`GuestStatus`]                              |
//! | `POST /v1/guests/NAME/stop`         | → [`GuestStatus`]                              |
//! | `DELETE /v1/guests/NAME`            | → [`GuestStatus`] (domain, volume, definition gone) |
//! | `GET  /v1/guests`                   | → `[GuestStatus]`                              |
//! | `GET  /v1/guests/NAME/console?bytes=N` | → the console log's last N bytes (text)     |
//!
//! A refusal is a 4xx/5xx with [`Problem`] as the body.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::load::HostInfo;

/// The agent's default port.
pub const PORT: u16 = 7443;

/// A Dom0 as its agent sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pub hostname: String,
    pub info: HostInfo,
    /// Unallocated bytes in `vg00` (0 when there is no `vg00`).
    pub vg_free_bytes: u64,
    pub guests: Vec<GuestStatus>,
}

/// What a guest is: enough to make its volume and its `xl` configuration again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Define {
    pub name: String,
    pub address: Ipv4Addr,
    pub memory_mib: u32,
    pub vcpus: u8,
    pub disk_gib: u32,
}

/// Where the guest sits on the Dom0's bridge, written into its volume at create. What is not
/// given is the Dom0's own: the prefix of its bridge address, its default gateway, its name
/// servers (the guest shares the Dom0's segment, as install_xen.sh guests did).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    /// Prefix length of the guest's address.
    pub prefix: Option<u8>,
    pub gateway: Option<Ipv4Addr>,
    pub dns: Vec<IpAddr>,
    /// The search domain (the inventory's zone), if any.
    pub domain: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamKind {
    Full,
    Delta,
}

/// Open a one-time listener for a stream into the guest's volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receive {
    pub kind: StreamKind,
    /// 64 hex digits; the stream's preamble must carry it.
    pub token: String,
    /// For a delta: the digest (32 hex digits) of the full pass this Dom0 verified.
    pub base: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listening {
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum ReceiveStatus {
    /// Nothing asked for, or the listener still waits / the stream is arriving.
    Waiting,
    Verified {
        digest: String,
        data_bytes: u64,
        zero_bytes: u64,
    },
    Failed {
        error: String,
    },
}

/// Stream the guest's volume to another Dom0's listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Send {
    pub to: SocketAddr,
    pub kind: StreamKind,
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendReport {
    pub size: u64,
    pub data_bytes: u64,
    pub zero_bytes: u64,
    pub wire_bytes: u64,
    pub digest: String,
    pub millis: u64,
}

/// A guest on this Dom0: its definition and whether `xl` runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestStatus {
    pub name: String,
    /// `xl`'s domain id while it runs.
    pub domid: Option<u32>,
    /// `running` (on a CPU, blocked or runnable), `paused`, `shutdown`, `crashed`, `dying`
    /// (from `xl list`), or
    /// `stopped` (defined, not running).
    pub state: String,
    pub memory_mib: u32,
    pub vcpus: u8,
    pub disk_gib: u32,
    pub address: Ipv4Addr,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub error: String,
}
