//! After enrolment: state changes (checked against the state machine, logged) and DomU guests.

use crate::Error;
use crate::enroll::{log_event, machine_id, record_pin};
use crate::insert::Insert;
use crate::model::{Guest, MachineState, Role, TlsPin};
use crate::naming;
use crate::store::{Store, allocated_addresses, get, now_ms};

impl Store {
    /// Records `new` as the TLS pin of `hostname` (after `--repin` accepted a changed
    /// certificate), unless it is already; logs old and new fingerprints.
    pub async fn repin(&self, hostname: &str, new: TlsPin, actor: &str) -> Result<bool, Error> {
        let mut tx = self.begin_allocation().await?;
        let db = |what: &str| Error::db(format!("{}: {what} {hostname}", self.url()));
        let row = sqlx::query("SELECT tls_pin FROM machines WHERE hostname = $1")
            .bind(hostname)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("looking up"))?
            .ok_or_else(|| Error::NotFound(hostname.to_string()))?;
        let old: Option<TlsPin> = get::<Option<String>>(&row, "tls_pin")?
            .map(|p| p.parse())
            .transpose()
            .map_err(|_| Error::Invalid(format!("{hostname}: tls_pin does not parse")))?;
        if old == Some(new) {
            return Ok(false);
        }
        record_pin(&mut tx, hostname, old, new, actor).await?;
        tx.commit().await.map_err(db("committing the pin of"))?;
        Ok(true)
    }

    /// Logs what someone did to machine `name` (hostname, address or UUID) that changed no
    /// state: a power action from the dashboard, a watchdog rung. Returns the hostname.
    pub async fn note(&self, name: &str, actor: &str, reason: &str) -> Result<String, Error> {
        let mut tx = self.begin_allocation().await?;
        let db = |what: &str| Error::db(format!("{}: {what} {name}", self.url()));
        let row = sqlx::query(
            "SELECT id, hostname FROM machines \
             WHERE hostname = $1 OR address = $1 OR amt_address = $1 OR uuid = $1",
        )
        .bind(name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("looking up"))?
        .ok_or_else(|| Error::NotFound(name.to_string()))?;
        let (id, host): (i64, String) = (get(&row, "id")?, get(&row, "hostname")?);
        log_event(&mut tx, id, &host, actor, None, None, reason).await?;
        tx.commit().await.map_err(db("committing an event of"))?;
        Ok(host)
    }

    /// Moves a machine (named by hostname, address or UUID) to `to`, if the state machine
    /// allows it, and logs who did it and why. Returns the previous state.
    pub async fn set_state(
        &self,
        name: &str,
        to: MachineState,
        actor: &str,
        reason: &str,
    ) -> Result<MachineState, Error> {
        let mut tx = self.begin_allocation().await?;
        let db = |what: &str| Error::db(format!("{}: {what} {name}", self.url()));
        let row = sqlx::query(
            "SELECT id, hostname, state FROM machines \
             WHERE hostname = $1 OR address = $1 OR amt_address = $1 OR uuid = $1",
        )
        .bind(name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("looking up"))?
        .ok_or_else(|| Error::NotFound(name.to_string()))?;
        let (id, host): (i64, String) = (get(&row, "id")?, get(&row, "hostname")?);
        let from: MachineState = get::<String>(&row, "state")?
            .parse()
            .map_err(|e: crate::model::StateParseError| Error::Invalid(e.to_string()))?;
        if !from.allows(to) {
            return Err(Error::Transition { host, from, to });
        }
        if to == MachineState::Retired {
            // Retired is final and leaves DNS: guests left on it would keep a `parent.<vm>`
            // CNAME to a name that is gone.
            let guests: Vec<String> =
                sqlx::query("SELECT name FROM guests WHERE dom0_id = $1 ORDER BY name")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db("reading the guests of"))?
                    .iter()
                    .map(|r| get(r, "name"))
                    .collect::<Result<_, _>>()?;
            if !guests.is_empty() {
                return Err(Error::Invalid(format!(
                    "{host} still carries guests {}: move or remove them before retiring it",
                    guests.join(", ")
                )));
            }
        }
        sqlx::query("UPDATE machines SET state = $1, updated_ms = $2 WHERE id = $3")
            .bind(to.as_str())
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db("updating"))?;
        log_event(&mut tx, id, &host, actor, Some(from), Some(to), reason).await?;
        tx.commit().await.map_err(db("committing"))?;
        Ok(from)
    }

    /// Records a DomU guest on a Dom0, with `address` (which must lie in the Dom0's rack pool
    /// and be free) or else the pool's lowest free address.
    pub async fn add_guest(
        &self,
        dom0: &str,
        name: &str,
        role: &Role,
        memory_mib: u32,
        address: Option<std::net::IpAddr>,
        actor: &str,
    ) -> Result<Guest, Error> {
        if !naming::valid_label(name) {
            return Err(Error::Invalid(format!(
                "guest name {name:?}: use letters, digits and '-'"
            )));
        }
        let mut tx = self.begin_allocation().await?;
        let db = |what: &str| Error::db(format!("{}: {what} for guest {name}", self.url()));
        let row = sqlx::query(
            "SELECT m.id, m.hostname, r.pool FROM machines m JOIN racks r ON r.id = m.rack_id \
             WHERE m.hostname = $1 OR m.address = $1",
        )
        .bind(dom0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("looking up the Dom0"))?
        .ok_or_else(|| Error::NotFound(dom0.to_string()))?;
        let (dom0_id, dom0_host, pool): (i64, String, String) =
            (get(&row, "id")?, get(&row, "hostname")?, get(&row, "pool")?);
        let clash = sqlx::query("SELECT name FROM guests WHERE name = $1 UNION SELECT hostname FROM machines WHERE hostname = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("checking the name"))?;
        if clash.is_some() {
            return Err(Error::Conflict(format!(
                "{name} is already in the inventory"
            )));
        }
        let pool_net = naming::parse_pool(&pool)?;
        let taken = allocated_addresses(&mut tx, db("reading addresses")).await?;
        let address = match address {
            Some(a) if !pool_net.contains(&a) => {
                return Err(Error::Invalid(format!(
                    "guest {name}: {a} is not in {dom0_host}'s rack pool {pool}"
                )));
            }
            Some(a) if taken.contains(&a) => {
                return Err(Error::Conflict(format!(
                    "guest {name}: {a} is already allocated"
                )));
            }
            Some(a) => a,
            None => naming::free_address(&pool_net, &taken).ok_or_else(|| Error::PoolFull {
                rack: dom0_host.clone(),
                pool: pool.clone(),
            })?,
        };
        sqlx::query("INSERT INTO addresses (address, holder) VALUES ($1, $2)")
            .bind(address.to_string())
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db("allocating an address"))?;
        let insert = Insert::into("guests")
            .text("name", Some(name))
            .text("address", Some(address))
            .int("dom0_id", dom0_id)
            .text("role", Some(role))
            .int("memory_mib", i64::from(memory_mib))
            .int("created_ms", now_ms());
        insert
            .query(None)
            .execute(&mut *tx)
            .await
            .map_err(db("recording"))?;
        let id = machine_id(&mut tx, &dom0_host).await?;
        let why = format!("guest {name} ({role}, {memory_mib} MiB) at {address}");
        log_event(&mut tx, id, &dom0_host, actor, None, None, &why).await?;
        tx.commit().await.map_err(db("committing"))?;
        Ok(Guest {
            name: name.to_string(),
            address,
            dom0: dom0_host,
            role: role.clone(),
            memory_mib,
        })
    }

    /// Moves guest `name` to Dom0 `to` (after a migration), logged on both Dom0s.
    pub async fn move_guest(&self, name: &str, to: &str, actor: &str) -> Result<Guest, Error> {
        let mut tx = self.begin_allocation().await?;
        let db = |what: &str| Error::db(format!("{}: {what} guest {name}", self.url()));
        let row = sqlx::query(
            "SELECT m.hostname FROM guests g JOIN machines m ON m.id = g.dom0_id WHERE g.name = $1",
        )
        .bind(name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("looking up"))?
        .ok_or_else(|| Error::NotFound(name.to_string()))?;
        let from: String = get(&row, "hostname")?;
        let to_id = machine_id(&mut tx, to).await?;
        sqlx::query("UPDATE guests SET dom0_id = $1 WHERE name = $2")
            .bind(to_id)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db("moving"))?;
        let from_id = machine_id(&mut tx, &from).await?;
        let why = format!("guest {name} moved from {from} to {to}");
        log_event(&mut tx, from_id, &from, actor, None, None, &why).await?;
        log_event(&mut tx, to_id, to, actor, None, None, &why).await?;
        tx.commit().await.map_err(db("committing the move of"))?;
        self.guests()
            .await?
            .into_iter()
            .find(|g| g.name == name)
            .ok_or_else(|| Error::NotFound(name.to_string()))
    }

    /// Forgets guest `name` and frees its address.
    pub async fn remove_guest(&self, name: &str, actor: &str) -> Result<(), Error> {
        let mut tx = self.begin_allocation().await?;
        let db = |what: &str| Error::db(format!("{}: {what} guest {name}", self.url()));
        let row = sqlx::query(
            "SELECT g.address, m.hostname FROM guests g JOIN machines m ON m.id = g.dom0_id WHERE g.name = $1",
        )
        .bind(name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("looking up"))?
        .ok_or_else(|| Error::NotFound(name.to_string()))?;
        let (address, dom0): (String, String) = (get(&row, "address")?, get(&row, "hostname")?);
        sqlx::query("DELETE FROM guests WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db("removing"))?;
        sqlx::query("DELETE FROM addresses WHERE address = $1 AND holder = $2")
            .bind(&address)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db("freeing the address of"))?;
        let id = machine_id(&mut tx, &dom0).await?;
        let why = format!("guest {name} at {address} removed");
        log_event(&mut tx, id, &dom0, actor, None, None, &why).await?;
        tx.commit().await.map_err(db("committing the removal of"))
    }
}
