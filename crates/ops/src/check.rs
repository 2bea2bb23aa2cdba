//! `metal check HOST`: a Nagios plugin (Nagios Plugin Development Guidelines, "Plugin Return
//! Codes" and "Performance data"): one status line, `label=value[UOM];warn;crit;min;max`
//! perfdata after a `|`, and the exit code 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
//!
//! For a board: its AMT answers (the UUID checked), its power is on, and, when it is deployed,
//! its Dom0's agent answers now (the heartbeat). For a DomU: its Dom0's agent answers and
//! reports the guest running.

use std::time::{Duration, Instant};

use metal_inventory::MachineState;
use metal_types::power::PowerState;
use metal_xen::api::Host;

use crate::agent::{Agent, Agents};
use crate::boards::{self, Guard};
use crate::targets::Resolved;
use crate::{Config, Error, Silent, inventory};

/// A plugin state, with its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Status {
    pub fn exit_code(self) -> i32 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }
}

/// Thresholds of one check.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// An answer slower than this is a warning.
    pub warn: Duration,
    /// No answer within this is critical.
    pub critical: Duration,
}

/// One measured answer time, for the perfdata.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Perf {
    pub label: &'static str,
    pub seconds: f64,
}

/// What the check found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Checked {
    pub status: Status,
    /// The words after the status.
    pub summary: String,
    pub perf: Vec<Perf>,
    #[serde(skip)]
    limits: Option<Limits>,
}

impl Checked {
    fn unknown(summary: String) -> Checked {
        Checked {
            status: Status::Unknown,
            summary,
            perf: Vec::new(),
            limits: None,
        }
    }

    /// The plugin's output line: `METAL OK - … | amt=0.031s;1;10;0 …`.
    pub fn line(&self) -> String {
        // A `|` would start the perfdata and a newline the long output: neither may come
        // from an error's text.
        let summary: String = self
            .summary
            .chars()
            .map(|c| if c == '|' || c.is_control() { ' ' } else { c })
            .collect();
        let mut line = format!("METAL {} - {summary}", self.status.as_str());
        if !self.perf.is_empty() {
            let (warn, crit) = self.limits.map_or((String::new(), String::new()), |l| {
                (
                    format!("{}", l.warn.as_secs_f64()),
                    format!("{}", l.critical.as_secs_f64()),
                )
            });
            line.push_str(" |");
            for p in &self.perf {
                line.push_str(&format!(" {}={:.3}s;{warn};{crit};0", p.label, p.seconds));
            }
        }
        line
    }
}

/// Checks `host`; failures of the check itself (no inventory, no such host) are UNKNOWN.
pub async fn check(config: &Config, host: &str, limits: Limits) -> Checked {
    match run(config, host, limits).await {
        Ok(c) => c,
        Err(e) => Checked::unknown(format!("{host}: {e}")),
    }
}

async fn run(config: &Config, host: &str, limits: Limits) -> Result<Checked, Error> {
    let store = inventory::require(config).await?;
    if let Some(machine) = store.machine(host).await? {
        return board(config, machine, limits).await;
    }
    let guest = store
        .guests()
        .await?
        .into_iter()
        .find(|g| g.name == host)
        .ok_or_else(|| Error::Usage("neither a board nor a guest in the inventory".into()))?;
    let dom0 = store
        .machine(&guest.dom0)
        .await?
        .ok_or_else(|| Error::Usage(format!("its Dom0 {} is gone", guest.dom0)))?;
    let (answer, took) = ask_agent(config, &dom0.hostname, dom0.address, limits).await;
    let mut checked = Checked {
        status: Status::Ok,
        summary: String::new(),
        perf: vec![Perf {
            label: "agent",
            seconds: took.as_secs_f64(),
        }],
        limits: Some(limits),
    };
    match answer {
        Err(e) => {
            checked.status = Status::Critical;
            checked.summary = format!(
                "{host}: its Dom0 {}'s agent does not answer: {e}",
                dom0.hostname
            );
        }
        Ok(h) => match h.guests.iter().find(|g| g.name == host) {
            Some(g) if g.domid.is_some() => {
                checked.status = slow(took, limits);
                checked.summary = format!("{host}: running on {} ({})", dom0.hostname, g.state);
            }
            Some(g) => {
                checked.status = Status::Critical;
                checked.summary = format!(
                    "{host}: defined on {} but not running ({})",
                    dom0.hostname, g.state
                );
            }
            None => {
                checked.status = Status::Critical;
                checked.summary = format!("{host}: {} does not know it", dom0.hostname);
            }
        },
    }
    Ok(checked)
}

fn slow(took: Duration, limits: Limits) -> Status {
    if took > limits.warn {
        Status::Warning
    } else {
        Status::Ok
    }
}

async fn ask_agent(
    config: &Config,
    host: &str,
    address: std::net::IpAddr,
    limits: Limits,
) -> (Result<Host, Error>, Duration) {
    let started = Instant::now();
    let answer = match Agents::new(config) {
        Ok(agents) => {
            let agent = Agent {
                host: host.to_string(),
                address,
            };
            agents
                .get::<Host>(&agent, "/v1/host", limits.critical)
                .await
        }
        Err(e) => Err(e),
    };
    (answer, started.elapsed())
}

async fn board(
    config: &Config,
    machine: metal_inventory::Machine,
    limits: Limits,
) -> Result<Checked, Error> {
    let name = machine.hostname.clone();
    let deployed = machine.state == MachineState::Deployed;
    let (address, state) = (machine.address, machine.state);
    let target = [Resolved {
        host: machine.amt_address,
        machine: Some(machine),
    }];
    let started = Instant::now();
    let status = tokio::time::timeout(
        limits.critical,
        boards::run(config, &target, Guard::Uuid, &Silent, "check", |a| {
            Box::pin(a.power_status())
        }),
    )
    .await;
    let amt_took = started.elapsed();
    let mut perf = vec![Perf {
        label: "amt",
        seconds: amt_took.as_secs_f64(),
    }];
    let mut worst = slow(amt_took, limits);
    let mut parts = Vec::new();
    let power = match status {
        Err(_) => Err(format!(
            "AMT gave no answer within {} s",
            limits.critical.as_secs_f64()
        )),
        Ok(Err(e)) => return Err(e),
        Ok(Ok(mut runs)) => match runs.pop() {
            Some(run) => match run.result {
                Ok(s) => Ok(s.power),
                Err(e) => Err(format!("AMT: {e}")),
            },
            None => Err("AMT: no answer".into()),
        },
    };
    match power {
        Err(e) => {
            worst = Status::Critical;
            parts.push(e);
        }
        Ok(PowerState::On) => parts.push("AMT answers, power on".into()),
        Ok(p) => {
            if deployed {
                worst = Status::Critical;
            }
            parts.push(format!("AMT answers, power {p}"));
        }
    }
    if deployed {
        let (answer, took) = ask_agent(config, &name, address, limits).await;
        perf.push(Perf {
            label: "agent",
            seconds: took.as_secs_f64(),
        });
        match answer {
            Ok(h) => {
                worst = worst.max(slow(took, limits));
                parts.push(format!(
                    "agent answered in {:.2} s ({} guests)",
                    took.as_secs_f64(),
                    h.guests.len()
                ));
            }
            Err(e) => {
                worst = Status::Critical;
                parts.push(format!("agent: {e}"));
            }
        }
    } else {
        parts.push(format!("{state}, so no agent expected"));
    }
    Ok(Checked {
        status: worst,
        summary: format!("{name}: {}", parts.join(", ")),
        perf,
        limits: Some(limits),
    })
}
