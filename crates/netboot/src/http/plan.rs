//! `GET /plan/{mac}`: what a booting Dom0 or installer does, as JSON, for the boot's token
//! only. Built from the machine's decision (hostname, storage from its hardware profile), its
//! netboot profile (`mode`, `storage`, `disks`, `root_gib`, `image_dir`, `xen_cmdline`, and
//! `dom0_cmdline` for an installed Dom0, else `cmdline`), `[dom0]` (SSH keys, time servers) and the image's manifest in `[http] root`
//! (`dom0.manifest.json`: the SHA-256 the client checks every file against).
//!
//! ```json
//! { "mac": "52:54:00:00:00:01", "hostname": "r01-h01", "mode": "install",
//!   "events_url": "http://10.0.0.1:8080/events",
//!   "servers": ["http://10.0.0.1:8080", "http://10.0.0.2:8080"],
//!   "storage": { "layout": "raid10", "disks": 4, "root_gib": 8 },
//!   "image": { "files_url": "http://10.0.0.1:8080/files/", "files_path": "/files/",
//!              "root_url": "…/dom0-root.squashfs",
//!              "root_sha256": "…", "files": { "vmlinuz": "…", "xen.elf": "…" } },
//!   "xen_cmdline": "dom0_mem=512M,max:512M …", "dom0_cmdline": "console=hvc0",
//!   "ssh_authorized_keys": ["ssh-ed25519 …"], "ntp_servers": ["10.0.0.1"], "guest_vg": false }
//! ```

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metal_types::MacAddr;
use metal_types::text::Escaped;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::auth::{boot_grant, busy};
use super::state::{HttpState, text};
use crate::policy::{BootAction, Storage, StorageLayout};

/// The manifest a plan's checksums come from, as `metal image build dom0` writes it.
pub const MANIFEST: &str = "dom0.manifest.json";
/// The Dom0 root image's name in the manifest.
pub const ROOT_IMAGE: &str = "dom0-root.squashfs";
/// A manifest is a few kilobytes; anything larger is not one.
const MAX_MANIFEST: u64 = 1 << 20;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    pub mac: MacAddr,
    pub hostname: Option<String>,
    /// `diskless` or `install`.
    pub mode: String,
    pub events_url: String,
    /// This server's base URL, then its `[http] peers`: where to turn when it stops answering
    /// (events at `BASE/events`, files at `BASE` + `image.files_path`).
    pub servers: Vec<String>,
    pub storage: Option<Storage>,
    pub image: Image,
    pub xen_cmdline: String,
    pub dom0_cmdline: String,
    pub ssh_authorized_keys: Vec<String>,
    pub ntp_servers: Vec<String>,
    /// A diskless Dom0 makes `vg00` of its blank local disks (no partitions, no signature) for
    /// guest volumes: the netboot profile's `guest_vg = true`. Off by default, so a diskless
    /// Dom0 never writes a disk it was not told to.
    #[serde(default)]
    pub guest_vg: bool,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Image {
    pub files_url: String,
    /// `files_url` without the server: the same files on every server.
    pub files_path: String,
    pub root_url: String,
    pub root_sha256: String,
    /// Every file of the manifest and its SHA-256.
    pub files: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct ManifestFiles {
    files: Vec<ManifestFile>,
}

#[derive(Deserialize)]
struct ManifestFile {
    name: String,
    sha256: String,
}

pub(super) async fn get(
    State(state): State<Arc<HttpState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(mac): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Ok(mac) = mac.parse::<MacAddr>() else {
        return text(
            StatusCode::NOT_FOUND,
            format!("no plan {}: expected a MAC\n", Escaped(&mac)),
        );
    };
    if let Err(refused) = boot_grant(&state, mac, "plan", &headers, peer).await {
        return refused;
    }
    match build(&state, mac).await {
        Ok(plan) => {
            info!("http: {peer} plan for {mac}: {}", plan.mode);
            match serde_json::to_vec(&plan) {
                Ok(body) => (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    body,
                )
                    .into_response(),
                Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
            }
        }
        Err(Refusal::Busy(why)) => {
            warn!("http: plan for {mac}: {why}");
            busy(&why)
        }
        Err(Refusal::NoPlan(why)) => {
            warn!("http: plan for {mac}: {why}");
            text(StatusCode::CONFLICT, format!("{why}\n"))
        }
    }
}

enum Refusal {
    Busy(String),
    NoPlan(String),
}

async fn build(state: &HttpState, mac: MacAddr) -> Result<Plan, Refusal> {
    let decision = state
        .policy
        .decide(mac)
        .await
        .map_err(|e| Refusal::Busy(e.to_string()))?;
    let BootAction::Profile(name) = &decision.action else {
        return Err(Refusal::NoPlan(format!(
            "{mac} does not netboot a profile now"
        )));
    };
    let profile = state
        .profiles
        .get(name)
        .ok_or_else(|| Refusal::NoPlan(format!("unknown profile {name:?}")))?;
    let var = |k: &str| {
        profile
            .vars
            .get(k)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let int = |k: &str| profile.vars.get(k).and_then(|v| v.as_integer());
    let mode = var("mode").unwrap_or_else(|| "diskless".to_string());
    let hardware = decision.hardware.clone().unwrap_or_default();
    let storage = match hardware.storage {
        Some(s) => Some(s),
        None => match var("storage") {
            Some(layout) => {
                let layout: StorageLayout = layout
                    .parse()
                    .map_err(|e: String| Refusal::NoPlan(format!("profile {name}: {e}")))?;
                Some(Storage {
                    disks: int("disks")
                        .and_then(|d| u8::try_from(d).ok())
                        .unwrap_or(layout.disks()),
                    root_gib: int("root_gib")
                        .and_then(|g| u32::try_from(g).ok())
                        .unwrap_or(Storage::DEFAULT_ROOT_GIB),
                    layout,
                })
            }
            None => None,
        },
    };
    if mode == "install" && storage.is_none() {
        return Err(Refusal::NoPlan(format!(
            "profile {name} installs but names no storage layout"
        )));
    }
    let dir = var("image_dir").unwrap_or_default();
    let dir = dir.trim_matches('/');
    let files_path = if dir.is_empty() {
        "/files/".to_string()
    } else {
        format!("/files/{dir}/")
    };
    let files_url = format!("{}{files_path}", state.base_url);
    let files = manifest(state, dir).map_err(Refusal::NoPlan)?;
    let root_sha256 = files
        .get(ROOT_IMAGE)
        .cloned()
        .ok_or_else(|| Refusal::NoPlan(format!("{MANIFEST} lists no {ROOT_IMAGE}")))?;
    let xen_cmdline = match hardware.dom0_memory_mib {
        Some(mib) => with_dom0_mem(&var("xen_cmdline").unwrap_or_default(), mib),
        None => var("xen_cmdline").unwrap_or_default(),
    };
    let ntp_servers = if state.dom0.ntp_servers.is_empty() {
        vec![state.server_ip.to_string()]
    } else {
        state.dom0.ntp_servers.clone()
    };
    Ok(Plan {
        mac,
        hostname: decision.hostname.clone(),
        mode,
        events_url: format!("{}/events", state.base_url),
        servers: std::iter::once(state.base_url.clone())
            .chain(state.peers.iter().map(|p| format!("http://{p}")))
            .collect(),
        storage,
        image: Image {
            root_url: format!("{files_url}{ROOT_IMAGE}"),
            files_url,
            files_path,
            root_sha256,
            files,
        },
        xen_cmdline,
        dom0_cmdline: var("dom0_cmdline")
            .or_else(|| var("cmdline"))
            .unwrap_or_default(),
        ssh_authorized_keys: state.dom0.ssh_authorized_keys.clone(),
        ntp_servers,
        guest_vg: profile
            .vars
            .get("guest_vg")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
    })
}

/// `xen_cmdline` with its `dom0_mem=` replaced by (or given) `mib` MiB, fixed (`max:` too, as
/// Debian's Xen guide advises, with autoballooning off in the image).
pub fn with_dom0_mem(xen_cmdline: &str, mib: u32) -> String {
    let mut words: Vec<String> = xen_cmdline
        .split_whitespace()
        .filter(|w| !w.starts_with("dom0_mem="))
        .map(str::to_string)
        .collect();
    words.insert(0, format!("dom0_mem={mib}M,max:{mib}M"));
    words.join(" ")
}

/// The files of the manifest in `dir` under `[http] root`, by name.
fn manifest(state: &HttpState, dir: &str) -> Result<BTreeMap<String, String>, String> {
    let path: PathBuf = [dir, MANIFEST].iter().filter(|p| !p.is_empty()).collect();
    let (file, size) = state.files.file(&path).map_err(|e| {
        format!(
            "{}: {e} (run `metal image build dom0 --out` into [http] root)",
            path.display()
        )
    })?;
    if size > MAX_MANIFEST {
        return Err(format!(
            "{}: {size} bytes is not a manifest",
            path.display()
        ));
    }
    let mut text = String::new();
    file.take(MAX_MANIFEST)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let m: ManifestFiles =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(m.files.into_iter().map(|f| (f.name, f.sha256)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dom0_mem_is_set_once_with_its_maximum() {
        assert_eq!(
            with_dom0_mem("dom0_mem=1024M console=com1", 512),
            "dom0_mem=512M,max:512M console=com1"
        );
        assert_eq!(with_dom0_mem("", 768), "dom0_mem=768M,max:768M");
    }
}
