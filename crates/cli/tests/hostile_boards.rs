//! Hostile simulated boards through the binary, where an operator meets them: a board whose
//! model string holds a Nagios `define command` block and whose BIOS version holds terminal
//! escapes is enrolled and exported, and nothing it says becomes configuration or reaches the
//! terminal raw; boards that copy another's MAC or serial fail alone, naming it, run after run.

use metal_test_support::loopback::Block;
use metal_test_support::metal::Metal;
use metal_test_support::sim::SimProcess;
use metal_test_support::tools::nagios_verify;

const BIN: &str = env!("CARGO_BIN_EXE_metal");
const PASSWORD: &str = "H0stile!pw";

const INJECTED_MODEL: &str = "Q87\n}\ndefine command {\n command_name pwn\n command_line /bin/touch /tmp/metal-pwned\n}\ndefine host {\n host_name evil";
const INJECTED_MAKER: &str = "ACME\n@ IN NS evil.example.\n$INCLUDE /etc/shadow";
const ESCAPES: &str = "\u{1b}]0;owned\u{7}\u{1b}[31mRED\u{1b}[2J";

#[test]
fn a_hostile_boards_text_never_becomes_nagios_configuration_or_terminal_control() {
    let block = Block::allocate();
    let hostile = block.ip(1);
    let _sim = SimProcess::builder(BIN, PASSWORD, block.first())
        .boards(2)
        .args([
            "--report".to_string(),
            format!("{hostile}:CIM_Card.Model={INJECTED_MODEL}"),
            "--report".to_string(),
            format!("{hostile}:CIM_Card.Manufacturer={INJECTED_MAKER}"),
            "--report".to_string(),
            format!("{hostile}:CIM_BIOSElement.Version={ESCAPES}"),
            "--report".to_string(),
            format!("{hostile}:CIM_Processor.Version={ESCAPES}"),
        ])
        .start();
    let metal = Metal::new(BIN).password(PASSWORD);
    let (code, out, err) = metal.run(&["enroll", &block.cidr(30), "--rack", "r01"]);
    assert_eq!(code, 0, "{out}{err}");

    // Live and from the inventory, `show` prints no control character but newlines.
    let host = metal.machines()[0]["hostname"]
        .as_str()
        .unwrap()
        .to_string();
    for target in [hostile.to_string(), host] {
        let (code, out, err) = metal.run(&["show", &target]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
        assert!(out.contains("\\u{1b}]0;owned"), "shown escaped: {out}");
        assert!(!out.lines().any(|l| l.starts_with("define")), "{out}");
    }

    let d = metal.dir();
    let objects = d.join("metal.cfg");
    let (code, _, err) = metal.run(&["export", "nagios", "--out", objects.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&objects).unwrap();
    let defines = text
        .lines()
        .filter(|l| l.trim_start().starts_with("define"))
        .count();
    let hosts = text
        .lines()
        .filter(|l| l.trim_start().starts_with("define host "))
        .count();
    // The text is there, inert, inside one alias: no line of it starts a directive or a block.
    // The one command is metal's own check.
    let ours = [
        "define command {",
        "command_name    check_metal",
        "command_line    /usr/bin/metal check $HOSTNAME$",
    ];
    for line in text.lines().map(str::trim_start) {
        if ours.contains(&line) {
            continue;
        }
        assert!(
            !line.starts_with("command_")
                && !line.starts_with("define command")
                && !line.contains('$'),
            "{line:?} in {text}"
        );
        assert!(
            !line.starts_with("host_name       evil") && !line.starts_with("host_name evil"),
            "{text}"
        );
    }
    assert_eq!(hosts, 2, "one host per board: {text}");
    assert!(defines >= hosts);
    let verified = nagios_verify(d, &objects);
    assert!(verified.contains("Total Errors:   0"), "{verified}");
    assert!(!verified.contains("pwn"), "{verified}");
}

#[test]
fn boards_copying_another_boards_mac_or_serial_fail_alone_naming_it() {
    let block = Block::allocate();
    let (first, clone_mac, clone_serial, honest) =
        (block.ip(1), block.ip(2), block.ip(3), block.ip(4));
    let metal = Metal::new(BIN).password(PASSWORD);
    // The first board's identity, read from an ordinary simulated rack of the same seed.
    let (mac, serial) = {
        let _sim = SimProcess::builder(BIN, PASSWORD, block.first())
            .boards(1)
            .start();
        let (code, doc) = metal.json(&["show", &first.to_string()]);
        assert_eq!(code, 0, "{doc}");
        let hw = &doc["hosts"][0]["hardware"];
        (
            hw["mac"].as_str().unwrap().replace(':', "-"),
            hw["chassis"]["serial"].as_str().unwrap().to_string(),
        )
    };
    let _sim = SimProcess::builder(BIN, PASSWORD, block.first())
        .boards(4)
        .args([
            "--report".to_string(),
            format!("{clone_mac}:AMT_EthernetPortSettings.MACAddress={mac}"),
            "--report".to_string(),
            format!("{clone_serial}:CIM_Chassis.SerialNumber={serial}"),
        ])
        .start();
    for run in 0..2 {
        let (code, doc) = metal.json(&["enroll", &block.list(4), "--rack", "r02"]);
        assert_eq!(code, 2, "some boards failed (run {run}): {doc}");
        let hosts = doc["hosts"].as_array().unwrap();
        let by = |ip: std::net::Ipv4Addr| {
            hosts
                .iter()
                .find(|h| h["host"] == ip.to_string().as_str())
                .unwrap_or_else(|| panic!("{ip} in {doc}"))
        };
        assert_eq!(by(first)["ok"], true, "{doc}");
        assert_eq!(by(honest)["ok"], true, "{doc}");
        let first_name = by(first)["hostname"].as_str().unwrap().to_string();
        for (ip, what) in [(clone_mac, "MAC"), (clone_serial, "serial number")] {
            let h = by(ip);
            assert_eq!(h["ok"], false, "{h}");
            let message = h["error"]["message"].as_str().unwrap();
            assert!(
                message.contains(what) && message.contains(&first_name),
                "names the other machine: {message}"
            );
        }
    }
    assert_eq!(metal.machines().len(), 2, "the rest were enrolled, once");
}

#[test]
fn a_digest_challenge_without_qop_is_refused_with_the_reason() {
    let block = Block::allocate();
    let board = block.ip(1);
    let _sim = SimProcess::builder(BIN, PASSWORD, block.first())
        .boards(1)
        .args(["--fault".to_string(), format!("{board}=no-qop")])
        .start();
    let metal = Metal::new(BIN).password(PASSWORD);
    let (code, doc) = metal.json(&["power", "status", &board.to_string()]);
    assert_eq!(code, 3, "{doc}");
    let message = doc["hosts"][0]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("without qop") && message.contains("replayable"),
        "{message}"
    );
}
