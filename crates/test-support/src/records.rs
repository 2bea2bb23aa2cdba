//! Inventory records for tests that render or decide from them (exports, the boot policy)
//! without a database: a plausible machine, to adjust field by field.

use metal_inventory::{Machine, MachineState};
use metal_types::hardware::{Hardware, Product};

/// An enrolled machine `hostname` in rack `r01`, Dom0 address 10.0.0.5, AMT at 127.0.0.1, no
/// profile.
pub fn machine(hostname: &str) -> Machine {
    Machine {
        hostname: hostname.into(),
        address: "10.0.0.5".parse().expect("address"),
        rack: "r01".into(),
        site: "lab".into(),
        slot: 1,
        amt_address: "127.0.0.1".parse().expect("address"),
        uuid: "00000000-0000-4000-8000-000000000001".into(),
        serial: "SN1".into(),
        board_maker: "Intel Corporation".into(),
        board_model: "NUC9V7QNB".into(),
        mac: None,
        memory_bytes: 0,
        disks: 0,
        ssds: 0,
        profile: None,
        profile_note: None,
        storage: None,
        role: None,
        dom0_memory_mib: None,
        root_gib: None,
        netboot: None,
        tls_pin: None,
        credential_set: "default".into(),
        state: MachineState::Enrolled,
        hardware: Hardware {
            uuid: "00000000-0000-4000-8000-000000000001".into(),
            chassis: Product::default(),
            board: Product::default(),
            bios_version: String::new(),
            cpus: Vec::new(),
            dimms: Vec::new(),
            memory_bytes: 0,
            disks: Vec::new(),
            mac: None,
            amt_version: None,
        },
        created_ms: 0,
        updated_ms: 0,
    }
}
