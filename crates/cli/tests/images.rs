//! `metal image ls`: each image of a folder checked against its manifest. (Building images
//! needs root and a Debian mirror: `tests/netboot/dom0.rs` builds and boots them.)

use metal_test_support::metal::Metal;
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_metal");

fn manifest(files: &[(&str, &[u8])]) -> String {
    let entries: Vec<String> = files
        .iter()
        .map(|(name, data)| {
            format!(
                r#"{{"name":"{name}","size":{},"sha256":"{}"}}"#,
                data.len(),
                hex::encode(Sha256::digest(data))
            )
        })
        .collect();
    format!(
        r#"{{"kind":"dom0","key":"{key}","suite":"bookworm","mirror":"http://deb.debian.org/debian",
"kernel_version":"6.1.0-50-amd64","inputs":{{}},"packages":{{"xen-utils-4.17":"4.17.5"}},
"files":[{}],"build_seconds":156.0}}"#,
        entries.join(","),
        key = "ab".repeat(32)
    )
}

#[test]
fn image_ls_checks_every_file_against_its_manifest() {
    let metal = Metal::new(BIN).no_inventory();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("vmlinuz"), b"kernel").unwrap();
    std::fs::write(d.join("dom0-root.squashfs"), b"root").unwrap();
    std::fs::write(
        d.join("dom0.manifest.json"),
        manifest(&[("vmlinuz", b"kernel"), ("dom0-root.squashfs", b"root")]),
    )
    .unwrap();
    let dir_arg = d.to_str().unwrap();

    let (code, out, err) = metal.run(&["image", "ls", "--dir", dir_arg]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("dom0") && out.contains("6.1.0-50-amd64") && out.contains("ok"),
        "{out}"
    );

    let (code, doc) = metal.json(&["image", "ls", "--dir", dir_arg]);
    assert_eq!(code, 0);
    assert_eq!(doc["command"], "image ls");
    assert_eq!(doc["images"][0]["ok"], true);
    assert_eq!(doc["images"][0]["manifest"]["files"][0]["name"], "vmlinuz");

    std::fs::write(d.join("vmlinuz"), b"kernel, patched").unwrap();
    std::fs::remove_file(d.join("dom0-root.squashfs")).unwrap();
    let (code, out, _) = metal.run(&["image", "ls", "--dir", dir_arg]);
    assert_eq!(code, 1, "a changed image fails: {out}");
    assert!(out.contains("vmlinuz differs from its manifest"), "{out}");
    assert!(out.contains("dom0-root.squashfs is missing"), "{out}");

    let (code, _, err) = metal.run(&["image", "ls", "--dir", "/nonexistent/images"]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/images"), "{err}");
}
