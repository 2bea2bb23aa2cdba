//! Prometheus file-based service discovery (`file_sd_configs`): a JSON list of target groups,
//! `[{"targets": ["host:port"], "labels": {...}}]`, one group per host so that each carries
//! its own rack, role and kind labels.

use std::net::SocketAddr;

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
            targets: vec![SocketAddr::new(m.address, port).to_string()],
            labels: Labels {
                host: m.hostname.clone(),
                rack: m.rack.clone(),
                role: m
                    .role
                    .as_ref()
                    .map_or_else(|| "unprovisioned".into(), |r| r.to_string()),
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
            targets: vec![SocketAddr::new(g.address, port).to_string()],
            labels: Labels {
                host: g.name.clone(),
                rack,
                role: g.role.to_string(),
                kind: "domu",
                dom0: Some(g.dom0.clone()),
            },
        });
    }
    serde_json::to_string_pretty(&groups).unwrap_or_else(|_| "[]".into()) + "\n"
}
