//! The dashboard's reads: a rack's machines by slot, the machine list a page at a time with
//! its search, the guests of some Dom0s, and the event log newest first.

use sqlx::any::AnyRow;

use metal_types::MacAddr;

use crate::Error;
use crate::model::{Event, Guest, MachineState, MachineSummary};
use crate::store::{Store, event_from_row, get, number, parsed, parsed_opt};

/// The columns of a [`MachineSummary`], over the same joins as the store's `machine_select!`.
macro_rules! summary_select {
    () => {
        "SELECT m.hostname, m.address, r.name AS rack, s.name AS site, m.slot, m.amt_address, \
         m.uuid, m.serial, m.board_maker, m.board_model, m.mac, m.memory_bytes, m.profile, m.state \
         FROM machines m JOIN racks r ON r.id = m.rack_id JOIN sites s ON s.id = r.site_id"
    };
}

/// Which machines a page of the machine list holds (the dashboard's list and search).
#[derive(Debug, Clone, Default)]
pub struct MachineQuery {
    /// Part of a hostname, MAC, UUID or serial number, case-insensitive.
    pub text: Option<String>,
    pub state: Option<MachineState>,
    pub rack: Option<String>,
}

/// The filter of [`MachineQuery`] in SQL: `$1` the LIKE pattern ('' for none), `$2` the pattern
/// for MACs (the text in the stored MAC form when it parses as one, else `$1`), `$3` the state
/// ('' for any), `$4` the rack ('' for any). Each parameter first appears in the text in its
/// number's order: SQLite numbers `$NAME` parameters by first appearance.
macro_rules! query_where {
    () => {
        " WHERE ($1 = '' OR lower(m.hostname) LIKE $1 ESCAPE '\\' \
         OR lower(m.mac) LIKE $2 ESCAPE '\\' OR lower(m.uuid) LIKE $1 ESCAPE '\\' \
         OR lower(m.serial) LIKE $1 ESCAPE '\\') AND ($3 = '' OR m.state = $3) AND ($4 = '' OR r.name = $4)"
    };
}

/// A LIKE pattern matching `text` anywhere (lower-cased), its own `%`, `_` and `\` taken
/// literally.
fn like_pattern(text: &str) -> String {
    let text = text.to_lowercase();
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

impl Store {
    /// The machines of rack `name` by slot (none when the rack is empty or unknown).
    pub async fn rack_summaries(&self, name: &str) -> Result<Vec<MachineSummary>, Error> {
        let rows = sqlx::query(concat!(
            summary_select!(),
            " WHERE r.name = $1 ORDER BY m.slot"
        ))
        .bind(name)
        .fetch_all(&self.pool)
        .await
        .map_err(Error::db(format!("{}: reading rack {name}", self.url())))?;
        rows.iter().map(summary_from_row).collect()
    }

    /// Every machine, by rack and slot, as a list shows it.
    pub async fn machine_summaries(&self) -> Result<Vec<MachineSummary>, Error> {
        let rows = sqlx::query(concat!(summary_select!(), " ORDER BY r.name, m.slot"))
            .fetch_all(&self.pool)
            .await
            .map_err(Error::db(format!("{}: reading machines", self.url())))?;
        rows.iter().map(summary_from_row).collect()
    }

    /// At most `limit` machines `query` selects, from the `offset`th on, by rack and slot,
    /// and how many it selects in all.
    pub async fn machines_page(
        &self,
        query: &MachineQuery,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<MachineSummary>, u64), Error> {
        let pattern = query.text.as_deref().map(like_pattern).unwrap_or_default();
        // A MAC written with dashes, without separators or in capitals, in the stored form.
        let mac_pattern = match query.text.as_deref().map(str::parse::<MacAddr>) {
            Some(Ok(mac)) => like_pattern(&mac.to_string()),
            _ => pattern.clone(),
        };
        let state = query.state.map(MachineState::as_str).unwrap_or("");
        let rack = query.rack.clone().unwrap_or_default();
        let db = || Error::db(format!("{}: reading machines", self.url()));
        let count = sqlx::query(concat!(
            "SELECT COUNT(*) AS n FROM machines m JOIN racks r ON r.id = m.rack_id",
            query_where!()
        ))
        .bind(pattern.clone())
        .bind(mac_pattern.clone())
        .bind(state)
        .bind(rack.clone())
        .fetch_one(&self.pool)
        .await
        .map_err(db())?;
        let total: i64 = get(&count, "n")?;
        let rows = sqlx::query(concat!(
            summary_select!(),
            query_where!(),
            " ORDER BY r.name, m.slot LIMIT $5 OFFSET $6"
        ))
        .bind(pattern)
        .bind(mac_pattern)
        .bind(state)
        .bind(rack)
        .bind(i64::from(limit))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(db())?;
        let machines = rows
            .iter()
            .map(summary_from_row)
            .collect::<Result<_, _>>()?;
        Ok((machines, u64::try_from(total).unwrap_or(0)))
    }

    /// The guests of the Dom0s `hosts`, by Dom0 and name.
    pub async fn guests_of(&self, hosts: &[&str]) -> Result<Vec<Guest>, Error> {
        let mut guests = self.guests().await?;
        guests.retain(|g| hosts.contains(&g.dom0.as_str()));
        Ok(guests)
    }
}

/// Reading the event log newest first, a page at a time (the dashboard).
impl Store {
    /// At most `limit` events older than event number `before` (all, when `None`), newest
    /// first, with their numbers: one subject's or everyone's.
    pub async fn recent_events(
        &self,
        subject: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(i64, Event)>, Error> {
        let rows = sqlx::query(
            "SELECT id, at_ms, subject, actor, from_state, to_state, reason FROM events \
             WHERE ($1 = '' OR subject = $1) AND id < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(subject.unwrap_or("").to_string())
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(Error::db(format!("{}: reading events", self.url())))?;
        rows.iter()
            .map(|r| Ok((get(r, "id")?, event_from_row(r)?)))
            .collect()
    }
}

fn summary_from_row(r: &AnyRow) -> Result<MachineSummary, Error> {
    let hostname: String = get(r, "hostname")?;
    let owner = hostname.as_str();
    Ok(MachineSummary {
        address: parsed(r, "address", owner)?,
        rack: get(r, "rack")?,
        site: get(r, "site")?,
        slot: number(r, "slot", owner)?,
        amt_address: parsed(r, "amt_address", owner)?,
        uuid: get(r, "uuid")?,
        serial: get(r, "serial")?,
        board_maker: get(r, "board_maker")?,
        board_model: get(r, "board_model")?,
        mac: parsed_opt(r, "mac", owner)?,
        memory_bytes: number(r, "memory_bytes", owner)?,
        profile: get(r, "profile")?,
        state: parsed(r, "state", owner)?,
        hostname,
    })
}
