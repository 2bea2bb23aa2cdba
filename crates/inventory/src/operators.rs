//! Operator accounts of the dashboard. The store keeps each password only as the PHC string
//! the caller hashed it into (argon2 in `metal-ops`); it never sees a password.

use crate::Error;
use crate::store::{Store, get, now_ms};

/// The longest operator name.
pub const MAX_NAME: usize = 64;

/// Checks an operator name: 1 to 64 of `a-z 0-9 . _ -`, starting with a letter or digit (it
/// is shown on every page and in every event it acts in).
pub fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "operator name \"{}\": use 1 to {MAX_NAME} of a-z, 0-9, '.', '_' and '-', starting with a letter or digit",
            name.escape_debug()
        )))
    }
}

impl Store {
    /// Records operator `name` with `password_hash`, or replaces the hash of an existing one.
    /// Returns whether the operator is new.
    pub async fn set_operator(&self, name: &str, password_hash: &str) -> Result<bool, Error> {
        check_name(name)?;
        let db = |what: &str| Error::db(format!("{}: {what} operator {name}", self.url()));
        let now = now_ms();
        let updated =
            sqlx::query("UPDATE operators SET password_hash = $1, updated_ms = $2 WHERE name = $3")
                .bind(password_hash)
                .bind(now)
                .bind(name)
                .execute(&self.pool)
                .await
                .map_err(db("updating"))?
                .rows_affected();
        if updated > 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO operators (name, password_hash, created_ms, updated_ms) VALUES ($1, $2, $3, $3)",
        )
        .bind(name)
        .bind(password_hash)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db("recording"))?;
        Ok(true)
    }

    /// The password hash of operator `name`, if there is one.
    pub async fn operator_hash(&self, name: &str) -> Result<Option<String>, Error> {
        let row = sqlx::query("SELECT password_hash FROM operators WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(Error::db(format!("{}: looking up an operator", self.url())))?;
        row.as_ref().map(|r| get(r, "password_hash")).transpose()
    }

    /// The operators' names, sorted.
    pub async fn operators(&self) -> Result<Vec<String>, Error> {
        let rows = sqlx::query("SELECT name FROM operators ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(Error::db(format!("{}: reading operators", self.url())))?;
        rows.iter().map(|r| get(r, "name")).collect()
    }
}
