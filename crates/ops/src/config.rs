//! The configuration, resolved once: flags > environment > config file > defaults.
//!
//! A front-end fills [`Flags`] with what the user typed (nothing more: no defaults, no
//! environment), then [`Config::resolve`] reads the environment through the lookup it is
//! given and the config file once, and returns one [`Config`] that every workflow takes. The
//! shape follows ripgrep's `LowArgs` → `HiArgs`: low-level values as given, high-level values
//! as used. There are no globals: `metal demo` builds its own `Config`.
//!
//! The config file (`$METAL_CONFIG`, default `~/.config/metal/config.toml`):
//!
//! ```toml
//! [amt]
//! user = "admin"
//! password = "..."      # the default credentials, for boards not in the inventory
//! tls = true            # talk TLS on 16993
//! [inventory]
//! db = "postgres://metal:...@db.example/metal"
//! pool = "10.0.0.0/16"              # address pool of new racks
//! hostname_scheme = "{rack}-h{n:02}"  # hostname scheme of new racks
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use metal_amt::{Fleet, PowerPolicy};
pub use metal_wsman::Credentials;
use metal_wsman::{KnownHosts, TransportOptions};
use serde::Deserialize;

use crate::profiles::ProfileSource;
use crate::{Error, private_file};

/// Environment variables the configuration reads.
pub mod env {
    pub const CONFIG: &str = "METAL_CONFIG";
    pub const DB: &str = "METAL_DB";
    pub const AMT_USER: &str = "METAL_AMT_USER";
    pub const AMT_PASSWORD: &str = "METAL_AMT_PASSWORD";
    pub const SECRETS: &str = "METAL_SECRETS";
    pub const PROFILES: &str = "METAL_PROFILES";
    pub const PKI: &str = "METAL_PKI";
    pub const USER: &str = "USER";
    pub const LOGNAME: &str = "LOGNAME";
}

/// Most boards worked on at once when `--parallel` does not say: each board in flight costs
/// about 50 KB (connection, buffers, digest state), so 2048 stay near 100 MB.
pub const MAX_DEFAULT_PARALLEL: usize = 2048;
/// Descriptors kept for everything but board connections (the inventory, files, a SOL
/// session, the runtime).
const FD_RESERVE: u64 = 256;

/// The default concurrency: one descriptor per board in flight, so as many as the
/// file-descriptor limit allows (raised to its hard limit first) after [`FD_RESERVE`], at least
/// 16 and at most [`MAX_DEFAULT_PARALLEL`].
pub fn default_parallel() -> usize {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let soft = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft);
    usize::try_from(soft.saturating_sub(FD_RESERVE))
        .unwrap_or(usize::MAX)
        .clamp(16, MAX_DEFAULT_PARALLEL)
}
/// The address pool of a new rack unless the flag or the config file names one.
pub const DEFAULT_POOL: &str = "10.0.0.0/16";

/// What the user gave on the command line (or a front-end's form): `None` and `false` mean
/// "not given", so the environment and the config file can decide.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub db: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub tls: bool,
    pub known_hosts: Option<PathBuf>,
    pub repin: bool,
    pub parallel: Option<usize>,
    pub connect_timeout: Option<f64>,
    pub read_timeout: Option<f64>,
    pub power_timeout: Option<f64>,
    pub profiles: Option<PathBuf>,
    pub no_challenge_reuse: bool,
}

/// Where the inventory lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbChoice {
    pub url: String,
    /// Asked for (flag, environment or config file), rather than the default file: a default
    /// file that does not exist yet means there is no inventory.
    pub explicit: bool,
    /// The default SQLite file, when that is the choice.
    pub default_path: Option<PathBuf>,
}

/// The resolved configuration every workflow takes.
#[derive(Debug, Clone)]
pub struct Config {
    pub db: DbChoice,
    /// The default AMT credentials (flags, environment, `[amt]`), for boards not in the
    /// inventory and the `default` credential set; `None` when no password was given.
    pub credentials: Option<Credentials>,
    pub tls: bool,
    /// The pinned-certificates file; `None` keeps pins in memory only.
    pub known_hosts: Option<PathBuf>,
    pub repin: bool,
    pub parallel: usize,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub power_timeout: Duration,
    /// The connect timeout of discovery probes: `--connect-timeout`, else 1 s (a scan meets
    /// many addresses where nothing answers).
    pub probe_timeout: Duration,
    pub reuse_challenge: bool,
    /// The secrets file of credential sets (`METAL_SECRETS`, else ~/.config/metal/secrets.toml).
    pub secrets: Option<PathBuf>,
    pub profiles: ProfileSource,
    /// The agent authority's folder (`METAL_PKI`, else ~/.config/metal/pki): it signs each
    /// Dom0 agent's certificate at deployment and holds `metal`'s client identity.
    pub pki: Option<PathBuf>,
    /// Placement of new guests (`[placement]`, else the seed's policy).
    pub placement: metal_xen::placement::Policy,
    /// Defaults of new racks.
    pub pool: String,
    pub hostname_scheme: String,
    /// Who acts, for the event log.
    pub user: String,
}

/// The config file: one struct for every table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    amt: AmtSection,
    #[serde(default)]
    inventory: InventorySection,
    /// `[placement]`: where `metal vm create` puts a guest (roles → tendency, weights, the
    /// busy threshold, N+1 rack headroom); see `metal_xen::placement::Policy`.
    #[serde(default)]
    placement: metal_xen::placement::Policy,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AmtSection {
    user: Option<String>,
    password: Option<String>,
    tls: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct InventorySection {
    db: Option<String>,
    pool: Option<String>,
    hostname_scheme: Option<String>,
}

/// Reads and parses the config file; a missing file is an empty one. The error names the
/// line and the problem but never quotes the file, which may hold a password.
fn read_config_file(path: &Path) -> Result<ConfigFile, Error> {
    let bad = |why: String| Error::Config {
        path: path.to_path_buf(),
        why,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ConfigFile::default()),
        Err(e) => return Err(bad(e.to_string())),
    };
    let file: ConfigFile = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        bad(match line {
            Some(n) => format!("line {n}: {}", e.message()),
            None => e.message().to_string(),
        })
    })?;
    // A password others can read is refused, as the secrets file's is.
    if file.amt.password.is_some()
        && let Some(mode) = private_file::shared_mode(path).map_err(|e| bad(e.to_string()))?
    {
        return Err(bad(format!(
            "holds an AMT password and is readable by others (mode {mode:03o}); chmod 600 it"
        )));
    }
    Ok(file)
}

fn seconds(name: &str, value: Option<f64>, default: f64) -> Result<Duration, Error> {
    let value = value.unwrap_or(default);
    if !(value.is_finite() && value > 0.0) {
        return Err(Error::Usage(format!(
            "--{name} must be a positive number of seconds, not {value}"
        )));
    }
    Ok(Duration::from_secs_f64(value))
}

impl Config {
    /// Resolves `flags` against the environment (`env` looks a variable up) and the config
    /// file it names.
    pub fn resolve(flags: Flags, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, Error> {
        let config_path = env(env::CONFIG)
            .map(PathBuf::from)
            .or_else(|| dirs::config_dir().map(|d| d.join("metal/config.toml")));
        let file = match &config_path {
            Some(path) => read_config_file(path)?,
            None => ConfigFile::default(),
        };
        let default_path = dirs::data_dir().map(|d| d.join("metal").join("inventory.db"));
        let db = match flags.db.or_else(|| env(env::DB)).or(file.inventory.db) {
            Some(url) => DbChoice {
                url,
                explicit: true,
                default_path: None,
            },
            None => {
                let path = default_path.ok_or_else(|| {
                    Error::Usage("no data directory for the inventory database; pass --db".into())
                })?;
                DbChoice {
                    url: metal_inventory::store::sqlite_url(&path),
                    explicit: false,
                    default_path: Some(path),
                }
            }
        };
        let password = flags
            .password
            .or_else(|| env(env::AMT_PASSWORD))
            .or(file.amt.password);
        let user = flags
            .user
            .or_else(|| env(env::AMT_USER))
            .or(file.amt.user)
            .unwrap_or_else(|| "admin".into());
        let parallel = flags.parallel.unwrap_or_else(default_parallel);
        if parallel == 0 {
            return Err(Error::Usage("--parallel must be at least 1".into()));
        }
        let profiles = ProfileSource::find(
            flags.profiles,
            env(env::PROFILES).map(PathBuf::from),
            config_path.as_deref(),
        );
        Ok(Config {
            db,
            credentials: password.map(|password| Credentials { user, password }),
            tls: flags.tls || file.amt.tls.unwrap_or(false),
            known_hosts: flags
                .known_hosts
                .or_else(|| dirs::config_dir().map(|d| d.join("metal/known_amt_hosts"))),
            repin: flags.repin,
            parallel,
            connect_timeout: seconds("connect-timeout", flags.connect_timeout, 5.0)?,
            read_timeout: seconds("read-timeout", flags.read_timeout, 20.0)?,
            power_timeout: seconds("power-timeout", flags.power_timeout, 60.0)?,
            probe_timeout: seconds("connect-timeout", flags.connect_timeout, 1.0)?,
            reuse_challenge: !flags.no_challenge_reuse,
            secrets: env(env::SECRETS)
                .map(PathBuf::from)
                .or_else(|| dirs::config_dir().map(|d| d.join("metal/secrets.toml"))),
            profiles,
            placement: file.placement,
            pki: env(env::PKI)
                .map(PathBuf::from)
                .or_else(|| dirs::config_dir().map(|d| d.join("metal/pki"))),
            pool: file
                .inventory
                .pool
                .unwrap_or_else(|| DEFAULT_POOL.to_string()),
            hostname_scheme: file
                .inventory
                .hostname_scheme
                .unwrap_or_else(|| metal_inventory::naming::DEFAULT_SCHEME.to_string()),
            user: env(env::USER)
                .or_else(|| env(env::LOGNAME))
                .unwrap_or_else(|| "unknown".into()),
        })
    }

    /// Who is acting, for the event log: the user and the command.
    pub fn actor(&self, command: &str) -> String {
        format!("{} (metal {command})", self.user)
    }

    /// The default credentials, or the error saying where to put them.
    pub fn default_credentials(&self) -> Result<Credentials, Error> {
        self.credentials.clone().ok_or_else(|| {
            Error::Credentials(
                "no AMT password: pass --password, set METAL_AMT_PASSWORD, or put password under [amt] in the config file".into(),
            )
        })
    }

    /// The known-hosts store of TLS pins (loaded from the file, or in memory).
    pub fn known_hosts(&self) -> Result<KnownHosts, Error> {
        let hosts = match &self.known_hosts {
            Some(path) => KnownHosts::load(path).map_err(|e| Error::Config {
                path: path.clone(),
                why: format!("known-hosts file: {e}"),
            })?,
            None => KnownHosts::in_memory(),
        };
        Ok(hosts.with_repin(self.repin))
    }

    /// Transport limits and TLS trust.
    pub fn transport(&self) -> Result<TransportOptions, Error> {
        Ok(TransportOptions {
            connect_timeout: self.connect_timeout,
            read_timeout: self.read_timeout,
            known_hosts: Arc::new(self.known_hosts()?),
            reuse_challenge: self.reuse_challenge,
            ..TransportOptions::default()
        })
    }

    /// A fleet runner with these settings and `credentials`.
    pub fn fleet(&self, credentials: Credentials) -> Result<Fleet, Error> {
        Ok(Fleet {
            credentials,
            transport: Arc::new(self.transport()?),
            policy: PowerPolicy {
                timeout: self.power_timeout,
                ..PowerPolicy::default()
            },
            tls: self.tls,
            concurrency: self.parallel,
        })
    }

    /// The AMT credentials of a credential set. `default` is the default credentials when
    /// given, else the set's entry.
    pub fn credential_set(&self, set: &str) -> Result<Credentials, Error> {
        if set == "default"
            && let Some(c) = &self.credentials
        {
            return Ok(c.clone());
        }
        match metal_inventory::credentials::resolve(set, self.secrets.as_deref())? {
            Some(c) => Ok(Credentials {
                user: c.user,
                password: c.password,
            }),
            None if set == "default" => self.default_credentials(),
            None => Err(Error::Credentials(format!(
                "credential set {set:?}: set METAL_AMT_PASSWORD_{} or add [credentials.{set}] to the secrets file (mode 0600)",
                set.to_ascii_uppercase().replace('-', "_")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn resolve(flags: Flags, vars: &[(&str, &str)]) -> Result<Config, Error> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::resolve(flags, &|k| vars.get(k).cloned())
    }

    #[test]
    fn placement_comes_from_the_file_else_the_seeds_policy() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        let path = file.to_str().unwrap();
        let default = resolve(Flags::default(), &[(env::CONFIG, path)]).unwrap();
        assert_eq!(default.placement, metal_xen::placement::Policy::default());
        std::fs::write(
            &file,
            "[placement]\nroles = { web = \"cpu\", search = \"memory\" }\nprimary = 2.0\nrack_headroom = true\n",
        )
        .unwrap();
        let c = resolve(Flags::default(), &[(env::CONFIG, path)]).unwrap();
        assert_eq!(
            c.placement.tendency("search"),
            Some(metal_xen::placement::Tendency::Memory)
        );
        assert_eq!(
            c.placement.tendency("db"),
            None,
            "the file's roles replace the defaults"
        );
        assert_eq!(c.placement.primary, 2.0);
        assert!(c.placement.rack_headroom);
        std::fs::write(&file, "[placement]\nroles = { web = \"disk\" }\n").unwrap();
        let e = resolve(Flags::default(), &[(env::CONFIG, path)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("unknown variant"), "{e}");
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(
            &file,
            "[amt]\nuser = \"fileuser\"\npassword = \"filepw\"\ntls = true\n[inventory]\ndb = \"sqlite:///file.db\"\npool = \"10.9.0.0/16\"\n",
        )
        .unwrap();
        let path = file.to_str().unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let open = resolve(Flags::default(), &[(env::CONFIG, path)])
            .unwrap_err()
            .to_string();
        assert!(
            open.contains("chmod 600") && !open.contains("filepw"),
            "{open}"
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let from_file = resolve(Flags::default(), &[(env::CONFIG, path)]).unwrap();
        let c = from_file.credentials.unwrap();
        assert_eq!(
            (c.user.as_str(), c.password.as_str()),
            ("fileuser", "filepw")
        );
        assert!(from_file.tls);
        assert_eq!(from_file.db.url, "sqlite:///file.db");
        assert!(from_file.db.explicit);
        assert_eq!(from_file.pool, "10.9.0.0/16");

        let from_env = resolve(
            Flags::default(),
            &[
                (env::CONFIG, path),
                (env::AMT_PASSWORD, "envpw"),
                (env::DB, "sqlite:///env.db"),
            ],
        )
        .unwrap();
        assert_eq!(from_env.credentials.unwrap().password, "envpw");
        assert_eq!(from_env.db.url, "sqlite:///env.db");

        let flags = Flags {
            password: Some("flagpw".into()),
            db: Some("sqlite:///flag.db".into()),
            ..Flags::default()
        };
        let from_flags =
            resolve(flags, &[(env::CONFIG, path), (env::AMT_PASSWORD, "envpw")]).unwrap();
        assert_eq!(from_flags.credentials.unwrap().password, "flagpw");
        assert_eq!(from_flags.db.url, "sqlite:///flag.db");
    }

    #[test]
    fn a_broken_file_names_the_line_never_the_text() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, "[amt]\nuser = \"ops\"\npassword = \"s3cret\n").unwrap();
        let err = resolve(Flags::default(), &[(env::CONFIG, file.to_str().unwrap())])
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
        std::fs::write(&file, "[amt]\npasword = \"x\"\n").unwrap();
        let err = resolve(Flags::default(), &[(env::CONFIG, file.to_str().unwrap())])
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2") && err.contains("pasword"), "{err}");
    }

    #[test]
    fn no_password_is_a_clear_error_and_bad_numbers_are_refused() {
        let none = resolve(Flags::default(), &[(env::CONFIG, "/nonexistent/c.toml")]).unwrap();
        assert!(none.credentials.is_none());
        let err = none.default_credentials().unwrap_err().to_string();
        assert!(err.contains("METAL_AMT_PASSWORD"), "{err}");
        assert!(!none.db.explicit);
        let bad = Flags {
            read_timeout: Some(-1.0),
            ..Flags::default()
        };
        assert!(resolve(bad, &[(env::CONFIG, "/nonexistent/c.toml")]).is_err());
        let zero = Flags {
            parallel: Some(0),
            ..Flags::default()
        };
        assert!(resolve(zero, &[(env::CONFIG, "/nonexistent/c.toml")]).is_err());
    }
}
