//! `kit build|verify|unpack`: the vendor kit (`metal_kit`), gathered from this installation:
//! this `metal` and the `metal-agent` beside it, the chosen hardware profiles, the iPXE
//! programs, the iPXE script templates, optionally built images and the Debian package, the
//! vendor guide, the systemd unit and the example netboot configuration.

use std::path::{Path, PathBuf};

use metal_kit::{Entry, Manifest, Source, Verified};

use crate::{Config, Error};

/// The guide a vendor reads first.
const GUIDE: &str = include_str!("../../../packaging/GUIDE.md");
/// The systemd unit of `metal serve`.
const SERVE_UNIT: &str = include_str!("../../../packaging/metal-serve.service");
/// The example netboot configuration.
const NETBOOT_EXAMPLE: &str = include_str!("../../netboot/netboot.example.toml");
/// The iPXE script templates `metal serve` renders (`[http] templates`).
const TEMPLATES: [(&str, &str); 6] = [
    ("burnin.ipxe", include_str!("../../../pxe/burnin.ipxe")),
    ("dom0.ipxe", include_str!("../../../pxe/dom0.ipxe")),
    (
        "installer.ipxe",
        include_str!("../../../pxe/installer.ipxe"),
    ),
    ("linux.ipxe", include_str!("../../../pxe/linux.ipxe")),
    ("local.ipxe", include_str!("../../../pxe/local.ipxe")),
    ("xen.ipxe", include_str!("../../../pxe/xen.ipxe")),
];
/// The iPXE programs boards load over TFTP: BIOS (undionly) and UEFI (snponly, ipxe.efi),
/// as Debian's `ipxe` package installs them.
const IPXE_FILES: [&str; 3] = ["undionly.kpxe", "snponly.efi", "ipxe.efi"];

/// What goes into a kit.
#[derive(Debug, Clone)]
pub struct KitInputs {
    pub profiles: Vec<String>,
    /// The iPXE programs' folder (Debian: /usr/lib/ipxe).
    pub ipxe: PathBuf,
    /// A folder of built images (`metal image build --out`), each with its manifest.
    pub images: Option<PathBuf>,
    /// The Debian package (`cargo deb -p metal-cli`).
    pub deb: Option<PathBuf>,
}

fn bytes(path: &str, text: &str) -> Entry {
    Entry {
        path: path.into(),
        source: Source::Bytes(text.as_bytes().to_vec()),
        executable: false,
    }
}

fn file(path: String, source: PathBuf, executable: bool) -> Result<Entry, Error> {
    // Symbolic links are followed (Debian's ipxe.efi is one); the kit holds the file.
    let meta = std::fs::metadata(&source).map_err(Error::io(&source))?;
    if !meta.is_file() {
        return Err(Error::Usage(format!(
            "{}: not a regular file",
            source.display()
        )));
    }
    Ok(Entry {
        path,
        source: Source::Path(source),
        executable,
    })
}

/// `kit build`: writes the archive to `out`.
pub fn build(config: &Config, inputs: &KitInputs, out: &Path) -> Result<Manifest, Error> {
    if inputs.profiles.is_empty() {
        return Err(Error::Usage("a kit needs at least one --profile".into()));
    }
    let mut entries = Vec::new();
    let exe = std::env::current_exe().map_err(Error::Output)?;
    entries.push(file("bin/metal".into(), exe.clone(), true)?);
    let agent = exe.with_file_name("metal-agent");
    if agent.is_file() {
        entries.push(file("bin/metal-agent".into(), agent, true)?);
    }
    for name in &inputs.profiles {
        let text = config.profiles.text(name)?;
        entries.push(bytes(&format!("hardware-profiles/{name}.toml"), &text));
    }
    for name in IPXE_FILES {
        entries.push(file(
            format!("share/ipxe/{name}"),
            inputs.ipxe.join(name),
            false,
        )?);
    }
    for (name, text) in TEMPLATES {
        entries.push(bytes(&format!("share/pxe/{name}"), text));
    }
    if let Some(dir) = &inputs.images {
        for image in metal_image::list(dir)? {
            if let Some(problem) = image.problems.first() {
                return Err(Error::Usage(format!(
                    "{}: {problem}; rebuild it with `metal image build`",
                    image.path.display()
                )));
            }
            let kind = &image.manifest.kind;
            let manifest_name = image
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            entries.push(file(
                format!("images/{kind}/{manifest_name}"),
                image.path.clone(),
                false,
            )?);
            for f in &image.manifest.files {
                entries.push(file(
                    format!("images/{kind}/{}", f.name),
                    dir.join(&f.name),
                    false,
                )?);
            }
        }
    }
    if let Some(deb) = &inputs.deb {
        let name = deb
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".deb"))
            .ok_or_else(|| Error::Usage(format!("{}: not a .deb file", deb.display())))?;
        entries.push(file(format!("deb/{name}"), deb.clone(), false)?);
    }
    entries.push(bytes("GUIDE.md", GUIDE));
    entries.push(bytes("share/metal-serve.service", SERVE_UNIT));
    entries.push(bytes("share/netboot.example.toml", NETBOOT_EXAMPLE));
    Ok(metal_kit::build(
        out,
        env!("CARGO_PKG_VERSION"),
        &inputs.profiles,
        &entries,
    )?)
}

/// `kit verify`.
pub fn verify(kit: &Path) -> Result<Verified, Error> {
    Ok(metal_kit::verify(kit)?)
}

/// `kit unpack FILE --into DIR`: checks while writing; DIR is created if missing and must
/// be empty.
pub fn unpack(kit: &Path, into: &Path) -> Result<Verified, Error> {
    std::fs::create_dir_all(into).map_err(Error::io(into))?;
    Ok(metal_kit::unpack(kit, into)?)
}
