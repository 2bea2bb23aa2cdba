//! `pxe`: a one-shot PXE boot set over AMT reaches the netboot server. The board's iPXE
//! fetches its boot script, which `metal serve` records as a `script` event; the check reads
//! the board's events back from `GET /events?mac=MAC` with the operator's token and waits for
//! a new one.

use std::path::Path;
use std::time::{Duration, Instant};

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::{Request, StatusCode, Uri};
use metal_acceptance::{Check, Limit, Measurement};
use metal_amt::Amt;
use metal_inventory::HardwareProfile;
use metal_types::text::board_text;
use metal_types::{BootDevice, BootEvent, MacAddr};
use tokio::net::TcpStream;

use super::power::round;
use crate::{Error, http1, private_file};

/// One exchange with the netboot server, connect to last byte.
const EXCHANGE: Duration = Duration::from_secs(10);
/// Longest events answer read (one machine's events; the server keeps 10 000 in all).
const MAX_ANSWER: usize = 16 << 20;
/// Between two looks at the board's events.
const POLL: Duration = Duration::from_millis(500);

/// The netboot server `metal verify --netboot URL` checks PXE boots against.
#[derive(Debug, Clone)]
pub struct NetbootServer {
    url: String,
    authority: String,
    token: String,
}

impl NetbootServer {
    /// `url` is the server's `http://HOST:PORT` (its `[http] listen`); `token` the operator
    /// token whose SHA-256 is its `[http] operator_token_sha256`.
    pub fn new(url: &str, token: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::Usage(format!("--netboot {}: {why}", board_text(url)));
        let uri: Uri = url.parse().map_err(|_| bad("expected http://HOST:PORT"))?;
        if uri.scheme_str() != Some("http") {
            return Err(bad("the netboot server speaks plain http://"));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(bad("give the server only, no path"));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| bad("expected http://HOST:PORT"))?;
        let authority = match authority.port_u16() {
            Some(_) => authority.to_string(),
            None => format!("{}:80", authority.host()),
        };
        let token = token.trim();
        if token.is_empty() || token.chars().any(char::is_control) {
            return Err(Error::Usage(
                "the netboot operator token is empty or not one line".into(),
            ));
        }
        Ok(Self {
            url: format!("http://{authority}"),
            authority,
            token: token.to_string(),
        })
    }

    /// [`NetbootServer::new`] with the token read from `file`, which others must not be able
    /// to read (as the secrets file).
    pub fn with_token_file(url: &str, file: &Path) -> Result<Self, Error> {
        if let Some(mode) = private_file::shared_mode(file).map_err(Error::io(file))? {
            return Err(Error::Usage(format!(
                "{}: the operator token is readable by others (mode {mode:03o}); chmod 600 it",
                file.display()
            )));
        }
        let token = std::fs::read_to_string(file).map_err(Error::io(file))?;
        Self::new(url, &token)
    }

    /// `http://HOST:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The events the server has kept of `mac`.
    pub async fn events(&self, mac: MacAddr) -> Result<Vec<BootEvent>, String> {
        let path = format!("/events?mac={mac}");
        let (status, body) = tokio::time::timeout(EXCHANGE, self.get(&path))
            .await
            .map_err(|_| format!("no answer within {} s", EXCHANGE.as_secs()))??;
        if status != StatusCode::OK {
            let why = String::from_utf8_lossy(&body);
            return Err(format!(
                "GET /events: {status}: {}",
                board_text(why.trim().chars().take(200).collect::<String>().as_str())
            ));
        }
        serde_json::from_slice(&body).map_err(|e| format!("GET /events: unreadable answer: {e}"))
    }

    async fn get(&self, path: &str) -> Result<(StatusCode, Bytes), String> {
        let tcp = TcpStream::connect(&self.authority)
            .await
            .map_err(|e| format!("connecting to {}: {e}", self.authority))?;
        let request = Request::get(path)
            .header(hyper::header::HOST, &self.authority)
            .header(
                hyper::header::AUTHORIZATION,
                format!("Bearer {}", self.token),
            )
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        http1::exchange(tcp, request, MAX_ANSWER).await
    }
}

/// What the `pxe` check may assume about the board when it starts.
pub(super) struct PxeStart<'a> {
    pub server: Option<&'a NetbootServer>,
    pub mac: Option<MacAddr>,
    /// The control-mode check passed: a boot override takes effect.
    pub unattended: bool,
    /// The power check passed.
    pub powered: bool,
}

/// Sets a one-shot PXE boot, boots into it, and waits up to the profile's `pxe_secs` for the
/// board's boot script to be fetched from the server; with the server's time of that fetch.
pub(super) async fn pxe(
    amt: &mut Amt,
    start: PxeStart<'_>,
    profile: &HardwareProfile,
) -> (Check, Option<u64>) {
    let Some(server) = start.server else {
        return (
            Check::skipped("pxe", "no netboot server given (--netboot URL)"),
            None,
        );
    };
    if !start.unattended {
        return (
            Check::skipped("pxe", "user consent would block PXE (see control-mode)"),
            None,
        );
    }
    if !start.powered {
        return (Check::skipped("pxe", "the power check failed"), None);
    }
    let Some(mac) = start.mac else {
        return (
            Check::fail(
                "pxe",
                "the board reports no MAC address, so its boot cannot be found on the netboot server",
            ),
            None,
        );
    };
    let url = server.url();
    // Only events newer than the last one the server already had count; the server's clock
    // decides, so the two clocks need not agree.
    let before = match server.events(mac).await {
        Ok(events) => events.iter().map(|e| e.at_ms).max(),
        Err(e) => {
            return (
                Check::fail("pxe", format!("the netboot server {url}: {e}")),
                None,
            );
        }
    };
    let limit = profile.acceptance.pxe_secs;
    let booted = Instant::now();
    if let Err(e) = amt.boot(BootDevice::Pxe, true).await {
        return (
            Check::fail(
                "pxe",
                format!(
                    "the one-shot PXE boot was refused: {}",
                    board_text(&e.to_string())
                ),
            ),
            None,
        );
    }
    let deadline = booted + Duration::from_secs(limit.into());
    let mut trouble: Option<String>;
    let mut heard: Vec<String> = Vec::new();
    loop {
        match server.events(mac).await {
            Err(e) => trouble = Some(e),
            Ok(events) => {
                trouble = None;
                let new: Vec<&BootEvent> = events
                    .iter()
                    .filter(|e| before.is_none_or(|b| e.at_ms > b))
                    .collect();
                if let Some(script) = new.iter().find(|e| e.stage == "script") {
                    let secs = booted.elapsed().as_secs_f64();
                    let check = Check::pass(
                        "pxe",
                        format!(
                            "fetched its boot script ({}) from {url} as {}, {secs:.1} s after the PXE boot",
                            board_text(&script.message),
                            script.from
                        ),
                    )
                    .with(Measurement::new("mac", mac.to_string(), None))
                    .with(Measurement::new("address", script.from.to_string(), None))
                    .with(
                        Measurement::new("pxe_seconds", round(secs), Some("s"))
                            .limited(Limit::AtMost(f64::from(limit))),
                    );
                    return (check, Some(script.at_ms));
                }
                heard = new.iter().map(|e| board_text(&e.stage)).collect();
            }
        }
        if Instant::now() + POLL > deadline {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    let mut why =
        format!("{mac} fetched no boot script from {url} within {limit} s of the PXE boot");
    if !heard.is_empty() {
        why.push_str(&format!(" (it reported: {})", heard.join(", ")));
    }
    if let Some(e) = trouble {
        why.push_str(&format!("; the server last said: {e}"));
    }
    (
        Check::fail("pxe", why).with(Measurement::new("mac", mac.to_string(), None)),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_is_plain_http_host_and_port_and_the_token_one_line() {
        let s = NetbootServer::new("http://10.0.0.1:8080", "tok\n").unwrap();
        assert_eq!(s.url(), "http://10.0.0.1:8080");
        assert_eq!(s.token, "tok");
        assert_eq!(
            NetbootServer::new("http://boot.example", "t")
                .unwrap()
                .url(),
            "http://boot.example:80"
        );
        for bad in [
            "10.0.0.1:8080",
            "https://10.0.0.1",
            "http://10.0.0.1:8080/events",
            "http://10.0.0.1:8080/?x=1",
            "http://\u{1b}[31m",
        ] {
            let e = NetbootServer::new(bad, "t").unwrap_err().to_string();
            assert!(e.starts_with("--netboot "), "{bad}: {e}");
            assert!(!e.contains('\u{1b}'), "{e:?}");
        }
        for bad in ["", " \n", "two\nlines"] {
            assert!(
                NetbootServer::new("http://10.0.0.1", bad).is_err(),
                "{bad:?}"
            );
        }
    }
}
