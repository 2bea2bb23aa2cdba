//! SOL data both ways, the getty, large bursts, heartbeats, keep-alives and the orderly close
//! (amt-protocol.md §2c).

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::sol::*;
use common::*;
use metal_sim::{SimConfig, SimEvent};
use metal_test_support::loopback::Block;

fn sol_config(ip: Ipv4Addr) -> SimConfig {
    SimConfig {
        boot_output_delay: Duration::from_millis(20),
        ..config(ip, 1)
    }
}

async fn login<S>(c: &mut Sol<S>, host: &str)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    c.type_keys("\r").await;
    c.until(&format!("{host} login: ")).await;
    c.type_keys("root\r").await;
    assert!(c.until("Password: ").await.contains("root\r\n"));
    c.type_keys("secret\r").await;
    let after = c.until(&format!("root@{host}:~# ")).await;
    assert!(
        !after.contains("secret"),
        "the password was echoed: {after:?}"
    );
}

#[tokio::test]
async fn typed_characters_are_echoed() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(sol_config(ip)).await;
    let host = sim.board(ip).unwrap().hostname();
    let mut c = sol_connect(ip, SOL_PORT).await;
    c.open().await;
    c.type_keys("\r").await;
    c.until(&format!("{host} login: ")).await;
    c.type_keys("root\r").await;
    let echoed = c.until("Password: ").await;
    assert_eq!(echoed, "root\r\nPassword: ");
    assert!(
        String::from_utf8_lossy(&sim.board(ip).unwrap().console_output())
            .contains("root\r\nPassword: ")
    );
}

#[tokio::test]
async fn a_megabyte_of_output_arrives_complete_and_in_order() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(sol_config(ip)).await;
    let host = sim.board(ip).unwrap().hostname();
    let mut c = sol_connect(ip, SOL_PORT).await;
    c.open().await;
    login(&mut c, &host).await;
    c.type_keys("uname -a\r").await;
    assert!(
        c.until(&format!("root@{host}:~# "))
            .await
            .contains(&format!("Linux {host} 6.1.0"))
    );
    c.type_keys("seq 200000\r").await;
    let prompt = format!("root@{host}:~# ");
    let mut text = Vec::new();
    let mut last_seq = None;
    let mut frames = 0;
    loop {
        if let Frame::Data { seq, data } = c.frame().await.expect("session open") {
            assert!(data.len() <= 1000, "frame larger than MaxTxBuffer");
            if let Some(prev) = last_seq {
                assert_eq!(seq, prev + 1, "data sequence numbers count up by one");
            }
            last_seq = Some(seq);
            frames += 1;
            text.extend(data);
            if text.ends_with(prompt.as_bytes()) {
                break;
            }
        }
    }
    let expected: String = (1..=200_000).map(|n| format!("{n}\r\n")).collect();
    let text = String::from_utf8(text).unwrap();
    let body = text
        .strip_prefix("seq 200000\r\n")
        .and_then(|t| t.strip_suffix(&prompt))
        .expect("echo, numbers, prompt");
    assert!(body.len() >= 1 << 20, "{} bytes", body.len());
    assert!(body == expected, "output lost or reordered");
    assert!(frames > 1000);
}

#[tokio::test]
async fn heartbeats_arrive_periodically_and_pings_are_echoed() {
    let block = Block::allocate();
    let ip = block.first();
    let cfg = SimConfig {
        sol_heartbeat: Duration::from_millis(100),
        ..sol_config(ip)
    };
    let _sim = start(cfg).await;
    let mut c = sol_connect(ip, SOL_PORT).await;
    c.open().await;
    let t0 = Instant::now();
    let mut seqs = Vec::new();
    while seqs.len() < 5 {
        if let Some(Frame::Heartbeat(seq)) = c.frame().await {
            seqs.push(seq);
        }
    }
    let took = t0.elapsed();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(2),
        "{took:?}"
    );
    c.send(&[0x24, 0, 0, 0, 9, 0, 0, 0]).await;
    loop {
        match c.frame().await {
            Some(Frame::Ping(9)) => break,
            Some(Frame::Heartbeat(_)) => {}
            other => panic!("expected the ping echo, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_silent_client_is_dropped_after_five_heartbeats() {
    let block = Block::allocate();
    let ip = block.first();
    let cfg = SimConfig {
        sol_heartbeat: Duration::from_millis(50),
        ..sol_config(ip)
    };
    let sim = start(cfg).await;
    let mut events = sim.events();
    let mut c = sol_connect(ip, SOL_PORT).await;
    c.open().await;
    c.echo_heartbeats = false;
    let t0 = Instant::now();
    while c.frame().await.is_some() {}
    assert!(t0.elapsed() < Duration::from_secs(2));
    let reason = loop {
        if let SimEvent::SolClosed { reason, .. } = events.recv().await.unwrap() {
            break reason;
        }
    };
    assert_eq!(reason, "client silent");
    assert_eq!(sim.board(ip).unwrap().sol_sessions(), 0);
}

#[tokio::test]
async fn orderly_close() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(sol_config(ip)).await;
    let mut events = sim.events();
    let mut c = sol_connect(ip, SOL_PORT).await;
    c.open().await;
    c.type_keys("ab").await;
    c.send(&[0x22, 0, 0, 0, 7, 0, 0, 0]).await;
    loop {
        match c.frame().await.expect("0x23 before the close") {
            Frame::EndSolReply(seq) => {
                assert_eq!(seq, 7);
                break;
            }
            Frame::Data { .. } | Frame::Heartbeat(_) => {}
            other => panic!("{other:?}"),
        }
    }
    c.send(&[0x12, 0, 0, 0]).await;
    assert!(c.closed().await);
    let closed = loop {
        if let e @ SimEvent::SolClosed { .. } = events.recv().await.unwrap() {
            break e;
        }
    };
    let SimEvent::SolClosed {
        to_host, reason, ..
    } = &closed
    else {
        unreachable!()
    };
    assert_eq!((*to_host, reason.as_str()), (2, "closed by the client"));
    assert!(
        closed
            .to_string()
            .starts_with(&format!("{ip} sol session closed: closed by the client"))
    );
    assert_eq!(sim.board(ip).unwrap().sol_sessions(), 0);
    // The slot is free again.
    let mut again = sol_connect(ip, SOL_PORT).await;
    again.open().await;
}
