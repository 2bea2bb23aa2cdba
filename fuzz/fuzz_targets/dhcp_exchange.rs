//! A datagram on the DHCP or PXE port: parsed, then answered as proxyDHCP would.
#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use metal_netboot::config::BootFiles;
use metal_netboot::dhcp::client::parse;
use metal_netboot::dhcp::exchange::{Context, Port, handle};
use metal_netboot::policy::{BootAction, BootDecision};

fuzz_target!(|data: &[u8]| {
    let Ok((message, client)) = parse(data) else {
        return;
    };
    let ctx = Context {
        server: Ipv4Addr::new(10, 99, 0, 1),
        http_base: "http://10.99.0.1:8080".into(),
        files: BootFiles::default(),
    };
    let decision = BootDecision {
        address: None,
        hostname: Some("fuzz".into()),
        action: BootAction::Profile("linux".into()),
    };
    for port in [Port::Dhcp, Port::Pxe] {
        let _ = handle(&ctx, None, &message, &client, &decision, port, 1000);
    }
});
