//! Power state machine and the one-shot boot override (amt-protocol.md §2a).

mod common;

use std::time::Duration;

use common::tls::tls_connect;
use common::*;
use metal_sim::{Profile, SimEvent};
use metal_test_support::loopback::Block;
use metal_types::BootDevice;

async fn power_state(c: &mut Client) -> u16 {
    let r = c
        .call(&get("CIM_AssociatedPowerManagementService", &[]))
        .await;
    texts(&r.text(), "PowerState")[0].parse().unwrap()
}

#[tokio::test]
async fn power_off_goes_through_a_busy_window() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(config(ip, 1)).await;
    let mut events = sim.events();
    let mut c = Client::new(ip);
    let r = c.call(&power_change(8)).await;
    let x = r.text();
    assert!(
        x.contains("CIM_PowerManagementService/RequestPowerStateChangeResponse</b:Action>"),
        "{x}"
    );
    assert_eq!(texts(&x, "ReturnValue"), ["0"]);
    // Inside the window: old state, and a second change is refused as busy.
    assert_eq!(power_state(&mut c).await, 2);
    assert_eq!(return_value(&mut c, &power_change(10)).await, 4099);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(power_state(&mut c).await, 8);
    let r = c
        .call(&get("CIM_AssociatedPowerManagementService", &[]))
        .await;
    assert_eq!(texts(&r.text(), "AvailableRequestedPowerStates"), ["2"]);
    // Off is no longer advertised: Not Supported.
    assert_eq!(return_value(&mut c, &power_change(8)).await, 1);
    let board = sim.board(ip).unwrap();
    assert_eq!(board.power_state(), 8);
    assert!(board.boots().is_empty(), "power off booted");
    let mut saw = false;
    while let Ok(ev) = events.try_recv() {
        if let SimEvent::Power { from: 2, to: 8, .. } = ev {
            assert_eq!(ev.to_string(), format!("{ip} power 2 -> 8"));
            saw = true;
        }
    }
    assert!(saw, "no power event");
    sim.shutdown().await;
}

/// The six steps of amt-protocol.md §2a "Forcing PXE on the next boot", minus the power
/// request, which the caller sends.
async fn force_pxe(c: &mut Client) {
    // 1. Get AMT_BootSettingData.
    assert_eq!(c.call(&get("AMT_BootSettingData", &[])).await.status, 200);
    // 2. ChangeBootOrder without Source clears the order.
    assert_eq!(
        return_value(c, &invoke("CIM_BootConfigSetting", "ChangeBootOrder", "")).await,
        0
    );
    // 3. Put AMT_BootSettingData with the options cleared.
    let u = uri("AMT_BootSettingData");
    let fields = [
        "BIOSPause",
        "BIOSSetup",
        "UseIDER",
        "UseSOL",
        "ReflashBIOS",
        "UseSafeMode",
        "UserPasswordBypass",
        "ConfigurationDataReset",
        "LockKeyboard",
    ]
    .iter()
    .map(|f| format!("<h:{f}>false</h:{f}>"))
    .collect::<String>();
    let put = envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Put",
        &u,
        &[],
        &format!(
            "<h:AMT_BootSettingData xmlns:h=\"{u}\">{fields}<h:BootMediaIndex>0</h:BootMediaIndex><h:InstanceID>Intel(r) AMT:BootSettingData 0</h:InstanceID></h:AMT_BootSettingData>"
        ),
    );
    let r = c.call(&put).await;
    assert_eq!(r.status, 200);
    let x = r.text();
    assert!(x.contains("transfer/PutResponse</b:Action>"));
    assert_eq!(texts(&x, "UseSOL"), ["false"]);
    // 4. SetBootConfigRole Role=1 (IsNext).
    let role = format!(
        "<h:BootConfigSetting>{}</h:BootConfigSetting><h:Role>1</h:Role>",
        epr(
            "CIM_BootConfigSetting",
            "Intel(r) AMT: Boot Configuration 0"
        )
    );
    assert_eq!(
        return_value(c, &invoke("CIM_BootService", "SetBootConfigRole", &role)).await,
        0
    );
    // 5. ChangeBootOrder with the PXE source.
    let source = format!(
        "<h:Source>{}</h:Source>",
        epr("CIM_BootSourceSetting", "Intel(r) AMT: Force PXE Boot")
    );
    assert_eq!(
        return_value(
            c,
            &invoke("CIM_BootConfigSetting", "ChangeBootOrder", &source)
        )
        .await,
        0
    );
}

async fn pending_sequence(c: &mut Client) -> Vec<(String, String)> {
    let r = c.call(&enumerate("CIM_OrderedComponent")).await;
    let ctx = texts(&r.text(), "EnumerationContext").remove(0);
    let x = c
        .call(&pull("CIM_OrderedComponent", &ctx, 999))
        .await
        .text();
    let seq = texts(&x, "AssignedSequence");
    let ids: Vec<String> = texts(&x, "Selector")
        .into_iter()
        .filter(|s| s.starts_with("Intel(r) AMT: Force"))
        .collect();
    ids.into_iter().zip(seq).collect()
}

#[tokio::test]
async fn pxe_once_then_disk() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(config(ip, 1)).await;
    let board = sim.board(ip).unwrap();
    board.set_power_state(8);
    let mut events = sim.events();
    let mut c = Client::new(ip);
    force_pxe(&mut c).await;
    assert_eq!(board.next_boot(), Some(BootDevice::Pxe));
    let pending = pending_sequence(&mut c).await;
    assert!(
        pending.contains(&("Intel(r) AMT: Force PXE Boot".into(), "1".into())),
        "{pending:?}"
    );
    assert!(pending.contains(&("Intel(r) AMT: Force Hard-drive Boot".into(), "0".into())));
    // 6. Power on.
    assert_eq!(return_value(&mut c, &power_change(2)).await, 0);
    tokio::time::sleep(Duration::from_millis(450)).await;
    let boots = board.boots();
    assert_eq!(boots.len(), 1);
    assert_eq!(
        (boots[0].device, boots[0].one_shot),
        (BootDevice::Pxe, true)
    );
    assert_eq!(board.next_boot(), None);
    assert!(pending_sequence(&mut c).await.iter().all(|(_, s)| s == "0"));
    // The boot was logged when the host came up, without anyone asking.
    let mut lines = Vec::new();
    while let Ok(ev) = events.try_recv() {
        lines.push(ev.to_string());
    }
    assert!(
        lines.contains(&format!("{ip} boot from pxe (one-shot override)")),
        "{lines:?}"
    );
    // Reset: the override is spent, so the host boots from disk.
    assert_eq!(return_value(&mut c, &power_change(10)).await, 0);
    tokio::time::sleep(Duration::from_millis(450)).await;
    let boots = board.boots();
    assert_eq!(boots.len(), 2);
    assert_eq!(
        (boots[1].device, boots[1].one_shot),
        (BootDevice::Disk, false)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn source_without_role_does_not_apply() {
    let block = Block::allocate();
    let ip = block.first();
    let sim = start(config(ip, 1)).await;
    let board = sim.board(ip).unwrap();
    let mut c = Client::new(ip);
    let source = format!(
        "<h:Source>{}</h:Source>",
        epr("CIM_BootSourceSetting", "Intel(r) AMT: Force PXE Boot")
    );
    assert_eq!(
        return_value(
            &mut c,
            &invoke("CIM_BootConfigSetting", "ChangeBootOrder", &source)
        )
        .await,
        0
    );
    assert_eq!(board.next_boot(), None);
    let bogus = format!(
        "<h:Source>{}</h:Source>",
        epr("CIM_BootSourceSetting", "Intel(r) AMT: Force Floppy")
    );
    assert_ne!(
        return_value(
            &mut c,
            &invoke("CIM_BootConfigSetting", "ChangeBootOrder", &bogus)
        )
        .await,
        0
    );
    assert_eq!(return_value(&mut c, &power_change(10)).await, 0);
    tokio::time::sleep(Duration::from_millis(450)).await;
    let boots = board.boots();
    assert_eq!(boots.len(), 1);
    assert_eq!(boots[0].device, BootDevice::Disk);
    sim.shutdown().await;
}

#[tokio::test]
async fn amt16_rejects_an_empty_source_element() {
    let block = Block::allocate();
    let ip = block.first();
    let mut cfg = config(ip, 1);
    cfg.profile = Profile::Amt16TlsOnly;
    cfg.tls = false;
    let sim = start(cfg).await;
    // TLS only: the plain port is closed.
    assert!(tokio::net::TcpStream::connect((ip, 16992)).await.is_err());
    let mut conn = tls_connect(ip).await;
    let body = invoke("CIM_BootConfigSetting", "ChangeBootOrder", "<h:Source/>");
    let r = conn.post(None, &body).await.unwrap();
    let (realm, nonce, _) = challenge(r.header("WWW-Authenticate").unwrap());
    let mut conn = tls_connect(ip).await;
    let auth = authorization(USER, PASSWORD, &realm, &nonce, 1);
    let r = conn.post(Some(auth), &body).await.unwrap();
    assert_eq!(r.status, 400);
    assert!(texts(&r.text(), "Value").contains(&"c:SchemaValidationError".to_string()));
    let auth = authorization(USER, PASSWORD, &realm, &nonce, 2);
    let r = conn
        .post(
            Some(auth),
            &invoke("CIM_BootConfigSetting", "ChangeBootOrder", ""),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    sim.shutdown().await;
}
