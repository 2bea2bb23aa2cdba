//! Target resolution, the one way every command turns what the user wrote into boards:
//! addresses and CIDR blocks need no inventory (but are matched against it when there is one,
//! so an enrolled board reached by its address gets its credential set, pin and UUID guard
//! too); hostnames, `rack:NAME` and `all` go through [`metal_inventory::Store::find`].

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use metal_inventory::Machine;
use metal_types::Target;

use crate::{Config, Error, inventory};

/// A board to act on: where its AMT answers and, when the inventory knows it, its record.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub host: IpAddr,
    pub machine: Option<Machine>,
}

/// Parses target specs (each may be a comma-separated list).
pub fn parse(specs: &[String]) -> Result<Vec<Target>, Error> {
    let mut targets = Vec::new();
    for spec in specs {
        targets.extend(Target::parse_list(spec)?);
    }
    if targets.is_empty() {
        return Err(Error::Usage("no targets given".into()));
    }
    Ok(targets)
}

/// Resolves target specs into boards, in the order given, each board once.
pub async fn resolve(config: &Config, specs: &[String]) -> Result<Vec<Resolved>, Error> {
    let targets = parse(specs)?;
    let store = inventory::open_existing(config).await?;
    let needs_inventory = targets.iter().find(|t| t.addresses().is_none());
    let store = match (store, needs_inventory) {
        (Some(store), _) => Some(store),
        (None, Some(t)) => return Err(Error::NoInventory(Some(format!("target {t}")))),
        (None, None) => None,
    };
    let mut out = Vec::new();
    for target in &targets {
        let found = match &store {
            Some(store) => store.find(target).await?,
            None => Vec::new(),
        };
        match target.addresses() {
            Some(addresses) => {
                let mut known: HashMap<IpAddr, Machine> =
                    found.into_iter().map(|m| (m.amt_address, m)).collect();
                out.extend(addresses.into_iter().map(|host| Resolved {
                    host,
                    machine: known.remove(&host),
                }));
            }
            None => out.extend(found.into_iter().map(|m| Resolved {
                host: m.amt_address,
                machine: Some(m),
            })),
        }
    }
    if let Some(store) = store {
        store.close().await;
    }
    let mut seen = HashSet::new();
    out.retain(|r| seen.insert(r.host));
    if out.is_empty() {
        return Err(Error::Usage("the targets name no boards".into()));
    }
    Ok(out)
}

/// Resolves specs that must name exactly one board (`show`, `console`).
pub async fn resolve_one(config: &Config, spec: &str, command: &str) -> Result<Resolved, Error> {
    let mut found = resolve(config, std::slice::from_ref(&spec.to_string())).await?;
    if found.len() != 1 {
        return Err(Error::Usage(format!(
            "{command} takes one board, and {spec} names {}",
            found.len()
        )));
    }
    Ok(found.remove(0))
}
