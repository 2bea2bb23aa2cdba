//! Boards that lie: strings with terminal escapes and Nagios directives, numbers that overflow,
//! thousands of memory modules, enumerations without end; and the enumeration modes real AMT
//! answers (DSP0226 §8.7). Against the simulator, over loopback.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use metal_amt::classes::{PHYSICAL_MEMORY, uri};
use metal_amt::{Amt, Error};
use metal_sim::{Fault, Reports};
use metal_test_support::loopback::Block;
use metal_test_support::sim as simulator;
use metal_wsman::{Client, Credentials, ErrorKind, Request, TransportOptions};

const PASSWORD: &str = "H0stile-boards";

fn credentials() -> Credentials {
    Credentials {
        user: "admin".into(),
        password: PASSWORD.into(),
    }
}

fn options() -> Arc<TransportOptions> {
    Arc::new(TransportOptions {
        read_timeout: Duration::from_secs(5),
        ..TransportOptions::default()
    })
}

fn amt(ip: Ipv4Addr) -> Amt {
    Amt::new(
        metal_amt::ports::wsman(ip.to_string(), false),
        credentials(),
        options(),
    )
}

fn client(ip: Ipv4Addr) -> Client {
    Client::new(
        metal_amt::ports::wsman(ip.to_string(), false),
        credentials(),
        options(),
    )
}

fn reports(properties: &[&str], copies: &[&str]) -> Reports {
    let mut r = Reports::default();
    for p in properties {
        r.add_property(p).unwrap();
    }
    for c in copies {
        r.add_copies(c).unwrap();
    }
    r
}

#[tokio::test]
async fn enumeration_modes_give_references_as_amt_does() {
    let block = Block::allocate();
    let sim = simulator::start(&block, 1, PASSWORD, |_| {}).await;
    let ip = sim.boards()[0].ip();
    let memory = uri(PHYSICAL_MEMORY);
    let mut c = client(ip);
    let objects = c.enumerate(&memory).await.unwrap();
    let refs = c.enumerate_references(&memory).await.unwrap();
    assert_eq!(refs.len(), objects.len());
    assert!(!refs.is_empty());
    for r in &refs {
        assert_eq!(r.resource_uri, memory);
        let names: Vec<&str> = r.selectors.iter().map(|s| s.name.as_str()).collect();
        assert!(
            names.contains(&"CreationClassName") && names.contains(&"Tag"),
            "{names:?}"
        );
    }
    let both = c.enumerate_with_references(&memory).await.unwrap();
    assert_eq!(both.len(), objects.len());
    for ((object, reference), plain) in both.iter().zip(&objects) {
        assert_eq!(
            object.child_text("BankLabel"),
            plain.child_text("BankLabel")
        );
        assert_eq!(
            reference,
            &refs[both.iter().position(|b| &b.1 == reference).unwrap()]
        );
    }
    let unsupported = c
        .call(&Request::enumerate(&memory, Some("EnumerateEverything")))
        .await
        .unwrap_err();
    match &unsupported.kind {
        ErrorKind::Fault(f) => assert!(
            f.subcode
                .as_deref()
                .is_some_and(|s| s.contains("UnsupportedFeature")),
            "{f:?}"
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn board_strings_arrive_escaped_and_capped() {
    let block = Block::allocate();
    let ip = block.ip(1);
    let bios = "\u{1b}]0;owned\u{7}\u{1b}[31mRED\u{9b}2J";
    let model = "Q87\n}\ndefine command {\n command_name x\n command_line /bin/touch /tmp/owned\n}";
    let long = "A".repeat(5000);
    let sim = simulator::start(&block, 1, PASSWORD, |cfg| {
        cfg.reports.insert(
            ip,
            reports(
                &[
                    &format!("CIM_BIOSElement.Version={bios}"),
                    &format!("CIM_Card.Model={model}"),
                    &format!("CIM_Chassis.SerialNumber={long}"),
                ],
                &[],
            ),
        );
    })
    .await;
    let hw = amt(sim.boards()[0].ip()).hardware().await.unwrap();
    for text in [&hw.bios_version, &hw.board.model, &hw.chassis.serial] {
        assert!(!text.chars().any(|c| c.is_control()), "{text:?}");
        assert!(text.chars().count() <= metal_types::text::MAX_BOARD_TEXT);
    }
    assert!(
        hw.bios_version.contains("\\u{1b}]0;owned"),
        "visible: {}",
        hw.bios_version
    );
    assert!(hw.board.model.starts_with("Q87\\n}"), "{}", hw.board.model);
}

#[tokio::test]
async fn impossible_numbers_and_counts_are_refused_naming_the_board() {
    let block = Block::allocate();
    let (overflow, crowded) = (block.ip(1), block.ip(2));
    let sim = simulator::start(&block, 2, PASSWORD, |cfg| {
        cfg.reports.insert(
            overflow,
            reports(
                &[&format!("CIM_PhysicalMemory.Capacity={}", u64::MAX)],
                &["CIM_PhysicalMemory=2"],
            ),
        );
        cfg.reports
            .insert(crowded, reports(&[], &["CIM_PhysicalMemory=100"]));
    })
    .await;
    assert_eq!(sim.boards().len(), 2);
    let err = amt(overflow).hardware().await.unwrap_err().to_string();
    assert!(
        err.contains(&overflow.to_string()) && err.contains("more than 2^64"),
        "{err}"
    );
    let err = amt(crowded).hardware().await.unwrap_err().to_string();
    assert!(
        err.contains(&crowded.to_string()) && err.contains("100 memory modules"),
        "{err}"
    );
}

#[tokio::test]
async fn an_endless_enumeration_is_cut_off_within_its_budget() {
    let block = Block::allocate();
    let sim = simulator::start(&block, 1, PASSWORD, |_| {}).await;
    let board = &sim.boards()[0];
    board.set_fault(Fault::EndlessPull(400_000));
    let err = amt(board.ip()).hardware().await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("one enumeration sent more than"), "{text}");
    assert!(matches!(err, Error::Wsman(_)), "{err:?}");
    assert!(board.requests().len() < 20, "stopped after a few pulls");
}
