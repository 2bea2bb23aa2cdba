//! Recording a board: profile outcome, hostname and address allocated in one transaction.
//!
//! Each board is one transaction, so an enrolment killed at any point leaves every board
//! either fully recorded (machine, address, events) or not at all, and a re-run picks up where
//! it stopped. A board already recorded (same UUID at the same address) is left unchanged.

use std::collections::HashSet;
use std::net::IpAddr;

use ipnet::IpNet;
use sqlx::{Any, Transaction};

use crate::Error;
use crate::insert::Insert;
use crate::model::{BoardFacts, Machine, MachineState, TlsPin};
use crate::naming::{self, Scheme};
use crate::profiles::Match;
use crate::store::{Store, allocated_addresses, get, machine_from_row, machine_select, now_ms};

/// Where and how boards are enrolled.
#[derive(Debug, Clone)]
pub struct EnrollRequest {
    pub rack: String,
    pub site: String,
    /// The rack's address pool; only used when the rack is new.
    pub pool: String,
    /// The rack's hostname scheme; only used when the rack is new.
    pub scheme: String,
    /// The credential set the board's AMT password comes from.
    pub credential_set: String,
    /// Who enrols, for the event log.
    pub actor: String,
    /// Whether a recorded board whose TLS certificate changed gets its new pin recorded
    /// (`--repin`) rather than refused.
    pub repin: bool,
}

/// What enrolling one board did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Recorded now.
    Created,
    /// Already recorded; a profile now matches where none did before.
    Matched,
    /// Already recorded, nothing changed.
    Unchanged,
    /// Already recorded; its new TLS pin is recorded (`--repin`).
    Repinned,
}

/// The board's record after enrolment.
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub outcome: Outcome,
    pub machine: Machine,
}

/// The rack a board goes into, as recorded.
struct RackRow {
    id: i64,
    pool: IpNet,
    scheme: Scheme,
}

/// Where a new machine goes: its slot in the rack, hostname and Dom0 address.
struct Placement {
    slot: u32,
    hostname: String,
    address: IpAddr,
}

impl Store {
    /// Records one board (see the module docs): a board already recorded is re-checked, a new
    /// one is refused if another board holds its address, else placed and inserted.
    pub async fn enroll(
        &self,
        req: &EnrollRequest,
        facts: &BoardFacts,
        matched: &Match,
    ) -> Result<Enrolled, Error> {
        req.check()?;
        let mut tx = self.begin_allocation().await?;
        let db =
            |what: &str| Error::db(format!("{}: {what} for {}", self.url(), facts.amt_address));
        if let Some(machine) = recorded_by_uuid(&mut tx, facts).await? {
            let outcome = self
                .re_enroll(&mut tx, req, facts, matched, &machine)
                .await?;
            tx.commit().await.map_err(db("committing"))?;
            return self.enrolled(outcome, &machine.hostname).await;
        }
        refuse_if_address_held(&mut tx, facts).await?;
        refuse_if_identity_held(&mut tx, facts).await?;
        let rack = rack(&mut tx, req).await?;
        let place = place(&mut tx, req, &rack).await?;
        let id = insert_machine(&mut tx, req, facts, matched, &rack, &place).await?;
        log_enrolment(&mut tx, id, req, facts, matched, &place).await?;
        tx.commit().await.map_err(db("committing"))?;
        self.enrolled(Outcome::Created, &place.hostname).await
    }

    async fn enrolled(&self, outcome: Outcome, hostname: &str) -> Result<Enrolled, Error> {
        let machine = self
            .machine(hostname)
            .await?
            .ok_or_else(|| Error::NotFound(hostname.to_string()))?;
        Ok(Enrolled { outcome, machine })
    }

    /// A board whose UUID is already recorded: unchanged, or now matched by a profile.
    async fn re_enroll(
        &self,
        tx: &mut Transaction<'static, Any>,
        req: &EnrollRequest,
        facts: &BoardFacts,
        matched: &Match,
        machine: &Machine,
    ) -> Result<Outcome, Error> {
        if machine.amt_address != facts.amt_address {
            return Err(Error::Conflict(format!(
                "{}: board UUID {} is already enrolled as {} at {}; not changed (retire it or fix its address first)",
                facts.amt_address,
                facts.uuid(),
                machine.hostname,
                machine.amt_address
            )));
        }
        if machine.rack != req.rack {
            return Err(Error::Conflict(format!(
                "{}: board UUID {} is already enrolled as {} in rack {}, not {}",
                facts.amt_address,
                facts.uuid(),
                machine.hostname,
                machine.rack,
                req.rack
            )));
        }
        if let Some(seen) = facts.tls_pin
            && machine.tls_pin != Some(seen)
        {
            if !req.repin {
                return Err(Error::Conflict(format!(
                    "{}: the board's TLS certificate changed (pin {seen}, recorded {}) for {}; not changed (re-run with --repin if the board was re-provisioned)",
                    facts.amt_address,
                    machine
                        .tls_pin
                        .map_or_else(|| "none".into(), |p| p.to_string()),
                    machine.hostname
                )));
            }
            record_pin(tx, &machine.hostname, machine.tls_pin, seen, &req.actor).await?;
            return Ok(Outcome::Repinned);
        }
        let (Match::Profile(p), MachineState::New) = (matched, machine.state) else {
            return Ok(Outcome::Unchanged);
        };
        sqlx::query(
            "UPDATE machines SET profile = $1, profile_note = NULL, storage = $2, role = $3, \
             dom0_memory_mib = $4, netboot = $5, state = $6, updated_ms = $7, root_gib = $9 \
             WHERE uuid = $8",
        )
        .bind(&p.name)
        .bind(p.storage.as_str())
        .bind(p.role.as_str())
        .bind(i64::from(p.dom0_memory_mib))
        .bind(&p.netboot)
        .bind(MachineState::Enrolled.as_str())
        .bind(now_ms())
        .bind(facts.uuid())
        .bind(p.root_gib.map(i64::from))
        .execute(&mut **tx)
        .await
        .map_err(Error::db(format!(
            "{}: updating {}",
            self.url(),
            machine.hostname
        )))?;
        let id = machine_id(tx, &machine.hostname).await?;
        let why = format!("hardware profile {} now matches", p.name);
        log_event(
            tx,
            id,
            &machine.hostname,
            &req.actor,
            Some(MachineState::New),
            Some(MachineState::Enrolled),
            &why,
        )
        .await?;
        Ok(Outcome::Matched)
    }
}

impl EnrollRequest {
    /// Refuses a request whose rack name, pool or hostname scheme cannot be used.
    pub fn check(&self) -> Result<(), Error> {
        Scheme::parse(&self.scheme)?;
        naming::parse_pool(&self.pool)?;
        if !naming::valid_label(&self.rack) {
            return Err(Error::Invalid(format!(
                "rack name {:?}: use letters, digits and '-'",
                self.rack
            )));
        }
        Ok(())
    }
}

/// The machine recorded with the board's UUID, if any.
async fn recorded_by_uuid(
    tx: &mut Transaction<'static, Any>,
    facts: &BoardFacts,
) -> Result<Option<Machine>, Error> {
    sqlx::query(concat!(machine_select!(), " WHERE m.uuid = $1"))
        .bind(facts.uuid())
        .fetch_optional(&mut **tx)
        .await
        .map_err(Error::db(format!(
            "looking up UUID {} for {}",
            facts.uuid(),
            facts.amt_address
        )))?
        .as_ref()
        .map(machine_from_row)
        .transpose()
}

/// Another board recorded at this AMT address means a swapped board or a moved address.
async fn refuse_if_address_held(
    tx: &mut Transaction<'static, Any>,
    facts: &BoardFacts,
) -> Result<(), Error> {
    let holder = sqlx::query("SELECT hostname, uuid FROM machines WHERE amt_address = $1")
        .bind(facts.amt_address.to_string())
        .fetch_optional(&mut **tx)
        .await
        .map_err(Error::db(format!(
            "looking up the AMT address {}",
            facts.amt_address
        )))?;
    match holder {
        None => Ok(()),
        Some(row) => {
            let (host, uuid): (String, String) = (get(&row, "hostname")?, get(&row, "uuid")?);
            Err(Error::Conflict(format!(
                "{}: the board answering reports system UUID {}, but the inventory records UUID {uuid} ({host}) at this address; not enrolled (board swapped or address moved?)",
                facts.amt_address,
                facts.uuid()
            )))
        }
    }
}

/// Serial numbers that cheap boards ship with unset (SMBIOS defaults); two boards sharing one
/// of these are not the same board.
const PLACEHOLDER_SERIALS: [&str; 8] = [
    "",
    "to be filled by o.e.m.",
    "default string",
    "system serial number",
    "not specified",
    "none",
    "0",
    "0123456789",
];

/// Whether `serial` is a real serial number, not one of the SMBIOS defaults boards ship with.
pub fn is_real_serial(serial: &str) -> bool {
    !PLACEHOLDER_SERIALS.contains(&serial.trim().to_ascii_lowercase().as_str())
}

/// A new board whose MAC or (real) serial number another machine already has is refused,
/// naming that machine: a cloned NIC, a copied SMBIOS table, or a board lying about itself.
/// It fails alone; the rest of the run goes on, and a re-run refuses it the same way.
async fn refuse_if_identity_held(
    tx: &mut Transaction<'static, Any>,
    facts: &BoardFacts,
) -> Result<(), Error> {
    let hw = &facts.hardware;
    if let Some(mac) = hw.mac
        && let Some((host, at)) = holder(tx, facts, Identifier::Mac, mac.to_string()).await?
    {
        return Err(Error::Conflict(format!(
            "{}: the board reports MAC {mac}, which {host} (AMT {at}) already has; not enrolled",
            facts.amt_address
        )));
    }
    let serial = hw.chassis.serial.trim();
    if is_real_serial(serial)
        && let Some((host, at)) = holder(tx, facts, Identifier::Serial, serial.to_string()).await?
    {
        return Err(Error::Conflict(format!(
            "{}: the board reports serial number {serial}, which {host} (AMT {at}) already has; not enrolled",
            facts.amt_address
        )));
    }
    Ok(())
}

/// Records a machine's new TLS pin, with an event naming both fingerprints.
pub(crate) async fn record_pin(
    tx: &mut Transaction<'static, Any>,
    hostname: &str,
    old: Option<TlsPin>,
    new: TlsPin,
    actor: &str,
) -> Result<(), Error> {
    sqlx::query("UPDATE machines SET tls_pin = $1, updated_ms = $2 WHERE hostname = $3")
        .bind(new.to_string())
        .bind(now_ms())
        .bind(hostname)
        .execute(&mut **tx)
        .await
        .map_err(Error::db(format!(
            "recording the new TLS pin of {hostname}"
        )))?;
    let id = machine_id(tx, hostname).await?;
    let old = old.map_or_else(|| "none".into(), |p| format!("sha256 {p}"));
    let why = format!("TLS pin changed (--repin): {old} -> sha256 {new}");
    log_event(tx, id, hostname, actor, None, None, &why).await
}

/// A column that names one board.
#[derive(Debug, Clone, Copy)]
enum Identifier {
    Mac,
    Serial,
}

/// The machine (hostname, AMT address) that already has `value` in `column`.
async fn holder(
    tx: &mut Transaction<'static, Any>,
    facts: &BoardFacts,
    column: Identifier,
    value: String,
) -> Result<Option<(String, String)>, Error> {
    let sql = match column {
        Identifier::Mac => "SELECT hostname, amt_address FROM machines WHERE mac = $1",
        Identifier::Serial => "SELECT hostname, amt_address FROM machines WHERE serial = $1",
    };
    let row = sqlx::query(sql)
        .bind(value)
        .fetch_optional(&mut **tx)
        .await
        .map_err(Error::db(format!(
            "looking up the {column:?} of {}",
            facts.amt_address
        )))?;
    row.map(|r| Ok((get(&r, "hostname")?, get(&r, "amt_address")?)))
        .transpose()
}

/// The lowest free slot of the rack, its hostname, and the lowest free address of the pool.
async fn place(
    tx: &mut Transaction<'static, Any>,
    req: &EnrollRequest,
    rack: &RackRow,
) -> Result<Placement, Error> {
    let db = |what: &str| Error::db(format!("rack {}: {what}", req.rack));
    let slots: HashSet<i64> = sqlx::query("SELECT slot FROM machines WHERE rack_id = $1")
        .bind(rack.id)
        .fetch_all(&mut **tx)
        .await
        .map_err(db("reading slots"))?
        .iter()
        .map(|r| get(r, "slot"))
        .collect::<Result<_, _>>()?;
    let slot = naming::free_slot(&slots);
    let hostname = rack.scheme.name(&req.rack, slot);
    let taken = allocated_addresses(tx, db("reading addresses")).await?;
    let address = naming::free_address(&rack.pool, &taken).ok_or_else(|| Error::PoolFull {
        rack: req.rack.clone(),
        pool: rack.pool.to_string(),
    })?;
    sqlx::query("INSERT INTO addresses (address, holder) VALUES ($1, $2)")
        .bind(address.to_string())
        .bind(&hostname)
        .execute(&mut **tx)
        .await
        .map_err(db("allocating an address"))?;
    let slot = u32::try_from(slot)
        .map_err(|_| Error::Invalid(format!("rack {}: slot {slot} out of range", req.rack)))?;
    Ok(Placement {
        slot,
        hostname,
        address,
    })
}

/// Inserts the machine row; returns its id.
async fn insert_machine(
    tx: &mut Transaction<'static, Any>,
    req: &EnrollRequest,
    facts: &BoardFacts,
    matched: &Match,
    rack: &RackRow,
    place: &Placement,
) -> Result<i64, Error> {
    let profile = match matched {
        Match::Profile(p) => Some(p),
        Match::None(_) => None,
    };
    let note = match matched {
        Match::Profile(_) => None,
        Match::None(reason) => Some(reason.as_str()),
    };
    let state = match matched {
        Match::Profile(_) => MachineState::Enrolled,
        Match::None(_) => MachineState::New,
    };
    let hw = &facts.hardware;
    let (disks, ssds) = facts.disk_counts();
    let hardware = serde_json::to_string(hw)
        .map_err(|e| Error::Invalid(format!("{}: hardware record: {e}", facts.amt_address)))?;
    let now = now_ms();
    let insert = Insert::into("machines")
        .int("rack_id", rack.id)
        .int("slot", i64::from(place.slot))
        .text("hostname", Some(&place.hostname))
        .text("address", Some(place.address))
        .text("amt_address", Some(facts.amt_address))
        .text("uuid", Some(&hw.uuid))
        .text("serial", Some(&hw.chassis.serial))
        .text("board_maker", Some(&hw.board.manufacturer))
        .text("board_model", Some(&hw.board.model))
        .text("mac", hw.mac)
        .int(
            "memory_bytes",
            i64::try_from(hw.memory_bytes).unwrap_or(i64::MAX),
        )
        .int("disks", i64::from(disks))
        .int("ssds", i64::from(ssds))
        .text("profile", profile.map(|p| &p.name))
        .text("profile_note", note)
        .text("storage", profile.map(|p| p.storage))
        .text("role", profile.map(|p| &p.role))
        .int(
            "dom0_memory_mib",
            profile.map(|p| i64::from(p.dom0_memory_mib)),
        )
        .int("root_gib", profile.and_then(|p| p.root_gib).map(i64::from))
        .text("netboot", profile.map(|p| &p.netboot))
        .text("tls_pin", facts.tls_pin)
        .text("credential_set", Some(&req.credential_set))
        .text("state", Some(state))
        .text("hardware", Some(hardware))
        .int("created_ms", now)
        .int("updated_ms", now);
    let row = insert
        .query(Some("id"))
        .fetch_one(&mut **tx)
        .await
        .map_err(Error::db(format!(
            "recording the machine for {}",
            facts.amt_address
        )))?;
    get(&row, "id")
}

/// The events of a new machine: discovered, then matched (or why not).
async fn log_enrolment(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    req: &EnrollRequest,
    facts: &BoardFacts,
    matched: &Match,
    place: &Placement,
) -> Result<(), Error> {
    let hostname = &place.hostname;
    let found = format!(
        "discovered at {} (UUID {}, serial {})",
        facts.amt_address,
        facts.uuid(),
        facts.serial()
    );
    log_event(
        tx,
        id,
        hostname,
        &req.actor,
        None,
        Some(MachineState::New),
        &found,
    )
    .await?;
    match matched {
        Match::Profile(p) => {
            let why = format!(
                "hardware profile {} ({}), address {}",
                p.name, p.storage, place.address
            );
            let to = Some(MachineState::Enrolled);
            log_event(
                tx,
                id,
                hostname,
                &req.actor,
                Some(MachineState::New),
                to,
                &why,
            )
            .await
        }
        Match::None(reason) => {
            let why = format!("not provisioned: {reason}");
            log_event(tx, id, hostname, &req.actor, None, None, &why).await
        }
    }
}

/// The rack's id, pool and scheme, creating the rack (and its site) if new.
async fn rack(tx: &mut Transaction<'static, Any>, req: &EnrollRequest) -> Result<RackRow, Error> {
    let db = |what: &str| Error::db(format!("rack {}: {what}", req.rack));
    let row = sqlx::query("SELECT id, pool, hostname_scheme FROM racks WHERE name = $1")
        .bind(&req.rack)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db("reading the rack"))?;
    if let Some(r) = row {
        let scheme: String = get(&r, "hostname_scheme")?;
        return Ok(RackRow {
            id: get(&r, "id")?,
            pool: naming::parse_pool(&get::<String>(&r, "pool")?)?,
            scheme: Scheme::parse(&scheme)?,
        });
    }
    let site = match sqlx::query("SELECT id FROM sites WHERE name = $1")
        .bind(&req.site)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db("reading the site"))?
    {
        Some(r) => get::<i64>(&r, "id")?,
        None => get(
            &sqlx::query("INSERT INTO sites (name) VALUES ($1) RETURNING id")
                .bind(&req.site)
                .fetch_one(&mut **tx)
                .await
                .map_err(db("creating the site"))?,
            "id",
        )?,
    };
    let r = sqlx::query(
        "INSERT INTO racks (name, site_id, pool, hostname_scheme, created_ms) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(&req.rack)
    .bind(site)
    .bind(&req.pool)
    .bind(&req.scheme)
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await
    .map_err(db("creating the rack"))?;
    Ok(RackRow {
        id: get(&r, "id")?,
        pool: naming::parse_pool(&req.pool)?,
        scheme: Scheme::parse(&req.scheme)?,
    })
}

pub(crate) async fn machine_id(
    tx: &mut Transaction<'static, Any>,
    hostname: &str,
) -> Result<i64, Error> {
    let row = sqlx::query("SELECT id FROM machines WHERE hostname = $1")
        .bind(hostname)
        .fetch_optional(&mut **tx)
        .await
        .map_err(Error::db(format!("looking up {hostname}")))?
        .ok_or_else(|| Error::NotFound(hostname.to_string()))?;
    get(&row, "id")
}

/// Appends one event.
pub(crate) async fn log_event(
    tx: &mut Transaction<'static, Any>,
    machine_id: i64,
    subject: &str,
    actor: &str,
    from: Option<MachineState>,
    to: Option<MachineState>,
    reason: &str,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO events (at_ms, subject, machine_id, actor, from_state, to_state, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(now_ms())
    .bind(subject)
    .bind(machine_id)
    .bind(actor)
    .bind(from.map(MachineState::as_str))
    .bind(to.map(MachineState::as_str))
    .bind(reason)
    .execute(&mut **tx)
    .await
    .map_err(Error::db(format!("recording an event of {subject}")))?;
    Ok(())
}
