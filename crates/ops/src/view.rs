//! What the operations view shows, assembled from the inventory and the [`LoadBook`]: the
//! site/rack overview, a rack by slot, a page of the machine list, one board, search and the
//! event log. The web front-end renders these as HTML and as JSON; every field name is part of
//! the documented API.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::Path;

use metal_inventory::{Event, Guest, MachineState, MachineSummary, Store};
use metal_types::hardware::Hardware;
use metal_xen::load::Load;
use serde::Serialize;

use crate::Error;
use crate::loads::LoadBook;

/// The longest page of the machine list and the event log.
pub const MAX_PER_PAGE: u32 = 500;
/// Default page size.
pub const PER_PAGE: u32 = 100;
/// Events shown on a board page, and boots in its history.
const BOARD_EVENTS: u32 = 50;
const BOARD_BOOTS: usize = 20;
/// The end of a recorded console shown on a board page.
pub const CONSOLE_TAIL: u64 = 16 << 10;
/// The longest search text.
pub const MAX_QUERY: usize = 128;

/// Machines by state, every state present (zero included).
#[derive(Debug, Clone, Default, Serialize)]
pub struct StateCounts(pub BTreeMap<&'static str, usize>);

impl StateCounts {
    fn of<'a>(machines: impl Iterator<Item = &'a MachineSummary>) -> StateCounts {
        let mut counts: BTreeMap<&'static str, usize> =
            MachineState::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        for m in machines {
            *counts.entry(m.state.as_str()).or_default() += 1;
        }
        StateCounts(counts)
    }
}

/// A Dom0's load as the dashboard shows it; `None` wherever load is shown means unknown.
#[derive(Debug, Clone, Serialize)]
pub struct HostLoad {
    /// Busy shares (0..1) of the CPUs and the disks over the agent's window.
    pub cpu_busy: f64,
    pub io_busy: f64,
    pub memory_total_mib: u64,
    pub memory_free_mib: u64,
    /// Bytes per second in and out of all guests.
    pub rx_bps: f64,
    pub tx_bps: f64,
    pub window_secs: f64,
}

impl From<&Load> for HostLoad {
    fn from(l: &Load) -> Self {
        HostLoad {
            cpu_busy: l.cpu_busy,
            io_busy: l.io_busy,
            memory_total_mib: l.host.total_memory_mib,
            memory_free_mib: l.host.free_memory_mib,
            rx_bps: l.domains.iter().map(|d| d.rx_bps).sum(),
            tx_bps: l.domains.iter().map(|d| d.tx_bps).sum(),
            window_secs: l.window_secs,
        }
    }
}

/// A guest's load, from its Dom0's report.
#[derive(Debug, Clone, Serialize)]
pub struct GuestLoad {
    pub state: String,
    pub cpu_share: f64,
    pub io_share: f64,
    pub memory_mib: u64,
    pub rx_bps: f64,
    pub tx_bps: f64,
}

/// A DomU under its Dom0.
#[derive(Debug, Clone, Serialize)]
pub struct GuestRow {
    pub name: String,
    pub address: IpAddr,
    pub role: String,
    pub memory_mib: u32,
    pub load: Option<GuestLoad>,
}

/// One machine in a list or a rack.
#[derive(Debug, Clone, Serialize)]
pub struct MachineRow {
    pub hostname: String,
    pub address: IpAddr,
    pub amt_address: IpAddr,
    pub site: String,
    pub rack: String,
    pub slot: u32,
    pub state: &'static str,
    pub mac: Option<String>,
    pub uuid: String,
    pub serial: String,
    pub board: String,
    pub profile: Option<String>,
    pub memory_bytes: u64,
    pub guests: Vec<GuestRow>,
    pub load: Option<HostLoad>,
}

fn row(m: &MachineSummary, guests: &[&Guest], loads: &LoadBook) -> MachineRow {
    let load = loads.get(&m.hostname);
    let guest_load = |name: &str| {
        load.as_ref()?
            .domains
            .iter()
            .find(|d| d.name == name)
            .map(|d| GuestLoad {
                state: d.state.clone(),
                cpu_share: d.cpu_share,
                io_share: d.io_share,
                memory_mib: d.memory_mib,
                rx_bps: d.rx_bps,
                tx_bps: d.tx_bps,
            })
    };
    MachineRow {
        hostname: m.hostname.clone(),
        address: m.address,
        amt_address: m.amt_address,
        site: m.site.clone(),
        rack: m.rack.clone(),
        slot: m.slot,
        state: m.state.as_str(),
        mac: m.mac.map(|mac| mac.to_string()),
        uuid: m.uuid.clone(),
        serial: m.serial.clone(),
        board: format!("{} {}", m.board_maker, m.board_model),
        profile: m.profile.clone(),
        memory_bytes: m.memory_bytes,
        guests: guests
            .iter()
            .map(|g| GuestRow {
                name: g.name.clone(),
                address: g.address,
                role: g.role.as_str().to_string(),
                memory_mib: g.memory_mib,
                load: guest_load(&g.name),
            })
            .collect(),
        load: load.as_ref().map(HostLoad::from),
    }
}

fn by_dom0(guests: &[Guest]) -> HashMap<&str, Vec<&Guest>> {
    let mut map: HashMap<&str, Vec<&Guest>> = HashMap::new();
    for g in guests {
        map.entry(g.dom0.as_str()).or_default().push(g);
    }
    map
}

/// A rack in the overview.
#[derive(Debug, Clone, Serialize)]
pub struct RackSummary {
    pub name: String,
    pub pool: String,
    pub machines: usize,
    pub states: StateCounts,
    /// Machines whose load is known.
    pub reporting: usize,
}

/// A site and its racks.
#[derive(Debug, Clone, Serialize)]
pub struct SiteSummary {
    pub name: String,
    pub racks: Vec<RackSummary>,
}

/// The front page.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub sites: Vec<SiteSummary>,
    pub states: StateCounts,
    pub machines: usize,
    pub guests: usize,
}

/// Sites → racks with their machines by state.
pub async fn overview(store: &Store, loads: &LoadBook) -> Result<Overview, Error> {
    let racks = store.racks().await?;
    let machines = store.machine_summaries().await?;
    let guests = store.guests().await?;
    let mut sites: BTreeMap<String, Vec<RackSummary>> = BTreeMap::new();
    for r in &racks {
        let of_rack: Vec<&MachineSummary> = machines.iter().filter(|m| m.rack == r.name).collect();
        sites.entry(r.site.clone()).or_default().push(RackSummary {
            name: r.name.clone(),
            pool: r.pool.to_string(),
            machines: of_rack.len(),
            states: StateCounts::of(of_rack.iter().copied()),
            reporting: of_rack
                .iter()
                .filter(|m| loads.get(&m.hostname).is_some())
                .count(),
        });
    }
    Ok(Overview {
        sites: sites
            .into_iter()
            .map(|(name, racks)| SiteSummary { name, racks })
            .collect(),
        states: StateCounts::of(machines.iter()),
        machines: machines.len(),
        guests: guests.len(),
    })
}

/// A rack laid out by slot.
#[derive(Debug, Clone, Serialize)]
pub struct RackView {
    pub name: String,
    pub site: String,
    pub pool: String,
    pub states: StateCounts,
    /// By slot, lowest first.
    pub slots: Vec<MachineRow>,
}

/// Rack `name`, or `None` when there is no such rack.
pub async fn rack(store: &Store, loads: &LoadBook, name: &str) -> Result<Option<RackView>, Error> {
    let Some(r) = store.racks().await?.into_iter().find(|r| r.name == name) else {
        return Ok(None);
    };
    let machines = store.rack_summaries(name).await?;
    let guests = store.guests().await?;
    let guests = by_dom0(&guests);
    Ok(Some(RackView {
        states: StateCounts::of(machines.iter()),
        slots: machines
            .iter()
            .map(|m| row(m, guests.get(m.hostname.as_str()).map_or(&[], |g| g), loads))
            .collect(),
        name: r.name,
        site: r.site,
        pool: r.pool.to_string(),
    }))
}

/// Which machines a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Hostname, MAC, UUID or serial, or part of one (case-insensitive).
    pub text: Option<String>,
    pub state: Option<MachineState>,
    pub rack: Option<String>,
}

/// One page of a list.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
    pub pages: u32,
}

/// Checks a search text: at most [`MAX_QUERY`] characters, no control characters.
pub fn check_query(text: &str) -> Result<(), Error> {
    if text.chars().count() > MAX_QUERY || text.chars().any(char::is_control) {
        return Err(Error::Usage(format!(
            "a search text has at most {MAX_QUERY} characters and no control characters"
        )));
    }
    Ok(())
}

/// Page `page` (1-based) of the machines `filter` selects, by rack and slot.
pub async fn machines(
    store: &Store,
    loads: &LoadBook,
    filter: &Filter,
    page: u32,
    per_page: u32,
) -> Result<Page<MachineRow>, Error> {
    if let Some(t) = &filter.text {
        check_query(t)?;
    }
    let per_page = per_page.clamp(1, MAX_PER_PAGE);
    let page = page.max(1);
    let query = metal_inventory::pages::MachineQuery {
        text: filter.text.clone(),
        state: filter.state,
        rack: filter.rack.clone(),
    };
    let offset = u64::from(page - 1) * u64::from(per_page);
    let (found, total) = store.machines_page(&query, offset, per_page).await?;
    let hosts: Vec<&str> = found.iter().map(|m| m.hostname.as_str()).collect();
    let guests = store.guests_of(&hosts).await?;
    let guests = by_dom0(&guests);
    Ok(Page {
        items: found
            .iter()
            .map(|m| row(m, guests.get(m.hostname.as_str()).map_or(&[], |g| g), loads))
            .collect(),
        page,
        per_page,
        total,
        pages: u32::try_from(total.div_ceil(u64::from(per_page))).unwrap_or(u32::MAX),
    })
}

/// One board: everything the inventory holds, its guests, recent events and boot history.
#[derive(Debug, Clone, Serialize)]
pub struct Board {
    #[serde(flatten)]
    pub row: MachineRow,
    pub board_maker: String,
    pub board_model: String,
    pub storage: Option<&'static str>,
    pub role: Option<String>,
    pub netboot: Option<String>,
    pub credential_set: String,
    pub tls_pin: Option<String>,
    pub profile_note: Option<String>,
    pub hardware: Hardware,
    /// Newest first.
    pub events: Vec<Event>,
    /// The boot events among its recent events, newest first.
    pub boots: Vec<Event>,
    /// The end of its console as `metal console --record` keeps it, when a folder of
    /// recordings was given and it has one.
    pub console: Option<ConsoleTail>,
}

/// The last lines of a recorded console.
#[derive(Debug, Clone, Serialize)]
pub struct ConsoleTail {
    pub file: String,
    /// At most [`CONSOLE_TAIL`] bytes, whole lines, control characters shown escaped.
    pub text: String,
    /// Whether the recording is longer than what is shown.
    pub truncated: bool,
}

/// The end of `dir/<amt address>.log` (the `metal console --record` file of a board). Only a
/// regular file is read (opened without following a symbolic link and without blocking, so a
/// FIFO planted there cannot hang the reader), and at most [`CONSOLE_TAIL`] bytes.
pub fn console_tail(dir: &Path, amt_address: IpAddr) -> Option<ConsoleTail> {
    use std::io::{Read, Seek, SeekFrom};
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(format!("{amt_address}.log"));
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(&path)
        .ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let truncated = meta.len() > CONSOLE_TAIL;
    file.seek(SeekFrom::Start(meta.len().saturating_sub(CONSOLE_TAIL)))
        .ok()?;
    let mut raw = Vec::with_capacity(CONSOLE_TAIL as usize);
    file.take(CONSOLE_TAIL).read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let mut lines: Vec<&str> = text.lines().collect();
    if truncated && !lines.is_empty() {
        // The first line was cut by the byte limit.
        lines.remove(0);
    }
    let text = lines
        .iter()
        .map(|l| metal_types::text::escaped(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    Some(ConsoleTail {
        file: path.display().to_string(),
        text,
        truncated,
    })
}

/// Board `name` (hostname, address or UUID), or `None`; with the end of its recorded console
/// when `consoles` names the folder of `metal console --record`.
pub async fn board(
    store: &Store,
    loads: &LoadBook,
    name: &str,
    consoles: Option<&Path>,
) -> Result<Option<Board>, Error> {
    let Some(m) = store.machine(name).await? else {
        return Ok(None);
    };
    let guests = store.guests_of(&[m.hostname.as_str()]).await?;
    let refs: Vec<&Guest> = guests.iter().collect();
    let events: Vec<Event> = store
        .recent_events(Some(&m.hostname), None, BOARD_EVENTS)
        .await?
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    let boots = events
        .iter()
        .filter(|e| e.reason.starts_with("boot event "))
        .take(BOARD_BOOTS)
        .cloned()
        .collect();
    let summary = MachineSummary::from(&m);
    Ok(Some(Board {
        row: row(&summary, &refs, loads),
        board_maker: m.board_maker.clone(),
        board_model: m.board_model.clone(),
        storage: m.storage.map(|s| s.as_str()),
        role: m.role.as_ref().map(|r| r.as_str().to_string()),
        netboot: m.netboot.clone(),
        credential_set: m.credential_set.clone(),
        tls_pin: m.tls_pin.map(|p| p.to_string()),
        profile_note: m.profile_note.clone(),
        hardware: m.hardware.clone(),
        events,
        boots,
        console: match consoles {
            Some(dir) => {
                let (dir, amt) = (dir.to_path_buf(), m.amt_address);
                tokio::task::spawn_blocking(move || console_tail(&dir, amt))
                    .await
                    .ok()
                    .flatten()
            }
            None => None,
        },
    }))
}

/// A numbered event.
#[derive(Debug, Clone, Serialize)]
pub struct NumberedEvent {
    pub id: i64,
    #[serde(flatten)]
    pub event: Event,
}

/// The newest `limit` events before number `before`.
pub async fn events(
    store: &Store,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<NumberedEvent>, Error> {
    Ok(store
        .recent_events(None, before, limit.clamp(1, MAX_PER_PAGE))
        .await?
        .into_iter()
        .map(|(id, event)| NumberedEvent { id, event })
        .collect())
}
