//! Operator accounts (`metal user add`) and their passwords: argon2id with a random salt per
//! password (RFC 9106; the PHC string keeps algorithm, parameters and salt beside the hash),
//! hashed and checked off the async threads since each takes tens of milliseconds.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use metal_inventory::Store;

use crate::{Config, Error, inventory};

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 10;
/// Longest password accepted (a bound on the work one login attempt costs).
pub const MAX_PASSWORD: usize = 1024;

/// Records operator `name` with `password` (or sets a new password); returns whether the
/// operator is new.
pub async fn add(config: &Config, name: &str, password: &str) -> Result<bool, Error> {
    metal_inventory::operators::check_name(name)?;
    let n = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        return Err(Error::Usage(format!(
            "operator {name}: a password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        )));
    }
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| Error::Usage(format!("hashing the password: {e}")))?
    .map_err(|e| Error::Usage(format!("hashing the password: {e}")))?;
    let store = inventory::open(config).await?;
    Ok(store.set_operator(name, &hash).await?)
}

/// A hash checked when the name is unknown, made once, so that an unknown name costs one
/// argon2 run like a known one.
static STAND_IN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    Argon2::default()
        .hash_password(b"no such operator", &SaltString::generate(&mut OsRng))
        .map(|h| h.to_string())
        .unwrap_or_default()
});

/// Whether `password` is operator `name`'s. An unknown operator costs the same work as a
/// wrong password, so the answer's timing does not say which names exist.
pub async fn verify(store: &Store, name: &str, password: &str) -> Result<bool, Error> {
    if password.len() > MAX_PASSWORD * 4 {
        return Ok(false);
    }
    let known = store.operator_hash(name).await?;
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let phc = known.as_deref().unwrap_or(&STAND_IN);
        let matches = PasswordHash::new(phc).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        });
        matches && known.is_some()
    })
    .await
    .map_err(|e| Error::Usage(format!("checking a password: {e}")))
}

/// The operators' names.
pub async fn list(config: &Config) -> Result<Vec<String>, Error> {
    let store = inventory::require(config).await?;
    Ok(store.operators().await?)
}
