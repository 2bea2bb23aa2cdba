//! The SOL client against the simulator's independent implementation of the redirection
//! protocol: login and echo, a 1 MiB burst in order, enabling SOL over WS-Man, a wrong
//! password, a board that goes silent, a dropped session and reconnect, TLS, and AMT's refusal
//! of power changes while a session is open.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use metal_amt::sol::{SolErrorKind, SolEvent, SolOptions, SolSession};
use metal_amt::{Amt, Error, PowerPolicy};
use metal_sim::{Sim, SimConfig, SolFault};
use metal_test_support::loopback::Block;
use metal_types::PowerAction;
use metal_wsman::{Credentials, KnownHosts, TransportOptions};

const PASSWORD: &str = "Secr3t!pw";

/// One board on `block` with quick boot output and SOL heartbeats, then `tweak`.
async fn sim(block: &Block, tweak: impl FnOnce(&mut SimConfig)) -> Sim {
    metal_test_support::sim::start(block, 1, PASSWORD, |config| {
        config.boot_output_delay = Duration::from_millis(100);
        config.sol_heartbeat = Duration::from_millis(500);
        tweak(config);
    })
    .await
}

fn amt(ip: Ipv4Addr, password: &str, tls: bool) -> Amt {
    let endpoint = metal_amt::ports::wsman(ip.to_string(), tls);
    let options = Arc::new(TransportOptions {
        known_hosts: Arc::new(KnownHosts::in_memory()),
        ..TransportOptions::default()
    });
    Amt::new(
        endpoint,
        Credentials {
            user: "admin".into(),
            password: password.into(),
        },
        options,
    )
    .with_policy(PowerPolicy {
        timeout: Duration::from_secs(5),
        interval: Duration::from_millis(50),
    })
}

fn options() -> SolOptions {
    SolOptions {
        heartbeat: Duration::from_millis(500),
        dead_after: Duration::from_secs(2),
        ..SolOptions::default()
    }
}

/// Reads output until `needle` appears; returns everything read.
async fn read_until(session: &mut SolSession, needle: &str, within: Duration) -> String {
    let mut text = Vec::new();
    let result = tokio::time::timeout(within, async {
        loop {
            match session.next_event().await {
                Ok(SolEvent::Data(d)) => {
                    text.extend_from_slice(&d);
                    if String::from_utf8_lossy(&text).contains(needle) {
                        return;
                    }
                }
                Ok(SolEvent::Controls { .. }) => {}
                other => panic!(
                    "while waiting for {needle:?}: {other:?}; so far {:?}",
                    String::from_utf8_lossy(&text)
                ),
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&text).into_owned();
    assert!(
        result.is_ok(),
        "no {needle:?} within {within:?}; got {text:?}"
    );
    text
}

async fn login(session: &mut SolSession) {
    session.send(b"\r").await.unwrap();
    read_until(session, "login: ", Duration::from_secs(5)).await;
    session.send(b"root\r").await.unwrap();
    read_until(session, "Password:", Duration::from_secs(5)).await;
    session.send(b"secret\r").await.unwrap();
    read_until(session, "# ", Duration::from_secs(5)).await;
}

#[tokio::test]
async fn login_echo_and_a_one_mebibyte_burst_in_order() {
    let block = Block::allocate();
    let sim = sim(&block, |_| {}).await;
    let board = &sim.boards()[0];
    let (mut session, readiness) = amt(board.ip(), PASSWORD, false)
        .open_sol(options())
        .await
        .unwrap();
    assert!(!readiness.enabled_sol && !readiness.enabled_listener);
    assert_eq!(session.firmware, (12, 0));
    login(&mut session).await;
    session.send(b"seq 200000\r").await.unwrap();
    let out = read_until(&mut session, "\n200000\r\n", Duration::from_secs(30)).await;
    let numbers: Vec<&str> = out
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .skip_while(|l| *l != "1")
        .take(200_000)
        .collect();
    assert!(out.len() > 1 << 20, "burst of {} bytes", out.len());
    assert_eq!(numbers.len(), 200_000);
    assert!(
        numbers
            .iter()
            .enumerate()
            .all(|(i, n)| n.parse::<usize>() == Ok(i + 1)),
        "lost or reordered output"
    );
    session.close().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn sol_is_enabled_over_wsman_when_it_is_off() {
    let block = Block::allocate();
    let sim = sim(&block, |c| c.sol_enabled = false).await;
    let board = &sim.boards()[0];
    assert!(!board.sol_enabled());
    let (mut session, readiness) = amt(board.ip(), PASSWORD, false)
        .open_sol(options())
        .await
        .unwrap();
    assert!(readiness.enabled_sol, "metal says it enabled SOL");
    assert!(board.sol_enabled());
    session.send(b"\r").await.unwrap();
    read_until(&mut session, "login: ", Duration::from_secs(5)).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_is_an_authentication_error() {
    let block = Block::allocate();
    let sim = sim(&block, |_| {}).await;
    let board = &sim.boards()[0];
    let options = Arc::new(TransportOptions::default());
    let creds = Credentials {
        user: "admin".into(),
        password: "wrong".into(),
    };
    let target = metal_amt::sol::SolTarget {
        endpoint: metal_amt::sol::SolEndpoint::new(board.ip().to_string(), false),
        credentials: &creds,
        known_hosts: &options.known_hosts,
    };
    let err = SolSession::open(target, options_fast())
        .await
        .err()
        .expect("refused");
    assert!(matches!(err.kind, SolErrorKind::Auth), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("{}:16994: ", block.first())),
        "{err}"
    );
    sim.shutdown().await;
}

fn options_fast() -> SolOptions {
    SolOptions {
        handshake_timeout: Duration::from_secs(3),
        ..options()
    }
}

#[tokio::test]
async fn a_board_that_goes_silent_is_detected_within_the_bound() {
    let block = Block::allocate();
    let sim = sim(&block, |_| {}).await;
    let board = &sim.boards()[0];
    let (mut session, _) = amt(board.ip(), PASSWORD, false)
        .open_sol(options())
        .await
        .unwrap();
    board.set_sol_fault(SolFault::Silent);
    let started = std::time::Instant::now();
    let err = loop {
        match session.next_event().await {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert!(matches!(err.kind, SolErrorKind::HeartbeatLost(_)), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "detected after {:?}",
        started.elapsed()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_dropped_session_reports_closed_and_a_new_one_opens() {
    let block = Block::allocate();
    let sim = sim(&block, |_| {}).await;
    let board = &sim.boards()[0];
    let mut a = amt(board.ip(), PASSWORD, false);
    let (mut session, _) = a.open_sol(options()).await.unwrap();
    board.set_sol_fault(SolFault::Drop);
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match session.next_event().await {
                Ok(SolEvent::Closed) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the drop was noticed");
    board.set_sol_fault(SolFault::None);
    let (mut again, _) = a.open_sol(options()).await.unwrap();
    again.send(b"\r").await.unwrap();
    read_until(&mut again, "login: ", Duration::from_secs(5)).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn cycle_is_refused_while_a_session_is_open_and_a_reset_shows_the_reboot() {
    let block = Block::allocate();
    let sim = sim(&block, |_| {}).await;
    let board = &sim.boards()[0];
    let (mut session, _) = amt(board.ip(), PASSWORD, false)
        .open_sol(options())
        .await
        .unwrap();
    // Intel: power cycle and power off are rejected while a SOL session is active.
    let err = amt(board.ip(), PASSWORD, false)
        .power(PowerAction::Cycle)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PowerRefused { code: 6, .. }), "{err}");
    assert!(err.to_string().contains("SOL"), "{err}");
    // A reset is allowed, and the console shows the host coming up again.
    amt(board.ip(), PASSWORD, false)
        .power(PowerAction::Reset)
        .await
        .unwrap();
    let boot = read_until(&mut session, "login: ", Duration::from_secs(10)).await;
    assert!(
        boot.contains("Booting from Hard Disk") || boot.contains("Booting from"),
        "{boot}"
    );
    session.close().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn sol_over_tls_with_the_pinned_certificate() {
    let block = Block::allocate();
    let sim = sim(&block, |c| c.tls = true).await;
    let board = &sim.boards()[0];
    let (mut session, _) = amt(board.ip(), PASSWORD, true)
        .open_sol(options())
        .await
        .unwrap();
    assert!(session.host().ends_with(":16995"), "{}", session.host());
    session.send(b"\r").await.unwrap();
    read_until(&mut session, "login: ", Duration::from_secs(5)).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn older_firmware_still_authenticates() {
    let block = Block::allocate();
    let sim = sim(&block, |c| c.profile = metal_sim::Profile::Amt9).await;
    let board = &sim.boards()[0];
    let (mut session, _) = amt(board.ip(), PASSWORD, false)
        .open_sol(options())
        .await
        .unwrap();
    assert_eq!(session.firmware.0, 9);
    session.send(b"\r").await.unwrap();
    read_until(&mut session, "login: ", Duration::from_secs(5)).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn our_heartbeats_keep_an_idle_session_open() {
    // The simulated board closes a session whose client stays silent for five of its 500 ms
    // heartbeat intervals; an idle metal session must survive well past that.
    let block = Block::allocate();
    let sim = sim(&block, |_| {}).await;
    let board = &sim.boards()[0];
    let (mut session, _) = amt(board.ip(), PASSWORD, false)
        .open_sol(options())
        .await
        .unwrap();
    let idle = tokio::time::timeout(Duration::from_secs(4), async {
        loop {
            match session.next_event().await {
                Ok(SolEvent::Data(_) | SolEvent::Controls { .. }) => {}
                other => return other,
            }
        }
    })
    .await;
    assert!(idle.is_err(), "the session ended while idle: {idle:?}");
    session.send(b"\r").await.unwrap();
    read_until(&mut session, "login: ", Duration::from_secs(5)).await;
    sim.shutdown().await;
}
