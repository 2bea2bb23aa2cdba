//! Netboots in progress: the credentials of each machine's current boot (the digest of the
//! token its script carried, and the address it is bound to), and the events the boot reports,
//! kept in the event log before the reporter hears they were accepted.

use std::net::IpAddr;

use metal_types::MacAddr;
use sqlx::Row;

use crate::Error;
use crate::enroll::log_event;
use crate::model::{MachineState, Storage};
use crate::store::{Store, get};

/// The credentials of one boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootGrant {
    /// SHA-256 of the boot's token.
    pub token_sha256: [u8; 32],
    /// The only address this boot's events may come from.
    pub address: IpAddr,
    /// When its script was served (Unix milliseconds).
    pub issued_ms: u64,
}

/// What a booting machine reported.
#[derive(Debug, Clone, Copy)]
pub struct BootReport<'a> {
    pub stage: &'a str,
    pub message: &'a str,
    pub from: IpAddr,
}

/// What recording a report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootRecorded {
    /// The machine's hostname.
    pub hostname: String,
    /// Its storage layout (whether a deployed machine boots from disks of its own).
    pub storage: Option<Storage>,
    /// The state it moved to from provisioning (deployed, or broken), if it moved.
    pub moved_to: Option<MachineState>,
}

impl Store {
    /// Keeps `grant` as `mac`'s current boot, replacing an earlier one.
    pub async fn grant_boot(&self, mac: MacAddr, grant: &BootGrant) -> Result<(), Error> {
        let db = |what: &str| Error::db(format!("{}: {what} the boot grant of {mac}", self.url()));
        let issued = i64::try_from(grant.issued_ms).unwrap_or(i64::MAX);
        let done = sqlx::query(
            "INSERT INTO boot_grants (machine_id, token_sha256, address, issued_ms) \
             SELECT id, $2, $3, $4 FROM machines WHERE mac = $1 \
             ON CONFLICT (machine_id) DO UPDATE SET token_sha256 = excluded.token_sha256, \
             address = excluded.address, issued_ms = excluded.issued_ms",
        )
        .bind(mac.to_string())
        .bind(hex::encode(grant.token_sha256))
        .bind(grant.address.to_string())
        .bind(issued)
        .execute(&self.pool)
        .await
        .map_err(db("keeping"))?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(mac.to_string()));
        }
        Ok(())
    }

    /// `mac`'s current boot grant, if it has one.
    pub async fn boot_grant(&self, mac: MacAddr) -> Result<Option<BootGrant>, Error> {
        let row = sqlx::query(
            "SELECT g.token_sha256, g.address, g.issued_ms FROM boot_grants g \
             JOIN machines m ON m.id = g.machine_id WHERE m.mac = $1",
        )
        .bind(mac.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(Error::db(format!(
            "{}: reading the boot grant of {mac}",
            self.url()
        )))?;
        let Some(row) = row else { return Ok(None) };
        let bad =
            |column: &str| Error::Invalid(format!("boot grant of {mac}: {column} does not parse"));
        let mut token_sha256 = [0u8; 32];
        hex::decode_to_slice(get::<String>(&row, "token_sha256")?, &mut token_sha256)
            .map_err(|_| bad("token_sha256"))?;
        Ok(Some(BootGrant {
            token_sha256,
            address: get::<String>(&row, "address")?
                .parse()
                .map_err(|_| bad("address"))?,
            issued_ms: u64::try_from(get::<i64>(&row, "issued_ms")?).unwrap_or(0),
        }))
    }

    /// Logs a boot's report against its machine, in one transaction with what it does: with
    /// `moves_to`, a provisioning machine moves to that state (deployed when its Dom0 is up,
    /// broken when its installer failed; the report's message is the event's reason); with
    /// `ends`, the boot's grant is withdrawn. Only a provisioning machine ever changes state
    /// this way.
    pub async fn record_boot(
        &self,
        mac: MacAddr,
        report: BootReport<'_>,
        moves_to: Option<MachineState>,
        ends: bool,
    ) -> Result<BootRecorded, Error> {
        let db = |what: &str| Error::db(format!("{}: {what} for {mac}", self.url()));
        let mut tx = self.begin_allocation().await?;
        let row = sqlx::query("SELECT id, hostname, state, storage FROM machines WHERE mac = $1")
            .bind(mac.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("looking up the machine"))?
            .ok_or_else(|| Error::NotFound(mac.to_string()))?;
        let (id, hostname): (i64, String) = (
            row.try_get("id").map_err(db("reading"))?,
            get(&row, "hostname")?,
        );
        let storage = crate::store::parsed_opt(&row, "storage", &hostname)?;
        let state: MachineState = get::<String>(&row, "state")?
            .parse()
            .map_err(|e: crate::model::StateParseError| Error::Invalid(e.to_string()))?;
        let moved_to = moves_to.filter(|_| state == MachineState::Provisioning);
        if let Some(to) = moved_to {
            sqlx::query("UPDATE machines SET state = $1, updated_ms = $2 WHERE id = $3")
                .bind(to.as_str())
                .bind(crate::store::now_ms())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db("updating the state"))?;
        }
        if ends {
            sqlx::query("DELETE FROM boot_grants WHERE machine_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db("ending the boot grant"))?;
        }
        let (from, to) = match moved_to {
            Some(to) => (Some(state), Some(to)),
            None => (None, None),
        };
        let reason = format!("boot event {}: {}", report.stage, report.message);
        let actor = format!("netboot {}", report.from);
        log_event(&mut tx, id, &hostname, &actor, from, to, &reason).await?;
        tx.commit().await.map_err(db("committing the boot event"))?;
        Ok(BootRecorded {
            hostname,
            storage,
            moved_to,
        })
    }

    /// Moves every provisioning machine that has logged nothing for `idle_ms` to broken:
    /// an installer that was killed, lost its power or hung never reports a failure itself.
    /// Its boot's grant ends with it (a late callback changes nothing), and the reason names
    /// the silence and the last thing the machine did. One transaction per machine, each
    /// re-checking the state, so a report that lands meanwhile wins.
    pub async fn expire_provisioning(&self, idle_ms: u64) -> Result<Vec<Expired>, Error> {
        let db = |what: &str| Error::db(format!("{}: {what}", self.url()));
        let now = crate::store::now_ms();
        let cutoff = now.saturating_sub(i64::try_from(idle_ms).unwrap_or(i64::MAX));
        let rows = sqlx::query(
            "SELECT m.id AS id, m.hostname AS hostname, MAX(e.at_ms) AS last_ms \
             FROM machines m JOIN events e ON e.machine_id = m.id \
             WHERE m.state = 'provisioning' GROUP BY m.id, m.hostname HAVING MAX(e.at_ms) < $1",
        )
        .bind(cutoff)
        .fetch_all(&self.pool)
        .await
        .map_err(db("looking for silent provisioning machines"))?;
        let mut expired = Vec::new();
        for row in rows {
            let (id, hostname): (i64, String) = (get(&row, "id")?, get(&row, "hostname")?);
            let last_ms: i64 = get(&row, "last_ms")?;
            let mut tx = self.begin_allocation().await?;
            let last = sqlx::query(
                "SELECT reason FROM events WHERE machine_id = $1 ORDER BY id DESC LIMIT 1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("reading the last event"))?
            .map(|r| get::<String>(&r, "reason"))
            .transpose()?
            .unwrap_or_default();
            let moved = sqlx::query(
                "UPDATE machines SET state = 'broken', updated_ms = $1 \
                 WHERE id = $2 AND state = 'provisioning' \
                 AND NOT EXISTS (SELECT 1 FROM events WHERE machine_id = $2 AND at_ms >= $3)",
            )
            .bind(now)
            .bind(id)
            .bind(cutoff)
            .execute(&mut *tx)
            .await
            .map_err(db("marking a silent machine broken"))?
            .rows_affected();
            if moved == 0 {
                continue;
            }
            sqlx::query("DELETE FROM boot_grants WHERE machine_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db("ending the boot grant"))?;
            let idle_secs = u64::try_from(now - last_ms).unwrap_or(0) / 1000;
            let reason = format!(
                "no word from the machine for {idle_secs} s while provisioning (the installer was killed, lost power or hangs); last: {last}"
            );
            log_event(
                &mut tx,
                id,
                &hostname,
                "netboot watchdog",
                Some(MachineState::Provisioning),
                Some(MachineState::Broken),
                &reason,
            )
            .await?;
            tx.commit().await.map_err(db("committing"))?;
            expired.push(Expired { hostname, reason });
        }
        Ok(expired)
    }
}

/// A provisioning machine that went silent and is now broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    pub hostname: String,
    /// The reason logged with the change.
    pub reason: String,
}
