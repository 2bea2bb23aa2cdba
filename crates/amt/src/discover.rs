//! Discovery of AMT endpoints: which addresses answer WS-Man on 16992 (HTTP) and 16993 (TLS),
//! and which firmware they run, read from the `Server:` header
//! (`Intel(R) Active Management Technology 12.0.67.1579`; MeshCommander reads it the same way).
//! Probes are unauthenticated, so discovery never counts against AMT's lockout.

use std::net::IpAddr;
use std::sync::Arc;

use metal_wsman::{Client, Credentials, TransportOptions};

use crate::ports;
use serde::Serialize;

/// An address where AMT answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discovered {
    pub address: IpAddr,
    /// WS-Man answers on 16992.
    pub http: bool,
    /// WS-Man answers on 16993.
    pub tls: bool,
    /// Firmware version from the `Server:` header, when it carries one.
    pub version: Option<String>,
    /// The whole `Server:` header.
    pub server: Option<String>,
}

const SERVER_PREFIX: &str = "Intel(R) Active Management Technology";

/// The version in an AMT `Server:` header. AMT 11 on some boards sends just "AMT".
pub fn version_from_server(server: &str) -> Option<String> {
    let rest = server.trim().strip_prefix(SERVER_PREFIX)?.trim();
    let ok = !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == '.');
    ok.then(|| rest.to_string())
}

/// Probes one address on both ports. `None` when nothing AMT-like answers.
pub async fn probe(address: IpAddr, options: Arc<TransportOptions>) -> Option<Discovered> {
    let anonymous = Credentials {
        user: String::new(),
        password: String::new(),
    };
    let host = address.to_string();
    let mut found = Discovered {
        address,
        http: false,
        tls: false,
        version: None,
        server: None,
    };
    for endpoint in [ports::wsman(host.clone(), false), ports::wsman(host, true)] {
        let tls = endpoint.tls;
        let mut client = Client::new(endpoint, anonymous.clone(), options.clone());
        let Ok((status, server)) = client.probe().await else {
            continue;
        };
        let amt = matches!(status, 200 | 400 | 401)
            || server
                .as_deref()
                .is_some_and(|s| s.contains("AMT") || s.contains(SERVER_PREFIX));
        if !amt {
            continue;
        }
        if tls {
            found.tls = true
        } else {
            found.http = true
        }
        if found.server.is_none() {
            found.version = server.as_deref().and_then(version_from_server);
            found.server = server;
        }
    }
    (found.http || found.tls).then_some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_server_headers() {
        assert_eq!(
            version_from_server("Intel(R) Active Management Technology 15.0.23.1706").as_deref(),
            Some("15.0.23.1706")
        );
        assert_eq!(version_from_server("AMT"), None);
        assert_eq!(version_from_server("nginx/1.2"), None);
    }
}
