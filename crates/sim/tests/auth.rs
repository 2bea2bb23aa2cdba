//! Digest authentication as AMT does it (amt-protocol.md §2b), checked with a raw client.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::*;
use metal_sim::SimEvent;
use metal_test_support::loopback::Block;

/// Gets a fresh challenge: (realm, nonce) from a request without credentials.
async fn fresh_challenge(ip: Ipv4Addr) -> (String, String) {
    let mut c = connect(ip, 16992).await;
    let r = c.post(None, &get("CIM_Chassis", &[])).await.unwrap();
    assert_eq!(r.status, 401);
    let (realm, nonce, stale) = challenge(r.header("WWW-Authenticate").unwrap());
    assert!(!stale);
    (realm, nonce)
}

#[tokio::test]
async fn challenge_has_amt_layout_and_closes_the_connection() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(config(ip, 1)).await;
    let board = sim.board(ip).unwrap();
    let mut c = connect(ip, 16992).await;
    let r = c.post(None, &get("CIM_Chassis", &[])).await.unwrap();
    assert_eq!(r.status, 401);
    let www = r.header("WWW-Authenticate").unwrap().to_string();
    let (realm, nonce, _) = challenge(&www);
    assert_eq!(realm, board.realm());
    assert_eq!(nonce.len(), 32);
    assert!(
        nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    );
    // Irregular spacing of real firmware: ", " after the realm, "," elsewhere.
    assert_eq!(
        www,
        format!("Digest realm=\"{realm}\", nonce=\"{nonce}\",stale=\"false\",qop=\"auth\"")
    );
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(r.text().contains("Incorrect user name or password"));
    assert!(
        c.closed_by_server().await,
        "server keeps a 401 connection open"
    );
    // A missing Authorization header is not a failed login.
    let reqs = board.requests();
    assert_eq!(reqs.len(), 1);
    assert!(!reqs[0].authenticated);
    assert_eq!(reqs[0].status, 401);
    sim.shutdown().await;
}

#[tokio::test]
async fn wrong_password_gets_401_and_close() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(config(ip, 1)).await;
    let (realm, nonce) = fresh_challenge(ip).await;
    let mut c = connect(ip, 16992).await;
    let auth = authorization(USER, "wrong", &realm, &nonce, 1);
    let r = c.post(Some(auth), &get("CIM_Chassis", &[])).await.unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(c.closed_by_server().await);
    // The right password with the same nonce still works (one failure < threshold).
    let mut c = connect(ip, 16992).await;
    let auth = authorization(USER, PASSWORD, &realm, &nonce, 2);
    let r = c.post(Some(auth), &get("CIM_Chassis", &[])).await.unwrap();
    assert_eq!(r.status, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn empty_response_is_refused_and_counted() {
    let block = Block::allocate();
    let ip = block.first();
    let mut cfg = config(ip, 1);
    cfg.lockout_threshold = 2;
    let sim = start(cfg).await;
    let mut events = sim.events();
    let (realm, nonce) = fresh_challenge(ip).await;
    // CVE-2017-5689: an empty response must not authenticate.
    let empty = format!(
        "Digest username=\"{USER}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"/wsman\", response=\"\", qop=auth, nc=00000001, cnonce=\"ab\""
    );
    for _ in 0..2 {
        let mut c = connect(ip, 16992).await;
        let r = c
            .post(Some(empty.clone()), &get("CIM_Chassis", &[]))
            .await
            .unwrap();
        assert_eq!(r.status, 401);
    }
    // Two empty responses reached the threshold of 2: the account is locked now, which
    // shows that they were counted as failed attempts.
    let mut locked = false;
    while let Ok(ev) = events.try_recv() {
        locked |= matches!(ev, SimEvent::Locked { .. });
    }
    assert!(locked, "empty responses were not counted as failed logins");
    let mut c = connect(ip, 16992).await;
    let auth = authorization(USER, PASSWORD, &realm, &nonce, 5);
    let r = c.post(Some(auth), &get("CIM_Chassis", &[])).await.unwrap();
    assert_eq!(r.status, 401, "locked account accepted a login");
    sim.shutdown().await;
}

#[tokio::test]
async fn lockout_refuses_even_the_right_password_until_it_expires() {
    let block = Block::allocate();
    let ip = block.first();
    let mut cfg = config(ip, 1);
    cfg.lockout_threshold = 3;
    cfg.lockout = Duration::from_millis(800);
    let sim = start(cfg).await;
    let mut events = sim.events();
    let (realm, nonce) = fresh_challenge(ip).await;
    for nc in 1..=3 {
        let mut c = connect(ip, 16992).await;
        let auth = authorization(USER, "guess", &realm, &nonce, nc);
        assert_eq!(
            c.post(Some(auth), &get("CIM_Chassis", &[]))
                .await
                .unwrap()
                .status,
            401
        );
    }
    let ev = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            if let Ok(SimEvent::Locked { ip: locked }) = events.recv().await {
                return locked;
            }
        }
    })
    .await
    .expect("Locked event");
    assert_eq!(ev, ip);
    let mut c = connect(ip, 16992).await;
    let auth = authorization(USER, PASSWORD, &realm, &nonce, 10);
    assert_eq!(
        c.post(Some(auth), &get("CIM_Chassis", &[]))
            .await
            .unwrap()
            .status,
        401
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    let mut c = connect(ip, 16992).await;
    let auth = authorization(USER, PASSWORD, &realm, &nonce, 11);
    assert_eq!(
        c.post(Some(auth), &get("CIM_Chassis", &[]))
            .await
            .unwrap()
            .status,
        200
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn nonce_reused_preemptively_with_growing_nc_on_one_connection() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(config(ip, 1)).await;
    let (realm, nonce) = fresh_challenge(ip).await;
    let mut c = connect(ip, 16992).await;
    for nc in 1..=3 {
        let auth = authorization(USER, PASSWORD, &realm, &nonce, nc);
        let r = c.post(Some(auth), &get("CIM_Chassis", &[])).await.unwrap();
        assert_eq!(r.status, 200, "nc={nc}");
        assert_ne!(r.header("Connection"), Some("close"));
    }
    let board = sim.board(ip).unwrap();
    let authed = board.requests().iter().filter(|r| r.authenticated).count();
    assert_eq!(authed, 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn replayed_nc_is_stale_and_not_a_failed_attempt() {
    let block = Block::allocate();
    let ip = block.first();
    let mut cfg = config(ip, 1);
    cfg.lockout_threshold = 1;
    let sim = start(cfg).await;
    let (realm, nonce) = fresh_challenge(ip).await;
    let mut c = connect(ip, 16992).await;
    let auth = authorization(USER, PASSWORD, &realm, &nonce, 2);
    assert_eq!(
        c.post(Some(auth.clone()), &get("CIM_Chassis", &[]))
            .await
            .unwrap()
            .status,
        200
    );
    for replay in [auth, authorization(USER, PASSWORD, &realm, &nonce, 1)] {
        let mut c = connect(ip, 16992).await;
        let r = c
            .post(Some(replay), &get("CIM_Chassis", &[]))
            .await
            .unwrap();
        assert_eq!(r.status, 401);
        let (_, new_nonce, stale) = challenge(r.header("WWW-Authenticate").unwrap());
        assert!(stale, "replay not marked stale");
        assert_ne!(new_nonce, nonce);
    }
    // With a threshold of 1 any counted failure would have locked the account.
    let mut c = connect(ip, 16992).await;
    let auth = authorization(USER, PASSWORD, &realm, &nonce, 3);
    assert_eq!(
        c.post(Some(auth), &get("CIM_Chassis", &[]))
            .await
            .unwrap()
            .status,
        200
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn identify_needs_no_credentials() {
    let block = Block::allocate();
    let ip = block.first();
    let mut cfg = config(ip, 1);
    cfg.profile = metal_sim::Profile::Amt11;
    let sim = start(cfg).await;
    let body = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>"#;
    let mut c = connect(ip, 16992).await;
    let r = c.post(None, body).await.unwrap();
    assert_eq!(r.status, 200);
    let x = r.text();
    assert_eq!(
        texts(&x, "ProtocolVersion"),
        ["http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"]
    );
    assert_eq!(texts(&x, "ProductVendor"), ["Intel Corporation"]);
    assert_eq!(texts(&x, "ProductVersion"), ["AMT 11.8"]);
    sim.shutdown().await;
}
