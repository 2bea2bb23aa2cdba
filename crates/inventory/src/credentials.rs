//! Credential sets: the inventory records a set's name per machine, never a password. A set
//! resolves from the environment (`METAL_AMT_USER_<SET>`, `METAL_AMT_PASSWORD_<SET>`, the set
//! name upper-cased with `-` as `_`) or from a secrets file that only its owner may read
//! (mode 0600), with one table per set:
//!
//! ```toml
//! [credentials.rack-a]
//! user = "admin"
//! password = "..."
//! ```

use std::collections::HashMap;
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde::Deserialize;

use crate::Error;

/// A resolved user and password. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub user: String,
    pub password: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Deserialize)]
struct SecretsFile {
    #[serde(default)]
    credentials: HashMap<String, Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    user: Option<String>,
    password: String,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Entry(<redacted>)")
    }
}

fn env_suffix(set: &str) -> String {
    set.to_ascii_uppercase().replace('-', "_")
}

/// Resolves `set`: the environment first, then the secrets file (if given and present).
/// `Ok(None)` when neither knows the set.
pub fn resolve(set: &str, secrets: Option<&Path>) -> Result<Option<Credential>, Error> {
    let suffix = env_suffix(set);
    if let Ok(password) = std::env::var(format!("METAL_AMT_PASSWORD_{suffix}")) {
        let user =
            std::env::var(format!("METAL_AMT_USER_{suffix}")).unwrap_or_else(|_| "admin".into());
        return Ok(Some(Credential { user, password }));
    }
    let Some(path) = secrets else {
        return Ok(None);
    };
    let bad = |why: String| Error::Credentials {
        set: set.to_string(),
        why: format!("{}: {why}", path.display()),
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(e.to_string())),
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(bad(format!(
            "mode {mode:03o} lets others read the passwords; chmod 600 it"
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    // toml's message may quote the offending line, which may hold a password: keep only
    // where it is.
    let file: SecretsFile = toml::from_str(&text).map_err(|e| {
        bad(match e.span() {
            Some(span) => format!("not valid TOML near byte {}", span.start),
            None => "not valid TOML".into(),
        })
    })?;
    Ok(file.credentials.get(set).map(|e| Credential {
        user: e.user.clone().unwrap_or_else(|| "admin".into()),
        password: e.password.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn secrets_file_must_be_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.toml");
        let mut f = std::fs::File::create(&path).unwrap();
        writeln!(
            f,
            "[credentials.lab-x]\nuser = \"ops\"\npassword = \"hunter2\""
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = resolve("lab-x", Some(&path)).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        assert!(!err.contains("hunter2"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let c = resolve("lab-x", Some(&path)).unwrap().unwrap();
        assert_eq!(c.user, "ops");
        assert_eq!(c.password, "hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(resolve("other-set", Some(&path)).unwrap(), None);
    }

    #[test]
    fn broken_secrets_file_does_not_echo_passwords() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.toml");
        std::fs::write(&path, "[credentials.a]\npassword = \"topsecret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = resolve("a", Some(&path)).unwrap_err().to_string();
        assert!(!err.contains("topsecret"), "{err}");
    }
}
