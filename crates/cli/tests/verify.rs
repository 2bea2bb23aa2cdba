//! `metal verify` through the binary against 16 simulated boards of one model, four of them
//! deliberately wrong: SOL locked off in MEBx, a host that does not power back on, a board in
//! client control mode (consent required), and one reporting less memory than the profile.
//! Exactly those four fail, each for its own reason; every report line validates against the
//! OCP-TV schema; the HTML pages render in headless Chromium. The pxe check against a real
//! `metal serve` on loopback, with the test fetching one board's boot script as its iPXE
//! would (`tests/netboot/acceptance.rs` has a QEMU board PXE-boot for real).

use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use metal_test_support::http::{exchange, get};
use metal_test_support::loopback::Block;
use metal_test_support::metal::Metal;
use metal_test_support::sim::SimProcess;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_metal");
const PASSWORD: &str = "Acc3pt!pw";
const BOARDS: u32 = 16;

/// The shipped RAID-10 profile with short limits, so the board that never comes on costs
/// seconds.
const PROFILE: &str = r#"description = "Factory batch: 8 GB, four HDDs"
[match]
memory_gib = 8
disks = 4
disk_kind = "hdd"
cpu_model = "Core"
[provision]
storage = "raid10"
dom0_memory_mib = 512
role = "storage"
[acceptance]
amt_min = "11.0"
power_on_secs = 5
sol_secs = 20
"#;

fn schema_validator() -> jsonschema::Validator {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ocptv-schema");
    let mut root = None;
    let mut options = jsonschema::options();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let id = schema["$id"].as_str().unwrap().to_string();
        if path.file_name().unwrap() == "root.json" {
            root = Some(schema.clone());
        }
        options = options.with_resource(id, jsonschema::Resource::from_contents(schema));
    }
    options
        .build(&root.expect("root.json"))
        .expect("the OCP-TV schema compiles")
}

fn chromium(args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new("/usr/bin/chromium")
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-proxy-server",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=1100,1400",
        ])
        .args(args)
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("chromium runs (.ci/web-deps.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn screenshot(page: &Path, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("verify-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join(name);
    let _ = std::fs::remove_file(&png);
    chromium(&[
        &format!("--screenshot={}", png.display()),
        &format!("file://{}", page.display()),
    ]);
    let data = std::fs::read(&png).expect("a screenshot");
    assert!(
        data.starts_with(b"\x89PNG") && data.len() > 10_000,
        "{name}"
    );
    png
}

#[test]
fn sixteen_boards_four_wrong_fail_exactly_for_their_faults() {
    let block = Block::allocate();
    let ip = |n| block.ip(n).to_string();
    let _sim = SimProcess::builder(BIN, PASSWORD, block.first())
        .boards(BOARDS as usize)
        .args([
            "--hardware".to_string(),
            "8g-4hdd".into(),
            "--boot-output-ms".into(),
            "500".into(),
            "--fault".into(),
            format!("{}=sol-locked", ip(3)),
            "--fault".into(),
            format!("{}=no-power-on", ip(7)),
            "--control-mode".into(),
            format!("{}=ccm", ip(11)),
            "--report".into(),
            format!("{}:CIM_PhysicalMemory.Capacity=2147483648", ip(15)),
        ])
        .start();
    let profiles = tempfile::tempdir().unwrap();
    std::fs::write(profiles.path().join("batch.toml"), PROFILE).unwrap();
    let metal = Metal::new(BIN)
        .password(PASSWORD)
        .profiles(profiles.path())
        .no_inventory();
    let reports = metal.dir().join("reports");
    let targets = block.list(BOARDS);
    let (code, out, err) = metal.run(&[
        "verify",
        &targets,
        "--profile",
        "batch",
        "--report",
        reports.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "some failed: {out}{err}");

    // One line per passing board, one per failed check.
    let fails: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL ")).collect();
    let passes = out.lines().filter(|l| l.starts_with("PASS ")).count();
    assert_eq!(passes, 12, "{out}");
    assert_eq!(fails.len(), 4, "{out}");
    let expected = [
        (3, "sol", "cannot do Serial-over-LAN"),
        (7, "power", "did not power back on within 5 s"),
        (11, "control-mode", "user consent would block PXE and SOL"),
        (15, "hardware", "4 GiB of memory, not 8"),
    ];
    for (n, check, why) in expected {
        let line = fails
            .iter()
            .find(|l| l.starts_with(&format!("FAIL {} ", ip(n))))
            .unwrap_or_else(|| panic!("board {n} failed: {out}"));
        assert!(
            line.contains(&format!(" {check}: ")) && line.contains(why),
            "{line}"
        );
    }
    assert!(out.contains("12 passed, 4 failed"), "{out}");

    // summary.json agrees, and each failed unit failed one check only.
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["passed"], 12);
    assert_eq!(summary["failed"], 4);
    let units = summary["units"].as_array().unwrap();
    assert_eq!(units.len(), BOARDS as usize);
    for u in units {
        let failures = u["failures"].as_array().unwrap().len();
        assert_eq!(
            failures,
            usize::from(!u["passed"].as_bool().unwrap()),
            "{u}"
        );
    }

    // Every line of every report is an OCP-TV artifact; results match the summary.
    let validator = schema_validator();
    for u in units {
        let text = std::fs::read_to_string(reports.join(u["json"].as_str().unwrap())).unwrap();
        let mut result = None;
        let mut steps = Vec::new();
        for line in text.lines() {
            let artifact: Value = serde_json::from_str(line).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&artifact)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{line}: {errors:?}");
            if let Some(r) = artifact.pointer("/testRunArtifact/testRunEnd/result") {
                result = Some(r.as_str().unwrap().to_string());
                assert_eq!(
                    artifact["testRunArtifact"]["testRunEnd"]["status"],
                    "COMPLETE"
                );
            }
            if let Some(s) = artifact.pointer("/testStepArtifact/testStepStart/name") {
                steps.push(s.as_str().unwrap().to_string());
            }
        }
        let want = if u["passed"].as_bool().unwrap() {
            "PASS"
        } else {
            "FAIL"
        };
        assert_eq!(result.as_deref(), Some(want), "{u}");
        assert_eq!(
            steps,
            [
                "amt",
                "control-mode",
                "firmware",
                "identity",
                "hardware",
                "power",
                "sol",
                "pxe"
            ]
        );
    }
    // The board in client control mode is not also failed for SOL: that step is skipped.
    let ccm = units.iter().find(|u| u["host"] == ip(11)).unwrap();
    let text = std::fs::read_to_string(reports.join(ccm["json"].as_str().unwrap())).unwrap();
    assert!(
        text.contains(r#""testStepEnd":{"status":"SKIP"}"#),
        "{text}"
    );

    // The pages render in a real browser.
    let failed = units.iter().find(|u| u["host"] == ip(15)).unwrap();
    let page = reports.join(failed["html"].as_str().unwrap());
    let dom =
        String::from_utf8(chromium(&["--dump-dom", &format!("file://{}", page.display())]).stdout)
            .unwrap();
    assert!(dom.contains(r#"id="result">FAIL<"#), "{dom}");
    assert!(dom.contains("4 GiB of memory, not 8"), "{dom}");
    let index = reports.join("index.html");
    let dom =
        String::from_utf8(chromium(&["--dump-dom", &format!("file://{}", index.display())]).stdout)
            .unwrap();
    assert_eq!(dom.matches(r#"data-result="FAIL""#).count(), 4, "{dom}");
    assert_eq!(dom.matches(r#"data-result="PASS""#).count(), 12, "{dom}");
    let shots = [
        screenshot(&index, "summary.png"),
        screenshot(&page, "failed-unit.png"),
    ];
    eprintln!("screenshots: {shots:?}");
}

#[test]
fn an_unknown_profile_is_refused_before_any_board_is_touched() {
    let block = Block::allocate();
    let metal = Metal::new(BIN).password(PASSWORD).no_inventory();
    let (code, _, err) = metal.run(&[
        "verify",
        &block.first().to_string(),
        "--profile",
        "nope",
        "--report",
        metal.dir().join("r").to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("no hardware profile \"nope\"") && err.contains("desktop-8g-raid10"),
        "{err}"
    );
}

/// A netboot server on loopback (proxy mode, every port ephemeral) whose operator token is
/// `token`; returns its config file.
fn netboot_config(dir: &Path, token: &str) -> PathBuf {
    use sha2::Digest;
    let templates = concat!(env!("CARGO_MANIFEST_DIR"), "/../../pxe");
    for sub in ["tftp", "images"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let operator = hex::encode(sha2::Sha256::digest(token.as_bytes()));
    let text = format!(
        "server_ip = \"127.0.0.1\"\nmode = \"proxy\"\ndefault_profile = \"diskless\"\nports = {{ dhcp = 0, pxe = 0 }}\n\
         [tftp]\nroot = \"{0}/tftp\"\nlisten = \"127.0.0.1:0\"\n\
         [http]\nlisten = \"127.0.0.1:0\"\nroot = \"{0}/images\"\ntemplates = \"{templates}\"\noperator_token_sha256 = \"{operator}\"\n\
         [profiles.diskless]\ntemplate = \"linux.ipxe\"\nkernel = \"vmlinuz\"\ninitrd = \"initrd.img\"\ncmdline = \"console=ttyS0\"\n",
        dir.display()
    );
    let path = dir.join("netboot.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_pxe_check_passes_only_for_a_board_whose_boot_script_the_server_served() {
    let block = Block::allocate();
    let ip = |n| block.ip(n);
    let sim = SimProcess::builder(BIN, PASSWORD, block.first())
        .boards(2)
        .args(["--hardware", "8g-4hdd", "--boot-output-ms", "300"])
        .start();
    let profiles = tempfile::tempdir().unwrap();
    let quick_pxe = PROFILE.replace("sol_secs = 20", "sol_secs = 20\npxe_secs = 8");
    std::fs::write(profiles.path().join("batch.toml"), quick_pxe).unwrap();
    let metal = Metal::new(BIN)
        .password(PASSWORD)
        .profiles(profiles.path())
        .no_inventory();
    let token = "operator-token-of-the-factory-server";
    let serve = metal
        .command(["serve", "--config"])
        .arg(netboot_config(metal.dir(), token))
        .spawn_lines();
    let ready = serve.wait_for(|l| l.starts_with("ready "));
    let http: SocketAddr = ready
        .split_whitespace()
        .find_map(|f| f.strip_prefix("http="))
        .unwrap()
        .parse()
        .unwrap();
    let url = format!("http://{http}");
    let token_file = metal.dir().join("operator.token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (code, shown) = metal.json(&["show", &ip(1).to_string()]);
    assert_eq!(code, 0, "{shown}");
    let mac = shown["hosts"][0]["hardware"]["mac"]
        .as_str()
        .expect("a MAC")
        .to_string();

    // Board 1's "iPXE": once the one-shot PXE reset reaches the board, its script is fetched
    // from an address of its own, as a real board's firmware does after DHCP.
    let board = ip(1);
    let fetch_script = || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let prefix = format!("{board} boot from pxe");
        while std::time::Instant::now() < deadline {
            if sim.lines().iter().any(|l| l.starts_with(&prefix)) {
                let from = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 99, 1));
                return exchange(from, http, &get(&format!("/boot/{mac}.ipxe")));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("board 1 was never PXE-booted: {:?}", sim.lines());
    };
    let reports = metal.dir().join("reports");
    let verify = || {
        metal.run(&[
            "verify",
            &block.list(2),
            "--profile",
            "batch",
            "--report",
            reports.to_str().unwrap(),
            "--netboot",
            &url,
            "--netboot-token-file",
            token_file.to_str().unwrap(),
        ])
    };
    let (script, (code, out, err)) = std::thread::scope(|s| {
        let firmware = s.spawn(fetch_script);
        let verified = verify();
        (firmware.join().unwrap(), verified)
    });
    assert!(script.starts_with("HTTP/1.1 200"), "{script}");
    assert_eq!(code, 2, "one passed, one failed: {out}{err}");
    assert!(
        out.lines()
            .any(|l| l.starts_with(&format!("PASS {} ", ip(1)))),
        "{out}"
    );
    let fail = out
        .lines()
        .find(|l| l.starts_with(&format!("FAIL {} ", ip(2))))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        fail.contains(" pxe: ")
            && fail.contains(&format!("fetched no boot script from {url} within 8 s")),
        "{fail}"
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("summary.json")).unwrap())
            .unwrap();
    let unit = summary["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["host"] == ip(1).to_string())
        .unwrap()
        .clone();
    let text = std::fs::read_to_string(reports.join(unit["json"].as_str().unwrap())).unwrap();
    assert!(
        text.contains("fetched its boot script (profile diskless)") && text.contains("127.0.99.1"),
        "the evidence names the profile and the address: {text}"
    );

    // A wrong token is the operator's mistake: told before any board is touched.
    let wrong = metal.dir().join("wrong.token");
    std::fs::write(&wrong, "guess").unwrap();
    std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600)).unwrap();
    let args = |file: &Path| {
        vec![
            "verify".to_string(),
            ip(1).to_string(),
            "--profile".into(),
            "batch".into(),
            "--report".into(),
            reports.display().to_string(),
            "--netboot".into(),
            url.clone(),
            "--netboot-token-file".into(),
            file.display().to_string(),
        ]
    };
    let run = |file: &Path| {
        let a = args(file);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        metal.run(&a)
    };
    let (code, out, err) = run(&wrong);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!("the netboot server {url}: GET /events: 401")),
        "{err}"
    );
    assert!(out.is_empty(), "no board was verified: {out}");
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, err) = run(&token_file);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("readable by others (mode 644)"), "{err}");
}
