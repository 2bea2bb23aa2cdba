//! A blocking HTTP/1.1 exchange from a chosen local address, for tests that play a machine on
//! the provisioning network (its source address is what the server checks).

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use socket2::{Domain, Socket, Type};

/// Sends `request` (a whole HTTP/1.1 request, `Connection: close`) from `from` to `to` and
/// returns everything the server sent back; an empty string when it refused the connection.
pub fn exchange(from: IpAddr, to: SocketAddr, request: &str) -> String {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a TCP socket");
    socket
        .bind(&SocketAddr::new(from, 0).into())
        .unwrap_or_else(|e| panic!("binding {from}: {e}"));
    if socket.connect(&to.into()).is_err() {
        return String::new();
    }
    let mut stream: std::net::TcpStream = socket.into();
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    if stream.write_all(request.as_bytes()).is_err() {
        return String::new();
    }
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The status code of a response, `""` for none.
pub fn status(response: &str) -> &str {
    response.get(9..12).unwrap_or("")
}

/// `GET path`.
pub fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
}

/// `POST /events` with a form body, and a bearer token if given.
pub fn post_event(body: &str, token: Option<&str>) -> String {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!(
        "POST /events HTTP/1.1\r\nHost: t\r\n{auth}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The `metal.token=` a rendered iPXE script carries.
pub fn token_of(script: &str) -> String {
    script
        .split_whitespace()
        .find_map(|w| w.strip_prefix("metal.token="))
        .unwrap_or_else(|| panic!("no token in {script}"))
        .to_string()
}
