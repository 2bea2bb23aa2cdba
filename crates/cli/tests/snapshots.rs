//! Snapshots (insta) of what people and scripts read: `--help`, the main tables and `--json`
//! documents. A change to any of them shows up as a snapshot diff to review, not as a silent
//! change of output. Addresses, UUIDs, MACs and times differ per run and are replaced by
//! placeholders; everything else is compared byte for byte.

use metal_test_support::loopback::Block;
use metal_test_support::metal::Metal;
use metal_test_support::sim::SimProcess;

const BIN: &str = env!("CARGO_BIN_EXE_metal");
const PASSWORD: &str = "Snap-Passw0rd!";

/// Run-specific values and the placeholders that stand for them. The allocated addresses
/// differ in length from run to run, so table padding (any run of spaces) and rules are
/// squeezed too.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"127\.\d+\.\d+\.\d+ *", "[IP] "),
        ("─+", "─"),
        ("═+", "═"),
        (" +│", " │"),
        (" {2,}", "  "),
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[UUID]",
        ),
        (r"([0-9a-f]{2}:){5}[0-9a-f]{2}", "[MAC]"),
        (r#""(created|updated)_ms": \d+"#, r#""${1}_ms": [MS]"#),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[TIME]"),
        (r"metal \d+\.\d+\.\d+", "metal [VERSION]"),
    ]
}

macro_rules! snapshot {
    ($name:expr, $text:expr) => {
        insta::with_settings!({ filters => filters(), prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!($name, $text);
        });
    };
}

#[test]
fn help_texts() {
    let metal = Metal::new(BIN).no_inventory();
    for (name, args) in [
        ("help_metal", &["--help"][..]),
        ("help_power_status", &["power", "status", "--help"]),
        ("help_enroll", &["enroll", "--help"]),
        ("help_console", &["console", "--help"]),
        ("help_verify", &["verify", "--help"]),
    ] {
        let (code, out, err) = metal.run(args);
        assert_eq!(code, 0, "{err}");
        snapshot!(name, out);
    }
}

#[test]
fn tables_and_json_documents() {
    let block = Block::allocate();
    let _sim = SimProcess::builder(BIN, PASSWORD, block.first())
        .boards(3)
        .start();
    let metal = Metal::new(BIN).password(PASSWORD);
    let boards = block.list(3);
    let (code, out, err) = metal.run(&["power", "status", &boards]);
    assert_eq!(code, 0, "{err}");
    snapshot!("table_power_status", out);
    let (code, out, _) = metal.run(&["power", "status", &boards, "--json"]);
    assert_eq!(code, 0);
    snapshot!("json_power_status", out);
    let (code, out, err) =
        metal.run(&["enroll", &boards, "--rack", "s1", "--pool", "10.50.0.0/24"]);
    assert_eq!(code, 0, "{err}");
    snapshot!("table_enroll", out);
    let (code, out, _) = metal.run(&["ls"]);
    assert_eq!(code, 0);
    snapshot!("table_ls", out);
    let (code, out, _) = metal.run(&["ls", "s1-h02", "--json"]);
    assert_eq!(code, 0);
    snapshot!("json_ls", out);
    let (code, out, _) = metal.run(&[
        "state", "broken", "s1-h01", "s1-h09", "--reason", "fan", "--json",
    ]);
    assert_eq!(code, 2);
    snapshot!("json_state", out);
}

/// Every command with data prints one document in the envelope of `metal_types::output`.
#[test]
fn every_json_document_has_the_envelope() {
    let block = Block::allocate();
    let _sim = SimProcess::builder(BIN, PASSWORD, block.first())
        .boards(2)
        .args(["--boot-output-ms", "200"])
        .start();
    let metal = Metal::new(BIN).password(PASSWORD);
    let (a, b) = (block.ip(1).to_string(), block.ip(2).to_string());
    let key = metal.dir().join("tsig.key");
    std::fs::write(
        &key,
        "key \"k\" { algorithm hmac-sha256; secret \"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\"; };\n",
    )
    .unwrap();
    let key = key.to_str().unwrap();
    let commands: Vec<(&str, Vec<&str>)> = vec![
        ("discover", vec!["discover", &a]),
        ("enroll --rack e1", vec!["enroll", &a, &b, "--rack", "e1"]),
        ("power status", vec!["power", "status", "rack:e1"]),
        ("power on", vec!["power", "on", "e1-h01"]),
        ("boot disk", vec!["boot", "disk", "e1-h02"]),
        ("show", vec!["show", "e1-h01"]),
        ("show", vec!["show", &b]),
        ("ls", vec!["ls"]),
        ("events", vec!["events", "e1-h01"]),
        (
            "state retired",
            vec!["state", "retired", "e1-h02", "--reason", "gone"],
        ),
        ("export dns", vec!["export", "dns", "--zone", "host.h"]),
        ("export nagios", vec!["export", "nagios"]),
        ("export prometheus", vec!["export", "prometheus"]),
        (
            "dns sync",
            vec![
                "dns",
                "sync",
                "--zone",
                "host.h",
                "--server",
                "127.0.0.1:9",
                "--key-file",
                key,
                "--timeout",
                "1",
            ],
        ),
        (
            "console --expect",
            vec![
                "console",
                &a,
                "--expect",
                "nothing-prints-this",
                "--timeout",
                "2",
            ],
        ),
    ];
    for (command, args) in commands {
        let (code, doc) = metal.json(&args);
        assert_eq!(
            doc["schema_version"],
            metal_types::SCHEMA_VERSION,
            "{args:?}: {doc}"
        );
        assert_eq!(doc["command"], command, "{args:?}: {doc}");
        let fails = matches!(command, "dns sync" | "console --expect");
        assert_eq!(code != 0, fails, "{args:?} exit {code}: {doc}");
    }
}
