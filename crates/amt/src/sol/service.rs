//! Making sure SOL is usable before connecting: `AMT_RedirectionService` says whether SOL and
//! the redirection listener are enabled, `AMT_BootCapabilities.SOL` whether the board can do
//! SOL at all (amt-protocol.md §2a "SOL enable": RequestStateChange 32770/32771 and a Put of
//! `ListenerEnabled=true`; go-wsman-messages `amt/redirection/decoder.go` for the values).

use metal_wsman::{Input, Instance, Selector};
use serde::Serialize;

use super::session::{SolEndpoint, SolOptions, SolSession, SolTarget};
use crate::classes::{self, BOOT_CAPABILITIES, REDIRECTION_SERVICE};
use crate::{Amt, Error};

/// `EnabledState` values of `AMT_RedirectionService`.
const IDER_AND_SOL_OFF: u32 = 32768;
const IDER_ONLY: u32 = 32769;
const SOL_ONLY: u32 = 32770;
const IDER_AND_SOL: u32 = 32771;

/// What had to change for SOL to work.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SolReadiness {
    /// SOL was disabled and `metal` enabled it.
    pub enabled_sol: bool,
    /// The redirection listener was off and `metal` turned it on.
    pub enabled_listener: bool,
}

fn service_selectors() -> Vec<Selector> {
    vec![
        Selector::new("CreationClassName", REDIRECTION_SERVICE),
        Selector::new("Name", "Intel(r) AMT Redirection Service"),
        Selector::new("SystemCreationClassName", "CIM_ComputerSystem"),
        Selector::new("SystemName", "Intel(r) AMT"),
    ]
}

impl Amt {
    /// Checks that the board can do SOL and enables SOL and the listener where they are off.
    pub async fn ensure_sol(&mut self) -> Result<SolReadiness, Error> {
        let capabilities = self
            .client
            .get(&classes::uri(BOOT_CAPABILITIES), Vec::new())
            .await?;
        if capabilities.prop("SOL").map(str::trim) != Some("true") {
            return Err(self.data("this board cannot do Serial-over-LAN (AMT_BootCapabilities.SOL is not true; it may be disabled in MEBx)".into()));
        }
        let uri = classes::uri(REDIRECTION_SERVICE);
        let service = self.client.get(&uri, Vec::new()).await?;
        let state: u32 = service
            .prop_num("EnabledState")
            .map_err(|e| self.data(e.to_string()))?;
        let mut readiness = SolReadiness::default();
        let wanted = match state {
            IDER_AND_SOL_OFF => Some(SOL_ONLY),
            IDER_ONLY => Some(IDER_AND_SOL),
            SOL_ONLY | IDER_AND_SOL => None,
            other => {
                return Err(self.data(format!(
                    "AMT_RedirectionService.EnabledState {other} is not a known value"
                )));
            }
        };
        if let Some(wanted) = wanted {
            let input = Input::new().param("RequestedState", wanted).into_xml();
            let request =
                metal_wsman::Request::invoke(&uri, "RequestStateChange", Vec::new(), &input);
            self.invoke_ok(&request).await?;
            readiness.enabled_sol = true;
        }
        if service.prop("ListenerEnabled").map(str::trim) != Some("true") {
            let current = self.client.get(&uri, Vec::new()).await?;
            let properties: Vec<(String, String)> = current
                .children
                .iter()
                .map(|p| {
                    let value = if p.name == "ListenerEnabled" {
                        "true".to_string()
                    } else {
                        p.text.clone()
                    };
                    (p.name.clone(), value)
                })
                .collect();
            self.client
                .put(&uri, REDIRECTION_SERVICE, service_selectors(), &properties)
                .await?;
            readiness.enabled_listener = true;
        }
        Ok(readiness)
    }

    /// Makes sure SOL is enabled (enabling it over WS-Man if needed), then opens a SOL session
    /// on the same address, over TLS when WS-Man uses TLS.
    pub async fn open_sol(
        &mut self,
        options: SolOptions,
    ) -> Result<(SolSession, SolReadiness), Error> {
        let readiness = self.ensure_sol().await?;
        let wsman = self.client.endpoint();
        let target = SolTarget {
            endpoint: SolEndpoint::new(wsman.host.clone(), wsman.tls),
            credentials: &self.credentials,
            known_hosts: &self.transport.known_hosts,
        };
        let session = SolSession::open(target, options).await?;
        Ok((session, readiness))
    }
}
