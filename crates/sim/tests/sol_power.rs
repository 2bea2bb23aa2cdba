//! SOL enablement over WS-Man, power changes during a session, reboots with and without a
//! session, SOL faults, and SOL over TLS (amt-protocol.md §2a "Enabling SOL" and Intel's
//! caveat, §2c).

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::sol::*;
use common::*;
use metal_sim::{Profile, SimConfig, SimEvent, SolFault};
use metal_test_support::loopback::Block;

fn sol_config(ip: Ipv4Addr) -> SimConfig {
    SimConfig {
        boot_output_delay: Duration::from_millis(30),
        transition: Duration::from_millis(100),
        ..config(ip, 1)
    }
}

fn redirection_put(state: u16, listener: bool) -> String {
    envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Put",
        &uri("AMT_RedirectionService"),
        &[
            ("CreationClassName", "AMT_RedirectionService"),
            ("Name", "Intel(r) AMT Redirection Service"),
            ("SystemCreationClassName", "CIM_ComputerSystem"),
            ("SystemName", "Intel(r) AMT"),
        ],
        &format!(
            "<r:AMT_RedirectionService xmlns:r=\"{}\"><r:EnabledState>{state}</r:EnabledState><r:ListenerEnabled>{listener}</r:ListenerEnabled></r:AMT_RedirectionService>",
            uri("AMT_RedirectionService")
        ),
    )
}

async fn start_status(ip: Ipv4Addr) -> u8 {
    let mut c = sol_connect(ip, SOL_PORT).await;
    c.send(&START_SOL_SESSION).await;
    c.exact(13).await.expect("a StartRedirectionSessionReply")[1]
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn disabled_sol_is_refused_until_enabled_over_wsman() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(SimConfig {
        sol_enabled: false,
        ..sol_config(ip)
    })
    .await;
    let board = sim.board(ip).unwrap();
    assert!(!board.sol_enabled());
    let mut w = Client::new(ip);
    let r = w.call(&get("AMT_RedirectionService", &[])).await;
    assert_eq!(texts(&r.text(), "EnabledState"), ["32768"]);
    assert_eq!(start_status(ip).await, 0xFF);

    let rv = return_value(
        &mut w,
        &invoke(
            "AMT_RedirectionService",
            "RequestStateChange",
            "<h:RequestedState>32771</h:RequestedState>",
        ),
    )
    .await;
    assert_eq!(rv, 0);
    assert!(board.sol_enabled());
    let mut c = sol_connect(ip, SOL_PORT).await;
    c.open().await;
    drop(c);

    // ListenerEnabled=false closes the port; Put it back and it listens again.
    let r = w.call(&redirection_put(32771, false)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!board.sol_enabled());
    let addr = SocketAddr::from((ip, SOL_PORT));
    wait_until("the SOL port to close", || {
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err()
    })
    .await;
    w.call(&redirection_put(32770, true)).await;
    wait_until("the SOL port to open", || {
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    })
    .await;
    board.set_sol_enabled(false);
    assert_eq!(start_status(ip).await, 0xFF);
    board.set_sol_enabled(true);
    assert_eq!(start_status(ip).await, 0x00);
}

#[tokio::test]
async fn power_off_and_cycle_are_refused_during_a_session_reset_is_not() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(sol_config(ip)).await;
    let board = sim.board(ip).unwrap();
    let mut events = sim.events();
    let mut c = sol_connect(ip, SOL_PORT).await;
    c.open().await;
    let mut w = Client::new(ip);
    for state in [5, 8, 12] {
        assert_eq!(return_value(&mut w, &power_change(state)).await, 6);
    }
    let refused = loop {
        if let e @ SimEvent::PowerRefused { .. } = events.recv().await.unwrap() {
            break e;
        }
    };
    assert_eq!(
        refused.to_string(),
        format!("{ip} power change to 5 refused: a SOL session is open")
    );
    assert_eq!(board.power_state(), 2);
    // A reset is allowed, and the session shows the reboot.
    assert_eq!(return_value(&mut w, &power_change(10)).await, 0);
    let text = c.until(&format!("{} login: ", board.hostname())).await;
    assert!(text.contains("BIOS Version"), "{text}");
    assert!(text.contains("Booting from Hard Disk..."), "{text}");
    // Once the session is closed, power off works again.
    c.send(&[0x22, 0, 0, 0, 1, 0, 0, 0]).await;
    while !matches!(c.frame().await, Some(Frame::EndSolReply(_)) | None) {}
    c.send(&[0x12, 0, 0, 0]).await;
    wait_until("the session to end", || board.sol_sessions() == 0).await;
    assert_eq!(return_value(&mut w, &power_change(8)).await, 0);
}

#[tokio::test]
async fn power_on_during_a_session_sends_a_control_message_and_boots_pxe() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(sol_config(ip)).await;
    let board = sim.board(ip).unwrap();
    board.set_power_state(8);
    let mut c = sol_connect(ip, SOL_PORT).await;
    c.open().await;
    // One-shot PXE (amt-protocol.md §2a steps 4-5), then power on.
    let mut w = Client::new(ip);
    let role = invoke(
        "CIM_BootService",
        "SetBootConfigRole",
        &format!(
            "<h:BootConfigSetting>{}</h:BootConfigSetting><h:Role>1</h:Role>",
            epr(
                "CIM_BootConfigSetting",
                "Intel(r) AMT: Boot Configuration 0"
            )
        ),
    );
    assert_eq!(return_value(&mut w, &role).await, 0);
    let order = invoke(
        "CIM_BootConfigSetting",
        "ChangeBootOrder",
        &format!(
            "<h:Source>{}</h:Source>",
            epr("CIM_BootSourceSetting", "Intel(r) AMT: Force PXE Boot")
        ),
    );
    assert_eq!(return_value(&mut w, &order).await, 0);
    assert_eq!(return_value(&mut w, &power_change(2)).await, 0);
    let status = loop {
        match c.frame().await.expect("session open") {
            Frame::Control { status, .. } => break status,
            Frame::Heartbeat(_) => {}
            other => panic!("expected 0x29 first, got {other:?}"),
        }
    };
    assert_eq!(status & 4, 4, "system powered on");
    let text = c.until(&format!("{} login: ", board.hostname())).await;
    assert!(text.contains("Booting from PXE...\r\niPXE"), "{text}");
    assert!(!text.contains("Hard Disk"));
    // The getty knows how it booted.
    c.type_keys("root\rpw\rcat /proc/cmdline\r").await;
    let out = c.until("ip=dhcp").await;
    assert!(
        out.contains("\r\ninitrd=initrd.img ip=dhcp BOOTIF=01-"),
        "{out}"
    );
}

#[tokio::test]
async fn reboot_without_a_session_then_reconnect() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(sol_config(ip)).await;
    let board = sim.board(ip).unwrap();
    let host = board.hostname();
    let mut w = Client::new(ip);
    assert_eq!(return_value(&mut w, &power_change(10)).await, 0);
    let prompt = format!("{host} login: ");
    wait_until("the boot output", || {
        String::from_utf8_lossy(&board.console_output()).ends_with(&prompt)
    })
    .await;
    let history = String::from_utf8_lossy(&board.console_output()).into_owned();
    assert!(
        history.contains("Intel(R) Client Systems NUC9V7QNX"),
        "{history}"
    );
    assert!(history.contains("[    0.000000] Linux version"));
    // A new session sees only what is printed from now on, not the boot it missed.
    let mut c = sol_connect(ip, SOL_PORT).await;
    c.open().await;
    c.type_keys("\r").await;
    let text = c.until(&prompt).await;
    assert_eq!(text, format!("\r\n{prompt}"));
    // Power off stops the stream; nothing is echoed while the host is off.
    c.send(&[0x12, 0, 0, 0]).await;
    wait_until("the session to end", || board.sol_sessions() == 0).await;
    assert_eq!(return_value(&mut w, &power_change(8)).await, 0);
    wait_until("power off", || board.power_state() == 8).await;
    let mut c = sol_connect(ip, SOL_PORT).await;
    c.open().await;
    let before = board.console_output().len();
    c.type_keys("root\r").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(board.console_output().len(), before);
}

#[tokio::test]
async fn silent_fault_stops_heartbeats_and_data_until_cleared() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(SimConfig {
        sol_heartbeat: Duration::from_millis(100),
        ..sol_config(ip)
    })
    .await;
    let board = sim.board(ip).unwrap();
    let mut c = sol_connect(ip, SOL_PORT).await;
    c.open().await;
    assert!(matches!(c.frame().await, Some(Frame::Heartbeat(_))));
    board.set_sol_fault(SolFault::Silent);
    c.type_keys("\r").await;
    // Keep the board from timing the client out: heartbeats from the client side.
    let quiet = tokio::time::timeout(Duration::from_millis(600), async {
        loop {
            c.send(&[0x2B, 0, 0, 0, 1, 0, 0, 0]).await;
            tokio::select! {
                f = c.frame() => return f,
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "the board sent {quiet:?} while silent");
    board.set_sol_fault(SolFault::None);
    let text = c.until(" login: ").await;
    assert!(text.starts_with("\r\n"), "{text}");
}

#[tokio::test]
async fn drop_fault_closes_sessions_until_cleared() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(sol_config(ip)).await;
    let board = sim.board(ip).unwrap();
    let mut events = sim.events();
    let mut c = sol_connect(ip, SOL_PORT).await;
    c.open().await;
    board.set_sol_fault(SolFault::Drop);
    while c.frame().await.is_some() {}
    let reason = loop {
        if let SimEvent::SolClosed { reason, .. } = events.recv().await.unwrap() {
            break reason;
        }
    };
    assert_eq!(reason, "dropped (fault)");
    let mut again = sol_connect(ip, SOL_PORT).await;
    assert!(again.closed().await);
    board.set_sol_fault(SolFault::None);
    let mut again = sol_connect(ip, SOL_PORT).await;
    again.open().await;
    assert_eq!(board.sol_sessions(), 1);
}

#[tokio::test]
async fn sol_over_tls_on_16995_only_for_the_tls_only_profile() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(SimConfig {
        profile: Profile::Amt16TlsOnly,
        ..sol_config(ip)
    })
    .await;
    let board = sim.board(ip).unwrap();
    assert!(
        tokio::net::TcpStream::connect((ip, SOL_PORT))
            .await
            .is_err()
    );
    let (stream, seen) = common::tls::tls_stream(ip, SOL_TLS_PORT).await;
    assert_eq!(*seen.seen.lock().unwrap(), board.tls_cert_der());
    let mut c = Sol::new(stream);
    c.send(&START_SOL_SESSION).await;
    assert_eq!(
        c.exact(13).await.unwrap(),
        [
            0x11, 0x00, 0x00, 0x00, 0x01, 0x00, 0x10, 0x01, 0x57, 0x01, 0x00, 0x00, 0x00
        ]
    );
    assert_eq!(c.digest(USER, PASSWORD).await, AUTH_OK_DIGEST);
    c.send(&start_sol(0)).await;
    let reply = c.exact(23).await.unwrap();
    // MaxTxBuffer 0 from the client: the board uses 1 KiB frames.
    assert_eq!(&reply[..2], &[0x21, 0x00]);
    assert_eq!(u16::from_le_bytes([reply[8], reply[9]]), 1024);
    c.type_keys("\r").await;
    c.until(&format!("{} login: ", board.hostname())).await;
}
