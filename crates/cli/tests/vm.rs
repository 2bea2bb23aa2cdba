//! `metal vm` before any agent is reached: what install_xen.sh checked (every one of -h -i -m
//! -s), sizes, and Dom0s and guests the inventory does not have. (Guests on real Dom0s:
//! `tests/netboot/vm.rs`.)

use metal_test_support::metal::Metal;

fn metal() -> Metal {
    Metal::new(env!("CARGO_BIN_EXE_metal"))
}

#[test]
fn create_names_every_missing_argument_as_install_xen_did() {
    let (code, out, err) = metal().run(&["vm", "create", "-h", "web1", "-m", "512"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("vm create: missing -i IP, -s GB"), "{err}");
    assert!(
        err.contains("usage: metal vm create -h NAME -i IP -m MB -s GB"),
        "{err}"
    );
    let (code, _, err) = metal().run(&["vm", "create"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("missing -h NAME, -i IP, -m MB, -s GB"),
        "{err}"
    );
    // -h is the hostname here; help is --help.
    let (code, out, _) = metal().run(&["vm", "create", "--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("-h <NAME>") && out.contains("--explain"),
        "{out}"
    );
}

#[test]
fn bad_names_sizes_images_and_unknown_hosts_are_refused_before_anything_is_made() {
    let m = metal();
    let image = m.dir().join("domu-root.ext4");
    std::fs::write(&image, vec![0u8; 4096]).unwrap();
    let img = image.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["vm", "create", "--image", img];
        args.extend_from_slice(extra);
        m.run(&args)
    };
    let (code, _, err) = run(&["-h", "Web_1", "-i", "10.0.0.5", "-m", "512", "-s", "4"]);
    assert_eq!(code, 1);
    assert!(err.contains("guest name \"Web_1\""), "{err}");
    let (code, _, err) = run(&["-h", "web1", "-i", "10.0.0.5", "-m", "16", "-s", "4"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("memory (MiB) must be 128 to 262144, not 16"),
        "{err}"
    );
    let (code, _, err) = m.run(&[
        "vm",
        "create",
        "--image",
        "/nonexistent.ext4",
        "-h",
        "web1",
        "-i",
        "10.0.0.5",
        "-m",
        "512",
        "-s",
        "4",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("DomU image /nonexistent.ext4"), "{err}");
    // Hosts the inventory does not have.
    let (code, _, err) = run(&[
        "-h", "web1", "-i", "10.0.0.5", "-m", "512", "-s", "4", "--on", "r01-h01",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("r01-h01: no such Dom0 in the inventory"),
        "{err}"
    );
    let (code, _, err) = m.run(&["vm", "migrate", "nobody", "--to", "r01-h01"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("nobody: no such guest in the inventory"),
        "{err}"
    );
}
