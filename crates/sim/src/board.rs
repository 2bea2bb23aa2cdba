//! One simulated board: identity, mutable state behind a std mutex (short critical sections,
//! never held across an await), and the handle tests and the CLI use to look inside.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use metal_types::{BootDevice, MacAddr};
use tokio::sync::{broadcast, mpsc, watch};

use crate::boot_settings::default_boot_settings;
use crate::config::SimConfig;
use crate::digest::AuthState;
use crate::events::{BootRecord, RequestRecord, SimEvent};
use crate::identity::{Hardware, Identity};
use crate::machine::{Effect, Machine, RV_IN_USE};
use crate::render::{EnumerationMode, Instance};
use crate::sol::boot::HostInfo;
use crate::sol::console::Console;
use crate::sol::host_input::HostInput;
use crate::tls::TlsIdentity;

/// Request records kept per board; the oldest are dropped beyond this.
const MAX_RECORDS: usize = 100_000;
/// Open enumeration contexts per board; the oldest is dropped beyond this.
const MAX_ENUMERATIONS: usize = 64;
/// `AMT_RedirectionService.EnabledState` bit of SOL (32770 = SOL only, 32771 = both).
pub(crate) const ENABLED_SOL_BIT: u16 = 2;

/// A misbehaviour to inject into one board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Behave.
    #[default]
    None,
    /// Wait this much longer before answering (on top of `SimConfig::latency`).
    Latency(Duration),
    /// Read the request, then close the socket without answering.
    Drop,
    /// Answer `500 Internal Server Error` with `Connection: close`.
    Http500,
    /// Read the request and never answer; keep the socket open.
    Hang,
    /// Close the listeners, so connection attempts are refused, until the fault changes.
    Refuse,
    /// Answer every Pull with one item padded to this many bytes and a fresh enumeration
    /// context, forever: a board that would make a client read without end.
    EndlessPull(usize),
    /// Challenge without `qop` (the RFC 2069 form), as a downgrading man in the middle would.
    DigestWithoutQop,
    /// SOL is switched off in MEBx: `AMT_BootCapabilities.SOL` is false, the redirection
    /// service refuses to enable it (ReturnValue 2) and no SOL session starts.
    SolLocked,
    /// The host does not power on: `RequestPowerStateChange` to on answers success and the
    /// board stays off, as with a dead power supply.
    NoPowerOn,
}

/// A misbehaviour of the SOL (redirection) side of one board; it lasts until replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SolFault {
    /// Behave.
    #[default]
    None,
    /// Open sessions stop sending anything (no heartbeats, no data, no controls) but stay
    /// connected and keep reading: a board that stops answering. Output printed meanwhile is
    /// sent once the fault is cleared.
    Silent,
    /// Open sessions are closed at once (no 0x23/0x12), and new connections are closed as
    /// soon as they are accepted.
    Drop,
}

/// An open enumeration (WS-Enumeration, DSP0226 §8): the items not yet pulled.
pub(crate) struct Enumeration {
    pub id: String,
    pub class: &'static str,
    pub common: bool,
    pub mode: EnumerationMode,
    pub items: VecDeque<Instance>,
}

/// Mutable state of a board.
pub(crate) struct BoardState {
    pub machine: Machine,
    /// AMT_BootSettingData as last Put (reset to defaults by every boot).
    pub boot_settings: Vec<(&'static str, String)>,
    /// AMT_RedirectionService EnabledState (32768..=32771) and ListenerEnabled.
    pub redirection: (u16, bool),
    /// SOL sessions past StartSOLRedirection (at most one).
    pub sol_sessions: usize,
    pub auth: AuthState,
    pub enumerations: VecDeque<Enumeration>,
    next_context: u32,
    message_id: u64,
    requests: VecDeque<RequestRecord>,
    request_count: u64,
    unauthorized_count: u64,
}

impl BoardState {
    /// The next response MessageID (counting up, like firmware).
    pub(crate) fn next_message_id(&mut self) -> u64 {
        self.message_id += 1;
        self.message_id
    }

    /// Opens an enumeration and returns its context id, formatted like AMT's
    /// (fixture cim/physical/memory/enumerate.xml: `D6020000-0000-0000-0000-000000000000`).
    pub(crate) fn open_enumeration(
        &mut self,
        class: &'static str,
        common: bool,
        mode: EnumerationMode,
        items: Vec<Instance>,
    ) -> String {
        self.next_context = self.next_context.wrapping_add(1);
        let id = format!(
            "{}-0000-0000-0000-000000000000",
            hex::encode_upper(self.next_context.to_le_bytes())
        );
        if self.enumerations.len() >= MAX_ENUMERATIONS {
            self.enumerations.pop_front();
        }
        self.enumerations.push_back(Enumeration {
            id: id.clone(),
            class,
            common,
            mode,
            items: items.into(),
        });
        id
    }
}

/// A board: immutable identity plus locked state.
pub(crate) struct Board {
    pub index: usize,
    pub ip: Ipv4Addr,
    pub id: Identity,
    pub cfg: Arc<SimConfig>,
    pub events: broadcast::Sender<SimEvent>,
    pub fault: watch::Sender<Fault>,
    pub sol_fault: watch::Sender<SolFault>,
    /// `ListenerEnabled`: whether the redirection ports listen.
    pub sol_listener: watch::Sender<bool>,
    /// The host's serial port.
    pub console: Console,
    /// Inputs to the host task.
    pub host: mpsc::UnboundedSender<HostInput>,
    state: Mutex<BoardState>,
    tls: Mutex<Option<TlsIdentity>>,
}

impl Board {
    /// A board, and the receiving end of its host's inputs (for `sol::host::run`).
    pub(crate) fn new(
        index: usize,
        ip: Ipv4Addr,
        cfg: Arc<SimConfig>,
        events: broadcast::Sender<SimEvent>,
    ) -> (Self, mpsc::UnboundedReceiver<HostInput>) {
        let mut id = Identity::derive(cfg.seed, index);
        if let Some(kind) = cfg.hardware {
            id = id.with_kind(kind);
        }
        // A QEMU board is the VM it runs, and starts without power like a box just cabled.
        let power = match &cfg.qemu {
            Some(q) => {
                id.hardware = Hardware::of_vm(q.memory_mib, q.disks, index);
                8
            }
            None => 2,
        };
        let (host, inputs) = mpsc::unbounded_channel();
        // amt-protocol.md §2a "Enabling SOL": 32771 = IDE-R and SOL on; 32768 = both off.
        let enabled_state = if cfg.sol_enabled { 32771 } else { 32768 };
        let board = Self {
            index,
            ip,
            id,
            cfg,
            events,
            fault: watch::Sender::new(Fault::None),
            sol_fault: watch::Sender::new(SolFault::None),
            sol_listener: watch::Sender::new(true),
            console: Console::default(),
            host,
            state: Mutex::new(BoardState {
                machine: Machine::with_power(power),
                boot_settings: default_boot_settings(),
                redirection: (enabled_state, true),
                sol_sessions: 0,
                auth: AuthState::default(),
                enumerations: VecDeque::new(),
                next_context: 0x2D0 + index as u32,
                message_id: 0x2E0,
                requests: VecDeque::new(),
                request_count: 0,
                unauthorized_count: 0,
            }),
            tls: Mutex::new(None),
        };
        (board, inputs)
    }

    /// Locks the state, first completing any power change whose window has passed.
    pub(crate) fn lock(&self) -> MutexGuard<'_, BoardState> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let effects = st.machine.settle(Instant::now());
        self.apply(&mut st, effects);
        st
    }

    /// Turns state-machine effects into events and the host's inputs (and clears the boot
    /// options on a boot, as firmware does after one boot).
    pub(crate) fn apply(&self, st: &mut BoardState, effects: impl IntoIterator<Item = Effect>) {
        self.emit(st, effects, true);
    }

    /// The host rebooted by itself: the boot uses (and consumes) the override like any
    /// other, and is logged; returns the device it boots from.
    pub(crate) fn host_rebooted(&self) -> BootDevice {
        let mut st = self.lock();
        let record = st.machine.host_boot(SystemTime::now());
        self.emit(
            &mut st,
            [Effect::Boot {
                record,
                cold: false,
            }],
            false,
        );
        record.device
    }

    /// The host powered itself off (or died): the board shows power off.
    pub(crate) fn host_stopped(&self) {
        let mut st = self.lock();
        let effect = st.machine.set_power(8);
        self.emit(&mut st, effect, false);
    }

    /// [`Board::apply`]; `tell_host` false for what the host itself did.
    fn emit(
        &self,
        st: &mut BoardState,
        effects: impl IntoIterator<Item = Effect>,
        tell_host: bool,
    ) {
        let effects: Vec<Effect> = effects.into_iter().collect();
        // Power coming on with a boot is one input to the host: the boot.
        let booting = effects.iter().any(|e| matches!(e, Effect::Boot { .. }));
        for effect in effects {
            // The host task only goes away at shutdown, so sends to it cannot matter then.
            let event = match effect {
                Effect::Power { from, to } => {
                    self.console.power(to == 2);
                    if tell_host && !(to == 2 && booting) {
                        let _ = self.host.send(HostInput::Power(to == 2));
                    }
                    SimEvent::Power {
                        ip: self.ip,
                        from,
                        to,
                    }
                }
                Effect::Boot { record, cold } => {
                    if tell_host {
                        let _ = self.host.send(HostInput::Boot {
                            device: record.device,
                            cold,
                        });
                    }
                    st.boot_settings = default_boot_settings();
                    SimEvent::Boot {
                        ip: self.ip,
                        record,
                    }
                }
            };
            // No receiver is fine: events are informational.
            let _ = self.events.send(event);
        }
    }

    /// `RequestPowerStateChange`; when a change starts, a timer completes it at the end of
    /// the window even if nobody asks (so the boot is logged when the host comes up).
    ///
    /// While a SOL session is open, power off (8, 12) and power cycle (5) are refused with
    /// ReturnValue 6, "In Use" in the DMTF value map: Intel's guide says a power cycle or
    /// power off is rejected while a SOL, IDE-R or KVM session is active (amt-protocol.md
    /// §2a). Power on, resets (10, 14), sleep, hibernate and NMI stay allowed: they are not
    /// in that list, and resetting a host to watch it boot is what SOL is used for.
    pub(crate) fn request_power(self: &Arc<Self>, st: &mut BoardState, value: u16) -> u32 {
        if st.sol_sessions > 0
            && matches!(value, 5 | 8 | 12)
            && st.machine.available().contains(&value)
        {
            let _ = self.events.send(SimEvent::PowerRefused {
                ip: self.ip,
                requested: value,
            });
            return RV_IN_USE;
        }
        // A host that cannot power on: AMT accepts the request, nothing comes on, and a
        // cycle ends with the host off.
        let value = match (self.current_fault(), value, st.machine.power()) {
            (Fault::NoPowerOn, 2, 8) => return 0,
            (Fault::NoPowerOn, 5, _) => 8,
            _ => value,
        };
        let (rv, until) = st
            .machine
            .request(value, Instant::now(), self.cfg.transition);
        if let Some(until) = until {
            let board = Arc::clone(self);
            tokio::spawn(async move {
                tokio::time::sleep_until(until.into()).await;
                drop(board.lock());
            });
        }
        rv
    }

    /// Records one answered request and emits its event.
    pub(crate) fn record(&self, record: RequestRecord) {
        let mut st = self.lock();
        st.request_count += 1;
        if record.status == 401 {
            st.unauthorized_count += 1;
        }
        if st.requests.len() >= MAX_RECORDS {
            st.requests.pop_front();
        }
        st.requests.push_back(record.clone());
        drop(st);
        let _ = self.events.send(SimEvent::Request {
            ip: self.ip,
            record,
        });
    }

    /// (requests, 401s) answered so far.
    pub(crate) fn counters(&self) -> (u64, u64) {
        let st = self.lock();
        (st.request_count, st.unauthorized_count)
    }

    /// Publishes `ListenerEnabled` to the redirection listeners after a change.
    pub(crate) fn redirection_changed(&self, st: &BoardState) {
        self.sol_listener.send_replace(st.redirection.1);
    }

    /// The host's name on its console (`node-<index>`).
    pub(crate) fn hostname(&self) -> String {
        format!("node-{}", self.index)
    }

    /// What the host's boot output shows of this board.
    pub(crate) fn host_info(&self) -> HostInfo {
        HostInfo {
            hostname: self.hostname(),
            ip: self.ip,
            mac: self.id.mac,
            uuid: self.id.uuid_string(),
            memory_mib: self.id.hardware.dimms.iter().sum::<u64>() >> 20,
            has_disk: !self.id.hardware.disks.is_empty(),
        }
    }

    /// The board's control mode and consent policy.
    pub(crate) fn control(&self) -> crate::Control {
        self.cfg.control.of(self.ip)
    }

    /// The current fault.
    pub(crate) fn current_fault(&self) -> Fault {
        *self.fault.borrow()
    }

    /// The board's TLS identity, generated on first use.
    pub(crate) fn tls(&self) -> Result<TlsIdentity, crate::SimError> {
        let mut slot = self.tls.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = slot.as_ref() {
            return Ok(t.clone());
        }
        let t = TlsIdentity::generate(self.ip, &self.id.serial)?;
        *slot = Some(t.clone());
        Ok(t)
    }

    fn regenerate_tls(&self) -> Result<(), crate::SimError> {
        let t = TlsIdentity::generate(self.ip, &self.id.serial)?;
        *self.tls.lock().unwrap_or_else(|e| e.into_inner()) = Some(t);
        Ok(())
    }
}

/// A cheap, clonable view of one board.
#[derive(Clone)]
pub struct BoardHandle {
    pub(crate) board: Arc<Board>,
}

impl std::fmt::Debug for BoardHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoardHandle")
            .field("ip", &self.board.ip)
            .field("index", &self.board.index)
            .finish()
    }
}

impl BoardHandle {
    /// The board's address.
    pub fn ip(&self) -> Ipv4Addr {
        self.board.ip
    }

    /// The system UUID, canonical lowercase 8-4-4-4-12.
    pub fn uuid(&self) -> String {
        self.board.id.uuid_string()
    }

    /// The chassis serial number (`CIM_Chassis.SerialNumber`).
    pub fn serial(&self) -> String {
        self.board.id.serial.clone()
    }

    /// The wired MAC address (`AMT_EthernetPortSettings` instance 0).
    pub fn mac(&self) -> MacAddr {
        self.board.id.mac
    }

    /// The digest realm (`Digest:` + 32 uppercase hex digits).
    pub fn realm(&self) -> String {
        self.board.id.realm.clone()
    }

    /// The DMTF power state: 2 on, 8 off (4 sleep, 7 hibernate).
    pub fn power_state(&self) -> u16 {
        self.board.lock().machine.power()
    }

    /// Forces the power state (for tests): cancels a change in progress, logs no boot.
    pub fn set_power_state(&self, v: u16) {
        let mut st = self.board.lock();
        let effect = st.machine.set_power(v);
        self.board.apply(&mut st, effect);
    }

    /// Injects a fault (replacing the previous one).
    pub fn set_fault(&self, f: Fault) {
        self.board.fault.send_replace(f);
    }

    /// The TLS certificate (DER) the board presents; generated on first use.
    pub fn tls_cert_der(&self) -> Vec<u8> {
        self.board.tls().map(|t| t.der.clone()).unwrap_or_default()
    }

    /// Replaces the key and certificate (a "certificate changed" scenario). New
    /// connections see the new certificate.
    pub fn regenerate_tls_cert(&self) {
        // Generation only fails if the crypto provider cannot make a P-256 key, in which
        // case the board keeps its previous certificate.
        let _ = self.board.regenerate_tls();
    }

    /// Every request answered so far (the most recent 100 000).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.board.lock().requests.iter().cloned().collect()
    }

    /// Every boot performed so far.
    pub fn boots(&self) -> Vec<BootRecord> {
        self.board.lock().machine.boots().to_vec()
    }

    /// The pending one-shot boot override, if both the role and a source are set.
    pub fn next_boot(&self) -> Option<BootDevice> {
        self.board.lock().machine.next_boot()
    }

    /// The host name the simulated host prints (`node-<index>`, as in `node-1 login: `).
    pub fn hostname(&self) -> String {
        self.board.hostname()
    }

    /// Enables SOL (sets the SOL bit of `AMT_RedirectionService.EnabledState`, 32768 ->
    /// 32770 or 32769 -> 32771, and `ListenerEnabled`) or disables it (clears the SOL bit;
    /// the listener stays as it is). Open sessions are not affected.
    pub fn set_sol_enabled(&self, on: bool) {
        let mut st = self.board.lock();
        let (state, listener) = st.redirection;
        st.redirection = if on {
            (state | ENABLED_SOL_BIT, true)
        } else {
            (state & !ENABLED_SOL_BIT, listener)
        };
        self.board.redirection_changed(&st);
    }

    /// Whether a SOL session can start: the SOL bit of `EnabledState` and
    /// `ListenerEnabled` are both set.
    pub fn sol_enabled(&self) -> bool {
        let (state, listener) = self.board.lock().redirection;
        state & ENABLED_SOL_BIT != 0 && listener
    }

    /// Everything the host printed on its serial console (the most recent 8 MiB), whether
    /// or not a SOL client was connected.
    pub fn console_output(&self) -> Vec<u8> {
        self.board.console.history()
    }

    /// SOL sessions open now (past StartSOLRedirection; at most one).
    pub fn sol_sessions(&self) -> usize {
        self.board.lock().sol_sessions
    }

    /// Injects a SOL fault (replacing the previous one).
    pub fn set_sol_fault(&self, f: SolFault) {
        self.board.sol_fault.send_replace(f);
    }
}
