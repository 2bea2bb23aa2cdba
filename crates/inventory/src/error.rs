//! Errors of the inventory; each names what it is about.

/// An inventory operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be reached or refused a statement.
    #[error("inventory database {what}: {source}")]
    Db {
        what: String,
        #[source]
        source: sqlx::Error,
    },
    /// A schema migration failed.
    #[error("inventory database {url}: migration failed: {source}")]
    Migrate {
        url: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// The database URL names no supported backend.
    #[error("inventory database {0:?}: expected sqlite://PATH or postgres://...")]
    Url(String),
    /// No machine, guest or rack of that name.
    #[error("{0} is not in the inventory")]
    NotFound(String),
    /// A rack target names no machine.
    #[error("rack:{0} has no machines in the inventory")]
    EmptyRack(String),
    /// A state change the state machine does not allow.
    #[error("{host}: cannot go from {from} to {to}")]
    Transition {
        host: String,
        from: crate::MachineState,
        to: crate::MachineState,
    },
    /// Every address of a pool is taken.
    #[error("rack {rack}: address pool {pool} is full")]
    PoolFull { rack: String, pool: String },
    /// The request contradicts what the inventory holds (e.g. a board answering at an address
    /// recorded for another board).
    #[error("{0}")]
    Conflict(String),
    /// Malformed input (a scheme, a pool, a name).
    #[error("{0}")]
    Invalid(String),
    /// A hardware profile file cannot be used.
    #[error("hardware profile {path}: {why}")]
    Profile { path: String, why: String },
    /// A credential set cannot be resolved.
    #[error("credential set {set:?}: {why}")]
    Credentials { set: String, why: String },
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn db(what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> Error {
        let what = what.into();
        move |source| Error::Db { what, source }
    }
}
