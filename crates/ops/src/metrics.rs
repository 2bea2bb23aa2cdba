//! The process's Prometheus metrics (prometheus-client, the official Rust client): machines by
//! state (read from the inventory at each scrape), power actions and their failures, boot
//! events, AMT and netboot latencies as histograms, and watchdog actions. One registry per
//! process, so `metal serve --web` shows netboot and dashboard figures side by side.

use std::sync::LazyLock;
use std::time::Duration;

use metal_inventory::{MachineState, Store};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::Error;

/// The content type of the text exposition format, version 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PowerLabels {
    action: String,
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabel {
    stage: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RungLabel {
    action: &'static str,
}

type Latency = Family<OperationLabel, Histogram, fn() -> Histogram>;

/// Every metric of the process.
struct Metrics {
    registry: Registry,
    machines: Family<StateLabel, Gauge>,
    power: Family<PowerLabels, Counter>,
    boot_events: Family<StageLabel, Counter>,
    amt: Latency,
    netboot: Latency,
    watchdog: Family<RungLabel, Counter>,
}

fn latency_buckets() -> Histogram {
    // 1 ms to ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::default();
    let machines = Family::<StateLabel, Gauge>::default();
    registry.register(
        "metal_machines",
        "Machines in the inventory by state",
        machines.clone(),
    );
    let power = Family::<PowerLabels, Counter>::default();
    registry.register(
        "metal_power_actions",
        "Power actions on boards, by action and result (ok, failed)",
        power.clone(),
    );
    let boot_events = Family::<StageLabel, Counter>::default();
    registry.register(
        "metal_boot_events",
        "Boot events accepted from netbooting machines, by stage",
        boot_events.clone(),
    );
    let amt: Latency = Family::new_with_constructor(latency_buckets);
    registry.register(
        "metal_amt_operation_seconds",
        "Time of one operation on one board over AMT (connection, digest and calls)",
        amt.clone(),
    );
    let netboot: Latency = Family::new_with_constructor(latency_buckets);
    registry.register(
        "metal_netboot_decision_seconds",
        "Time to decide what a netbooting machine gets (iPXE script, plan, event), by request",
        netboot.clone(),
    );
    let watchdog = Family::<RungLabel, Counter>::default();
    registry.register(
        "metal_watchdog_actions",
        "Recovery-ladder actions, by action (power-cycle, reset when a cycle is refused, broken, would-cycle and would-mark-broken in a dry run)",
        watchdog.clone(),
    );
    Metrics {
        registry,
        machines,
        power,
        boot_events,
        amt,
        netboot,
        watchdog,
    }
});

/// Counts a power action on one board.
pub fn power_action(action: &str, ok: bool) {
    METRICS
        .power
        .get_or_create(&PowerLabels {
            action: action.to_string(),
            result: if ok { "ok" } else { "failed" },
        })
        .inc();
}

/// The stages a boot event may carry as a label; any other stage counts as `other` (a label
/// set must stay small whatever a client sends).
const STAGES: [&str; 7] = [
    "start", "fetch", "progress", "finish", "booted", "deployed", "failed",
];

/// Counts an accepted boot event.
pub fn boot_event(stage: &str) {
    let stage = STAGES
        .iter()
        .copied()
        .find(|s| *s == stage)
        .unwrap_or("other");
    METRICS
        .boot_events
        .get_or_create(&StageLabel { stage })
        .inc();
}

/// Observes the time of one AMT operation (`power on`, `show`, ...).
pub fn amt_operation(operation: &str, took: Duration) {
    METRICS
        .amt
        .get_or_create(&OperationLabel {
            operation: operation.to_string(),
        })
        .observe(took.as_secs_f64());
}

/// Observes the time of one netboot decision (`script`, `plan`, `event`, ...).
pub fn netboot_decision(request: &str, took: Duration) {
    METRICS
        .netboot
        .get_or_create(&OperationLabel {
            operation: request.to_string(),
        })
        .observe(took.as_secs_f64());
}

/// Counts one watchdog action.
pub fn watchdog_action(action: &'static str) {
    METRICS.watchdog.get_or_create(&RungLabel { action }).inc();
}

/// The metrics in the text exposition format, machines by state read from `store` now.
pub async fn render(store: Option<&Store>) -> Result<String, Error> {
    if let Some(store) = store {
        let machines = store.machine_summaries().await?;
        for state in MachineState::ALL {
            let n = machines.iter().filter(|m| m.state == state).count();
            METRICS
                .machines
                .get_or_create(&StateLabel {
                    state: state.as_str(),
                })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &METRICS.registry)
        .map_err(|e| Error::Usage(format!("encoding the metrics: {e}")))?;
    Ok(out)
}
