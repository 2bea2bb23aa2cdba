//! The provisioning network is hostile: forged and flooded boot events, reads of the event log,
//! symlinks out of the roots, idle and slow connections, and a TFTP flood from one address.
//! Every client here is on loopback, at addresses of the test's own [`Block`].

mod support;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use metal_test_support::http::status;
use metal_test_support::loopback::Block;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

const MAC: &str = "52:54:00:00:00:01";
const OTHER_MAC: &str = "52:54:00:00:00:02";

fn ip(block: &Block, n: u32) -> IpAddr {
    IpAddr::V4(block.ip(n))
}

async fn script_from(from: IpAddr, h: SocketAddr, mac: &str) -> String {
    let s = http_from(from, h, &get(&format!("/boot/{mac}.ipxe"))).await;
    assert_eq!(status(&s), "200", "{s}");
    s
}

#[tokio::test]
async fn events_need_the_boots_token_from_the_boots_address() {
    let block = Block::allocate();
    let (machine, stranger) = (ip(&block, 1), ip(&block, 2));
    let r = start("proxy").await;
    let h = r.addrs.http.unwrap();
    let token = token_of(&script_from(machine, h, MAC).await);
    let body = |stage: &str| format!("mac={MAC}&stage={stage}&message=hi");

    let cases = [
        (
            machine,
            post_event(&body("kernel"), None),
            "401",
            "no token",
        ),
        (
            machine,
            post_event(&body("kernel"), Some("0123abcd")),
            "401",
            "wrong token",
        ),
        (
            stranger,
            post_event(&body("deployed"), Some(&token)),
            "403",
            "stolen token, other address",
        ),
        (
            machine,
            post_event(&format!("mac={OTHER_MAC}&stage=booted"), Some(&token)),
            "401",
            "another machine's MAC",
        ),
        (
            machine,
            post_event("mac=x&stage=booted", Some(&token)),
            "400",
            "not a MAC",
        ),
        (
            machine,
            post_event(&body("Booted\n"), Some(&token)),
            "400",
            "not a stage word",
        ),
    ];
    for (from, request, want, why) in cases {
        let got = http_from(from, h, &request).await;
        assert_eq!(status(&got), want, "{why}: {got}");
    }
    let accepted = http_from(machine, h, &post_event(&body("kernel"), Some(&token))).await;
    assert_eq!(status(&accepted), "204", "{accepted}");

    let anonymous = http_from(stranger, h, &get("/events")).await;
    assert_eq!(status(&anonymous), "401", "{anonymous}");
    let guessed = http_from(stranger, h, &get_with_token("/events", "guess")).await;
    assert_eq!(status(&guessed), "401", "{guessed}");
    let list = http_from(stranger, h, &get_with_token("/events", OPERATOR_TOKEN)).await;
    assert_eq!(status(&list), "200", "{list}");
    let reported: Vec<&str> = list.matches(r#""stage":"kernel""#).collect();
    assert_eq!(
        reported.len(),
        1,
        "only the accepted event is there: {list}"
    );
    assert!(
        !list.contains("deployed") && !list.contains(OTHER_MAC),
        "{list}"
    );

    // The boot ends with `booted`: its token is spent, and the next boot's script gets a new one.
    let up = http_from(machine, h, &post_event(&body("booted"), Some(&token))).await;
    assert_eq!(status(&up), "204", "{up}");
    let again = http_from(machine, h, &post_event(&body("kernel"), Some(&token))).await;
    assert_eq!(status(&again), "401", "a spent token: {again}");
    let next = token_of(&script_from(machine, h, MAC).await);
    assert_ne!(next, token);
    let fresh = http_from(machine, h, &post_event(&body("kernel"), Some(&next))).await;
    assert_eq!(status(&fresh), "204", "{fresh}");
}

#[tokio::test]
async fn in_mode_dhcp_a_reserved_machines_script_goes_to_its_address_only() {
    let block = Block::allocate();
    let r = start("dhcp").await;
    let h = r.addrs.http.unwrap();
    // 52:54:00:00:00:05 is reserved at 127.0.5.50 by the test configuration.
    let elsewhere = http_from(ip(&block, 1), h, &get("/boot/52:54:00:00:00:05.ipxe")).await;
    assert_eq!(status(&elsewhere), "403", "{elsewhere}");
    let at_lease = http_from(
        "127.0.5.50".parse().unwrap(),
        h,
        &get("/boot/52:54:00:00:00:05.ipxe"),
    )
    .await;
    assert_eq!(status(&at_lease), "200", "{at_lease}");
}

#[tokio::test]
async fn a_flood_of_events_loses_none_it_accepted() {
    let block = Block::allocate();
    let machine = ip(&block, 1);
    let r = start("proxy").await;
    let h = r.addrs.http.unwrap();
    let token = Arc::new(token_of(&script_from(machine, h, MAC).await));
    let accepted = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for task in 0..25 {
        let (token, accepted) = (token.clone(), accepted.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0..400 {
                let body = format!("mac={MAC}&stage=progress&message=t{task}-n{n}");
                let got = http_from(machine, h, &post_event(&body, Some(&token))).await;
                if status(&got) == "204" {
                    accepted.fetch_add(1, Ordering::Relaxed);
                } else {
                    assert!(
                        matches!(status(&got), "503" | ""),
                        "refused some other way: {got}"
                    );
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let list = http_from(machine, h, &get_with_token("/events", OPERATOR_TOKEN)).await;
    let recorded = list.matches(r#""stage":"progress""#).count();
    let accepted = accepted.load(Ordering::Relaxed);
    assert!(accepted > 0);
    assert_eq!(
        recorded, accepted,
        "every event answered 204 is in the record"
    );
}

#[tokio::test]
async fn symlinks_out_of_the_roots_are_refused_over_http_and_tftp() {
    let r = start("proxy").await;
    let (h, t) = (r.addrs.http.unwrap(), r.addrs.tftp);
    let secret = r.dir.path().join("secret");
    std::os::unix::fs::symlink(&secret, r.dir.path().join("images/escape")).unwrap();
    std::os::unix::fs::symlink(&secret, r.dir.path().join("tftp/escape")).unwrap();
    std::os::unix::fs::symlink(r.dir.path(), r.dir.path().join("tftp/up")).unwrap();
    for path in [
        "/files/escape",
        "/tftp/escape",
        "/tftp/up/secret",
        "/files/%2e%2e/secret",
        "/files/..%2fsecret",
    ] {
        let got = http(h, &get(path)).await;
        assert_eq!(status(&got), "404", "{path}: {got}");
        assert!(
            !got.contains("outside\n") || got.contains("outside the root"),
            "{got}"
        );
    }
    assert_eq!(
        tftp_get(t, "escape", &[]).await,
        Err(2),
        "TFTP access violation"
    );
    assert_eq!(tftp_get(t, "up/secret", &[]).await, Err(2));
    assert!(tftp_get(t, "undionly.kpxe", &[]).await.is_ok());
}

#[tokio::test]
async fn idle_and_slow_connections_leave_room_for_a_real_client() {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let block = Block::allocate();
    let r = start_with("proxy", "header_timeout_secs = 1").await;
    let (h, t) = (r.addrs.http.unwrap(), r.addrs.tftp);
    // 2000 connections from 50 addresses that never send a byte.
    let mut idle = Vec::new();
    for n in 0..2000u32 {
        let s = TcpSocket::new_v4().unwrap();
        s.bind(SocketAddr::new(ip(&block, 10 + n % 50), 0)).unwrap();
        if let Ok(c) = s.connect(loopback(h)).await {
            idle.push(c);
        }
    }
    // 200 that send half a request and stop.
    let mut slow = Vec::new();
    for n in 0..200u32 {
        let s = TcpSocket::new_v4().unwrap();
        s.bind(SocketAddr::new(ip(&block, 100 + n % 4), 0)).unwrap();
        let mut c = s.connect(loopback(h)).await.unwrap();
        let _ = c
            .write_all(b"GET /boot/52:54:00:00:00:01.ipxe HTTP/1.1\r\nHost: t\r\n")
            .await;
        slow.push(c);
    }
    let real = tokio::time::timeout(
        Duration::from_secs(1),
        http_from(ip(&block, 1), h, &get(&format!("/boot/{MAC}.ipxe"))),
    )
    .await
    .expect("the script within 1 s");
    assert_eq!(status(&real), "200", "{real}");
    let file = tokio::time::timeout(Duration::from_secs(2), tftp_get(t, "undionly.kpxe", &[]))
        .await
        .expect("TFTP answers");
    assert_eq!(file.map(|f| f.len()), Ok(200_000));
    // Past the header timeout the half-sent requests are closed by the server.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut closed = 0;
    for c in &mut slow {
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(200), c.read(&mut buf)).await {
            Ok(Ok(_)) | Ok(Err(_)) => closed += 1,
            Err(_) => {}
        }
    }
    assert_eq!(closed, slow.len(), "every slow-header connection is closed");
    drop(idle);
}

#[tokio::test]
async fn a_tftp_flood_from_one_address_does_not_lock_others_out() {
    let block = Block::allocate();
    let r = start("proxy").await;
    let t = r.addrs.tftp;
    let mut rrq = vec![0, 1];
    rrq.extend_from_slice(b"undionly.kpxe\0octet\0");
    // 512 requests that never acknowledge anything, each from a port of its own.
    let mut flood = Vec::new();
    for _ in 0..512 {
        let s = UdpSocket::bind(SocketAddr::new(ip(&block, 7), 0))
            .await
            .unwrap();
        s.send_to(&rrq, loopback(t)).await.unwrap();
        flood.push(s);
    }
    let got = tokio::time::timeout(Duration::from_secs(3), tftp_get(t, "undionly.kpxe", &[]))
        .await
        .expect("another client is served");
    assert_eq!(got.map(|f| f.len()), Ok(200_000));
    // Most of the flood was told to go away. The refusals are already queued on their sockets;
    // the wait only bounds the few that were served (16 × 200 ms), with room for a loaded host.
    let mut refused = 0;
    for s in &flood {
        let mut buf = [0u8; 600];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(200), s.recv(&mut buf)).await
            && buf[..n].starts_with(&[0, 5])
        {
            refused += 1;
        }
    }
    assert!(
        refused >= 512 - metal_netboot::tftp::MAX_PER_SOURCE,
        "{refused} refused"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let r = start_with("proxy", "idle_timeout_secs = 1").await;
    let h = r.addrs.http.unwrap();
    let mut c = TcpStream::connect(loopback(h)).await.unwrap();
    let request = get(&format!("/boot/{MAC}.ipxe")).replace("Connection: close\r\n", "");
    c.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let n = c.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Kept alive, then nothing more: the server hangs up.
    let rest = tokio::time::timeout(Duration::from_secs(4), c.read(&mut buf))
        .await
        .expect("closed within the idle timeout");
    assert!(matches!(rest, Ok(0) | Err(_)), "{rest:?}");
}

#[tokio::test]
async fn a_plan_goes_only_to_its_boot_and_carries_the_manifests_checksums() {
    let block = Block::allocate();
    let (machine, stranger) = (ip(&block, 1), ip(&block, 2));
    let r = start("proxy").await;
    let h = r.addrs.http.unwrap();
    let installer = "52:54:00:00:00:07";
    let script = script_from(machine, h, installer).await;
    assert!(
        script.contains("metal.mode=install") && script.contains(&format!("/plan/{installer}")),
        "{script}"
    );
    let token = token_of(&script);
    let plan = format!("/plan/{installer}");

    let refused = [
        (machine, get(&plan), "401", "no token"),
        (
            machine,
            get_with_token(&plan, "0123abcd"),
            "401",
            "wrong token",
        ),
        (
            stranger,
            get_with_token(&plan, &token),
            "403",
            "stolen token",
        ),
    ];
    for (from, request, want, what) in refused {
        let answer = http_from(from, h, &request).await;
        assert_eq!(status(&answer), want, "{what}: {answer}");
    }

    let answer = http_from(machine, h, &get_with_token(&plan, &token)).await;
    assert_eq!(status(&answer), "200", "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap();
    let plan: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(plan["mac"], installer);
    assert_eq!(plan["hostname"], "r01-h07");
    assert_eq!(plan["mode"], "install");
    assert_eq!(plan["storage"]["layout"], "raid10");
    assert_eq!(plan["storage"]["disks"], 4, "the layout's disk count");
    assert_eq!(plan["storage"]["root_gib"], 6);
    assert_eq!(plan["image"]["root_sha256"], ROOT_SHA);
    assert_eq!(plan["image"]["files"]["vmlinuz"], KERNEL_SHA);
    assert!(
        plan["image"]["root_url"]
            .as_str()
            .unwrap()
            .ends_with("/files/dom0-root.squashfs")
    );
    assert_eq!(plan["dom0_cmdline"], "console=hvc0");
    assert_eq!(
        plan["ssh_authorized_keys"][0],
        "ssh-ed25519 AAAAtest operator@site"
    );
    assert_eq!(
        plan["ntp_servers"][0], "127.0.0.1",
        "this server by default"
    );

    // An install profile naming no storage layout has no plan, and says why.
    let nowhere = "52:54:00:00:00:08";
    let token = token_of(&script_from(machine, h, nowhere).await);
    let answer = http_from(
        machine,
        h,
        &get_with_token(&format!("/plan/{nowhere}"), &token),
    )
    .await;
    assert_eq!(status(&answer), "409", "{answer}");
    assert!(answer.contains("names no storage layout"), "{answer}");
}
