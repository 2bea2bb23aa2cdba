//! WS-Man framing and classes, compared with the recorded AMT 12 responses.

mod common;

use common::*;
use metal_test_support::loopback::Block;

#[tokio::test]
async fn get_is_chunked_compact_and_shaped_like_the_fixture() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(config(ip, 1)).await;
    let mut c = Client::new(ip);
    let r = c
        .call(&get("CIM_AssociatedPowerManagementService", &[]))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.chunked, "200 response not chunked");
    assert_eq!(
        r.header("Server"),
        Some("Intel(R) Active Management Technology 12.0.67.1579")
    );
    assert_eq!(
        r.header("Content-Type"),
        Some("application/soap+xml; charset=UTF-8")
    );
    let x = r.text();
    assert!(!x.contains(">\n") && !x.contains("> <"), "not compact: {x}");
    let fixture = fixture("cim/associatedpower/managementservice/get.xml");
    assert_eq!(local_names(&x), local_names(&fixture));
    // Header values like firmware's.
    assert!(x.contains("<b:RelatesTo>42</b:RelatesTo>"), "{x}");
    assert!(x.contains("<b:Action a:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse</b:Action>"));
    let ids = texts(&x, "MessageID");
    assert!(
        ids[0].starts_with("uuid:00000000-8086-8086-8086-"),
        "{ids:?}"
    );
    assert_eq!(texts(&x, "PowerState"), ["2"]);
    assert_eq!(
        texts(&x, "AvailableRequestedPowerStates"),
        ["10", "8", "5", "11", "4", "7", "14", "12"]
    );
    // MessageIDs count up.
    let r2 = c
        .call(&get("CIM_AssociatedPowerManagementService", &[]))
        .await;
    let id2 = texts(&r2.text(), "MessageID");
    assert!(id2[0] > ids[0], "{id2:?} !> {ids:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn element_names_match_fixtures_for_singletons() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(config(ip, 1)).await;
    let mut c = Client::new(ip);
    for (class, path) in [
        (
            "CIM_PowerManagementService",
            "cim/power/managementservice/get.xml",
        ),
        ("AMT_BootSettingData", "amt/boot/settingdata/get.xml"),
        ("AMT_BootCapabilities", "amt/boot/capabilities/get.xml"),
        ("CIM_BootService", "cim/boot/service/get.xml"),
        ("CIM_Chassis", "cim/chassis/get.xml"),
        ("CIM_Card", "cim/card/get.xml"),
        ("CIM_BIOSElement", "cim/bios/element/get.xml"),
        ("CIM_Processor", "cim/physical/processor/get.xml"),
        ("CIM_Chip", "cim/chip/get.xml"),
        (
            "CIM_ComputerSystemPackage",
            "cim/computer/systempackage/get.xml",
        ),
        ("AMT_GeneralSettings", "amt/general/get.xml"),
        ("AMT_RedirectionService", "amt/redirectionservice/get.xml"),
    ] {
        let r = c.call(&get(class, &[])).await;
        assert_eq!(r.status, 200, "{class}");
        assert_eq!(
            local_names(&r.text()),
            local_names(&fixture(path)),
            "{class}"
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn identity_values_are_served() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(config(ip, 3)).await;
    for board in sim.boards() {
        let mut c = Client::new(board.ip());
        let x = c.call(&get("AMT_GeneralSettings", &[])).await.text();
        assert_eq!(texts(&x, "DigestRealm"), [board.realm()]);
        let x = c.call(&get("CIM_Chassis", &[])).await.text();
        assert_eq!(texts(&x, "SerialNumber"), [board.serial()]);
        // SMBIOS byte order: the first three UUID groups byte-swapped.
        let x = c.call(&get("CIM_ComputerSystemPackage", &[])).await.text();
        let guid = &texts(&x, "PlatformGUID")[0];
        let u = board.uuid().replace('-', "");
        let swap = |s: &str| {
            s.as_bytes()
                .chunks(2)
                .rev()
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<String>()
        };
        let expected = format!(
            "{}{}{}{}",
            swap(&u[..8]),
            swap(&u[8..12]),
            swap(&u[12..16]),
            &u[16..]
        );
        assert_eq!(guid, &expected.to_uppercase());
        // Wired port: instance 0, MAC dash-separated lowercase.
        let e = envelope(
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get",
            &uri("AMT_EthernetPortSettings"),
            &[("InstanceID", "Intel(r) AMT Ethernet Port Settings 0")],
            "",
        );
        let x = c.call(&e).await.text();
        assert_eq!(
            texts(&x, "MACAddress"),
            [board.mac().to_string().replace(':', "-")]
        );
    }
    sim.shutdown().await;
}

async fn enumerate_all(c: &mut Client, class: &str) -> String {
    let r = c.call(&enumerate(class)).await;
    assert_eq!(r.status, 200);
    let ctx = texts(&r.text(), "EnumerationContext").remove(0);
    let r = c.call(&pull(class, &ctx, 999)).await;
    assert_eq!(r.status, 200);
    r.text()
}

#[tokio::test]
async fn hardware_varies_by_board_index() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(config(ip, 3)).await;
    let gib = 1u64 << 30;
    let expect = [(4 * gib, 0usize), (8 * gib, 4), (8 * gib, 2)];
    for (board, (mem, disks)) in sim.boards().iter().zip(expect) {
        let mut c = Client::new(board.ip());
        let x = enumerate_all(&mut c, "CIM_PhysicalMemory").await;
        let total: u64 = texts(&x, "Capacity")
            .iter()
            .map(|v| v.parse::<u64>().unwrap())
            .sum();
        assert_eq!(total, mem);
        let x = enumerate_all(&mut c, "CIM_MediaAccessDevice").await;
        assert_eq!(texts(&x, "MaxMediaSize").len(), disks);
        let models = texts(&x, "Name");
        assert!(
            models.iter().all(|m| m.contains("SSD") == (disks == 2)),
            "{models:?}"
        );
        let x = enumerate_all(&mut c, "CIM_PhysicalPackage").await;
        assert_eq!(texts(&x, "Model").len(), 1 + disks);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_resource_and_unmatched_selector_are_destination_unreachable() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(config(ip, 1)).await;
    let mut c = Client::new(ip);
    for body in [
        get("CIM_NoSuchClass", &[]),
        get("CIM_SoftwareIdentity", &[("InstanceID", "Nope")]),
        envelope(
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get",
            "http://example.com/CIM_Chassis",
            &[],
            "",
        ),
    ] {
        let r = c.call(&body).await;
        assert_eq!(r.status, 400);
        let x = r.text();
        assert_eq!(texts(&x, "Value"), ["a:Sender", "b:DestinationUnreachable"]);
        assert_eq!(texts(&x, "RelatesTo"), ["42"]);
    }
    // Disks: board 0 has none, so a Get of the class has nothing to return.
    assert_eq!(c.call(&get("CIM_MediaAccessDevice", &[])).await.status, 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_bodies_get_faults_and_the_server_survives() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(config(ip, 1)).await;
    let mut c = Client::new(ip);
    for body in [
        "",
        "not xml",
        "<Envelope><Header>",
        "<a><b></a>",
        "<Envelope/>",
        "\u{0}\u{1}<<<>>>",
    ] {
        let r = c.call(body).await;
        assert_eq!(r.status, 400, "{body:?}");
        assert!(texts(&r.text(), "Value").contains(&"a:Sender".to_string()));
    }
    let r = c
        .call(&get("CIM_SoftwareIdentity", &[("InstanceID", "AMT")]))
        .await;
    assert_eq!(texts(&r.text(), "VersionString"), ["12.0.67"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn other_paths_are_404_and_huge_bodies_413() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(config(ip, 1)).await;
    let mut c = connect(ip, 16992).await;
    c.send("POST", "/index.htm", &[], b"x").await.unwrap();
    assert_eq!(c.read_response().await.unwrap().status, 404);
    let mut c = connect(ip, 16992).await;
    let huge = vec![b'<'; metal_sim::MAX_BODY + 1];
    c.send("POST", "/wsman", &[], &huge).await.unwrap();
    let r = c.read_response().await.unwrap();
    assert_eq!(r.status, 413);
    assert!(c.closed_by_server().await);
    sim.shutdown().await;
}

#[tokio::test]
async fn enumerate_and_pull_page_by_page() {
    let block = Block::allocate();
    let ip = block.first();
    let mut cfg = config(ip, 1);
    cfg.page_size = 1;
    let sim = start(cfg).await;
    let mut c = Client::new(ip);
    let r = c.call(&enumerate("CIM_SoftwareIdentity")).await;
    let ctx = texts(&r.text(), "EnumerationContext").remove(0);
    let mut ids = Vec::new();
    for round in 0.. {
        assert!(round < 20, "enumeration never ended");
        let r = c.call(&pull("CIM_SoftwareIdentity", &ctx, 999)).await;
        assert_eq!(r.status, 200);
        let x = r.text();
        let page = texts(&x, "InstanceID");
        assert_eq!(page.len(), 1, "page_size ignored: {x}");
        ids.extend(page);
        if !texts(&x, "EndOfSequence").is_empty() {
            assert!(texts(&x, "EnumerationContext").is_empty());
            break;
        }
        assert_eq!(texts(&x, "EnumerationContext"), std::slice::from_ref(&ctx));
    }
    assert_eq!(ids.len(), 11);
    assert!(ids.contains(&"AMT".to_string()) && ids.contains(&"Build Number".to_string()));
    // The finished context is gone.
    let r = c.call(&pull("CIM_SoftwareIdentity", &ctx, 1)).await;
    assert_eq!(r.status, 400);
    assert!(texts(&r.text(), "Value").contains(&"g:InvalidEnumerationContext".to_string()));
    sim.shutdown().await;
}

#[tokio::test]
async fn pull_shape_matches_the_fixture() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(config(ip, 1)).await;
    let mut c = Client::new(ip);
    let x = enumerate_all(&mut c, "CIM_SoftwareIdentity").await;
    assert_eq!(
        local_names(&x),
        local_names(&fixture("cim/software/identity/pull.xml"))
    );
    let x = enumerate_all(&mut c, "AMT_EthernetPortSettings").await;
    let mut fixture_names = local_names(&fixture("amt/ethernetport/pull.xml"));
    fixture_names.insert("IPAddress".into());
    assert_eq!(local_names(&x), fixture_names);
    sim.shutdown().await;
}

#[tokio::test]
async fn profile_sets_versions() {
    let block = Block::allocate();
    let ip = block.first();
    let mut cfg = config(ip, 1);
    cfg.profile = "amt-9".parse().unwrap();
    let sim = start(cfg).await;
    let mut c = Client::new(ip);
    let r = c
        .call(&get("CIM_SoftwareIdentity", &[("InstanceID", "AMT")]))
        .await;
    assert_eq!(
        r.header("Server"),
        Some("Intel(R) Active Management Technology 9.1.41.3024")
    );
    assert_eq!(texts(&r.text(), "VersionString"), ["9.1.41"]);
    let r = c
        .call(&get(
            "CIM_SoftwareIdentity",
            &[("InstanceID", "Build Number")],
        ))
        .await;
    assert_eq!(texts(&r.text(), "VersionString"), ["3024"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn redirection_state_change_and_put() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(config(ip, 1)).await;
    let mut c = Client::new(ip);
    let change = |state: u32| {
        invoke(
            "AMT_RedirectionService",
            "RequestStateChange",
            &format!("<h:RequestedState>{state}</h:RequestedState>"),
        )
    };
    let r = c.call(&change(32770)).await;
    let x = r.text();
    assert!(x.contains("AMT_RedirectionService/RequestStateChangeResponse</b:Action>"));
    assert_eq!(texts(&x, "ReturnValue"), ["0"]);
    let r = c.call(&get("AMT_RedirectionService", &[])).await;
    assert_eq!(texts(&r.text(), "EnabledState"), ["32770"]);
    let r = c.call(&change(7)).await;
    assert_ne!(texts(&r.text(), "ReturnValue"), ["0"]);
    let u = uri("AMT_RedirectionService");
    let put = envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Put",
        &u,
        &[],
        &format!(
            "<h:AMT_RedirectionService xmlns:h=\"{u}\"><h:EnabledState>32771</h:EnabledState><h:ListenerEnabled>false</h:ListenerEnabled></h:AMT_RedirectionService>"
        ),
    );
    let r = c.call(&put).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        local_names(&r.text()),
        local_names(&fixture("amt/redirectionservice/put.xml"))
    );
    assert_eq!(texts(&r.text(), "ListenerEnabled"), ["false"]);
    // Unsupported method on a known class: a fault, not a crash.
    let r = c.call(&invoke("CIM_Chassis", "Explode", "")).await;
    assert_eq!(r.status, 400);
    sim.shutdown().await;
}
