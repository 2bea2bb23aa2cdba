//! Prometheus file-based service discovery (`file_sd_configs`): a JSON list of target groups,
//! `[{"targets": ["host:port"], "labels": {...}}]`, one group per host so that each carries
//! its own rack, role and kind labels.

use serde::Serialize;

use metal_inventory::{Guest, Machine};

use crate::records::published;

#[derive(Debug, Serialize)]
struct Group {
    targets: Vec<String>,
    labels: Labels,
}

#[derive(Debug, Serialize)]
struct Labels {
    host: String,
    rack: String,
    role: String,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dom0: Option<String>,
}

/// Renders the file_sd JSON; `port` is the exporter port on every host.
pub fn render(machines: &[Machine], guests: &[Guest], port: u16) -> String {
    let mut groups = Vec::new();
    for m in published(machines) {
        groups.push(Group {
            targets: vec![format!("{}:{port}", m.address)],
            labels: Labels {
                host: m.hostname.clone(),
                rack: m.rack.clone(),
                role: m.role.clone().unwrap_or_else(|| "unprovisioned".into()),
                kind: "dom0",
                dom0: None,
            },
        });
    }
    for g in guests {
        let rack = machines
            .iter()
            .find(|m| m.hostname == g.dom0)
            .map_or_else(String::new, |m| m.rack.clone());
        groups.push(Group {
            targets: vec![format!("{}:{port}", g.address)],
            labels: Labels {
                host: g.name.clone(),
                rack,
                role: g.role.clone(),
                kind: "domu",
                dom0: Some(g.dom0.clone()),
            },
        });
    }
    serde_json::to_string_pretty(&groups).unwrap_or_else(|_| "[]".into()) + "\n"
}
