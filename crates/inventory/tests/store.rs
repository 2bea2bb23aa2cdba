//! The store against both backends: every test body runs on a fresh SQLite file and on a fresh
//! database of a real PostgreSQL server (`METAL_TEST_POSTGRES_URL`, default
//! postgres://metal:metal@127.0.0.1:5432/metal_test; `.ci/inventory-deps.sh` sets it up). A
//! missing PostgreSQL fails the test with a message saying so; it is never skipped.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use metal_inventory::profiles::{self, HardwareProfile};
use metal_inventory::{
    BoardFacts, BootGrant, BootReport, EnrollRequest, Error, MachineState, Match, Outcome, Role,
    Storage, Store,
};
use metal_types::Target;
use metal_types::hardware::{Disk, Hardware, Product};
use sqlx::migrate::MigrateDatabase;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh database of each backend: (name, url, guard keeping the SQLite dir alive).
async fn backends() -> Vec<(&'static str, String, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("inventory.db").display());
    vec![
        ("sqlite", sqlite, Some(dir)),
        ("postgres", postgres_db().await, None),
    ]
}

async fn postgres_db() -> String {
    sqlx::any::install_default_drivers();
    let base = std::env::var("METAL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://metal:metal@127.0.0.1:5432/metal_test".into());
    let (server, _) = base.rsplit_once('/').expect("URL with a database name");
    let name = format!(
        "metal_t{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let url = format!("{server}/{name}");
    let _ = sqlx::Any::drop_database(&url).await;
    if let Err(e) = sqlx::Any::create_database(&url).await {
        panic!(
            "these tests need a PostgreSQL server at {base} whose role may create databases \
             (run .ci/inventory-deps.sh, or set METAL_TEST_POSTGRES_URL): {e}"
        );
    }
    url
}

fn profiles() -> Vec<HardwareProfile> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../hardware-profiles");
    profiles::load_dir(&dir).unwrap()
}

/// A board like simulated board `i` (i % 3: 4 GB diskless, 8 GB + 4 HDD, 8 GB + 2 SSD).
fn board(i: usize) -> BoardFacts {
    let (mem, disks) = match i % 3 {
        0 => (4u64 << 30, vec![]),
        1 => (8 << 30, vec![false; 4]),
        _ => (8 << 30, vec![true; 2]),
    };
    let disk = |n: usize, ssd: bool| Disk {
        id: format!("disk{n}"),
        model: if ssd { "Fast SSD" } else { "Spinning HDD" }.into(),
        bytes: 1_000_000_000_000,
        ssd,
    };
    BoardFacts {
        amt_address: format!("127.0.10.{}", i + 1).parse().unwrap(),
        tls_pin: None,
        hardware: Hardware {
            uuid: format!("00000000-0000-4000-8000-{i:012x}"),
            chassis: Product {
                manufacturer: "Intel Corporation".into(),
                model: "NUC9".into(),
                serial: format!("SN{i:06}"),
            },
            board: Product {
                manufacturer: "Intel Corporation".into(),
                model: "NUC9V7QNB".into(),
                serial: format!("BSN{i:06}"),
            },
            bios_version: "QNCFLX70.0034".into(),
            cpus: Vec::new(),
            dimms: Vec::new(),
            memory_bytes: mem,
            disks: disks
                .into_iter()
                .enumerate()
                .map(|(n, ssd)| disk(n, ssd))
                .collect(),
            mac: Some(
                format!("02:00:00:00:{:02x}:{:02x}", i / 256, i % 256)
                    .parse()
                    .unwrap(),
            ),
            amt_version: Some("12.0.45".into()),
        },
    }
}

fn request(rack: &str) -> EnrollRequest {
    EnrollRequest {
        rack: rack.into(),
        site: "lab".into(),
        pool: "10.20.0.0/24".into(),
        scheme: "{rack}-h{n:02}".into(),
        credential_set: "default".into(),
        actor: "test".into(),
        repin: false,
    }
}

async fn enroll_all(store: &Store, boards: impl Iterator<Item = usize>) -> Vec<Outcome> {
    let profiles = profiles();
    let mut out = Vec::new();
    for i in boards {
        let b = board(i);
        let m = profiles::match_board(&profiles, &b);
        out.push(store.enroll(&request("r01"), &b, &m).await.unwrap().outcome);
    }
    out
}

async fn drop_db(kind: &str, url: &str, store: Store) {
    store.close().await;
    if kind == "postgres" {
        let _ = sqlx::Any::drop_database(url).await;
    }
}

#[tokio::test]
async fn enrol_allocates_once_and_rerun_changes_nothing() {
    for (kind, url, _dir) in backends().await {
        let store = Store::open(&url).await.unwrap();
        let first = enroll_all(&store, 0..9).await;
        assert!(first.iter().all(|o| *o == Outcome::Created), "{kind}");
        let again = enroll_all(&store, 0..9).await;
        assert!(
            again.iter().all(|o| *o == Outcome::Unchanged),
            "{kind}: {again:?}"
        );
        let machines = store.machines().await.unwrap();
        assert_eq!(machines.len(), 9, "{kind}");
        let names: HashSet<_> = machines.iter().map(|m| m.hostname.clone()).collect();
        let addrs: HashSet<_> = machines.iter().map(|m| m.address).collect();
        assert_eq!((names.len(), addrs.len()), (9, 9), "{kind}");
        let first = &machines[0];
        assert_eq!(first.hostname, "r01-h01");
        assert_eq!(first.address.to_string(), "10.20.0.1");
        assert_eq!(first.profile.as_deref(), Some("desktop-4g-diskless"));
        assert_eq!(machines[1].profile.as_deref(), Some("desktop-8g-raid10"));
        assert_eq!(machines[2].profile.as_deref(), Some("desktop-8g-ssd-raid0"));
        assert!(machines.iter().all(|m| m.state == MachineState::Enrolled));
        assert_eq!(store.racks().await.unwrap()[0].site, "lab");
        drop_db(kind, &url, store).await;
    }
}

#[tokio::test]
async fn unmatched_board_is_recorded_with_the_reason_and_not_booted() {
    for (kind, url, _dir) in backends().await {
        let store = Store::open(&url).await.unwrap();
        let mut odd = board(0);
        odd.hardware.memory_bytes = 16 << 30;
        let m = profiles::match_board(&profiles(), &odd);
        let Match::None(reason) = &m else {
            panic!("16 GB matched")
        };
        assert!(reason.contains("16 GiB of memory, not 4"), "{reason}");
        let e = store.enroll(&request("r01"), &odd, &m).await.unwrap();
        assert_eq!(e.machine.state, MachineState::New, "{kind}");
        assert!(
            e.machine
                .profile_note
                .as_deref()
                .unwrap()
                .contains("16 GiB")
        );
        assert_eq!(
            (e.machine.netboot.as_deref(), e.machine.storage),
            (None, None)
        );
        let events = store.events(Some(&e.machine.hostname)).await.unwrap();
        assert!(
            events
                .iter()
                .any(|ev| ev.reason.contains("not provisioned")),
            "{events:?}"
        );
        // The same board once a profile fits: matched, enrolled, nothing else changes.
        let fits = profiles::match_board(&profiles(), &board(0));
        let again = store.enroll(&request("r01"), &odd, &fits).await.unwrap();
        assert_eq!(again.outcome, Outcome::Matched);
        assert_eq!(again.machine.state, MachineState::Enrolled);
        assert_eq!(again.machine.address, e.machine.address);
        drop_db(kind, &url, store).await;
    }
}

#[tokio::test]
async fn two_enrols_at_once_hand_out_distinct_names_and_addresses() {
    for (kind, url, _dir) in backends().await {
        // Two stores = two pools, as two `metal enroll` processes would have.
        let a = Store::open(&url).await.unwrap();
        let b = Store::open(&url).await.unwrap();
        let (ra, rb) = tokio::join!(enroll_all(&a, 0..30), enroll_all(&b, (0..30).rev()));
        let created = ra
            .iter()
            .chain(&rb)
            .filter(|o| **o == Outcome::Created)
            .count();
        assert_eq!(created, 30, "{kind}: each board created exactly once");
        let machines = a.machines().await.unwrap();
        assert_eq!(machines.len(), 30, "{kind}");
        let names: HashSet<_> = machines.iter().map(|m| &m.hostname).collect();
        let addrs: HashSet<_> = machines.iter().map(|m| &m.address).collect();
        let uuids: HashSet<_> = machines.iter().map(|m| &m.uuid).collect();
        assert_eq!(
            (names.len(), addrs.len(), uuids.len()),
            (30, 30, 30),
            "{kind}"
        );
        b.close().await;
        drop_db(kind, &url, a).await;
    }
}

#[tokio::test]
async fn another_board_at_a_recorded_address_is_refused_naming_both_uuids() {
    for (kind, url, _dir) in backends().await {
        let store = Store::open(&url).await.unwrap();
        enroll_all(&store, 0..2).await;
        let mut swapped = board(1);
        swapped.hardware.uuid = "11111111-2222-4333-8444-555555555555".into();
        let m = profiles::match_board(&profiles(), &swapped);
        let err = store
            .enroll(&request("r01"), &swapped, &m)
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Conflict(_)), "{kind}: {text}");
        assert!(
            text.contains(swapped.uuid()) && text.contains(board(1).uuid()),
            "{text}"
        );
        // The same board seen at a new address is not silently moved either.
        let mut moved = board(0);
        moved.amt_address = "127.0.10.200".parse().unwrap();
        let err = store.enroll(&request("r01"), &moved, &m).await.unwrap_err();
        assert!(
            err.to_string().contains("already enrolled as r01-h01"),
            "{err}"
        );
        assert_eq!(store.machines().await.unwrap().len(), 2);
        drop_db(kind, &url, store).await;
    }
}

#[tokio::test]
async fn state_machine_is_enforced_and_every_change_logged() {
    for (kind, url, _dir) in backends().await {
        let store = Store::open(&url).await.unwrap();
        enroll_all(&store, 0..2).await;
        let err = store
            .set_state("r01-h01", MachineState::Deployed, "test", "skip ahead")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Transition { .. }), "{kind}: {err}");
        assert_eq!(
            err.to_string(),
            "r01-h01: cannot go from enrolled to deployed"
        );
        for (to, why) in [
            (MachineState::Provisioning, "netbooted"),
            (MachineState::Deployed, "installer called back"),
        ] {
            store
                .set_state("r01-h01", to, "ops@test", why)
                .await
                .unwrap();
        }
        let m = store.machine("r01-h01").await.unwrap().unwrap();
        assert_eq!(m.state, MachineState::Deployed);
        assert_eq!(m.storage, Some(Storage::Diskless));
        assert_eq!(m.netboot.as_deref(), Some("dom0-diskless"));
        assert_eq!(m.role, Some(Role::new("compute").unwrap()));
        store
            .set_state("r01-h02", MachineState::Provisioning, "t", "x")
            .await
            .unwrap();
        store
            .set_state("r01-h02", MachineState::Deployed, "t", "x")
            .await
            .unwrap();
        let m2 = store.machine("127.0.10.2").await.unwrap().unwrap();
        assert_eq!(
            (m2.state, m2.storage),
            (MachineState::Deployed, Some(Storage::Raid10))
        );
        // One lookup for every kind of target.
        let by_rack = store.find(&Target::Rack("r01".into())).await.unwrap();
        assert_eq!(by_rack.len(), 2);
        let by_ip = store.find(&"127.0.10.2".parse().unwrap()).await.unwrap();
        assert_eq!(by_ip[0].hostname, "r01-h02");
        let by_cidr = store.find(&"127.0.10.0/30".parse().unwrap()).await.unwrap();
        assert_eq!(by_cidr.len(), 2);
        assert!(
            store
                .find(&"127.0.10.99".parse().unwrap())
                .await
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            store.find(&Target::Rack("nope".into())).await,
            Err(Error::EmptyRack(_))
        ));
        assert!(matches!(
            store.find(&Target::Name("r09-h01".into())).await,
            Err(Error::NotFound(_))
        ));
        let events = store.events(Some("r01-h01")).await.unwrap();
        let trail: Vec<_> = events.iter().map(|e| (e.from, e.to)).collect();
        use MachineState::*;
        assert_eq!(
            trail,
            vec![
                (None, Some(New)),
                (Some(New), Some(Enrolled)),
                (Some(Enrolled), Some(Provisioning)),
                (Some(Provisioning), Some(Deployed)),
            ],
            "{kind}"
        );
        assert_eq!(events[3].actor, "ops@test");
        assert_eq!(events[3].reason, "installer called back");
        assert!(store.set_state("nope", Broken, "t", "x").await.is_err());
        drop_db(kind, &url, store).await;
    }
}

#[tokio::test]
async fn guests_take_addresses_from_the_pool_until_it_is_full() {
    for (kind, url, _dir) in backends().await {
        let store = Store::open(&url).await.unwrap();
        let mut req = request("r02");
        req.pool = "10.30.0.0/29".into(); // six host addresses
        let profiles = profiles();
        for i in 0..2 {
            let b = board(i);
            store
                .enroll(&req, &b, &profiles::match_board(&profiles, &b))
                .await
                .unwrap();
        }
        let web = Role::new("web").unwrap();
        let g = store
            .add_guest("r02-h01", "backend01", &web, 1024, None, "t")
            .await
            .unwrap();
        assert_eq!(
            (g.address.to_string().as_str(), g.dom0.as_str()),
            ("10.30.0.3", "r02-h01"),
            "{kind}"
        );
        assert!(
            store
                .add_guest("r02-h01", "backend01", &web, 1, None, "t")
                .await
                .is_err()
        );
        for n in 2..=4 {
            store
                .add_guest("r02-h02", &format!("backend{n:02}"), &web, 512, None, "t")
                .await
                .unwrap();
        }
        let full = store
            .add_guest("r02-h02", "backend05", &web, 512, None, "t")
            .await
            .unwrap_err();
        assert!(matches!(full, Error::PoolFull { .. }), "{kind}: {full}");
        let guests = store.guests().await.unwrap();
        assert_eq!(guests.len(), 4);
        let addrs: HashSet<_> = guests.iter().map(|g| &g.address).collect();
        assert_eq!(addrs.len(), 4);
        // An explicit address: inside the pool and free, else refused with the reason.
        let freed = guests
            .iter()
            .find(|g| g.name == "backend04")
            .unwrap()
            .address;
        let taken = guests
            .iter()
            .find(|g| g.name == "backend03")
            .unwrap()
            .address;
        let e = store
            .add_guest("r02-h02", "backend05", &web, 512, Some(taken), "t")
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Conflict(_)), "{kind}: {e}");
        let e = store
            .add_guest(
                "r02-h02",
                "backend05",
                &web,
                512,
                Some("192.0.2.9".parse().unwrap()),
                "t",
            )
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("not in r02-h02's rack pool"),
            "{kind}: {e}"
        );
        store.remove_guest("backend04", "t").await.unwrap();
        let g = store
            .add_guest("r02-h02", "backend05", &web, 512, Some(freed), "t")
            .await
            .unwrap();
        assert_eq!(
            g.address, freed,
            "{kind}: the removed guest's address is free again"
        );
        // A move changes the parent and is logged on both Dom0s.
        let moved = store.move_guest("backend01", "r02-h02", "t").await.unwrap();
        assert_eq!(moved.dom0, "r02-h02");
        for dom0 in ["r02-h01", "r02-h02"] {
            let ev = store.events(Some(dom0)).await.unwrap();
            assert!(
                ev.iter()
                    .any(|e| e.reason == "guest backend01 moved from r02-h01 to r02-h02"),
                "{kind}: {dom0}: {ev:?}"
            );
        }
        assert!(store.move_guest("nobody", "r02-h02", "t").await.is_err());
        drop_db(kind, &url, store).await;
    }
}

#[tokio::test]
async fn bad_urls_and_unreachable_servers_are_clear_errors() {
    let err = Store::open("mysql://x").await.unwrap_err().to_string();
    assert!(
        err.contains("expected sqlite://PATH or postgres://"),
        "{err}"
    );
    let err = Store::open("postgres://metal:hunter2@127.0.0.1:1/none")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("127.0.0.1:1") && !err.contains("hunter2"),
        "{err}"
    );
}

#[tokio::test]
async fn published_dns_names_are_replaced_per_zone() {
    for (kind, url, _dir) in backends().await {
        let store = Store::open(&url).await.unwrap();
        assert!(store.dns_zones().await.unwrap().is_empty(), "{kind}");
        let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
        store
            .set_dns_names("host.h", &set(&["a", "amt.a", "b"]))
            .await
            .unwrap();
        store
            .set_dns_names("0.10.10.in-addr.arpa", &set(&["1"]))
            .await
            .unwrap();
        store
            .set_dns_names("host.h", &set(&["a", "c"]))
            .await
            .unwrap();
        assert_eq!(
            store.dns_names("host.h").await.unwrap(),
            set(&["a", "c"]),
            "{kind}"
        );
        assert_eq!(
            store.dns_zones().await.unwrap(),
            set(&["0.10.10.in-addr.arpa", "host.h"]),
            "{kind}"
        );
        store
            .set_dns_names("0.10.10.in-addr.arpa", &set(&[]))
            .await
            .unwrap();
        assert_eq!(store.dns_zones().await.unwrap(), set(&["host.h"]), "{kind}");
        drop_db(kind, &url, store).await;
    }
}

/// Boot grants and boot events on both backends: a grant replaces the previous one, a report
/// is logged against its machine, `deploys` moves only a provisioning machine, `ends`
/// withdraws the grant, an unknown MAC is an error and a broken clone-MAC enrolment fails alone.
#[tokio::test]
async fn boot_grants_and_reports_are_kept_per_machine() {
    for (kind, url, _dir) in backends().await {
        let store = Store::open(&url).await.unwrap();
        enroll_all(&store, 0..2).await;
        let mac = board(0).hardware.mac.unwrap();
        let grant = |n: u8| BootGrant {
            token_sha256: [n; 32],
            address: "10.20.0.1".parse().unwrap(),
            issued_ms: u64::from(n),
        };
        assert_eq!(store.boot_grant(mac).await.unwrap(), None, "{kind}");
        store.grant_boot(mac, &grant(1)).await.unwrap();
        store.grant_boot(mac, &grant(2)).await.unwrap();
        assert_eq!(
            store.boot_grant(mac).await.unwrap(),
            Some(grant(2)),
            "{kind}: replaced"
        );
        let unknown: metal_types::MacAddr = "02:ff:ff:ff:ff:ff".parse().unwrap();
        assert!(matches!(
            store.grant_boot(unknown, &grant(1)).await,
            Err(Error::NotFound(_))
        ));

        let report = |stage: &'static str| BootReport {
            stage,
            message: "line one\nline two",
            from: "10.20.0.1".parse().unwrap(),
        };
        let enrolled = store
            .record_boot(mac, report("booted"), Some(MachineState::Deployed), false)
            .await
            .unwrap();
        assert!(
            enrolled.moved_to.is_none(),
            "{kind}: an enrolled machine does not move"
        );
        store
            .set_state("r01-h01", MachineState::Provisioning, "test", "boot")
            .await
            .unwrap();
        let up = store
            .record_boot(mac, report("booted"), Some(MachineState::Deployed), true)
            .await
            .unwrap();
        assert_eq!(
            (
                up.hostname.as_str(),
                up.moved_to == Some(MachineState::Deployed)
            ),
            ("r01-h01", true),
            "{kind}"
        );
        assert_eq!(
            store.boot_grant(mac).await.unwrap(),
            None,
            "{kind}: the boot is over"
        );
        let events = store.events(Some("r01-h01")).await.unwrap();
        let boots: Vec<_> = events
            .iter()
            .filter(|e| e.reason.starts_with("boot event"))
            .collect();
        assert_eq!(boots.len(), 2, "{kind}: {events:?}");
        assert_eq!(boots[1].to, Some(MachineState::Deployed));
        assert_eq!(boots[1].actor, "netboot 10.20.0.1");

        // A failed install moves the second (provisioning) board to broken, with the cause.
        let other = board(1).hardware.mac.unwrap();
        let name = store.machines().await.unwrap()[1].hostname.clone();
        store
            .set_state(&name, MachineState::Provisioning, "test", "boot")
            .await
            .unwrap();
        let failed = BootReport {
            stage: "failed",
            message: "install/disks: layout raid10 needs 4 disks, found 3",
            from: "10.20.0.2".parse().unwrap(),
        };
        let down = store
            .record_boot(other, failed, Some(MachineState::Broken), true)
            .await
            .unwrap();
        assert_eq!(down.moved_to, Some(MachineState::Broken), "{kind}");
        let last = store.events(Some(&name)).await.unwrap().pop().unwrap();
        assert_eq!(last.to, Some(MachineState::Broken), "{kind}");
        assert!(
            last.reason.contains("needs 4 disks, found 3"),
            "{kind}: {last:?}"
        );

        // A board reporting r01-h01's MAC is refused, naming it; the store is unchanged.
        let mut clone = board(5);
        clone.hardware.mac = Some(mac);
        let m = profiles::match_board(&profiles(), &clone);
        let refused = store.enroll(&request("r01"), &clone, &m).await.unwrap_err();
        assert!(
            matches!(&refused, Error::Conflict(w) if w.contains("r01-h01")),
            "{kind}: {refused}"
        );
        assert_eq!(store.machines().await.unwrap().len(), 2, "{kind}");
        drop_db(kind, &url, store).await;
    }
}

#[tokio::test]
async fn silent_provisioning_machines_become_broken_naming_their_last_step() {
    for (kind, url, _dir) in backends().await {
        let store = Store::open(&url).await.unwrap();
        enroll_all(&store, 0..3).await;
        let names: Vec<String> = store
            .machines()
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.hostname)
            .collect();
        for name in &names[..2] {
            store
                .set_state(name, MachineState::Provisioning, "test", "PXE boot started")
                .await
                .unwrap();
        }
        let (talking, silent) = (
            board(0).hardware.mac.unwrap(),
            board(1).hardware.mac.unwrap(),
        );
        let grant = BootGrant {
            token_sha256: [7; 32],
            address: "10.20.0.2".parse().unwrap(),
            issued_ms: 1,
        };
        store.grant_boot(silent, &grant).await.unwrap();
        assert_eq!(
            store.expire_provisioning(3_600_000).await.unwrap(),
            vec![],
            "{kind}: nobody is silent for an hour"
        );
        // Both silent for 1.5 s, then one speaks: a second's idleness tells them apart with
        // room for a loaded machine between the report and the check.
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let step = BootReport {
            stage: "start",
            message: "install/array",
            from: "10.20.0.1".parse().unwrap(),
        };
        store.record_boot(talking, step, None, false).await.unwrap();
        let expired = store.expire_provisioning(1000).await.unwrap();
        assert_eq!(expired.len(), 1, "{kind}: {expired:?}");
        assert_eq!(expired[0].hostname, names[1], "{kind}");
        assert!(
            expired[0]
                .reason
                .starts_with("no word from the machine for ")
                && expired[0].reason.contains(" s while provisioning")
                && expired[0].reason.ends_with("last: PXE boot started"),
            "{kind}: {}",
            expired[0].reason
        );
        let state = |i: usize| {
            let store = &store;
            let name = names[i].clone();
            async move { store.machine(&name).await.unwrap().unwrap().state }
        };
        assert_eq!(
            state(0).await,
            MachineState::Provisioning,
            "{kind}: it spoke"
        );
        assert_eq!(state(1).await, MachineState::Broken, "{kind}");
        assert_eq!(
            state(2).await,
            MachineState::Enrolled,
            "{kind}: never booted"
        );
        assert_eq!(
            store.boot_grant(silent).await.unwrap(),
            None,
            "{kind}: its boot is over"
        );
        let last = store.events(Some(&names[1])).await.unwrap().pop().unwrap();
        assert_eq!(
            (last.actor.as_str(), last.from, last.to),
            (
                "netboot watchdog",
                Some(MachineState::Provisioning),
                Some(MachineState::Broken)
            ),
            "{kind}"
        );
        // A late report from the silent machine changes nothing; expiring again neither.
        let late = BootReport {
            stage: "deployed",
            message: "too late",
            from: "10.20.0.2".parse().unwrap(),
        };
        let recorded = store
            .record_boot(silent, late, Some(MachineState::Deployed), true)
            .await
            .unwrap();
        assert_eq!(recorded.moved_to, None, "{kind}");
        let again = store.expire_provisioning(3_600_000).await.unwrap();
        assert_eq!(
            again,
            vec![],
            "{kind}: a broken machine is not expired again"
        );
        drop_db(kind, &url, store).await;
    }
}

#[tokio::test]
async fn two_servers_sharing_the_store_never_hold_one_address_for_two_clients() {
    use metal_inventory::{LeaseKind, LeaseRecord};
    for (kind, url, _dir) in backends().await {
        // Two servers: two stores on one database.
        let (a, b) = (
            Store::open(&url).await.unwrap(),
            Store::open(&url).await.unwrap(),
        );
        let seg = "10.99.0.0/24";
        let lease = |mac: u8, ip: u8, kind: LeaseKind, expires: u64| LeaseRecord {
            ip: std::net::Ipv4Addr::new(10, 99, 0, ip),
            mac: metal_types::MacAddr([2, 0, 0, 0, 0, mac]),
            kind,
            expires,
        };
        assert!(
            a.claim_lease(seg, &lease(1, 100, LeaseKind::Offered, 160), 100)
                .await
                .unwrap()
        );
        assert!(
            !b.claim_lease(seg, &lease(2, 100, LeaseKind::Offered, 160), 100)
                .await
                .unwrap(),
            "{kind}: offered to another client"
        );
        assert!(
            b.claim_lease(seg, &lease(2, 100, LeaseKind::Offered, 200), 160)
                .await
                .unwrap(),
            "{kind}: free again once the offer expired"
        );
        assert!(
            b.claim_lease(seg, &lease(1, 101, LeaseKind::Bound, 900), 160)
                .await
                .unwrap(),
            "{kind}"
        );
        assert!(
            a.claim_lease(seg, &lease(2, 102, LeaseKind::Bound, 900), 160)
                .await
                .unwrap(),
            "{kind}: its own client moves"
        );
        assert!(
            b.claim_lease(seg, &lease(9, 100, LeaseKind::Offered, 900), 160)
                .await
                .unwrap(),
            "{kind}: 100 was dropped when its holder took 102"
        );
        let mut held: Vec<(u8, u8)> = a
            .leases(seg)
            .await
            .unwrap()
            .iter()
            .map(|l| (l.mac.0[5], l.ip.octets()[3]))
            .collect();
        held.sort();
        assert_eq!(held, vec![(1, 101), (2, 102), (9, 100)], "{kind}");
        assert!(
            a.leases("10.98.0.0/24").await.unwrap().is_empty(),
            "{kind}: per segment"
        );
        let (mac1, ip101) = (
            metal_types::MacAddr([2, 0, 0, 0, 0, 1]),
            "10.99.0.101".parse().unwrap(),
        );
        assert!(
            !b.release_lease(seg, metal_types::MacAddr([2, 0, 0, 0, 0, 2]), ip101)
                .await
                .unwrap()
        );
        assert!(b.release_lease(seg, mac1, ip101).await.unwrap(), "{kind}");
        assert_eq!(a.leases(seg).await.unwrap().len(), 2, "{kind}");
        a.close().await;
        drop_db(kind, &url, b).await;
    }
}

#[tokio::test]
async fn a_late_offer_never_shortens_a_bound_lease() {
    use metal_inventory::{LeaseKind, LeaseRecord};
    for (kind, url, _dir) in backends().await {
        let store = Store::open(&url).await.unwrap();
        let seg = "10.99.0.0/24";
        let lease = |kind: LeaseKind, expires: u64| LeaseRecord {
            ip: std::net::Ipv4Addr::new(10, 99, 0, 108),
            mac: metal_types::MacAddr([2, 0, 0, 0, 0, 8]),
            kind,
            expires,
        };
        assert!(
            store
                .claim_lease(seg, &lease(LeaseKind::Bound, 700), 100)
                .await
                .unwrap()
        );
        assert!(
            store
                .claim_lease(seg, &lease(LeaseKind::Offered, 160), 100)
                .await
                .unwrap()
        );
        assert_eq!(
            store.leases(seg).await.unwrap(),
            vec![lease(LeaseKind::Bound, 700)],
            "{kind}"
        );
        drop_db(kind, &url, store).await;
    }
}

#[tokio::test]
async fn the_dashboard_queries_page_search_and_read_newest_first() {
    use metal_inventory::pages::MachineQuery;
    for (kind, url, _dir) in backends().await {
        let store = Store::open(&url).await.unwrap();
        enroll_all(&store, 0..5).await;
        let all = store.machines().await.unwrap();
        // Pages by rack and slot, with the total.
        let (page, total) = store
            .machines_page(&MachineQuery::default(), 2, 2)
            .await
            .unwrap();
        assert_eq!(total, 5, "{kind}");
        let names: Vec<&str> = page.iter().map(|m| m.hostname.as_str()).collect();
        assert_eq!(names, ["r01-h03", "r01-h04"], "{kind}");
        // Search by MAC in another spelling, by part of a UUID, case-insensitively.
        let m = &all[1];
        let mac = m.mac.unwrap().to_string().to_uppercase().replace(':', "-");
        for text in [
            mac,
            m.uuid[m.uuid.len() - 17..].to_uppercase(),
            m.uuid[m.uuid.len() - 12..].to_uppercase(),
            m.hostname.to_uppercase(),
        ] {
            let q = MachineQuery {
                text: Some(text.clone()),
                ..MachineQuery::default()
            };
            let (found, total) = store.machines_page(&q, 0, 10).await.unwrap();
            let first = found.first().map(|f| f.hostname.as_str());
            assert_eq!(
                (total, first),
                (1, Some(m.hostname.as_str())),
                "{kind}: {text} in {}",
                m.uuid
            );
        }
        // LIKE's wildcards are plain characters.
        for text in ["%", "_", "r01\\h"] {
            let q = MachineQuery {
                text: Some(text.into()),
                ..MachineQuery::default()
            };
            assert_eq!(
                store.machines_page(&q, 0, 10).await.unwrap().1,
                0,
                "{kind}: {text}"
            );
        }
        store
            .set_state("r01-h02", MachineState::Broken, "t", "fan")
            .await
            .unwrap();
        let q = MachineQuery {
            state: Some(MachineState::Broken),
            ..MachineQuery::default()
        };
        assert_eq!(store.machines_page(&q, 0, 10).await.unwrap().1, 1, "{kind}");
        // Notes and the event log newest first, a page at a time.
        assert_eq!(
            store
                .note("r01-h02", "alice (metal web)", "power cycle")
                .await
                .unwrap(),
            "r01-h02"
        );
        assert!(matches!(
            store.note("nosuch", "a", "b").await,
            Err(Error::NotFound(_))
        ));
        let newest = store.recent_events(None, None, 2).await.unwrap();
        assert_eq!(newest[0].1.reason, "power cycle", "{kind}");
        assert_eq!((newest[0].1.from, newest[0].1.to), (None, None));
        assert!(newest[0].0 > newest[1].0);
        let older = store
            .recent_events(None, Some(newest[1].0), 500)
            .await
            .unwrap();
        assert!(older.iter().all(|(id, _)| *id < newest[1].0), "{kind}");
        let mine = store
            .recent_events(Some("r01-h02"), None, 500)
            .await
            .unwrap();
        assert!(mine.iter().all(|(_, e)| e.subject == "r01-h02"), "{kind}");
        // Operators: created once, password replaced, names checked.
        assert!(store.set_operator("alice", "$argon2id$a").await.unwrap());
        assert!(!store.set_operator("alice", "$argon2id$b").await.unwrap());
        assert_eq!(
            store.operator_hash("alice").await.unwrap().as_deref(),
            Some("$argon2id$b")
        );
        assert_eq!(store.operator_hash("bob").await.unwrap(), None);
        assert!(
            store.set_operator("Bob Smith", "x").await.is_err(),
            "{kind}"
        );
        assert_eq!(store.operators().await.unwrap(), ["alice"]);
    }
}
