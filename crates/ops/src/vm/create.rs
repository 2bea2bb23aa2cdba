//! `metal vm create`: the seed's `install_xen.sh -h NAME -i IP -m MB -s GB`, placed by spare
//! resource unless `--on` names the Dom0.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use metal_inventory::{Guest, Machine, MachineState, Role};
use metal_xen::api::{Define, GuestStatus, Listening, Network, Receive, StreamKind};
use metal_xen::load::Load;
use metal_xen::placement::{self, Policy};
use metal_xen::volume::{self, Compression, Token};
use serde::Serialize;

use super::{QUICK, STREAM, WORK, agent_of, dom0, path, token, verified};
use crate::agent::{Agent, Agents};
use crate::{Config, Error, inventory};

/// What to make.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub name: String,
    pub address: Ipv4Addr,
    pub memory_mib: u32,
    pub disk_gib: u32,
    pub vcpus: u8,
    /// The Dom0 to create it on; `None`: placement chooses.
    pub on: Option<String>,
    pub role: String,
    /// The DomU image (`domu-root.ext4` of `metal image build domu`).
    pub image: PathBuf,
    pub gateway: Option<Ipv4Addr>,
    pub dns: Vec<IpAddr>,
    pub domain: Option<String>,
    /// How long each Dom0's load is measured for placement.
    pub window: Duration,
    pub policy: Policy,
}

/// What was made, and how it was placed.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub guest: Guest,
    pub status: GuestStatus,
    /// One line per candidate, best first (empty with `--on`).
    pub explain: Vec<String>,
    pub image_bytes: u64,
    pub stream_millis: u64,
}

/// The candidates' verdicts, best first, and the chosen Dom0.
async fn place(
    agents: &Agents,
    candidates: &[Machine],
    guests: &[Guest],
    req: &CreateRequest,
) -> Result<(Machine, Vec<String>), Error> {
    let tendency = req.policy.tendency(&req.role).ok_or_else(|| {
        Error::Usage(format!(
            "role {:?} has no tendency in the placement policy (known: {}); use --on DOM0",
            req.role,
            req.policy
                .roles
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let window = req.window.as_secs().max(1);
    let reports = futures::future::join_all(candidates.iter().map(|m| async move {
        // The load carries `xl info` (CPUs, total and free memory) and every domain.
        let load: Result<Load, Error> = agents
            .get(&agent_of(m), &format!("/v1/load?window={window}"), QUICK)
            .await;
        (m, load)
    }))
    .await;
    let mut unreachable = Vec::new();
    let mut dom0s = Vec::new();
    for (m, report) in reports {
        let load = match report {
            Ok(r) => r,
            Err(e) => {
                unreachable.push(format!("{}: ruled out, {e}", m.hostname));
                continue;
            }
        };
        let dom0_mib = load
            .domains
            .iter()
            .find(|d| d.id == 0)
            .map_or(0, |d| d.memory_mib);
        let guest_memory_mib = load.host.total_memory_mib.saturating_sub(dom0_mib).max(1);
        let on_it = load.domains.iter().filter(|d| d.id != 0).map(|d| {
            let role = guests
                .iter()
                .find(|g| g.name == d.name)
                .map(|g| g.role.as_str());
            let tendency = role.and_then(|r| req.policy.tendency(r));
            let share = match tendency {
                Some(placement::Tendency::Cpu) | None => d.cpu_share,
                Some(placement::Tendency::Io) => d.io_share,
                Some(placement::Tendency::Memory) => d.memory_mib as f64 / guest_memory_mib as f64,
            };
            placement::Guest {
                name: d.name.clone(),
                tendency,
                load: share,
            }
        });
        dom0s.push(placement::Dom0 {
            name: m.hostname.clone(),
            rack: m.rack.clone(),
            guest_memory_mib,
            free_mib: load.host.free_memory_mib,
            cpu_busy: load.cpu_busy,
            io_busy: load.io_busy,
            guests: on_it.collect(),
        });
    }
    let request = placement::Request {
        name: req.name.clone(),
        memory_mib: u64::from(req.memory_mib),
        tendency,
    };
    let placed = placement::place(&request, &dom0s, &req.policy);
    let mut explain = placed.explain(&request, &req.policy);
    explain.extend(unreachable);
    match placed
        .chosen
        .and_then(|c| candidates.iter().find(|m| m.hostname == c))
    {
        Some(m) => Ok((m.clone(), explain)),
        None => Err(Error::Usage(format!(
            "no Dom0 can take {} ({} MiB, {tendency}):\n  {}",
            req.name,
            req.memory_mib,
            explain.join("\n  ")
        ))),
    }
}

pub async fn create(config: &Config, req: CreateRequest) -> Result<Created, Error> {
    let image_bytes = std::fs::metadata(&req.image)
        .map_err(|e| Error::Usage(format!("DomU image {}: {e}", req.image.display())))?
        .len();
    if image_bytes > u64::from(req.disk_gib) << 30 {
        return Err(Error::Usage(format!(
            "the DomU image {} holds {image_bytes} bytes: more than -s {} GiB",
            req.image.display(),
            req.disk_gib
        )));
    }
    let def = Define {
        name: req.name.clone(),
        address: req.address,
        memory_mib: req.memory_mib,
        vcpus: req.vcpus,
        disk_gib: req.disk_gib,
    };
    metal_xen::domu::DomU::new(
        metal_xen::domu::GuestName::new(&req.name).map_err(|e| Error::Usage(e.to_string()))?,
        req.address,
        req.memory_mib,
        req.vcpus,
        req.disk_gib,
    )
    .map_err(|e| Error::Usage(e.to_string()))?;
    let role = Role::new(&req.role)?;
    let store = inventory::require(config).await?;
    let result = async {
        let agents = Agents::new(config)?;
        let (machine, explain) = match &req.on {
            Some(on) => (dom0(&store, on).await?, Vec::new()),
            None => {
                let candidates: Vec<Machine> = store
                    .machines()
                    .await?
                    .into_iter()
                    .filter(|m| m.state == MachineState::Deployed)
                    .collect();
                if candidates.is_empty() {
                    return Err(Error::Usage("no deployed Dom0 in the inventory".into()));
                }
                place(&agents, &candidates, &store.guests().await?, &req).await?
            }
        };
        let guest = store
            .add_guest(
                &machine.hostname,
                &req.name,
                &role,
                req.memory_mib,
                Some(IpAddr::V4(req.address)),
                &config.actor("vm create"),
            )
            .await?;
        let agent = agent_of(&machine);
        let net = Network {
            prefix: None,
            gateway: req.gateway,
            dns: req.dns.clone(),
            domain: req.domain.clone(),
        };
        // A Dom0 that refuses the definition (a guest of that name already there, no room)
        // made nothing: only the record is undone, never what the Dom0 already had.
        let defined = agents
            .post::<_, GuestStatus>(&agent, "/v1/guests", &def, WORK)
            .await;
        if let Err(e) = defined {
            let note = match store
                .remove_guest(&req.name, &config.actor("vm create"))
                .await
            {
                Ok(()) => "nothing was made".to_string(),
                Err(f) => format!("its inventory record could not be removed: {f}"),
            };
            return Err(Error::Guest(format!(
                "creating {} on {} failed: {e}; {note}",
                req.name, machine.hostname
            )));
        }
        match build(&agents, &agent, &def, &net, &req.image).await {
            Ok((status, stream_millis)) => Ok(Created {
                guest,
                status,
                explain,
                image_bytes,
                stream_millis,
            }),
            Err(e) => {
                // Undo: the guest's volume and definition on the Dom0, then the record.
                let undone = agents
                    .delete::<GuestStatus>(&agent, &path(&req.name, ""), WORK)
                    .await;
                let forgotten = store
                    .remove_guest(&req.name, &config.actor("vm create"))
                    .await;
                let note = match (undone, forgotten) {
                    (Ok(_), Ok(())) => "nothing of it is left".to_string(),
                    (Err(u), Ok(())) => {
                        format!("its record is removed, but cleaning up the Dom0 failed: {u}")
                    }
                    (_, Err(f)) => format!("its inventory record could not be removed: {f}"),
                };
                Err(Error::Guest(format!(
                    "creating {} on {} failed: {e}; {note}",
                    req.name, machine.hostname
                )))
            }
        }
    }
    .await;
    store.close().await;
    result
}

/// On the Dom0, once the guest is defined: stream the image in, write its identity, start.
async fn build(
    agents: &Agents,
    agent: &Agent,
    def: &Define,
    net: &Network,
    image: &Path,
) -> Result<(GuestStatus, u64), Error> {
    let started = Instant::now();
    stream_file(agents, agent, &def.name, image).await?;
    let stream_millis = started.elapsed().as_millis() as u64;
    let _: GuestStatus = agents
        .post(agent, &path(&def.name, "/configure"), net, WORK)
        .await?;
    let status: GuestStatus = agents
        .post(agent, &path(&def.name, "/start"), &(), WORK)
        .await?;
    Ok((status, stream_millis))
}

/// Streams `image` (a regular file) into the guest's new volume as a full pass.
async fn stream_file(
    agents: &Agents,
    agent: &Agent,
    name: &str,
    image: &Path,
) -> Result<(), Error> {
    let token_hex = token();
    let listening: Listening = agents
        .post(
            agent,
            &path(name, "/receive"),
            &Receive {
                kind: StreamKind::Full,
                token: token_hex.clone(),
                base: None,
            },
            QUICK,
        )
        .await?;
    let to = SocketAddr::new(agent.address, listening.port);
    let image = image.to_path_buf();
    let host = agent.host.clone();
    let sent = tokio::time::timeout(
        STREAM,
        tokio::task::spawn_blocking(move || -> Result<volume::Sent, String> {
            let file = File::open(&image).map_err(|e| format!("{}: {e}", image.display()))?;
            let size = file.metadata().map_err(|e| e.to_string())?.len();
            let mut conn = std::net::TcpStream::connect_timeout(&to, Duration::from_secs(10))
                .map_err(|e| format!("connecting to {to}: {e}"))?;
            let _ = conn.set_read_timeout(Some(Duration::from_secs(60)));
            let _ = conn.set_write_timeout(Some(Duration::from_secs(60)));
            let bytes = hex::decode(&token_hex).map_err(|e| e.to_string())?;
            let token = Token(bytes.try_into().map_err(|_| "token length".to_string())?);
            volume::send_full(&mut conn, &file, size, &token, Compression::default())
                .map_err(|e| e.to_string())
        }),
    )
    .await
    .map_err(|_| Error::Agent {
        host: host.clone(),
        reason: format!(
            "streaming the image into {name}: not done within {} s",
            STREAM.as_secs()
        ),
    })?
    .map_err(|e| Error::Guest(format!("the stream task failed: {e}")))?
    .map_err(|e| Error::Agent {
        host: host.clone(),
        reason: format!("streaming the image into {name}: {e}"),
    })?;
    let digest = verified(agents, agent, name).await?;
    if digest != format!("{:032x}", sent.digest) {
        return Err(Error::Agent {
            host,
            reason: format!("{name}: the receiver verified another digest than was sent"),
        });
    }
    Ok(())
}
