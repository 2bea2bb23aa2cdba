//! The `metal serve` configuration file (TOML), parsed and checked before anything binds.
//! A complete example is `crates/netboot/netboot.example.toml`.
//!
//! ```toml
//! server_ip = "10.99.0.1"          # what clients reach us at: siaddr, server identifier, URLs
//! interface = "br0"                # DHCP answers only on this interface
//! mode = "dhcp"                    # or "proxy": beside a site DHCP server, PXE clients only
//! default_profile = "linux"        # what a MAC boots when nothing else says so
//!
//! [dhcp]                           # required in mode "dhcp"
//! subnet = "10.99.0.0/24"
//! range = ["10.99.0.100", "10.99.0.199"]
//! router = "10.99.0.1"
//! dns = ["10.99.0.1"]
//! lease_secs = 3600
//! lease_file = "/var/lib/metal/leases.json"
//!
//! [tftp]
//! root = "/srv/metal/tftp"         # undionly.kpxe, snponly.efi, ipxe.efi (Debian package `ipxe`)
//!
//! [http]
//! listen = "10.99.0.1:8080"
//! root = "/srv/metal/images"       # kernels, initrds, squashfs images (Range requests work)
//! templates = "pxe"                # iPXE script templates
//! operator_token_sha256 = "…"      # who may read GET /events (SHA-256 of the token)
//! max_connections_per_source = 32  # and max_connections, header_timeout_secs, idle_timeout_secs
//!
//! [profiles.linux]
//! template = "linux.ipxe"
//! kernel = "vmlinuz"               # every other key is passed to the template
//!
//! [[hosts]]
//! mac = "52:54:00:12:34:56"
//! ip = "10.99.0.50"
//! hostname = "node01"
//! profile = "xen"
//! action = "netboot"               # or "local-disk" (script `exit`) or "ignore"
//! ```

use std::collections::{BTreeMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;
use metal_types::MacAddr;
use serde::Deserialize;

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML does not parse or does not match the schema.
    #[error("invalid configuration: {0}")]
    Parse(#[from] toml::de::Error),
    /// The values parse but contradict each other.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Whether we are the subnet's DHCP server or a proxyDHCP server beside another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// We own the subnet: hand out addresses from `[dhcp] range` and reservations.
    Dhcp,
    /// Another server hands out addresses; we answer PXE clients only, with boot information and
    /// no address (PXE specification 2.1, "proxyDHCP"), on port 67 and 4011.
    Proxy,
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The address clients reach this server at.
    pub server_ip: Ipv4Addr,
    /// The interface DHCP listens and answers on (`SO_BINDTODEVICE`). Without it, every interface.
    pub interface: Option<String>,
    /// DHCP server or proxyDHCP.
    pub mode: Mode,
    /// The profile of MACs that neither the hosts table nor the policy names.
    pub default_profile: String,
    /// Address pool, options and lease file; required in mode `dhcp`.
    pub dhcp: Option<DhcpConfig>,
    /// DHCP ports; the defaults are the standard ones.
    #[serde(default)]
    pub ports: Ports,
    /// TFTP server.
    pub tftp: TftpConfig,
    /// HTTP server.
    pub http: HttpConfig,
    /// Boot file names by client architecture.
    #[serde(default)]
    pub boot_files: BootFiles,
    /// Named boot profiles: a template and the values it is rendered with.
    pub profiles: BTreeMap<String, Profile>,
    /// Per-MAC reservations and boot choices.
    #[serde(default)]
    pub hosts: Vec<HostEntry>,
    /// What every Dom0's plan carries: operators' SSH keys, time servers.
    #[serde(default)]
    pub dom0: Dom0Config,
}

/// `[dom0]`: the host settings every Dom0 (diskless or installed) gets through its plan.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dom0Config {
    /// `authorized_keys` lines for root on every Dom0.
    #[serde(default)]
    pub ssh_authorized_keys: Vec<String>,
    /// NTP servers; empty means this server (`server_ip`).
    #[serde(default)]
    pub ntp_servers: Vec<String>,
    /// The folder of metal's agent authority (see `metal-pki`): a booting Dom0's agent gets
    /// its certificate signed here. `metal serve` fills in the operator's own
    /// (`~/.config/metal/pki`, `METAL_PKI`) when this is not set.
    #[serde(default)]
    pub agent_authority: Option<std::path::PathBuf>,
}

/// The subnet we hand addresses out of.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DhcpConfig {
    /// The subnet (its mask goes out as option 1).
    pub subnet: Ipv4Net,
    /// First and last address of the dynamic pool, inclusive.
    pub range: [Ipv4Addr; 2],
    /// Option 3.
    pub router: Option<Ipv4Addr>,
    /// Option 6.
    #[serde(default)]
    pub dns: Vec<Ipv4Addr>,
    /// Option 51, in seconds.
    #[serde(default = "default_lease_secs")]
    pub lease_secs: u32,
    /// Where leases are kept across restarts.
    pub lease_file: PathBuf,
}

fn default_lease_secs() -> u32 {
    3600
}

/// UDP ports of the DHCP side. Tests without root use high ports; on a port other than 67 the
/// server replies by unicast to the request's source instead of broadcasting.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ports {
    /// DHCP server port (RFC 2131 §4.1: 67).
    #[serde(default = "default_dhcp_port")]
    pub dhcp: u16,
    /// PXE boot server port for proxy mode (PXE specification: 4011).
    #[serde(default = "default_pxe_port")]
    pub pxe: u16,
}

fn default_dhcp_port() -> u16 {
    67
}

fn default_pxe_port() -> u16 {
    4011
}

impl Default for Ports {
    fn default() -> Self {
        Ports {
            dhcp: default_dhcp_port(),
            pxe: default_pxe_port(),
        }
    }
}

/// The read-only TFTP server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TftpConfig {
    /// Directory served; nothing outside it is ever read.
    pub root: PathBuf,
    /// Listen address; default `server_ip:69`.
    pub listen: Option<SocketAddr>,
}

/// The HTTP server: scripts, images, boot events.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Listen address.
    pub listen: SocketAddr,
    /// Directory of kernels, initrds and images, served under `/files/`.
    pub root: PathBuf,
    /// Directory of iPXE script templates (the repository's `pxe/`).
    pub templates: PathBuf,
    /// SHA-256 (hex) of the operator token that may read `GET /events`
    /// (`printf %s TOKEN | sha256sum`). Without it nobody may.
    pub operator_token_sha256: Option<String>,
    /// Connections open at once; default from the file-descriptor limit (see
    /// [`crate::http::Limits`]).
    pub max_connections: Option<usize>,
    /// Connections one client address may hold open.
    #[serde(default = "default_per_source")]
    pub max_connections_per_source: usize,
    /// Seconds a client has to send a request's headers.
    #[serde(default = "default_header_secs")]
    pub header_timeout_secs: u64,
    /// Seconds a connection may stay without any byte moving before it is closed.
    #[serde(default = "default_idle_secs")]
    pub idle_timeout_secs: u64,
    /// The HTTP addresses of the other netboot servers on this segment (sharing the
    /// inventory's database, `metal serve --inventory`). Every plan lists this server and
    /// them; an installer or Dom0 whose server stops answering reports its steps to, and
    /// fetches its images from, the next one (its boot's token is valid there too).
    #[serde(default)]
    pub peers: Vec<SocketAddr>,
}

fn default_per_source() -> usize {
    32
}

fn default_header_secs() -> u64 {
    10
}

fn default_idle_secs() -> u64 {
    60
}

impl HttpConfig {
    /// The operator token's digest, checked by [`Config::parse`].
    pub fn operator_token(&self) -> Option<crate::grant::OperatorToken> {
        let hex = self.operator_token_sha256.as_deref()?;
        let mut digest = [0u8; 32];
        hex::decode_to_slice(hex, &mut digest).ok()?;
        Some(crate::grant::OperatorToken(digest))
    }
}

/// Boot file names, relative to the TFTP root, by RFC 4578 client architecture.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootFiles {
    /// Architecture 0, BIOS PXE.
    #[serde(default = "default_bios")]
    pub bios: String,
    /// Architectures 7 and 9, x64 UEFI PXE.
    #[serde(default = "default_efi64")]
    pub efi64: String,
    /// Architecture 16, x64 UEFI HTTP boot: fetched from the TFTP root over HTTP (`/tftp/`).
    #[serde(default = "default_efi64_http")]
    pub efi64_http: String,
}

fn default_bios() -> String {
    "undionly.kpxe".into()
}

fn default_efi64() -> String {
    "snponly.efi".into()
}

fn default_efi64_http() -> String {
    "ipxe.efi".into()
}

impl Default for BootFiles {
    fn default() -> Self {
        BootFiles {
            bios: default_bios(),
            efi64: default_efi64(),
            efi64_http: default_efi64_http(),
        }
    }
}

/// A boot profile: which template, rendered with which values.
#[derive(Debug, Clone, Deserialize)]
pub struct Profile {
    /// Template file name in the templates directory.
    pub template: String,
    /// Every other key of the table, passed to the template as is.
    #[serde(flatten)]
    pub vars: BTreeMap<String, toml::Value>,
}

/// One known machine.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostEntry {
    /// Its boot NIC.
    pub mac: MacAddr,
    /// A fixed address (mode `dhcp`); must lie in the subnet.
    pub ip: Option<Ipv4Addr>,
    /// Option 12.
    pub hostname: Option<String>,
    /// Profile name; the default profile when absent.
    pub profile: Option<String>,
    /// Whether it netboots at all.
    #[serde(default)]
    pub action: HostAction,
}

/// What a `[[hosts]]` entry's machine does when it netboots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostAction {
    /// Boot its profile's script (the default).
    #[default]
    Netboot,
    /// Its script is `exit`: the firmware goes on to the local disk.
    LocalDisk,
    /// No boot file and no script (it still gets its address in mode `dhcp`).
    Ignore,
}

impl Config {
    /// Reads and checks a configuration file. Relative paths in it are taken relative to the
    /// file's directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Config::parse(&text)?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve_paths(base);
        Ok(config)
    }

    /// Parses and checks configuration text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let join = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        join(&mut self.tftp.root);
        join(&mut self.http.root);
        join(&mut self.http.templates);
        if let Some(dhcp) = &mut self.dhcp {
            join(&mut dhcp.lease_file);
        }
    }

    /// The TFTP listen address.
    pub fn tftp_listen(&self) -> SocketAddr {
        self.tftp
            .listen
            .unwrap_or_else(|| SocketAddr::from((self.server_ip, 69)))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if !self.profiles.contains_key(&self.default_profile) {
            return bad(format!(
                "default_profile {:?} is not a [profiles] entry",
                self.default_profile
            ));
        }
        if self.http.operator_token_sha256.is_some() && self.http.operator_token().is_none() {
            return bad("http.operator_token_sha256 must be 64 hex digits (a SHA-256)".into());
        }
        if self.http.max_connections == Some(0) || self.http.max_connections_per_source == 0 {
            return bad(
                "http.max_connections and max_connections_per_source must be at least 1".into(),
            );
        }
        if self.http.header_timeout_secs == 0 || self.http.idle_timeout_secs == 0 {
            return bad("http.header_timeout_secs and idle_timeout_secs must be at least 1".into());
        }
        for key in &self.dom0.ssh_authorized_keys {
            if key.trim().is_empty() || key.chars().any(char::is_control) {
                return bad("dom0.ssh_authorized_keys: each key is one non-empty line".into());
            }
        }
        for server in &self.dom0.ntp_servers {
            if server.is_empty()
                || !server
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c))
            {
                return bad(format!(
                    "dom0.ntp_servers: {server:?} is not a host name or address"
                ));
            }
        }
        let mut macs = HashSet::new();
        let mut ips = HashSet::new();
        for host in &self.hosts {
            if !macs.insert(host.mac) {
                return bad(format!("host {} is listed twice", host.mac));
            }
            if let Some(p) = &host.profile
                && !self.profiles.contains_key(p)
            {
                return bad(format!("host {}: unknown profile {p:?}", host.mac));
            }
            if let Some(ip) = host.ip
                && !ips.insert(ip)
            {
                return bad(format!("address {ip} is reserved twice"));
            }
        }
        match (self.mode, &self.dhcp) {
            (Mode::Dhcp, None) => return bad("mode \"dhcp\" needs a [dhcp] section".into()),
            (Mode::Dhcp, Some(d)) => {
                let [first, last] = d.range;
                if u32::from(first) > u32::from(last) {
                    return bad(format!("dhcp.range: {first} comes after {last}"));
                }
                for ip in [first, last] {
                    if !d.subnet.contains(&ip)
                        || ip == d.subnet.network()
                        || ip == d.subnet.broadcast()
                    {
                        return bad(format!("dhcp.range: {ip} is not a host of {}", d.subnet));
                    }
                }
                if !d.subnet.contains(&self.server_ip) {
                    return bad(format!(
                        "server_ip {} is outside {}",
                        self.server_ip, d.subnet
                    ));
                }
                for host in &self.hosts {
                    if let Some(ip) = host.ip
                        && !d.subnet.contains(&ip)
                    {
                        return bad(format!("host {}: {ip} is outside {}", host.mac, d.subnet));
                    }
                }
                if d.lease_secs < 60 {
                    return bad("dhcp.lease_secs must be at least 60".into());
                }
            }
            (Mode::Proxy, _) => {}
        }
        Ok(())
    }
}

/// A complete example configuration, for the crate's unit tests.
#[cfg(test)]
pub(crate) fn tests_example() -> &'static str {
    tests::EXAMPLE
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const EXAMPLE: &str = r#"
server_ip = "10.99.0.1"
interface = "br0"
mode = "dhcp"
default_profile = "linux"

[dhcp]
subnet = "10.99.0.0/24"
range = ["10.99.0.100", "10.99.0.110"]
router = "10.99.0.1"
lease_file = "leases.json"

[tftp]
root = "tftp"

[http]
listen = "10.99.0.1:8080"
root = "images"
templates = "pxe"

[profiles.linux]
template = "linux.ipxe"
kernel = "vmlinuz"

[profiles.special]
template = "linux.ipxe"
kernel = "special"

[[hosts]]
mac = "52:54:00:00:00:01"
ip = "10.99.0.50"
profile = "special"
"#;

    #[test]
    fn example_parses_with_defaults() {
        let c = Config::parse(EXAMPLE).unwrap();
        assert_eq!(c.mode, Mode::Dhcp);
        assert_eq!(c.ports.dhcp, 67);
        assert_eq!(c.boot_files.bios, "undionly.kpxe");
        assert_eq!(c.tftp_listen(), "10.99.0.1:69".parse().unwrap());
        assert_eq!(c.profiles["linux"].vars["kernel"].as_str(), Some("vmlinuz"));
        assert_eq!(c.dhcp.unwrap().lease_secs, 3600);
    }

    fn invalid(from: &str, to: &str) -> String {
        let text = EXAMPLE.replace(from, to);
        assert_ne!(text, EXAMPLE, "{from:?} not in the example");
        match Config::parse(&text) {
            Err(ConfigError::Invalid(m)) => m,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn contradictions_are_refused() {
        assert!(invalid("default_profile = \"linux\"", "default_profile = \"x\"").contains("x"));
        assert!(invalid("\"10.99.0.110\"]", "\"10.99.1.5\"]").contains("not a host"));
        assert!(invalid("\"10.99.0.110\"]", "\"10.99.0.99\"]").contains("comes after"));
        assert!(invalid("ip = \"10.99.0.50\"", "ip = \"10.1.0.50\"").contains("outside"));
        assert!(invalid("profile = \"special\"", "profile = \"nope\"").contains("nope"));
    }

    #[test]
    fn shipped_example_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("netboot.example.toml");
        let c = Config::load(&path).unwrap();
        assert!(
            c.http.templates.join("xen.ipxe").exists(),
            "templates resolve to pxe/"
        );
        assert_eq!(c.hosts[1].action, HostAction::LocalDisk);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let text = EXAMPLE.replace("[tftp]\n", "[tftp]\nrot = 1\n");
        assert!(matches!(Config::parse(&text), Err(ConfigError::Parse(_))));
    }

    #[test]
    fn proxy_mode_needs_no_pool() {
        let text = EXAMPLE
            .replace("mode = \"dhcp\"", "mode = \"proxy\"")
            .replace("[dhcp]\n", "[unused]\n");
        let text = text.split("[unused]").next().unwrap().to_string()
            + &text[text.find("[tftp]").unwrap()..];
        let c = Config::parse(&text).unwrap();
        assert!(c.dhcp.is_none());
    }
}
