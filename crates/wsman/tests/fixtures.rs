//! Every response recorded from a real AMT 12 board (tests/fixtures/amt-wsman, marked `R` in
//! PROVENANCE.txt) must parse, and must yield what its operation promises: an instance for a
//! Get, a context for an Enumerate, items and an end for a Pull, a ReturnValue for a method.

use std::path::PathBuf;

use metal_wsman::{Response, ResponseError};

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/amt-wsman")
}

fn recorded() -> Vec<(String, String)> {
    let dir = fixture_dir();
    let provenance = std::fs::read_to_string(dir.join("PROVENANCE.txt")).expect("PROVENANCE.txt");
    provenance
        .lines()
        .filter_map(|l| l.strip_prefix("R "))
        .map(|path| {
            let text =
                std::fs::read_to_string(dir.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
            (path.to_string(), text)
        })
        .collect()
}

#[test]
fn every_recorded_response_parses_by_operation() {
    let files = recorded();
    assert!(
        files.len() >= 270,
        "only {} recorded fixtures found",
        files.len()
    );
    let mut checked = 0;
    for (path, text) in &files {
        let operation = path.rsplit('/').next().unwrap().trim_end_matches(".xml");
        let response = match Response::parse(text) {
            Ok(r) => r,
            Err(ResponseError::Fault(f)) => {
                assert!(!f.code.is_empty(), "{path}: fault without code");
                checked += 1;
                continue;
            }
            Err(e) => panic!("{path}: {e}"),
        };
        assert!(response.action().is_some(), "{path}: no Action header");
        match operation {
            // DSP0226 §7.5: a Put response may omit the representation (amt/mps/put.xml does).
            "put" if response.body.children.is_empty() => {}
            "get" | "put" => {
                let payload = response.payload().unwrap_or_else(|e| panic!("{path}: {e}"));
                assert!(!payload.children.is_empty(), "{path}: empty instance");
            }
            "enumerate" => {
                let ctx = response
                    .enumeration_context()
                    .unwrap_or_else(|e| panic!("{path}: {e}"));
                assert!(!ctx.is_empty(), "{path}: empty context");
            }
            // Some recorded Delete responses carry Action `.../Delete`, not `DeleteResponse`.
            "delete" => assert!(
                response.action().unwrap().contains("/transfer/Delete"),
                "{path}"
            ),
            "pull" => {
                response
                    .pull_items()
                    .unwrap_or_else(|e| panic!("{path}: {e}"));
            }
            _ if response.action().unwrap().ends_with("Response")
                && response.return_value().is_ok() => {}
            _ => {
                response.payload().unwrap_or_else(|e| panic!("{path}: {e}"));
            }
        }
        checked += 1;
    }
    assert_eq!(checked, files.len());
}

#[test]
fn power_service_fixture_values() {
    use metal_wsman::Instance;
    let text = std::fs::read_to_string(
        fixture_dir().join("cim/associatedpower/managementservice/get.xml"),
    )
    .unwrap();
    let response = Response::parse(&text).unwrap();
    let instance = response.payload().unwrap();
    assert_eq!(instance.name, "CIM_AssociatedPowerManagementService");
    assert_eq!(instance.prop_num::<u16>("PowerState").unwrap(), 2);
    assert_eq!(
        instance.props("AvailableRequestedPowerStates"),
        ["10", "8", "5", "11", "4", "7", "14", "12"]
    );
}

#[test]
fn compact_and_pretty_forms_parse_alike() {
    let text = std::fs::read_to_string(fixture_dir().join("cim/chassis/get.xml")).unwrap();
    let compact: String = text.lines().map(str::trim).collect();
    let a = Response::parse(&text).unwrap();
    let b = Response::parse(&compact).unwrap();
    assert_eq!(a.payload().unwrap(), b.payload().unwrap());
}
