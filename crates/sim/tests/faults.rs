//! Injected faults, one per kind, observed from a raw socket.

mod common;

use std::time::{Duration, Instant};

use common::*;
use metal_sim::Fault;
use metal_test_support::loopback::Block;
use tokio::io::AsyncReadExt;

#[tokio::test]
async fn latency_delays_every_answer_including_401() {
    let block = Block::allocate();
    let ip = block.first();
    let mut cfg = config(ip, 1);
    cfg.latency = Duration::from_millis(150);
    let sim = start(cfg).await;
    let board = sim.board(ip).unwrap();
    let t = Instant::now();
    let mut c = connect(ip, 16992).await;
    assert_eq!(
        c.post(None, &get("CIM_Chassis", &[])).await.unwrap().status,
        401
    );
    assert!(t.elapsed() >= Duration::from_millis(150), "401 not delayed");
    board.set_fault(Fault::Latency(Duration::from_millis(200)));
    let t = Instant::now();
    let mut c = Client::new(ip);
    assert_eq!(c.call(&get("CIM_Chassis", &[])).await.status, 200);
    // Two round trips (401 + 200), each 150 + 200 ms.
    assert!(
        t.elapsed() >= Duration::from_millis(700),
        "{:?}",
        t.elapsed()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn drop_closes_without_answering() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(config(ip, 1)).await;
    let board = sim.board(ip).unwrap();
    board.set_fault(Fault::Drop);
    let mut c = connect(ip, 16992).await;
    c.send("POST", "/wsman", &[], get("CIM_Chassis", &[]).as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(2), c.stream.read_to_end(&mut buf))
        .await
        .expect("socket closed")
        .unwrap_or(0);
    assert_eq!(n, 0, "answered: {}", String::from_utf8_lossy(&buf));
    assert_eq!(board.requests().last().unwrap().status, 0);
    board.set_fault(Fault::None);
    let mut c = connect(ip, 16992).await;
    assert_eq!(
        c.post(None, &get("CIM_Chassis", &[])).await.unwrap().status,
        401
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn http500_answers_500_and_closes() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(config(ip, 1)).await;
    sim.board(ip).unwrap().set_fault(Fault::Http500);
    let mut c = connect(ip, 16992).await;
    let r = c.post(None, &get("CIM_Chassis", &[])).await.unwrap();
    assert_eq!(r.status, 500);
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(c.closed_by_server().await);
    sim.shutdown().await;
}

#[tokio::test]
async fn hang_keeps_the_socket_open_and_silent() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(config(ip, 1)).await;
    sim.board(ip).unwrap().set_fault(Fault::Hang);
    let mut c = connect(ip, 16992).await;
    c.send("POST", "/wsman", &[], get("CIM_Chassis", &[]).as_bytes())
        .await
        .unwrap();
    let mut b = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_millis(800), c.stream.read(&mut b)).await;
    assert!(read.is_err(), "hung board answered or closed: {read:?}");
    // Shutdown must not wait for the hung request.
    tokio::time::timeout(Duration::from_secs(2), sim.shutdown())
        .await
        .expect("shutdown with a hung connection");
}

#[tokio::test]
async fn refuse_closes_the_listener_until_cleared() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(config(ip, 1)).await;
    let board = sim.board(ip).unwrap();
    board.set_fault(Fault::Refuse);
    let mut refused = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect((ip, 16992)).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "connections still accepted");
    board.set_fault(Fault::None);
    let mut ok = false;
    for _ in 0..50 {
        if let Ok(s) = tokio::net::TcpStream::connect((ip, 16992)).await {
            let mut c = Conn::new(s);
            ok = c
                .post(None, &get("CIM_Chassis", &[]))
                .await
                .is_ok_and(|r| r.status == 401);
            if ok {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "listener did not come back");
    sim.shutdown().await;
}
