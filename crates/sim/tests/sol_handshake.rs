//! The redirection handshake and authentication, byte for byte (amt-protocol.md §2c, §6).

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::sol::*;
use common::*;
use metal_sim::{Profile, SimConfig, SimEvent, SolAuth};
use metal_test_support::loopback::Block;

fn sol_config(ip: Ipv4Addr, profile: Profile) -> SimConfig {
    SimConfig {
        profile,
        boot_output_delay: Duration::from_millis(20),
        ..config(ip, 1)
    }
}

#[tokio::test]
async fn amt12_handshake_is_byte_exact() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(sol_config(ip, Profile::Amt12)).await;
    let mut events = sim.events();
    let mut c = sol_connect(ip, SOL_PORT).await;
    c.send(&START_SOL_SESSION).await;
    assert_eq!(
        c.exact(13).await.unwrap(),
        [
            0x11, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0c, 0x00, 0x57, 0x01, 0x00, 0x00, 0x00
        ]
    );
    c.send(&QUERY).await;
    assert_eq!(
        c.auth_reply().await,
        [0x14, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04]
    );
    c.send(&digest_step1(USER)).await;
    let challenge = c.auth_reply().await;
    let realm = sim.board(ip).unwrap().realm();
    let (r, nonce, qop) = challenge_fields(&challenge[9..]);
    assert_eq!((r.as_str(), qop.as_str()), (realm.as_str(), "auth"));
    assert_eq!(nonce.len(), 32);
    let mut expected = vec![0x14, 0x01, 0x00, 0x00, 0x04];
    expected.extend_from_slice(&((3 + realm.len() + 32 + 4) as u32).to_le_bytes());
    expected.push(realm.len() as u8);
    expected.extend_from_slice(realm.as_bytes());
    expected.push(32);
    expected.extend_from_slice(nonce.as_bytes());
    expected.extend_from_slice(b"\x04auth");
    assert_eq!(challenge, expected);
    let response = digest_response(USER, PASSWORD, &realm, &nonce);
    c.send(&digest_step2(USER, &realm, &nonce, &response)).await;
    assert_eq!(c.auth_reply().await, AUTH_OK_DIGEST);
    c.send(&start_sol(1000)).await;
    let mut reply = vec![0x21, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00];
    // MaxTxBuffer 1000, the client's timeouts, then the board's heartbeat (2000 ms).
    for v in [1000u16, 100, 0, 10000, 0, 2000] {
        reply.extend_from_slice(&v.to_le_bytes());
    }
    reply.extend_from_slice(&[0, 0, 0]);
    assert_eq!(c.exact(23).await.unwrap(), reply);
    let opened = loop {
        match events.recv().await.unwrap() {
            e @ SimEvent::SolOpened { .. } => break e,
            _ => continue,
        }
    };
    assert_eq!(
        opened,
        SimEvent::SolOpened {
            ip,
            auth: SolAuth::Digest
        }
    );
    assert_eq!(
        opened.to_string(),
        format!("{ip} sol session opened (digest)")
    );
    assert_eq!(sim.board(ip).unwrap().sol_sessions(), 1);
}

#[tokio::test]
async fn firmware_version_and_methods_follow_the_profile() {
    let block = Block::allocate();
    for (i, profile, version, methods) in [
        (1, Profile::Amt9, [0x09, 0x01], &[0x01, 0x04][..]),
        (2, Profile::Amt11, [0x0b, 0x08], &[0x04][..]),
    ] {
        let ip = block.ip(i);
        let sim = start(sol_config(ip, profile)).await;
        let mut c = sol_connect(ip, SOL_PORT).await;
        c.send(&START_SOL_SESSION).await;
        let reply = c.exact(13).await.unwrap();
        // The AMT 11.8 capture: 11:00:00:00:01:00:0b:08:57:01:00:00:00.
        assert_eq!(&reply[6..8], &version);
        assert_eq!(&reply[..6], &[0x11, 0, 0, 0, 1, 0]);
        c.send(&QUERY).await;
        let mut expected = vec![0x14, 0, 0, 0, 0, methods.len() as u8, 0, 0, 0];
        expected.extend_from_slice(methods);
        assert_eq!(c.auth_reply().await, expected);
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn ider_and_kvm_are_unsupported() {
    let block = Block::allocate();
    let ip = block.first();
    let _sim = start(sol_config(ip, Profile::Amt12)).await;
    for start_msg in [
        [0x10, 0x00, 0x00, 0x00, 0x49, 0x44, 0x45, 0x52],
        [0x10, 0x01, 0x00, 0x00, 0x4B, 0x56, 0x4D, 0x52],
    ] {
        let mut c = sol_connect(ip, SOL_PORT).await;
        c.send(&start_msg).await;
        let reply = c.exact(13).await.unwrap();
        assert_eq!(
            reply,
            [
                0x11, 0x03, 0x00, 0x00, 0x01, 0x00, 0x0c, 0x00, 0x57, 0x01, 0x00, 0x00, 0x00
            ]
        );
        assert!(c.closed().await);
    }
}

#[tokio::test]
async fn wrong_digest_password_is_refused_and_closed() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(sol_config(ip, Profile::Amt12)).await;
    let mut c = sol_connect(ip, SOL_PORT).await;
    c.send(&START_SOL_SESSION).await;
    c.exact(13).await.unwrap();
    let reply = c.digest(USER, "not-the-password").await;
    assert_eq!(
        reply,
        [0x14, 0x02, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00]
    );
    assert!(c.closed().await);
    assert_eq!(sim.board(ip).unwrap().sol_sessions(), 0);
}

#[tokio::test]
async fn empty_digest_response_is_refused() {
    // CVE-2017-5689: AMT 6.0–11.6 accepted response="".
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(sol_config(ip, Profile::Amt11)).await;
    let mut c = sol_connect(ip, SOL_PORT).await;
    c.send(&START_SOL_SESSION).await;
    c.exact(13).await.unwrap();
    c.send(&digest_step1(USER)).await;
    let challenge = c.auth_reply().await;
    let (realm, nonce, _) = challenge_fields(&challenge[9..]);
    c.send(&digest_step2(USER, &realm, &nonce, "")).await;
    assert_eq!(c.auth_reply().await[..2], [0x14, 0x02]);
    assert!(c.closed().await);
    assert_eq!(sim.board(ip).unwrap().sol_sessions(), 0);
}

#[tokio::test]
async fn plain_auth_on_amt9_without_a_query() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(sol_config(ip, Profile::Amt9)).await;
    let mut c = sol_connect(ip, SOL_PORT).await;
    c.send(&START_SOL_SESSION).await;
    assert_eq!(c.exact(13).await.unwrap()[..8], [0x11, 0, 0, 0, 1, 0, 9, 1]);
    c.send(&plain(USER, PASSWORD)).await;
    assert_eq!(c.auth_reply().await, [0x14, 0, 0, 0, 1, 0, 0, 0, 0]);
    c.send(&start_sol(1000)).await;
    assert_eq!(c.exact(23).await.unwrap()[..2], [0x21, 0x00]);
    assert_eq!(sim.board(ip).unwrap().sol_sessions(), 1);

    // A wrong plain password is refused.
    let ip2 = block.ip(2);
    let _sim2 = start(sol_config(ip2, Profile::Amt9)).await;
    let mut c = sol_connect(ip2, SOL_PORT).await;
    c.send(&START_SOL_SESSION).await;
    c.exact(13).await.unwrap();
    c.send(&plain(USER, "nope")).await;
    assert_eq!(c.auth_reply().await, [0x14, 0x02, 0, 0, 1, 0, 0, 0, 0]);
    assert!(c.closed().await);
}

#[tokio::test]
async fn plain_auth_is_refused_from_amt11_on() {
    let block = Block::allocate();
    for (i, profile) in [(1, Profile::Amt11), (2, Profile::Amt12)] {
        let ip = block.ip(i);
        let sim = start(sol_config(ip, profile)).await;
        let mut c = sol_connect(ip, SOL_PORT).await;
        c.send(&START_SOL_SESSION).await;
        c.exact(13).await.unwrap();
        c.send(&plain(USER, PASSWORD)).await;
        assert_eq!(c.auth_reply().await, [0x14, 0x02, 0, 0, 1, 0, 0, 0, 0]);
        assert!(c.closed().await);
        assert_eq!(sim.board(ip).unwrap().sol_sessions(), 0);
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn sol_failures_count_towards_the_board_lockout() {
    let block = Block::allocate();
    let ip = block.first();
    let cfg = SimConfig {
        lockout_threshold: 3,
        lockout: Duration::from_secs(60),
        ..sol_config(ip, Profile::Amt12)
    };
    let sim = start(cfg).await;
    let mut events = sim.events();
    for _ in 0..3 {
        let mut c = sol_connect(ip, SOL_PORT).await;
        c.send(&START_SOL_SESSION).await;
        c.exact(13).await.unwrap();
        assert_eq!(c.digest(USER, "wrong").await[1], 0x02);
    }
    let locked = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            if let Ok(SimEvent::Locked { .. }) = events.recv().await {
                return;
            }
        }
    })
    .await;
    assert!(locked.is_ok(), "no Locked event");
    // Locked: the right password is refused on SOL and on /wsman.
    let mut c = sol_connect(ip, SOL_PORT).await;
    c.send(&START_SOL_SESSION).await;
    c.exact(13).await.unwrap();
    assert_eq!(c.digest(USER, PASSWORD).await[1], 0x02);
    let mut w = connect(ip, 16992).await;
    let r = w.post(None, &get("CIM_Chassis", &[])).await.unwrap();
    let (realm, nonce, _) = challenge(r.header("WWW-Authenticate").unwrap());
    let mut w = connect(ip, 16992).await;
    let r = w
        .post(
            Some(authorization(USER, PASSWORD, &realm, &nonce, 1)),
            &get("CIM_Chassis", &[]),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn a_second_session_is_busy() {
    let block = Block::allocate();
    let ip = block.first();
    let _sim = start(sol_config(ip, Profile::Amt12)).await;
    let mut first = sol_connect(ip, SOL_PORT).await;
    first.open().await;
    let mut second = sol_connect(ip, SOL_PORT).await;
    second.send(&START_SOL_SESSION).await;
    assert_eq!(second.exact(13).await.unwrap()[..2], [0x11, 0x02]);
    assert!(second.closed().await);
}

#[tokio::test]
async fn out_of_order_and_unknown_messages_close_the_connection() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(sol_config(ip, Profile::Amt12)).await;
    // StartSOLRedirection before authenticating.
    let mut c = sol_connect(ip, SOL_PORT).await;
    c.send(&START_SOL_SESSION).await;
    c.exact(13).await.unwrap();
    c.send(&start_sol(1000)).await;
    assert!(c.closed().await);
    // An unknown message type.
    let mut c = sol_connect(ip, SOL_PORT).await;
    c.send(&[0x99, 0, 0, 0, 0, 0, 0, 0]).await;
    assert!(c.closed().await);
    assert_eq!(sim.board(ip).unwrap().sol_sessions(), 0);
}
