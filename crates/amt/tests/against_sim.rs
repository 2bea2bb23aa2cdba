//! The AMT client against the simulator (which shares no code with it): power, one-shot boot,
//! inventory, authentication cost, faults, TLS pinning and paging, over real loopback sockets.
//! Each test allocates its own loopback block so tests can run in parallel on the real AMT ports.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use metal_amt::{Amt, Error, Fleet, PowerPolicy};
use metal_sim::Fault;
use metal_test_support::loopback::Block;
use metal_test_support::sim as simulator;
use metal_types::output::ErrorKind;
use metal_types::{BootDevice, PowerAction, PowerState};
use metal_wsman::{Credentials, KnownHosts, TransportOptions};

const PASSWORD: &str = "Secr3t!pw";

fn options() -> Arc<TransportOptions> {
    Arc::new(TransportOptions {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(2),
        ..TransportOptions::default()
    })
}

fn session(ip: Ipv4Addr, password: &str) -> Amt {
    let credentials = Credentials {
        user: "admin".into(),
        password: password.into(),
    };
    Amt::new(
        metal_amt::ports::wsman(ip.to_string(), false),
        credentials,
        options(),
    )
    .with_policy(PowerPolicy {
        timeout: Duration::from_secs(5),
        interval: Duration::from_millis(50),
    })
}

async fn wait_for_boots(
    board: &metal_sim::BoardHandle,
    count: usize,
) -> Vec<metal_sim::BootRecord> {
    for _ in 0..100 {
        let boots = board.boots();
        if boots.len() >= count {
            return boots;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "board {} performed {} boots, expected {count}",
        board.ip(),
        board.boots().len()
    );
}

#[tokio::test]
async fn power_off_then_on_and_idempotence() {
    let block = Block::allocate();
    let sim = simulator::start(&block, 1, PASSWORD, |_| {}).await;
    let board = &sim.boards()[0];
    let mut amt = session(board.ip(), PASSWORD);
    assert_eq!(amt.power_status().await.unwrap().power, PowerState::On);
    let off = amt.power(PowerAction::Off).await.unwrap();
    assert_eq!(
        (off.before, off.power, off.changed),
        (PowerState::On, PowerState::Off, true)
    );
    assert_eq!(board.power_state(), 8);
    let again = amt.power(PowerAction::Off).await.unwrap();
    assert!(!again.changed, "an off board is not switched off twice");
    let on = amt.power(PowerAction::On).await.unwrap();
    assert_eq!(on.power, PowerState::On);
    assert_eq!(
        board.boots().last().map(|b| b.device),
        Some(BootDevice::Disk)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_state_the_board_does_not_offer_is_refused_without_sending() {
    let block = Block::allocate();
    let sim = simulator::start(&block, 1, PASSWORD, |_| {}).await;
    let board = &sim.boards()[0];
    board.set_power_state(8);
    let mut amt = session(board.ip(), PASSWORD);
    let err = amt.power(PowerAction::Cycle).await.unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&block.first().to_string())
            && text.contains("does not offer cycle (5) while off")
            && text.contains("on (2)"),
        "{text}"
    );
    assert!(
        board
            .requests()
            .iter()
            .all(|r| r.action != "RequestPowerStateChange")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn boot_pxe_now_applies_to_the_next_boot_only() {
    let block = Block::allocate();
    let sim = simulator::start(&block, 1, PASSWORD, |_| {}).await;
    let board = &sim.boards()[0];
    let mut amt = session(board.ip(), PASSWORD);
    amt.set_next_boot(BootDevice::Pxe).await.unwrap();
    assert_eq!(
        amt.next_boot().await.unwrap(),
        Some(BootDevice::Pxe),
        "pending override readable"
    );
    let outcome = amt.boot(BootDevice::Pxe, true).await.unwrap();
    assert_eq!(
        outcome.power_action,
        Some(PowerAction::Reset),
        "a board that is on is reset"
    );
    let boots = wait_for_boots(board, 1).await;
    assert_eq!(
        (boots[0].device, boots[0].one_shot),
        (BootDevice::Pxe, true)
    );
    assert_eq!(amt.next_boot().await.unwrap(), None, "override used up");
    amt.power(PowerAction::Cycle).await.unwrap();
    let boots = wait_for_boots(board, 2).await;
    assert_eq!(
        (boots[1].device, boots[1].one_shot),
        (BootDevice::Disk, false)
    );
    assert_eq!(
        amt.stats().unauthorized,
        1,
        "the digest challenge is fetched once and reused"
    );
    assert_eq!(
        amt.stats().connections,
        2,
        "one kept-alive connection after the 401 closed the first"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn boot_now_powers_on_a_board_that_is_off() {
    let block = Block::allocate();
    let sim = simulator::start(&block, 1, PASSWORD, |_| {}).await;
    let board = &sim.boards()[0];
    board.set_power_state(8);
    let outcome = session(board.ip(), PASSWORD)
        .boot(BootDevice::Pxe, true)
        .await
        .unwrap();
    assert_eq!(
        (outcome.power_action, outcome.power),
        (Some(PowerAction::On), PowerState::On)
    );
    assert_eq!(wait_for_boots(board, 1).await[0].device, BootDevice::Pxe);
    sim.shutdown().await;
}

#[tokio::test]
async fn wrong_password_costs_two_requests_and_names_the_host() {
    let block = Block::allocate();
    let sim = simulator::start(&block, 1, PASSWORD, |_| {}).await;
    let board = &sim.boards()[0];
    let err = session(board.ip(), "wrong")
        .power_status()
        .await
        .unwrap_err();
    assert_eq!(err.category(), ErrorKind::Auth);
    assert!(
        err.to_string()
            .starts_with(&format!("{}:16992: authentication failed", block.first())),
        "{err}"
    );
    assert_eq!(
        board.requests().len(),
        2,
        "one challenge, one answer, no retry loop"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn repeated_failures_lock_the_account_on_the_board() {
    let block = Block::allocate();
    let sim = simulator::start(&block, 1, PASSWORD, |c| c.lockout_threshold = 3).await;
    let board = &sim.boards()[0];
    for _ in 0..3 {
        assert!(session(board.ip(), "wrong").power_status().await.is_err());
    }
    let err = session(board.ip(), PASSWORD)
        .power_status()
        .await
        .unwrap_err();
    assert_eq!(
        err.category(),
        ErrorKind::Auth,
        "locked account refuses even the right password: {err}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn injected_faults_are_reported_per_kind() {
    let block = Block::allocate();
    let sim = simulator::start(&block, 4, PASSWORD, |_| {}).await;
    let boards = sim.boards();
    boards[0].set_fault(Fault::Http500);
    boards[1].set_fault(Fault::Drop);
    boards[2].set_fault(Fault::Hang);
    boards[3].set_fault(Fault::Refuse);
    let expected = [
        ErrorKind::Protocol,
        ErrorKind::Connection,
        ErrorKind::Timeout,
        ErrorKind::Connection,
    ];
    for (board, kind) in boards.iter().zip(expected) {
        let err = session(board.ip(), PASSWORD)
            .power_status()
            .await
            .unwrap_err();
        assert_eq!(err.category(), kind, "{}: {err}", board.ip());
        assert!(err.to_string().contains(&board.ip().to_string()), "{err}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn extra_latency_is_tolerated_below_the_timeout() {
    let block = Block::allocate();
    let sim = simulator::start(&block, 1, PASSWORD, |_| {}).await;
    let board = &sim.boards()[0];
    board.set_fault(Fault::Latency(Duration::from_millis(300)));
    assert_eq!(
        session(board.ip(), PASSWORD)
            .power_status()
            .await
            .unwrap()
            .power,
        PowerState::On
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn fleet_reports_every_host_and_isolates_a_dead_one() {
    let block = Block::allocate();
    let sim = simulator::start(&block, 12, PASSWORD, |_| {}).await;
    let boards = sim.boards();
    boards[5].set_fault(Fault::Hang);
    let fleet = Fleet {
        credentials: Credentials {
            user: "admin".into(),
            password: PASSWORD.into(),
        },
        transport: Arc::new(TransportOptions {
            read_timeout: Duration::from_millis(500),
            ..TransportOptions::default()
        }),
        policy: PowerPolicy::default(),
        tls: false,
        concurrency: 4,
    };
    let hosts: Vec<String> = boards.iter().map(|b| b.ip().to_string()).collect();
    let mut seen = 0;
    let runs = fleet
        .run(&hosts, |amt| Box::pin(amt.power_status()), |_| seen += 1)
        .await;
    assert_eq!(seen, 12);
    assert_eq!(
        runs.iter().map(|r| r.host.clone()).collect::<Vec<_>>(),
        hosts,
        "results in target order"
    );
    for (i, run) in runs.iter().enumerate() {
        assert_eq!(
            run.result.is_err(),
            i == 5,
            "{}: {:?}",
            run.host,
            run.result
        );
    }
    assert_eq!(
        runs[5].result.as_ref().unwrap_err().category(),
        ErrorKind::Timeout
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn hardware_inventory_matches_the_board_and_follows_paging() {
    let block = Block::allocate();
    let sim = simulator::start(&block, 3, PASSWORD, |c| c.page_size = 1).await;
    for board in sim.boards() {
        let hw = session(board.ip(), PASSWORD).hardware().await.unwrap();
        assert_eq!(hw.uuid, board.uuid());
        assert_eq!(hw.mac, Some(board.mac()));
        assert_eq!(hw.chassis.serial, board.serial());
        assert!(
            hw.amt_version
                .as_deref()
                .unwrap_or_default()
                .starts_with("12."),
            "{:?}",
            hw.amt_version
        );
        assert!(!hw.cpus.is_empty() && hw.memory_bytes >= 4 << 30, "{hw:?}");
        let pulls = board
            .requests()
            .iter()
            .filter(|r| r.action == "Pull")
            .count();
        let least = hw.dimms.len() + hw.disks.len() + 2;
        assert!(
            pulls >= least,
            "page size 1 forces a Pull per item: saw {pulls}, expected at least {least}"
        );
    }
    let disks: Vec<usize> = {
        let mut v = Vec::new();
        for b in sim.boards() {
            v.push(
                session(b.ip(), PASSWORD)
                    .hardware()
                    .await
                    .unwrap()
                    .disks
                    .len(),
            );
        }
        v
    };
    assert_eq!(disks, vec![0, 4, 2], "diskless, four HDDs, two SSDs");
    sim.shutdown().await;
}

#[tokio::test]
async fn tls_pins_on_first_use_refuses_a_changed_certificate_and_repins_on_request() {
    let block = Block::allocate();
    let sim = simulator::start(&block, 1, PASSWORD, |c| c.tls = true).await;
    let board = &sim.boards()[0];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("known_amt_hosts");
    let tls_session = |repin: bool| {
        let known = KnownHosts::load(&file).unwrap().with_repin(repin);
        let options = Arc::new(TransportOptions {
            known_hosts: Arc::new(known),
            ..TransportOptions::default()
        });
        Amt::new(
            metal_amt::ports::wsman(board.ip().to_string(), true),
            Credentials {
                user: "admin".into(),
                password: PASSWORD.into(),
            },
            options,
        )
    };
    assert_eq!(
        tls_session(false).power_status().await.unwrap().power,
        PowerState::On
    );
    let pin = metal_wsman::tls::fingerprint(&board.tls_cert_der());
    let recorded = std::fs::read_to_string(&file).unwrap();
    assert!(
        recorded.contains(&format!("{}:16993 {}", block.first(), hex(&pin))),
        "{recorded}"
    );
    assert!(
        tls_session(false).power_status().await.is_ok(),
        "same certificate accepted"
    );

    board.regenerate_tls_cert();
    let before = board.requests().len();
    let err = tls_session(false).power_status().await.unwrap_err();
    assert_eq!(err.category(), ErrorKind::Tls);
    assert!(err.to_string().contains("TLS certificate changed"), "{err}");
    assert_eq!(
        board.requests().len(),
        before,
        "nothing was sent to the changed board"
    );

    assert!(
        tls_session(true).power_status().await.is_ok(),
        "explicit re-pin accepted"
    );
    let new_pin = metal_wsman::tls::fingerprint(&board.tls_cert_der());
    assert_eq!(
        KnownHosts::load(&file)
            .unwrap()
            .get(&format!("{}:16993", block.first())),
        Some(new_pin)
    );
    sim.shutdown().await;
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn identify_reports_the_vendor_and_version() {
    let block = Block::allocate();
    let sim = simulator::start(&block, 1, PASSWORD, |_| {}).await;
    let board = &sim.boards()[0];
    let mut amt = session(board.ip(), PASSWORD);
    let id = amt.wsman().identify().await.unwrap();
    assert_eq!(id.product_vendor, "Intel Corporation");
    assert!(id.product_version.contains("12.0"), "{id:?}");
    assert!(id.protocol_version.contains("wsman"), "{id:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_second_change_inside_the_busy_window_is_refused_with_an_explanation() {
    let block = Block::allocate();
    let sim = simulator::start(&block, 1, PASSWORD, |c| {
        c.transition = Duration::from_secs(3)
    })
    .await;
    let board = &sim.boards()[0];
    let mut amt = session(board.ip(), PASSWORD);
    let status = amt.power_status().await.unwrap();
    // Start a reset, then ask for another change while the board is still busy with it.
    let mut other = session(board.ip(), PASSWORD);
    other.power(PowerAction::Reset).await.unwrap();
    let err = amt.power(PowerAction::Cycle).await.unwrap_err();
    assert!(matches!(err, Error::PowerRefused { .. }), "{err}");
    assert!(
        err.to_string().contains("refused cycle") && err.to_string().contains("SOL"),
        "{err}"
    );
    assert_eq!(status.power, PowerState::On);
    sim.shutdown().await;
}
