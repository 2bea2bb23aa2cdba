//! Where hardware profiles come from. In order: `--profiles DIR`, `METAL_PROFILES`, a
//! `hardware-profiles/` directory next to the config file, the installed data directories
//! (`$XDG_DATA_HOME/metal/hardware-profiles`, `<prefix>/share/metal/hardware-profiles` beside
//! the binary, `/usr/share/metal/hardware-profiles`), and last the profiles shipped with
//! `metal` (the repository's `hardware-profiles/`, compiled in), so a fresh install matches
//! the boards it is sold with. Never the build tree at run time.

use std::path::{Path, PathBuf};

use metal_inventory::HardwareProfile;
use metal_inventory::profiles;

use crate::Error;

/// The shipped profiles: (name, text).
const BUILT_IN: [(&str, &str); 3] = [
    (
        "desktop-4g-diskless",
        include_str!("../../../hardware-profiles/desktop-4g-diskless.toml"),
    ),
    (
        "desktop-8g-raid10",
        include_str!("../../../hardware-profiles/desktop-8g-raid10.toml"),
    ),
    (
        "desktop-8g-ssd-raid0",
        include_str!("../../../hardware-profiles/desktop-8g-ssd-raid0.toml"),
    ),
];

/// The profiles to match boards against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileSource {
    /// A directory of `*.toml` files.
    Dir(PathBuf),
    /// The profiles shipped with `metal`.
    BuiltIn,
}

impl ProfileSource {
    /// The first of the places in the module docs that exists (`flag` and `env` are used as
    /// given, so a wrong path is an error rather than a silent fallback).
    pub fn find(flag: Option<PathBuf>, env: Option<PathBuf>, config_file: Option<&Path>) -> Self {
        if let Some(dir) = flag.or(env) {
            return ProfileSource::Dir(dir);
        }
        let beside_config = config_file
            .and_then(Path::parent)
            .map(|d| d.join("hardware-profiles"));
        let data_dir = dirs::data_dir().map(|d| d.join("metal/hardware-profiles"));
        let prefix = std::env::current_exe().ok().and_then(|exe| {
            Some(
                exe.parent()?
                    .parent()?
                    .join("share/metal/hardware-profiles"),
            )
        });
        let system = Some(PathBuf::from("/usr/share/metal/hardware-profiles"));
        [beside_config, data_dir, prefix, system]
            .into_iter()
            .flatten()
            .find(|d| d.is_dir())
            .map_or(ProfileSource::BuiltIn, ProfileSource::Dir)
    }

    /// Loads the profiles.
    pub fn load(&self) -> Result<Vec<HardwareProfile>, Error> {
        match self {
            ProfileSource::Dir(dir) => Ok(profiles::load_dir(dir)?),
            ProfileSource::BuiltIn => BUILT_IN
                .iter()
                .map(|(name, text)| {
                    HardwareProfile::parse(name, &format!("built-in {name}"), text)
                        .map_err(Error::from)
                })
                .collect(),
        }
    }
}

impl ProfileSource {
    /// The text of the profile `name` (checked to parse), for copying it elsewhere.
    pub fn text(&self, name: &str) -> Result<String, Error> {
        let text = match self {
            ProfileSource::Dir(dir) => {
                let path = dir.join(format!("{name}.toml"));
                let loaded = self.load()?;
                if !loaded.iter().any(|p| p.name == name) {
                    return Err(unknown(name, &loaded));
                }
                std::fs::read_to_string(&path).map_err(Error::io(&path))?
            }
            ProfileSource::BuiltIn => match BUILT_IN.iter().find(|(n, _)| *n == name) {
                Some((_, text)) => (*text).to_string(),
                None => return Err(unknown(name, &self.load()?)),
            },
        };
        Ok(text)
    }

    /// The profile `name`.
    pub fn profile(&self, name: &str) -> Result<HardwareProfile, Error> {
        let loaded = self.load()?;
        loaded
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .ok_or_else(|| unknown(name, &loaded))
    }
}

/// "No such profile", listing the ones there are.
fn unknown(name: &str, loaded: &[HardwareProfile]) -> Error {
    let names: Vec<&str> = loaded.iter().map(|p| p.name.as_str()).collect();
    Error::Usage(format!(
        "no hardware profile {name:?} (there are: {})",
        names.join(", ")
    ))
}

impl std::fmt::Display for ProfileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProfileSource::Dir(d) => write!(f, "{}", d.display()),
            ProfileSource::BuiltIn => f.write_str("the profiles shipped with metal"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compiled-in list is the shipped directory, file for file.
    #[test]
    fn built_in_profiles_are_the_shipped_directory() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../hardware-profiles");
        let mut shipped: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                let p = e.ok()?.path();
                (p.extension()? == "toml").then(|| p.file_stem()?.to_str().map(String::from))?
            })
            .collect();
        shipped.sort();
        let built_in: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
        assert_eq!(shipped, built_in);
        let loaded = ProfileSource::BuiltIn.load().unwrap();
        let from_dir = ProfileSource::Dir(dir).load().unwrap();
        assert_eq!(loaded.len(), from_dir.len());
    }

    #[test]
    fn flag_and_environment_come_first() {
        let flag = ProfileSource::find(Some("/a".into()), Some("/b".into()), None);
        assert_eq!(flag, ProfileSource::Dir("/a".into()));
        let env = ProfileSource::find(None, Some("/b".into()), None);
        assert_eq!(env, ProfileSource::Dir("/b".into()));
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("hardware-profiles")).unwrap();
        let beside = ProfileSource::find(None, None, Some(&dir.path().join("config.toml")));
        assert_eq!(
            beside,
            ProfileSource::Dir(dir.path().join("hardware-profiles"))
        );
    }
}
