//! Intel AMT's well-known ports (Intel AMT SDK, "Network ports": 16992 WS-Man over HTTP,
//! 16993 WS-Man over TLS, 16994 redirection — SOL and IDE-R — and 16995 redirection over TLS).

use metal_wsman::Endpoint;

/// WS-Man over plain HTTP.
pub const WSMAN_HTTP: u16 = 16992;
/// WS-Man over TLS.
pub const WSMAN_TLS: u16 = 16993;
/// The redirection protocol (Serial-over-LAN) in the clear.
pub const REDIRECTION: u16 = 16994;
/// The redirection protocol over TLS.
pub const REDIRECTION_TLS: u16 = 16995;

/// The WS-Man endpoint of a board: 16993 with TLS, else 16992.
pub fn wsman(host: impl Into<String>, tls: bool) -> Endpoint {
    if tls {
        Endpoint::tls(host, WSMAN_TLS)
    } else {
        Endpoint::http(host, WSMAN_HTTP)
    }
}
