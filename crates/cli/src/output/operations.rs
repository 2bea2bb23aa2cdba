//! What `metal web`, `user`, `check` and `watch` print.

use std::io::{self, Write};
use std::net::SocketAddr;

use metal_ops::check::Checked;
use metal_ops::watch::{Report, Settings};
use metal_types::output::Document;
use serde::Serialize;

use metal_types::text::escaped;

#[derive(Serialize)]
struct Ready {
    ready: ReadyWeb,
}

#[derive(Serialize)]
struct ReadyWeb {
    web: SocketAddr,
}

pub fn web_ready(out: &mut dyn Write, addr: SocketAddr, json: bool) -> io::Result<()> {
    if json {
        return super::json_line(
            out,
            &Document::new(
                "web",
                Ready {
                    ready: ReadyWeb { web: addr },
                },
            ),
        );
    }
    writeln!(out, "ready web=http://{addr}/")?;
    out.flush()
}

#[derive(Serialize)]
struct Added<'a> {
    operator: &'a str,
    new: bool,
}

pub fn user_added(out: &mut dyn Write, name: &str, new: bool, json: bool) -> io::Result<()> {
    if json {
        return super::json(
            out,
            &Document::new(
                "user add",
                Added {
                    operator: name,
                    new,
                },
            ),
        );
    }
    if new {
        writeln!(out, "operator {name} added")
    } else {
        writeln!(out, "operator {name}: password changed")
    }
}

pub fn users(out: &mut dyn Write, names: &[String], json: bool) -> io::Result<()> {
    if json {
        return super::json(out, &Document::new("user ls", names));
    }
    for n in names {
        writeln!(out, "{n}")?;
    }
    Ok(())
}

pub fn checked(out: &mut dyn Write, c: &Checked, json: bool) -> io::Result<()> {
    if json {
        return super::json(out, &Document::new("check", c));
    }
    writeln!(out, "{}", c.line())
}

pub fn watch_ready(out: &mut dyn Write, s: &Settings, json: bool) -> io::Result<()> {
    if json {
        #[derive(Serialize)]
        struct W {
            dry_run: bool,
            interval_secs: f64,
            down_after_secs: f64,
        }
        let w = W {
            dry_run: s.dry_run,
            interval_secs: s.interval.as_secs_f64(),
            down_after_secs: s.down_after.as_secs_f64(),
        };
        return super::json_line(out, &Document::new("watch", w));
    }
    writeln!(
        out,
        "watching{}: probe every {} s, cycle after {} s down, at most {} per {} s, broken after {}",
        if s.dry_run { " (dry run)" } else { "" },
        s.interval.as_secs_f64(),
        s.down_after.as_secs_f64(),
        s.max_cycles,
        s.window.as_secs(),
        s.broken_after
    )?;
    out.flush()
}

pub fn watch_line(out: &mut dyn Write, r: &Report, json: bool) -> io::Result<()> {
    if json {
        return super::json_line(out, &Document::new("watch", r));
    }
    writeln!(out, "{} {}: {}", r.action, r.host, escaped(&r.reason))?;
    out.flush()
}
