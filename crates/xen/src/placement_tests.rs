use super::*;

/// A Dom0 of 8 GiB for guests in rack r01 with `free` MiB free and the given busy shares.
fn dom0(name: &str, free: u64, cpu: f64, io: f64) -> Dom0 {
    Dom0 {
        name: name.into(),
        rack: "r01".into(),
        guest_memory_mib: 8192,
        free_mib: free,
        cpu_busy: cpu,
        io_busy: io,
        guests: Vec::new(),
    }
}

fn guest(name: &str, tendency: Tendency, load: f64) -> Guest {
    Guest {
        name: name.into(),
        tendency: Some(tendency),
        load,
    }
}

fn request(role: &str, memory_mib: u64) -> Request {
    Request {
        name: format!("new-{role}"),
        memory_mib,
        tendency: Policy::default().tendency(role).unwrap(),
    }
}

/// The seed's three Dom0s: one with idle CPUs, one with idle disks, one with free memory.
fn seed_fleet() -> Vec<Dom0> {
    vec![
        dom0("cpu-idle", 3072, 0.05, 0.80),
        dom0("io-idle", 3072, 0.85, 0.05),
        dom0("mem-idle", 7168, 0.80, 0.80),
    ]
}

#[test]
fn each_role_goes_where_its_resource_is_idle() {
    let policy = Policy::default();
    let fleet = seed_fleet();
    for (role, expected) in [
        ("web", "cpu-idle"),
        ("db", "io-idle"),
        ("cache", "mem-idle"),
    ] {
        let placed = place(&request(role, 1024), &fleet, &policy);
        assert_eq!(
            placed.chosen.as_deref(),
            Some(expected),
            "{role}: {placed:#?}"
        );
    }
}

#[test]
fn two_busy_guests_of_one_tendency_never_share_a_dom0() {
    let policy = Policy::default();
    let mut fleet = seed_fleet();
    // The CPU-idle Dom0 already runs a busy web server of another service.
    fleet[0].guests.push(guest("shop-web", Tendency::Cpu, 0.30));
    let placed = place(&request("web", 1024), &fleet, &policy);
    assert_ne!(placed.chosen.as_deref(), Some("cpu-idle"), "{placed:#?}");
    let why = placed
        .verdicts
        .iter()
        .find(|v| v.dom0 == "cpu-idle")
        .unwrap();
    assert!(
        matches!(&why.outcome, Err(RuledOut::BusyAlike { guest, .. }) if guest == "shop-web"),
        "{why:?}"
    );
    // A quiet web server, or a busy guest of another tendency, does not rule it out.
    fleet[0].guests = vec![
        guest("blog-web", Tendency::Cpu, 0.02),
        guest("pg", Tendency::Io, 0.9),
    ];
    let placed = place(&request("web", 1024), &fleet, &policy);
    assert_eq!(placed.chosen.as_deref(), Some("cpu-idle"), "{placed:#?}");
}

#[test]
fn memory_is_never_over_committed() {
    let policy = Policy::default();
    let fleet = vec![dom0("small", 1023, 0.0, 0.0), dom0("full", 0, 0.0, 0.0)];
    let placed = place(&request("web", 1024), &fleet, &policy);
    assert_eq!(placed.chosen, None);
    assert!(
        placed
            .verdicts
            .iter()
            .all(|v| matches!(v.outcome, Err(RuledOut::Memory { need_mib: 1024, .. }))),
        "{placed:#?}"
    );
    // Exactly what is free fits.
    let fleet = vec![dom0("exact", 1024, 0.5, 0.5)];
    assert_eq!(
        place(&request("web", 1024), &fleet, &policy)
            .chosen
            .as_deref(),
        Some("exact")
    );
}

#[test]
fn rack_headroom_keeps_room_for_any_one_dom0s_guests() {
    let policy = Policy {
        rack_headroom: true,
        ..Policy::default()
    };
    // Two Dom0s in r01: a's guests use 6144 MiB, b has 7168 free. 2048 MiB more on b leaves
    // 5120 free there, too little for a's 6144; on a, a's 8192 would not fit in b's 7168. An
    // empty third Dom0 in the rack makes room.
    let mut a = dom0("a", 2048, 0.1, 0.1);
    a.guests.push(guest("big", Tendency::Memory, 0.1));
    let b = dom0("b", 7168, 0.1, 0.1);
    let placed = place(&request("web", 2048), &[a.clone(), b.clone()], &policy);
    assert_eq!(placed.chosen, None, "{placed:#?}");
    assert!(
        placed
            .verdicts
            .iter()
            .all(|v| matches!(v.outcome, Err(RuledOut::RackHeadroom { .. })))
    );
    let c = dom0("c", 8192, 0.9, 0.9);
    let placed = place(&request("web", 2048), &[a.clone(), b.clone(), c], &policy);
    assert!(placed.chosen.is_some(), "{placed:#?}");
    // Without the rule, b takes it.
    let placed = place(&request("web", 2048), &[a, b], &Policy::default());
    assert_eq!(placed.chosen.as_deref(), Some("b"));
}

#[test]
fn the_explanation_agrees_with_the_choice() {
    let policy = Policy::default();
    let mut fleet = seed_fleet();
    fleet.push(dom0("tiny", 512, 0.0, 0.0));
    let req = request("web", 1024);
    let placed = place(&req, &fleet, &policy);
    let lines = placed.explain(&req, &policy);
    assert_eq!(lines.len(), 4);
    assert!(
        lines[0].starts_with("cpu-idle: chosen, score "),
        "{lines:#?}"
    );
    assert!(
        lines[0].contains("1 × cpu idle 0.95 + 0.25 × mean(io idle 0.20, memory idle 0.25)"),
        "{lines:#?}"
    );
    assert!(lines[1].contains(": lower score, score "), "{lines:#?}");
    assert_eq!(lines[3], "tiny: ruled out, needs 1024 MiB, 512 MiB free");
    // The scores in the lines are in the order of the verdicts, best first.
    let scores: Vec<f64> = placed
        .verdicts
        .iter()
        .filter_map(|v| v.outcome.as_ref().ok().map(|s| s.total))
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
}

#[test]
fn ties_go_to_more_free_memory_then_the_name() {
    let policy = Policy {
        secondary: 0.0,
        ..Policy::default()
    };
    let fleet = vec![
        dom0("b", 4096, 0.5, 0.5),
        dom0("a", 4096, 0.5, 0.5),
        dom0("c", 6144, 0.5, 0.5),
    ];
    let placed = place(&request("web", 1024), &fleet, &policy);
    let order: Vec<&str> = placed.verdicts.iter().map(|v| v.dom0.as_str()).collect();
    assert_eq!(order, ["c", "a", "b"]);
}

#[test]
fn roles_and_weights_come_from_configuration() {
    let policy: Policy = serde_json::from_str(
        r#"{"roles": {"search": "io"}, "primary": 2.0, "rack_headroom": true}"#,
    )
    .unwrap();
    assert_eq!(policy.tendency("search"), Some(Tendency::Io));
    assert_eq!(
        policy.tendency("web"),
        None,
        "the given roles replace the defaults"
    );
    assert_eq!(
        (policy.primary, policy.secondary, policy.rack_headroom),
        (2.0, 0.25, true)
    );
}
