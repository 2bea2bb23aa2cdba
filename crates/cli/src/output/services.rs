//! The services' logs on stdout (`serve`, `tftp serve`, `sim`): one line per thing that
//! happened, as `key=value` text or, with `--json`, one JSON document per line. The first line
//! (`ready ...`) says everything is bound, so scripts can wait for it.

use std::io::{self, Write};
use std::net::SocketAddr;

use metal_ops::netboot::{Addresses, Mode, ServiceLog};
use metal_types::Document;
use metal_types::text::Escaped;
use serde::Serialize;

#[derive(Serialize)]
struct Ready<'a> {
    ready: ReadyServe<'a>,
}

#[derive(Serialize)]
struct ReadyServe<'a> {
    mode: &'a str,
    dhcp: &'a [SocketAddr],
    tftp: SocketAddr,
    http: Option<SocketAddr>,
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Dhcp => "dhcp",
        Mode::Proxy => "proxy",
    }
}

/// `serve`'s ready line.
pub fn serve_ready(out: &mut dyn Write, mode: Mode, a: &Addresses, json: bool) -> io::Result<()> {
    if json {
        let ready = ReadyServe {
            mode: mode_name(mode),
            dhcp: &a.dhcp,
            tftp: a.tftp,
            http: a.http,
        };
        return super::json_line(out, &Document::new("serve", Ready { ready }));
    }
    let dhcp: Vec<String> = a.dhcp.iter().map(|d| d.to_string()).collect();
    writeln!(
        out,
        "ready mode={} dhcp={} tftp={} http={}",
        mode_name(mode),
        dhcp.join(","),
        a.tftp,
        a.http.map(|h| h.to_string()).unwrap_or_default()
    )?;
    out.flush()
}

#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum Logged<'a> {
    Event(&'a metal_types::BootEvent),
    Inventory(&'a str),
}

/// One line of `serve`'s log.
pub fn serve_log(out: &mut dyn Write, log: &ServiceLog, json: bool) -> io::Result<()> {
    if json {
        let logged = match log {
            ServiceLog::Event(e) => Logged::Event(e),
            ServiceLog::Inventory(line) => Logged::Inventory(line),
        };
        return super::json_line(out, &Document::new("serve", logged));
    }
    match log {
        ServiceLog::Event(e) => writeln!(
            out,
            "event mac={} stage={} from={} message={}",
            e.mac,
            Escaped(&e.stage),
            e.from,
            Escaped(&e.message)
        )?,
        ServiceLog::Inventory(line) => writeln!(out, "{}", Escaped(line))?,
    }
    out.flush()
}

#[derive(Serialize)]
struct ReadyTftp {
    ready: TftpAddr,
}

#[derive(Serialize)]
struct TftpAddr {
    tftp: SocketAddr,
}

/// `tftp serve`'s ready line.
pub fn tftp_ready(out: &mut dyn Write, addr: SocketAddr, json: bool) -> io::Result<()> {
    if json {
        let doc = ReadyTftp {
            ready: TftpAddr { tftp: addr },
        };
        return super::json_line(out, &Document::new("tftp serve", doc));
    }
    writeln!(out, "ready tftp={addr}")?;
    out.flush()
}
