//! Where a new DomU goes: the seed's policy ("put a guest where the resource it mostly uses is
//! idle: spare CPU for web servers, spare IO for database servers, spare memory for cache
//! servers; never two busy guests of the same tendency together"), made explicit and
//! explainable.
//!
//! 1. Rules, each of which takes a Dom0 out: not enough free memory for the guest (memory is
//!    never over-committed; Xen's free memory already leaves out Dom0's fixed `dom0_mem`); a
//!    busy guest of the same tendency already there (Ganeti's exclusion tags do the same for
//!    tagged instances); with `rack_headroom`, a rack that could no longer take in the guests
//!    of any one of its Dom0s on the others (N+1, as Ganeti's hbal checks per node group).
//! 2. Score of the others: `weights.primary × idle(tendency) + weights.secondary × mean(idle of
//!    the two other resources)`, every idle share in 0..1 (CPU and IO: 1 − busy share; memory:
//!    free share after the guest). The highest score wins; ties go to more free memory, then
//!    to the name.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// The resource a guest mostly uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tendency {
    Cpu,
    Io,
    Memory,
}

impl fmt::Display for Tendency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cpu => "cpu",
            Self::Io => "io",
            Self::Memory => "memory",
        })
    }
}

/// How placement weighs and rules.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Role name → tendency (default: web → cpu, db → io, cache → memory).
    pub roles: BTreeMap<String, Tendency>,
    /// Weight of the guest's own resource.
    pub primary: f64,
    /// Weight of the mean of the two others.
    pub secondary: f64,
    /// A guest using at least this share of its Dom0's resource of its tendency is busy.
    pub busy_at: f64,
    /// Keep every rack able to take in the guests of any one of its Dom0s (N+1).
    pub rack_headroom: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            roles: [
                ("web", Tendency::Cpu),
                ("db", Tendency::Io),
                ("cache", Tendency::Memory),
            ]
            .into_iter()
            .map(|(r, t)| (r.to_string(), t))
            .collect(),
            primary: 1.0,
            secondary: 0.25,
            busy_at: 0.25,
            rack_headroom: false,
        }
    }
}

/// A guest already on a Dom0, with its recent load.
#[derive(Debug, Clone, PartialEq)]
pub struct Guest {
    pub name: String,
    pub tendency: Option<Tendency>,
    /// Its share (0..1) of the Dom0's resource of its tendency.
    pub load: f64,
}

/// A Dom0 that could take the guest: its rack, memory and recent load.
#[derive(Debug, Clone, PartialEq)]
pub struct Dom0 {
    pub name: String,
    pub rack: String,
    /// Memory Xen can give guests in all (`xl info` total minus Dom0's fixed share).
    pub guest_memory_mib: u64,
    /// What Xen has free now (`xl info` free_memory).
    pub free_mib: u64,
    /// Busy shares (0..1) of its CPUs and its disks.
    pub cpu_busy: f64,
    pub io_busy: f64,
    pub guests: Vec<Guest>,
}

/// The guest to place.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub name: String,
    pub memory_mib: u64,
    pub tendency: Tendency,
}

/// Why a Dom0 cannot take the guest.
#[derive(Debug, Clone, PartialEq)]
pub enum RuledOut {
    Memory {
        need_mib: u64,
        free_mib: u64,
    },
    BusyAlike {
        guest: String,
        tendency: Tendency,
        load: f64,
    },
    RackHeadroom {
        rack: String,
        dom0: String,
        short_mib: u64,
    },
}

impl fmt::Display for RuledOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory { need_mib, free_mib } => {
                write!(f, "needs {need_mib} MiB, {free_mib} MiB free")
            }
            Self::BusyAlike {
                guest,
                tendency,
                load,
            } => write!(
                f,
                "already runs {guest}, a busy {tendency} guest ({:.0} % of its {tendency})",
                load * 100.0
            ),
            Self::RackHeadroom {
                rack,
                dom0,
                short_mib,
            } => write!(
                f,
                "rack {rack} could no longer take in {dom0}'s guests ({short_mib} MiB short)"
            ),
        }
    }
}

/// A score and its terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub total: f64,
    /// Idle shares after the guest: cpu, io, memory.
    pub idle: [(Tendency, f64); 3],
}

/// One candidate's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub dom0: String,
    pub outcome: Result<Score, RuledOut>,
}

/// Every candidate's verdict, best first; `chosen` is the first scored one, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub chosen: Option<String>,
    pub verdicts: Vec<Verdict>,
}

impl Policy {
    /// The tendency of a role, if the policy knows it.
    pub fn tendency(&self, role: &str) -> Option<Tendency> {
        self.roles.get(role).copied()
    }
}

/// Places `request` on one of `dom0s`.
pub fn place(request: &Request, dom0s: &[Dom0], policy: &Policy) -> Placement {
    let mut verdicts: Vec<(Verdict, u64)> = dom0s
        .iter()
        .map(|d| {
            let outcome =
                rule(request, d, dom0s, policy).map_or_else(|| Ok(score(request, d, policy)), Err);
            (
                Verdict {
                    dom0: d.name.clone(),
                    outcome,
                },
                d.free_mib,
            )
        })
        .collect();
    verdicts.sort_by(|(a, a_free), (b, b_free)| match (&a.outcome, &b.outcome) {
        (Ok(x), Ok(y)) => y
            .total
            .total_cmp(&x.total)
            .then(b_free.cmp(a_free))
            .then(a.dom0.cmp(&b.dom0)),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => a.dom0.cmp(&b.dom0),
    });
    let verdicts: Vec<Verdict> = verdicts.into_iter().map(|(v, _)| v).collect();
    let chosen = verdicts
        .first()
        .filter(|v| v.outcome.is_ok())
        .map(|v| v.dom0.clone());
    Placement { chosen, verdicts }
}

/// The first rule that takes `d` out, if any.
fn rule(request: &Request, d: &Dom0, all: &[Dom0], policy: &Policy) -> Option<RuledOut> {
    if request.memory_mib > d.free_mib {
        return Some(RuledOut::Memory {
            need_mib: request.memory_mib,
            free_mib: d.free_mib,
        });
    }
    if let Some(g) = d
        .guests
        .iter()
        .find(|g| g.tendency == Some(request.tendency) && g.load >= policy.busy_at)
    {
        return Some(RuledOut::BusyAlike {
            guest: g.name.clone(),
            tendency: request.tendency,
            load: g.load,
        });
    }
    if policy.rack_headroom {
        return headroom(request, d, all);
    }
    None
}

/// N+1 in `d`'s rack once the guest is on `d`: for every Dom0 of the rack, what its guests use
/// must fit in what the others have free.
fn headroom(request: &Request, d: &Dom0, all: &[Dom0]) -> Option<RuledOut> {
    let rack: Vec<&Dom0> = all.iter().filter(|o| o.rack == d.rack).collect();
    let free_after = |o: &Dom0| {
        if o.name == d.name {
            o.free_mib - request.memory_mib
        } else {
            o.free_mib
        }
    };
    let used_after = |o: &Dom0| {
        let used = o.guest_memory_mib.saturating_sub(o.free_mib);
        if o.name == d.name {
            used + request.memory_mib
        } else {
            used
        }
    };
    rack.iter().find_map(|lost| {
        let room: u64 = rack
            .iter()
            .filter(|o| o.name != lost.name)
            .map(|o| free_after(o))
            .sum();
        let need = used_after(lost);
        (need > room).then(|| RuledOut::RackHeadroom {
            rack: d.rack.clone(),
            dom0: lost.name.clone(),
            short_mib: need - room,
        })
    })
}

fn score(request: &Request, d: &Dom0, policy: &Policy) -> Score {
    let memory = if d.guest_memory_mib == 0 {
        0.0
    } else {
        (d.free_mib - request.memory_mib) as f64 / d.guest_memory_mib as f64
    };
    let idle = [
        (Tendency::Cpu, (1.0 - d.cpu_busy).clamp(0.0, 1.0)),
        (Tendency::Io, (1.0 - d.io_busy).clamp(0.0, 1.0)),
        (Tendency::Memory, memory.clamp(0.0, 1.0)),
    ];
    let own = idle
        .iter()
        .find(|(t, _)| *t == request.tendency)
        .map_or(0.0, |(_, v)| *v);
    let others: f64 = idle
        .iter()
        .filter(|(t, _)| *t != request.tendency)
        .map(|(_, v)| v)
        .sum::<f64>()
        / 2.0;
    Score {
        total: policy.primary * own + policy.secondary * others,
        idle,
    }
}

impl Placement {
    /// One line per candidate, best first: the score and its terms, or why it was ruled out.
    pub fn explain(&self, request: &Request, policy: &Policy) -> Vec<String> {
        self.verdicts
            .iter()
            .map(|v| match &v.outcome {
                Ok(s) => {
                    let term = |t: Tendency| {
                        s.idle
                            .iter()
                            .find(|(x, _)| *x == t)
                            .map_or(0.0, |(_, v)| *v)
                    };
                    let others: Vec<String> = s
                        .idle
                        .iter()
                        .filter(|(t, _)| *t != request.tendency)
                        .map(|(t, v)| format!("{t} idle {v:.2}"))
                        .collect();
                    let mark = if Some(&v.dom0) == self.chosen.as_ref() {
                        "chosen"
                    } else {
                        "lower score"
                    };
                    format!(
                        "{}: {mark}, score {:.3} = {} × {} idle {:.2} + {} × mean({})",
                        v.dom0,
                        s.total,
                        policy.primary,
                        request.tendency,
                        term(request.tendency),
                        policy.secondary,
                        others.join(", ")
                    )
                }
                Err(why) => format!("{}: ruled out, {why}", v.dom0),
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "placement_tests.rs"]
mod tests;
