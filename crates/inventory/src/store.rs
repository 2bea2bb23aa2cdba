//! The store: one sqlx pool over SQLite (the default, a file in the XDG data directory, in
//! WAL mode) or PostgreSQL (shared by several `metal serve` instances), with the schema
//! migrated on open. Queries go through sqlx's Any driver with `$N` placeholders, which both
//! backends accept, so every statement is written once.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Row, Transaction};

use metal_types::{MacAddr, Target};

use crate::Error;
use crate::model::{Event, Guest, Machine, MachineState, Rack};

/// The SELECT list and joins that [`machine_from_row`] reads.
macro_rules! machine_select {
    () => {
        "SELECT m.id, m.hostname, m.address, r.name AS rack, s.name AS site, m.slot, \
         m.amt_address, m.uuid, m.serial, m.board_maker, m.board_model, m.mac, m.memory_bytes, \
         m.disks, m.ssds, m.profile, m.profile_note, m.storage, m.role, m.dom0_memory_mib, \
         m.root_gib, m.netboot, m.tls_pin, m.credential_set, m.state, m.hardware, m.created_ms, m.updated_ms \
         FROM machines m JOIN racks r ON r.id = m.rack_id JOIN sites s ON s.id = r.site_id"
    };
}
pub(crate) use machine_select;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Which database a store is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The inventory store.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    /// The URL with any password replaced, for messages.
    shown: String,
}

/// The default database: `$XDG_DATA_HOME/metal/inventory.db` (`~/.local/share/...`).
pub fn default_path() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("metal").join("inventory.db"))
}

/// A `sqlite://` URL for a file path.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// `url` with the password (if any) replaced by `***`, safe to print.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Store {
    /// Opens (creating a SQLite file and its directory if needed) and migrates the schema.
    pub async fn open(url: &str) -> Result<Store, Error> {
        sqlx::any::install_default_drivers();
        let shown = redact(url);
        let (backend, connect) = if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let file = path.split('?').next().unwrap_or(path);
            if file.is_empty() || file == ":memory:" {
                return Err(Error::Url(shown));
            }
            if let Some(dir) = Path::new(file)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                    path: dir.display().to_string(),
                    source,
                })?;
            }
            (Backend::Sqlite, format!("sqlite://{file}?mode=rwc"))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string())
        } else {
            return Err(Error::Url(shown));
        };
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 8,
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // A writer waits up to a minute for another (enrol holds the write
                        // lock for one board at a time, milliseconds).
                        sqlx::query("PRAGMA busy_timeout = 60000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&connect)
            .await
            .map_err(Error::db(format!("{shown}: cannot connect")))?;
        let store = Store {
            pool,
            backend,
            shown,
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), Error> {
        if self.backend == Backend::Sqlite {
            // Write-ahead logging lets readers (metal ls, serve) work while enrol writes.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&self.pool)
                .await
                .map_err(Error::db(format!("{}: enabling WAL", self.shown)))?;
        }
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        // Two processes opening a new SQLite file at once may race to apply the first
        // migration; the loser finds it applied on the second attempt. (PostgreSQL's migrator
        // serialises with an advisory lock.)
        let mut attempt = 0;
        loop {
            match migrator.run(&self.pool).await {
                Ok(()) => return Ok(()),
                Err(_) if attempt < 3 && self.backend == Backend::Sqlite => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
                Err(source) => {
                    return Err(Error::Migrate {
                        url: self.shown.clone(),
                        source,
                    });
                }
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database URL without its password.
    pub fn url(&self) -> &str {
        &self.shown
    }

    /// Closes the pool (checkpointing SQLite's WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a transaction that allocates: it holds the allocation lock from its first
    /// statement, so two allocating transactions (two `metal enroll` at once, here or on
    /// another host sharing PostgreSQL) run one after the other and never see the same free
    /// name or address. SQLite: `BEGIN IMMEDIATE` takes the database's write lock up front
    /// (a deferred transaction that reads then writes can deadlock with another). PostgreSQL:
    /// a self-conflicting table lock on `addresses`. The unique keys stay the last line of
    /// defence.
    pub(crate) async fn begin_allocation(&self) -> Result<Transaction<'static, Any>, Error> {
        let what = || format!("{}: starting a transaction", self.shown);
        match self.backend {
            Backend::Sqlite => self
                .pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(Error::db(what())),
            Backend::Postgres => {
                let mut tx = self.pool.begin().await.map_err(Error::db(what()))?;
                sqlx::query("LOCK TABLE addresses IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await
                    .map_err(Error::db(what()))?;
                Ok(tx)
            }
        }
    }

    /// Every rack.
    pub async fn racks(&self) -> Result<Vec<Rack>, Error> {
        let rows = sqlx::query(
            "SELECT r.name, s.name AS site, r.pool, r.hostname_scheme \
             FROM racks r JOIN sites s ON s.id = r.site_id ORDER BY r.name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(Error::db(format!("{}: reading racks", self.shown)))?;
        rows.iter()
            .map(|r| {
                let name: String = get(r, "name")?;
                Ok(Rack {
                    pool: parsed(r, "pool", &name)?,
                    site: get(r, "site")?,
                    hostname_scheme: get(r, "hostname_scheme")?,
                    name,
                })
            })
            .collect()
    }

    /// Every machine, by rack and slot.
    pub async fn machines(&self) -> Result<Vec<Machine>, Error> {
        let rows = sqlx::query(concat!(machine_select!(), " ORDER BY r.name, m.slot"))
            .fetch_all(&self.pool)
            .await
            .map_err(Error::db(format!("{}: reading machines", self.shown)))?;
        rows.iter().map(machine_from_row).collect()
    }

    /// The machine a name designates: its hostname, Dom0 address, AMT address or UUID.
    pub async fn machine(&self, name: &str) -> Result<Option<Machine>, Error> {
        let row = sqlx::query(concat!(
            machine_select!(),
            " WHERE m.hostname = $1 OR m.address = $1 OR m.amt_address = $1 OR m.uuid = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(Error::db(format!("{}: looking up {name}", self.shown)))?;
        row.as_ref().map(machine_from_row).transpose()
    }

    /// The machines one target designates, by rack and slot:
    /// - an address: the machine whose AMT answers there (none: a board not enrolled);
    /// - a CIDR block: the machines whose AMT addresses are in it;
    /// - a name: the machine with that hostname, Dom0 address or UUID;
    /// - `rack:NAME`: the rack's machines (none is [`Error::EmptyRack`]);
    /// - `all`: every machine that is not retired.
    pub async fn find(&self, target: &Target) -> Result<Vec<Machine>, Error> {
        let found = match target {
            Target::Ip(ip) => {
                let row = sqlx::query(concat!(machine_select!(), " WHERE m.amt_address = $1"))
                    .bind(ip.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(Error::db(format!("{}: looking up {ip}", self.shown)))?;
                row.as_ref()
                    .map(machine_from_row)
                    .transpose()?
                    .into_iter()
                    .collect()
            }
            Target::Cidr(net) => {
                let mut all = self.machines().await?;
                all.retain(|m| net.contains(&m.amt_address));
                all
            }
            Target::Name(name) => match self.machine(name).await? {
                Some(m) => vec![m],
                None => return Err(Error::NotFound(name.clone())),
            },
            Target::Rack(rack) => {
                let rows = sqlx::query(concat!(
                    machine_select!(),
                    " WHERE r.name = $1 ORDER BY m.slot"
                ))
                .bind(rack)
                .fetch_all(&self.pool)
                .await
                .map_err(Error::db(format!("{}: reading rack {rack}", self.shown)))?;
                if rows.is_empty() {
                    return Err(Error::EmptyRack(rack.clone()));
                }
                rows.iter()
                    .map(machine_from_row)
                    .collect::<Result<_, _>>()?
            }
            Target::All => {
                let mut all = self.machines().await?;
                all.retain(|m| m.state != MachineState::Retired);
                all
            }
        };
        Ok(found)
    }

    /// The machine with this wired MAC.
    pub async fn machine_by_mac(&self, mac: MacAddr) -> Result<Option<Machine>, Error> {
        let row = sqlx::query(concat!(machine_select!(), " WHERE m.mac = $1"))
            .bind(mac.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(Error::db(format!("{}: looking up MAC {mac}", self.shown)))?;
        row.as_ref().map(machine_from_row).transpose()
    }

    /// Every DomU guest, by Dom0 and name.
    pub async fn guests(&self) -> Result<Vec<Guest>, Error> {
        let rows = sqlx::query(
            "SELECT g.name, g.address, m.hostname AS dom0, g.role, g.memory_mib \
             FROM guests g JOIN machines m ON m.id = g.dom0_id ORDER BY m.hostname, g.name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(Error::db(format!("{}: reading guests", self.shown)))?;
        rows.iter()
            .map(|r| {
                let name: String = get(r, "name")?;
                Ok(Guest {
                    address: parsed(r, "address", &name)?,
                    dom0: get(r, "dom0")?,
                    role: parsed(r, "role", &name)?,
                    memory_mib: number(r, "memory_mib", &name)?,
                    name,
                })
            })
            .collect()
    }

    /// The event log, oldest first: all of it, or one subject's.
    pub async fn events(&self, subject: Option<&str>) -> Result<Vec<Event>, Error> {
        let query = match subject {
            Some(s) => sqlx::query(
                "SELECT at_ms, subject, actor, from_state, to_state, reason FROM events \
                 WHERE subject = $1 ORDER BY id",
            )
            .bind(s.to_string()),
            None => sqlx::query(
                "SELECT at_ms, subject, actor, from_state, to_state, reason FROM events ORDER BY id",
            ),
        };
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(Error::db(format!("{}: reading events", self.shown)))?;
        rows.iter().map(event_from_row).collect()
    }
}

/// Every address already allocated, read inside an allocation transaction (which holds the
/// allocation lock, so two allocations cannot pick the same free address).
pub(crate) async fn allocated_addresses(
    tx: &mut Transaction<'static, Any>,
    on_error: impl FnOnce(sqlx::Error) -> Error,
) -> Result<std::collections::HashSet<std::net::IpAddr>, Error> {
    Ok(sqlx::query("SELECT address FROM addresses")
        .fetch_all(&mut **tx)
        .await
        .map_err(on_error)?
        .iter()
        .filter_map(|r| get::<String>(r, "address").ok()?.parse().ok())
        .collect())
}

pub(crate) fn get<'r, T>(row: &'r AnyRow, column: &str) -> Result<T, Error>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    row.try_get(column)
        .map_err(Error::db(format!("column {column}")))
}

fn state(s: Option<String>) -> Result<Option<MachineState>, Error> {
    s.map(|s| MachineState::from_str(&s).map_err(|e| Error::Invalid(e.to_string())))
        .transpose()
}

/// A text column holding a value of `T` (an address, a MAC, a role ...), or an error naming
/// the row's `owner` and the column.
pub(crate) fn parsed<T>(row: &AnyRow, column: &str, owner: &str) -> Result<T, Error>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let text: String = get(row, column)?;
    text.parse()
        .map_err(|e| Error::Invalid(format!("{owner}: stored {column} {text:?}: {e}")))
}

/// An optional text column holding a value of `T`.
pub(crate) fn parsed_opt<T>(row: &AnyRow, column: &str, owner: &str) -> Result<Option<T>, Error>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let text: Option<String> = get(row, column)?;
    text.map(|t| {
        t.parse()
            .map_err(|e| Error::Invalid(format!("{owner}: stored {column} {t:?}: {e}")))
    })
    .transpose()
}

/// An integer column holding a non-negative count or size.
pub(crate) fn number<T: TryFrom<i64>>(row: &AnyRow, column: &str, owner: &str) -> Result<T, Error> {
    let n: i64 = get(row, column)?;
    T::try_from(n)
        .map_err(|_| Error::Invalid(format!("{owner}: stored {column} {n} is out of range")))
}

pub(crate) fn event_from_row(r: &AnyRow) -> Result<Event, Error> {
    Ok(Event {
        at_ms: get(r, "at_ms")?,
        subject: get(r, "subject")?,
        actor: get(r, "actor")?,
        from: state(get(r, "from_state")?)?,
        to: state(get(r, "to_state")?)?,
        reason: get(r, "reason")?,
    })
}

pub(crate) fn machine_from_row(r: &AnyRow) -> Result<Machine, Error> {
    let hostname: String = get(r, "hostname")?;
    let owner = hostname.as_str();
    let hardware: String = get(r, "hardware")?;
    let hardware = serde_json::from_str(&hardware).map_err(|e| {
        Error::Invalid(format!(
            "{owner}: the stored hardware record does not parse: {e}"
        ))
    })?;
    let dom0_memory_mib: Option<i64> = get(r, "dom0_memory_mib")?;
    let root_gib: Option<i64> = get(r, "root_gib")?;
    Ok(Machine {
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
        disks: number(r, "disks", owner)?,
        ssds: number(r, "ssds", owner)?,
        profile: get(r, "profile")?,
        profile_note: get(r, "profile_note")?,
        storage: parsed_opt(r, "storage", owner)?,
        role: parsed_opt(r, "role", owner)?,
        dom0_memory_mib: dom0_memory_mib
            .map(|n| {
                u32::try_from(n).map_err(|_| {
                    Error::Invalid(format!(
                        "{owner}: stored dom0_memory_mib {n} is out of range"
                    ))
                })
            })
            .transpose()?,
        root_gib: root_gib
            .map(|n| {
                u32::try_from(n).map_err(|_| {
                    Error::Invalid(format!("{owner}: stored root_gib {n} is out of range"))
                })
            })
            .transpose()?,
        netboot: get(r, "netboot")?,
        tls_pin: parsed_opt(r, "tls_pin", owner)?,
        credential_set: get(r, "credential_set")?,
        state: parsed(r, "state", owner)?,
        hardware,
        created_ms: get(r, "created_ms")?,
        updated_ms: get(r, "updated_ms")?,
        hostname,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://metal:s3cret@127.0.0.1:5432/db"),
            "postgres://metal:***@127.0.0.1:5432/db"
        );
        assert_eq!(redact("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }
}
