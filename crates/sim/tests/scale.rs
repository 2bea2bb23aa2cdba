//! A thousand boards with TLS on (two thousand listeners, a thousand certificates) in one
//! process.

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::*;
use metal_test_support::loopback::Block;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_boards_start_answer_and_stop_quickly() {
    // 1000 listeners plus connections exceed the usual soft limit of 1024 descriptors.
    rlimit::increase_nofile_limit(4096).expect("raise the open-file limit");
    // 1000 boards need four /24 blocks.
    let span = Block::allocate_span(4);
    let first = span.first();
    let mut cfg = config(first, 1000);
    cfg.tls = true;
    let t = Instant::now();
    let sim = start(cfg).await;
    let started = t.elapsed();
    assert!(started < Duration::from_secs(10), "start took {started:?}");
    let boards = sim.boards();
    assert_eq!(boards.len(), 1000);
    let last = boards[999].ip();
    assert_eq!(last, span.ip(1000));
    for ip in [first, last] {
        let mut c = Client::new(ip);
        let r = c.call(&get("CIM_Chassis", &[])).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            texts(&r.text(), "SerialNumber"),
            [sim.board(ip).unwrap().serial()]
        );
    }
    let stats = sim.stats();
    assert_eq!(stats.requests, 4);
    assert_eq!(stats.unauthorized, 2);
    assert_eq!(stats.max_requests_per_board, 2);
    assert_eq!(stats.max_unauthorized_per_board, 1);
    let t = Instant::now();
    sim.shutdown().await;
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        t.elapsed()
    );
    // Every listener is closed after shutdown.
    assert!(tokio::net::TcpStream::connect((last, 16992)).await.is_err());
}

#[tokio::test]
async fn bind_failure_names_the_address() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(config(ip, 1)).await;
    let err = metal_sim::Sim::start(config(ip, 1)).await.unwrap_err();
    assert!(err.to_string().contains(&format!("{ip}:16992")), "{err}");
    sim.shutdown().await;
}

#[tokio::test]
async fn invalid_configs_are_refused() {
    let mut cfg = config(Ipv4Addr::new(255, 255, 255, 250), 10);
    let err = metal_sim::Sim::start(cfg.clone()).await.unwrap_err();
    assert!(matches!(err, metal_sim::SimError::Config(_)), "{err}");
    let block = Block::allocate();
    cfg = config(block.first(), 1);
    cfg.transition = Duration::MAX;
    assert!(metal_sim::Sim::start(cfg.clone()).await.is_err());
    cfg.transition = Duration::from_secs(1);
    cfg.page_size = 0;
    assert!(metal_sim::Sim::start(cfg).await.is_err());
}
