//! Recording a board: profile outcome, hostname and address allocated in one transaction.
//!
//! Each board is one transaction, so an enrolment killed at any point leaves every board
//! either fully recorded (machine, address, events) or not at all, and a re-run picks up where
//! it stopped. A board already recorded (same UUID at the same address) is left unchanged.

use std::collections::HashSet;

use sqlx::{Any, Transaction};

use crate::Error;
use crate::model::{BoardFacts, Machine, MachineState};
use crate::naming::{self, Scheme};
use crate::profiles::Match;
use crate::store::{Store, allocated_addresses, get, machine_select, now_ms};

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
}

/// The board's record after enrolment.
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub outcome: Outcome,
    pub machine: Machine,
}

impl Store {
    /// Records one board (see the module docs).
    pub async fn enroll(
        &self,
        req: &EnrollRequest,
        facts: &BoardFacts,
        matched: &Match,
    ) -> Result<Enrolled, Error> {
        let scheme = Scheme::parse(&req.scheme)?;
        let pool = naming::parse_pool(&req.pool)?;
        if !naming::valid_label(&req.rack) {
            return Err(Error::Invalid(format!(
                "rack name {:?}: use letters, digits and '-'",
                req.rack
            )));
        }
        let mut tx = self.begin_allocation().await?;
        let db =
            |what: &str| Error::db(format!("{}: {what} for {}", self.url(), facts.amt_address));
        let existing = sqlx::query(concat!(machine_select!(), " WHERE m.uuid = $1"))
            .bind(&facts.uuid)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("looking up the UUID"))?;
        if let Some(row) = existing {
            let machine = crate::store::machine_from_row(&row)?;
            let outcome = self
                .re_enroll(&mut tx, req, facts, matched, &machine)
                .await?;
            tx.commit().await.map_err(db("committing"))?;
            let machine = self
                .machine(&machine.hostname)
                .await?
                .ok_or_else(|| Error::NotFound(machine.hostname.clone()))?;
            return Ok(Enrolled { outcome, machine });
        }
        let holder = sqlx::query("SELECT hostname, uuid FROM machines WHERE amt_address = $1")
            .bind(&facts.amt_address)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("looking up the AMT address"))?;
        if let Some(row) = holder {
            let (host, uuid): (String, String) = (get(&row, "hostname")?, get(&row, "uuid")?);
            return Err(Error::Conflict(format!(
                "{}: the board answering reports system UUID {}, but the inventory records UUID {uuid} ({host}) at this address; not enrolled (board swapped or address moved?)",
                facts.amt_address, facts.uuid
            )));
        }
        let (rack_id, pool_text, scheme_text) = rack(&mut tx, req).await?;
        let (pool, scheme) = if pool_text == req.pool && scheme_text == req.scheme {
            (pool, scheme)
        } else {
            (
                naming::parse_pool(&pool_text)?,
                Scheme::parse(&scheme_text)?,
            )
        };
        let slots: HashSet<i64> = sqlx::query("SELECT slot FROM machines WHERE rack_id = $1")
            .bind(rack_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(db("reading slots"))?
            .iter()
            .map(|r| get(r, "slot"))
            .collect::<Result<_, _>>()?;
        let slot = naming::free_slot(&slots);
        let hostname = scheme.name(&req.rack, slot);
        let taken = allocated_addresses(&mut tx, db("reading addresses")).await?;
        let address = naming::free_address(&pool, &taken).ok_or_else(|| Error::PoolFull {
            rack: req.rack.clone(),
            pool: pool.to_string(),
        })?;
        let address = address.to_string();
        sqlx::query("INSERT INTO addresses (address, holder) VALUES ($1, $2)")
            .bind(&address)
            .bind(&hostname)
            .execute(&mut *tx)
            .await
            .map_err(db("allocating an address"))?;
        let now = now_ms();
        let (profile, note, storage, role, dom0_mib, netboot) = match matched {
            Match::Profile(p) => (
                Some(p.name.clone()),
                None,
                Some(p.storage.as_str().to_string()),
                Some(p.role.clone()),
                Some(p.dom0_memory_mib as i64),
                Some(p.netboot.clone()),
            ),
            Match::None(reason) => (None, Some(reason.clone()), None, None, None, None),
        };
        let state = match matched {
            Match::Profile(_) => MachineState::Enrolled,
            Match::None(_) => MachineState::New,
        };
        let ssds = facts.disks.iter().filter(|ssd| **ssd).count() as i64;
        let row = sqlx::query(
            "INSERT INTO machines (rack_id, slot, hostname, address, amt_address, uuid, serial, \
             board_maker, board_model, mac, memory_bytes, disks, ssds, profile, profile_note, \
             storage, role, dom0_memory_mib, netboot, tls_pin, credential_set, state, hardware, \
             created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
             $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $24) RETURNING id",
        )
        .bind(rack_id)
        .bind(slot)
        .bind(&hostname)
        .bind(&address)
        .bind(&facts.amt_address)
        .bind(&facts.uuid)
        .bind(&facts.serial)
        .bind(&facts.board_maker)
        .bind(&facts.board_model)
        .bind(&facts.mac)
        .bind(facts.memory_bytes as i64)
        .bind(facts.disks.len() as i64)
        .bind(ssds)
        .bind(&profile)
        .bind(&note)
        .bind(&storage)
        .bind(&role)
        .bind(dom0_mib)
        .bind(&netboot)
        .bind(&facts.tls_pin)
        .bind(&req.credential_set)
        .bind(state.as_str())
        .bind(facts.hardware.to_string())
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db("recording the machine"))?;
        let id: i64 = get(&row, "id")?;
        let found = format!(
            "discovered at {} (UUID {}, serial {})",
            facts.amt_address, facts.uuid, facts.serial
        );
        log_event(
            &mut tx,
            id,
            &hostname,
            &req.actor,
            None,
            Some(MachineState::New),
            &found,
        )
        .await?;
        match matched {
            Match::Profile(p) => {
                let why = format!(
                    "hardware profile {} ({}), address {address}",
                    p.name,
                    p.storage.as_str()
                );
                log_event(
                    &mut tx,
                    id,
                    &hostname,
                    &req.actor,
                    Some(MachineState::New),
                    Some(state),
                    &why,
                )
                .await?
            }
            Match::None(reason) => {
                let why = format!("not provisioned: {reason}");
                log_event(&mut tx, id, &hostname, &req.actor, None, None, &why).await?
            }
        }
        tx.commit().await.map_err(db("committing"))?;
        let machine = self
            .machine(&hostname)
            .await?
            .ok_or_else(|| Error::NotFound(hostname.clone()))?;
        Ok(Enrolled {
            outcome: Outcome::Created,
            machine,
        })
    }

    /// A board whose UUID is already recorded.
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
                facts.amt_address, facts.uuid, machine.hostname, machine.amt_address
            )));
        }
        if machine.rack != req.rack {
            return Err(Error::Conflict(format!(
                "{}: board UUID {} is already enrolled as {} in rack {}, not {}",
                facts.amt_address, facts.uuid, machine.hostname, machine.rack, req.rack
            )));
        }
        let (Match::Profile(p), MachineState::New) = (matched, machine.state) else {
            return Ok(Outcome::Unchanged);
        };
        sqlx::query(
            "UPDATE machines SET profile = $1, profile_note = NULL, storage = $2, role = $3, \
             dom0_memory_mib = $4, netboot = $5, state = $6, updated_ms = $7 WHERE uuid = $8",
        )
        .bind(&p.name)
        .bind(p.storage.as_str())
        .bind(&p.role)
        .bind(p.dom0_memory_mib as i64)
        .bind(&p.netboot)
        .bind(MachineState::Enrolled.as_str())
        .bind(now_ms())
        .bind(&facts.uuid)
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

/// The rack's id, pool and scheme, creating the rack (and its site) if new.
async fn rack(
    tx: &mut Transaction<'static, Any>,
    req: &EnrollRequest,
) -> Result<(i64, String, String), Error> {
    let db = |what: &str| Error::db(format!("rack {}: {what}", req.rack));
    let row = sqlx::query("SELECT id, pool, hostname_scheme FROM racks WHERE name = $1")
        .bind(&req.rack)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db("reading the rack"))?;
    if let Some(r) = row {
        return Ok((
            get(&r, "id")?,
            get(&r, "pool")?,
            get(&r, "hostname_scheme")?,
        ));
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
    Ok((get(&r, "id")?, req.pool.clone(), req.scheme.clone()))
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
