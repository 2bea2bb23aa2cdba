//! Arbitrary bytes on the redirection port, before or after a valid handshake, never panic
//! the simulator, and the board keeps serving WS-Man and SOL afterwards.

mod common;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::sol::*;
use common::*;
use metal_sim::SimConfig;
use metal_test_support::loopback::Block;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tokio::io::AsyncReadExt;

/// Prefixes that bring the connection to each phase of the protocol.
#[derive(Debug, Clone, Copy)]
enum Phase {
    Fresh,
    Started,
    Challenged,
    Sol,
}

async fn case(ip: Ipv4Addr, phase: Phase, tail: &[u8]) {
    let mut c = sol_connect(ip, SOL_PORT).await;
    match phase {
        Phase::Fresh => {}
        Phase::Started => {
            c.send(&START_SOL_SESSION).await;
            c.exact(13).await;
        }
        Phase::Challenged => {
            c.send(&START_SOL_SESSION).await;
            c.exact(13).await;
            c.send(&digest_step1(USER)).await;
            c.auth_reply().await;
        }
        Phase::Sol => c.open().await,
    }
    // The board may already have closed (a refusal); a failed write is fine then.
    let _ = tokio::io::AsyncWriteExt::write_all(&mut c.stream, tail).await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_millis(20), c.stream.read(&mut sink)).await;
}

#[test]
fn arbitrary_bytes_never_panic_the_board() {
    let panics = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&panics);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        seen.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let block = Block::allocate();
    let ip = block.first();
    let sim = rt.block_on(start(SimConfig {
        boot_output_delay: Duration::ZERO,
        ..config(ip, 1)
    }));
    let board = sim.board(ip).unwrap();
    let strategy = (
        prop_oneof![
            Just(Phase::Fresh),
            Just(Phase::Started),
            Just(Phase::Challenged),
            Just(Phase::Sol)
        ],
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..512),
            // Plausible message types with random bodies.
            (
                prop_oneof![
                    Just(0x10u8),
                    Just(0x12),
                    Just(0x13),
                    Just(0x20),
                    Just(0x22),
                    Just(0x24),
                    Just(0x27),
                    Just(0x28),
                    Just(0x2B)
                ],
                proptest::collection::vec(any::<u8>(), 0..64)
            )
                .prop_map(|(t, mut body)| {
                    body.insert(0, t);
                    body
                }),
        ],
    );
    let mut runner = TestRunner::new(Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |(phase, tail)| {
            rt.block_on(async {
                // One session at a time: wait for the previous one to be gone.
                for _ in 0..400 {
                    if board.sol_sessions() == 0 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                case(ip, phase, &tail).await;
            });
            if panics.load(Ordering::SeqCst) > 0 {
                return Err(TestCaseError::fail("the simulator panicked"));
            }
            Ok(())
        })
        .unwrap();
    rt.block_on(async {
        let mut w = Client::new(ip);
        let r = w.call(&get("CIM_Chassis", &[])).await;
        assert_eq!(r.status, 200);
        for _ in 0..400 {
            if board.sol_sessions() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut c = sol_connect(ip, SOL_PORT).await;
        c.open().await;
        c.type_keys("\r").await;
        c.until(" login: ").await;
    });
    assert_eq!(panics.load(Ordering::SeqCst), 0);
    rt.block_on(sim.shutdown());
}
