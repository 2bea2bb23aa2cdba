//! What a MAC boots. The netboot service asks a [`BootPolicy`]; it never decides by itself.
//!
//! Until the inventory exists the decisions come from the configuration file ([`ConfigPolicy`]);
//! the inventory implements the same trait later, backed by its store.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use futures::future::BoxFuture;
use metal_types::MacAddr;

use crate::config::{Config, HostAction};

/// What to do with a machine that netboots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootAction {
    /// Boot the named profile's iPXE script.
    Profile(String),
    /// Leave the machine to its next boot device: the iPXE script is `exit`.
    LocalDisk,
    /// Do not netboot it at all: no boot file, no script.
    Ignore,
}

/// The policy's answer for one MAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootDecision {
    /// A fixed address for this MAC (DHCP mode); `None` takes one from the dynamic range.
    pub address: Option<Ipv4Addr>,
    /// Host name sent as option 12 and passed to templates.
    pub hostname: Option<String>,
    /// What it boots.
    pub action: BootAction,
}

/// The policy could not answer (for example, the inventory's store is unreachable).
#[derive(Debug, thiserror::Error)]
#[error("boot policy failed: {0}")]
pub struct PolicyError(pub Box<dyn std::error::Error + Send + Sync>);

/// Decides what a MAC boots. Called on every DHCP exchange and script request, so it should be
/// cheap; it is async so a store-backed implementation can query.
pub trait BootPolicy: Send + Sync + 'static {
    /// The decision for `mac`.
    fn decide(&self, mac: MacAddr) -> BoxFuture<'_, Result<BootDecision, PolicyError>>;
}

/// The policy of the configuration file: `[[hosts]]` entries, else `default_profile`.
#[derive(Debug, Clone)]
pub struct ConfigPolicy {
    hosts: HashMap<MacAddr, BootDecision>,
    default: BootDecision,
}

impl ConfigPolicy {
    /// Builds the policy from a checked configuration.
    pub fn new(config: &Config) -> ConfigPolicy {
        let default = BootDecision {
            address: None,
            hostname: None,
            action: BootAction::Profile(config.default_profile.clone()),
        };
        let hosts = config
            .hosts
            .iter()
            .map(|h| {
                let profile = h.profile.as_ref().unwrap_or(&config.default_profile);
                let action = match h.action {
                    HostAction::Netboot => BootAction::Profile(profile.clone()),
                    HostAction::LocalDisk => BootAction::LocalDisk,
                    HostAction::Ignore => BootAction::Ignore,
                };
                let decision = BootDecision {
                    address: h.ip,
                    hostname: h.hostname.clone(),
                    action,
                };
                (h.mac, decision)
            })
            .collect();
        ConfigPolicy { hosts, default }
    }
}

impl BootPolicy for ConfigPolicy {
    fn decide(&self, mac: MacAddr) -> BoxFuture<'_, Result<BootDecision, PolicyError>> {
        let decision = self.hosts.get(&mac).unwrap_or(&self.default).clone();
        Box::pin(async move { Ok(decision) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn known_mac_gets_its_entry_unknown_the_default() {
        let config = Config::parse(crate::config::tests_example()).unwrap();
        let policy = ConfigPolicy::new(&config);
        let known = policy
            .decide("52:54:00:00:00:01".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(known.action, BootAction::Profile("special".into()));
        assert_eq!(known.address, Some(Ipv4Addr::new(10, 99, 0, 50)));
        let unknown = policy
            .decide("52:54:00:00:00:99".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(unknown.action, BootAction::Profile("linux".into()));
        assert_eq!(unknown.address, None);
    }
}
