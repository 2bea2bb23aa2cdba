//! WS-Man over TLS on 16993 with each board's own self-signed certificate.

mod common;

use common::tls::tls_connect_with;
use common::*;
use metal_test_support::loopback::Block;
use sha2::{Digest, Sha256};

#[tokio::test]
async fn tls12_and_tls13_serve_wsman_with_the_boards_certificate() {
    let block = Block::allocate();
    let ip = block.first();
    let mut cfg = config(ip, 2);
    cfg.tls = true;
    let sim = start(cfg).await;
    let boards = sim.boards();
    assert_ne!(boards[0].tls_cert_der(), boards[1].tls_cert_der());
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let (mut conn, seen) = tls_connect_with(ip, Some(version)).await;
        let der = seen.seen.lock().unwrap().clone();
        assert_eq!(der, boards[0].tls_cert_der());
        let pin = Sha256::digest(&der);
        assert_eq!(pin.len(), 32);
        let r = conn.post(None, &get("CIM_Chassis", &[])).await.unwrap();
        assert_eq!(r.status, 401);
        let (realm, nonce, _) = challenge(r.header("WWW-Authenticate").unwrap());
        let (mut conn, _) = tls_connect_with(ip, Some(version)).await;
        let auth = authorization(USER, PASSWORD, &realm, &nonce, 1);
        let r = conn
            .post(Some(auth), &get("CIM_Chassis", &[]))
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert!(r.chunked);
        assert_eq!(texts(&r.text(), "SerialNumber"), [boards[0].serial()]);
    }
    // Plain HTTP is still served next to TLS.
    let mut c = connect(ip, 16992).await;
    assert_eq!(
        c.post(None, &get("CIM_Chassis", &[])).await.unwrap().status,
        401
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn regenerated_certificate_is_presented_to_new_connections() {
    let block = Block::allocate();
    let ip = block.first();
    let mut cfg = config(ip, 1);
    cfg.tls = true;
    let sim = start(cfg).await;
    let board = sim.board(ip).unwrap();
    let old = board.tls_cert_der();
    board.regenerate_tls_cert();
    let new = board.tls_cert_der();
    assert_ne!(old, new);
    let (_conn, seen) = tls_connect_with(ip, None).await;
    assert_eq!(*seen.seen.lock().unwrap(), new);
    sim.shutdown().await;
}
