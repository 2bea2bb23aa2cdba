//! The simulator: builds the boards, binds every listener, and tears them down.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::SimError;
use crate::board::{Board, BoardHandle};
use crate::config::SimConfig;
use crate::events::{SimEvent, SimStats};
use crate::listener::{self, Service};
use crate::qemu::vm::VmFiles;
use crate::qemu::{self, Firmware, QemuBoards};
use crate::sol::host;

/// The memory a QEMU board may have: enough for Xen and a Dom0, at most what a desktop
/// board holds.
const MIN_VM_MIB: u32 = 128;
const MAX_VM_MIB: u32 = 128 * 1024;

/// Capacity of the event channel; slow receivers miss the oldest events.
const EVENT_CAPACITY: usize = 16_384;
/// Longest latency, transition or lockout accepted (keeps instant arithmetic in range).
const MAX_DELAY: Duration = Duration::from_secs(365 * 24 * 3600);
/// File descriptors kept free beyond the listeners, for connections and the process.
const FD_HEADROOM: u64 = 1024;

/// A running rack of simulated boards.
pub struct Sim {
    boards: Vec<Arc<Board>>,
    by_ip: HashMap<Ipv4Addr, usize>,
    events: broadcast::Sender<SimEvent>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// The taps of QEMU boards, removed once their VMs are gone.
    taps: Vec<String>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("boards", &self.boards.len())
            .finish()
    }
}

impl Sim {
    /// Starts `cfg.boards` boards and returns once every listener is bound. Raises the soft
    /// file-descriptor limit (up to the hard limit) when the listeners need more.
    pub async fn start(cfg: SimConfig) -> Result<Sim, SimError> {
        let first = u32::from(cfg.first_ip);
        let count = u32::try_from(cfg.boards)
            .ok()
            .filter(|n| first.checked_add(*n).is_some())
            .ok_or_else(|| {
                SimError::Config(format!(
                    "{} boards from {} run past 255.255.255.255",
                    cfg.boards, cfg.first_ip
                ))
            })?;
        for (name, d) in [
            ("latency", cfg.latency),
            ("transition", cfg.transition),
            ("lockout", cfg.lockout),
            ("sol_heartbeat", cfg.sol_heartbeat),
            ("boot_output_delay", cfg.boot_output_delay),
        ] {
            if d > MAX_DELAY {
                return Err(SimError::Config(format!("{name} is longer than a year")));
            }
        }
        if cfg.page_size == 0 {
            return Err(SimError::Config("page_size must be at least 1".into()));
        }
        if !cfg.serves_http() && !cfg.serves_tls() {
            return Err(SimError::Config("no port to listen on".into()));
        }
        // WS-Man and SOL on each served transport.
        let per_board = 2 * (u64::from(cfg.serves_http()) + u64::from(cfg.serves_tls()));
        let wanted = u64::from(count) * per_board + FD_HEADROOM;
        // If raising fails, binding reports the shortage with the address that failed.
        let _ = rlimit::increase_nofile_limit(wanted);

        let cfg = Arc::new(cfg);
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let (shutdown, _) = watch::channel(false);
        let mut sim = Sim {
            boards: Vec::with_capacity(cfg.boards),
            by_ip: HashMap::with_capacity(cfg.boards),
            events,
            shutdown,
            tasks: Vec::new(),
            taps: Vec::new(),
        };
        let qemu = cfg.qemu.clone().map(Arc::new);
        if let Some(q) = &qemu {
            check_qemu(q)?;
        }
        for i in 0..count {
            let ip = Ipv4Addr::from(first + i);
            let (board, inputs) = Board::new(i as usize, ip, Arc::clone(&cfg), sim.events.clone());
            let board = Arc::new(board);
            let mut ports = Vec::new();
            if cfg.serves_http() {
                ports.push((cfg.http_port, (Service::Wsman, false)));
                ports.push((cfg.sol_port, (Service::Sol, false)));
            }
            if cfg.serves_tls() {
                board.tls()?;
                ports.push((cfg.tls_port, (Service::Wsman, true)));
                ports.push((cfg.sol_tls_port, (Service::Sol, true)));
            }
            match &qemu {
                Some(q) => {
                    let tap = match prepare_vm(q, ip).await {
                        Ok(tap) => tap,
                        Err(reason) => {
                            sim.stop().await;
                            return Err(SimError::Qemu { ip, reason });
                        }
                    };
                    sim.taps.push(tap.clone());
                    sim.tasks.push(tokio::spawn(qemu::host::run(
                        Arc::clone(&board),
                        Arc::clone(q),
                        tap,
                        inputs,
                        sim.shutdown.subscribe(),
                    )));
                }
                None => sim.tasks.push(tokio::spawn(host::run(
                    Arc::clone(&board),
                    inputs,
                    sim.shutdown.subscribe(),
                ))),
            }
            for (port, kind) in ports {
                let addr = SocketAddr::from((ip, port));
                let bound = match listener::bind(addr) {
                    Ok(l) => l,
                    Err(source) => {
                        sim.stop().await;
                        return Err(SimError::Bind { addr, source });
                    }
                };
                sim.tasks.push(tokio::spawn(listener::run(
                    Arc::clone(&board),
                    addr,
                    kind,
                    bound,
                    sim.shutdown.subscribe(),
                )));
            }
            sim.by_ip.insert(ip, sim.boards.len());
            sim.boards.push(board);
        }
        Ok(sim)
    }

    /// Every board, in address order.
    pub fn boards(&self) -> Vec<BoardHandle> {
        self.boards
            .iter()
            .map(|b| BoardHandle {
                board: Arc::clone(b),
            })
            .collect()
    }

    /// The board at `ip`.
    pub fn board(&self, ip: Ipv4Addr) -> Option<BoardHandle> {
        self.by_ip.get(&ip).map(|&i| BoardHandle {
            board: Arc::clone(&self.boards[i]),
        })
    }

    /// A receiver of every event from now on.
    pub fn events(&self) -> broadcast::Receiver<SimEvent> {
        self.events.subscribe()
    }

    /// Request totals and per-board maxima.
    pub fn stats(&self) -> SimStats {
        let mut s = SimStats::default();
        for b in &self.boards {
            let (requests, unauthorized) = b.counters();
            s.requests += requests;
            s.unauthorized += unauthorized;
            s.max_requests_per_board = s.max_requests_per_board.max(requests);
            s.max_unauthorized_per_board = s.max_unauthorized_per_board.max(unauthorized);
        }
        s
    }

    /// Closes every listener and connection, and waits for the listeners to be gone.
    pub async fn shutdown(mut self) {
        self.stop().await;
    }

    async fn stop(&mut self) {
        self.shutdown.send_replace(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        if let Some(q) = self.boards.first().and_then(|b| b.cfg.qemu.as_ref()) {
            for tap in self.taps.drain(..) {
                // A tap that cannot be removed is replaced by the next run's.
                let _ = qemu::tap::remove(q, &tap).await;
            }
        }
    }
}

/// The QEMU settings a board cannot run without.
fn check_qemu(q: &QemuBoards) -> Result<(), SimError> {
    if !(MIN_VM_MIB..=MAX_VM_MIB).contains(&q.memory_mib) {
        return Err(SimError::Config(format!(
            "a QEMU board's memory must be {MIN_VM_MIB} to {MAX_VM_MIB} MiB, not {}",
            q.memory_mib
        )));
    }
    if q.firmware == Firmware::Uefi && !q.ovmf.is_file() {
        return Err(SimError::Config(format!(
            "UEFI boards need OVMF at {} (Debian package ovmf)",
            q.ovmf.display()
        )));
    }
    Ok(())
}

/// The board's disks and tap.
async fn prepare_vm(q: &QemuBoards, ip: Ipv4Addr) -> Result<String, String> {
    VmFiles::new(q, ip).prepare(q)?;
    qemu::tap::create(q, ip).await
}
