//! The recipes under `images/`, built into the binary so that `metal image build` needs no
//! checkout, and the cache keys made from them.

use sha2::{Digest, Sha256};

/// Which image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dom0,
    Installer,
    /// A DomU's root file system (its own, smaller tree).
    Domu,
    /// The burn-in: the kernel with a boot initramfs that runs stress-ng, memtester,
    /// stressapptest and fio (its own tree).
    Burnin,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Dom0 => "dom0",
            Kind::Installer => "installer",
            Kind::Domu => "domu",
            Kind::Burnin => "burnin",
        }
    }

    pub fn manifest_name(self) -> String {
        format!("{}.manifest.json", self.name())
    }
}

/// A recipe file: its path under `images/` and its text.
pub struct File {
    pub path: &'static str,
    pub text: &'static str,
}

macro_rules! recipe_file {
    ($path:literal) => {
        File {
            path: $path,
            text: include_str!(concat!("../../../images/", $path)),
        }
    };
}

pub const PACKAGES: File = recipe_file!("dom0/packages");
pub const DOM0_INIT: File = recipe_file!("dom0/metal-init");
pub const DOM0_EXCLUDE: File = recipe_file!("dom0/exclude");
pub const XL_CONF: File = recipe_file!("dom0/xl.conf");
pub const XENDOMAINS: File = recipe_file!("dom0/xendomains");
pub const GUEST_INIT: File = recipe_file!("dom0/guest-init");
pub const GUEST_MODULES: File = recipe_file!("dom0/guest-modules");
pub const DOMU_PACKAGES: File = recipe_file!("domu/packages");
pub const DOMU_REMOVE: File = recipe_file!("domu/remove");
pub const DOMU_UP: File = recipe_file!("domu/metal-guest-up.service");
pub const DOMU_WATCHDOG: File = recipe_file!("domu/watchdog.conf");
pub const INIT: File = recipe_file!("initramfs/init");
pub const COMMON: File = recipe_file!("initramfs/common.sh");
pub const UDHCPC: File = recipe_file!("initramfs/udhcpc.script");
pub const MODULES: File = recipe_file!("initramfs/modules");
pub const BINARIES: File = recipe_file!("initramfs/binaries");
pub const INSTALL: File = recipe_file!("installer/install");
pub const INSTALLER_BINARIES: File = recipe_file!("installer/binaries");
pub const BURNIN_PACKAGES: File = recipe_file!("burnin/packages");
pub const BURNIN: File = recipe_file!("burnin/burnin");
pub const BURNIN_BINARIES: File = recipe_file!("burnin/binaries");

/// What the build tree is made of: debootstrap's suite and mirror and the package list. A
/// change in any of them rebuilds the tree; the image keys include the tree's.
const TREE_INPUTS: &[&File] = &[&PACKAGES];
const DOMU_TREE_INPUTS: &[&File] = &[&DOMU_PACKAGES];
const BURNIN_TREE_INPUTS: &[&File] = &[&BURNIN_PACKAGES];
const BOOT_INPUTS: &[&File] = &[&INIT, &COMMON, &UDHCPC, &MODULES, &BINARIES];
const DOM0_INPUTS: &[&File] = &[
    &DOM0_INIT,
    &DOM0_EXCLUDE,
    &XL_CONF,
    &XENDOMAINS,
    &GUEST_INIT,
    &GUEST_MODULES,
];
const INSTALLER_INPUTS: &[&File] = &[&INSTALL, &INSTALLER_BINARIES];
const DOMU_INPUTS: &[&File] = &[&DOMU_REMOVE, &DOMU_UP, &DOMU_WATCHDOG];
const BURNIN_INPUTS: &[&File] = &[&BURNIN, &BURNIN_BINARIES];

/// Bumped when the build steps in this crate change what they make from the same inputs: the
/// tree's (debootstrap) and the images' (everything after it) apart, so that a change in how
/// an initramfs is packed does not re-run debootstrap.
const TREE_BUILDER_VERSION: &str = "1";
const BUILDER_VERSION: &str = "5";

/// One suite and mirror with the recipes.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub suite: String,
    pub mirror: String,
    /// The SHA-256 of the `metal-agent` binary the Dom0 image carries.
    pub agent_sha256: Option<String>,
}

impl Recipe {
    pub fn new(suite: &str, mirror: &str) -> Recipe {
        Recipe {
            suite: suite.to_string(),
            mirror: mirror.trim_end_matches('/').to_string(),
            agent_sha256: None,
        }
    }

    /// The Dom0 and installer images share one tree; a DomU root and the burn-in have their
    /// own.
    fn tree_inputs(kind: Kind) -> &'static [&'static File] {
        match kind {
            Kind::Dom0 | Kind::Installer => TREE_INPUTS,
            Kind::Domu => DOMU_TREE_INPUTS,
            Kind::Burnin => BURNIN_TREE_INPUTS,
        }
    }

    /// The packages debootstrap includes for `kind`'s tree, in file order (comments and
    /// blank lines skipped).
    pub fn packages(&self, kind: Kind) -> Vec<&'static str> {
        Self::tree_inputs(kind)
            .iter()
            .flat_map(|f| lines(f.text))
            .collect()
    }

    pub fn tree_key(&self, kind: Kind) -> String {
        let mut h = Sha256::new();
        h.update(format!(
            "tree {TREE_BUILDER_VERSION}\n{}\n{}\n",
            self.suite, self.mirror
        ));
        feed(&mut h, Self::tree_inputs(kind));
        hex::encode(h.finalize())
    }

    /// The cache key of `kind`: the tree's key and every recipe file the image is made from.
    pub fn key(&self, kind: Kind) -> String {
        let mut h = Sha256::new();
        h.update(format!(
            "{} {BUILDER_VERSION}\n{}\n",
            kind.name(),
            self.tree_key(kind)
        ));
        for f in Self::own_inputs(kind) {
            feed(&mut h, f);
        }
        if kind == Kind::Dom0 {
            h.update(format!(
                "metal-agent {}\n",
                self.agent_sha256.as_deref().unwrap_or("none")
            ));
        }
        hex::encode(h.finalize())
    }

    fn own_inputs(kind: Kind) -> Vec<&'static [&'static File]> {
        match kind {
            Kind::Dom0 => vec![BOOT_INPUTS, DOM0_INPUTS],
            Kind::Installer => vec![BOOT_INPUTS, INSTALLER_INPUTS],
            Kind::Domu => vec![DOMU_INPUTS],
            Kind::Burnin => vec![BOOT_INPUTS, BURNIN_INPUTS],
        }
    }

    /// Each input file of `kind` with the SHA-256 of its text, for the manifest.
    pub fn inputs(&self, kind: Kind) -> Vec<(String, String)> {
        Self::tree_inputs(kind)
            .iter()
            .chain(Self::own_inputs(kind).into_iter().flatten())
            .map(|f| {
                (
                    format!("images/{}", f.path),
                    hex::encode(Sha256::digest(f.text)),
                )
            })
            .collect()
    }
}

fn feed(h: &mut Sha256, files: &[&File]) {
    for f in files {
        h.update(format!("{}\n{}\n", f.path, f.text.len()));
        h.update(f.text);
    }
}

/// The entries of a list file: one per line, `#` comments and blank lines skipped.
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_their_inputs_and_differ_per_kind() {
        let a = Recipe::new("bookworm", "http://deb.debian.org/debian");
        let same = Recipe::new("bookworm", "http://deb.debian.org/debian/");
        let other = Recipe::new("trixie", "http://deb.debian.org/debian");
        assert_eq!(
            a.key(Kind::Dom0),
            same.key(Kind::Dom0),
            "a trailing slash is the same mirror"
        );
        assert_ne!(a.key(Kind::Dom0), a.key(Kind::Installer));
        assert_ne!(a.tree_key(Kind::Dom0), other.tree_key(Kind::Dom0));
        assert_ne!(a.tree_key(Kind::Dom0), a.tree_key(Kind::Domu));
        assert_eq!(a.tree_key(Kind::Dom0), a.tree_key(Kind::Installer));
        assert_ne!(a.tree_key(Kind::Dom0), a.tree_key(Kind::Burnin));
        let mut with_agent = a.clone();
        with_agent.agent_sha256 = Some("ab".repeat(32));
        assert_ne!(
            a.key(Kind::Dom0),
            with_agent.key(Kind::Dom0),
            "the agent is an input"
        );
        assert_eq!(a.key(Kind::Installer), with_agent.key(Kind::Installer));
        assert_ne!(a.key(Kind::Dom0), other.key(Kind::Dom0));
        assert_eq!(a.key(Kind::Dom0).len(), 64);
    }

    #[test]
    fn the_package_list_names_what_the_issue_requires() {
        let p = Recipe::new("bookworm", "m").packages(Kind::Dom0);
        for want in [
            "xen-hypervisor-4.17-amd64",
            "xen-utils-4.17",
            "linux-image-amd64",
            "lvm2",
            "mdadm",
            "busybox-static",
            "grub-pc-bin",
            "grub-efi-amd64-bin",
        ] {
            assert!(p.contains(&want), "{want} missing from {p:?}");
        }
        assert!(p.iter().all(|x| !x.contains(' ') && !x.contains('#')));
        let b = Recipe::new("bookworm", "m").packages(Kind::Burnin);
        for want in [
            "stress-ng",
            "memtester",
            "stressapptest",
            "fio",
            "linux-image-amd64",
        ] {
            assert!(b.contains(&want), "{want} missing from {b:?}");
        }
        assert!(
            !p.contains(&"fio"),
            "the Dom0 tree stays without the burn-in tools"
        );
    }

    #[test]
    fn manifest_inputs_list_every_recipe_file_once() {
        let r = Recipe::new("bookworm", "m");
        let d: Vec<String> = r.inputs(Kind::Dom0).into_iter().map(|(p, _)| p).collect();
        assert!(d.contains(&"images/dom0/metal-init".to_string()));
        assert!(!d.contains(&"images/installer/install".to_string()));
        let i: Vec<String> = r
            .inputs(Kind::Installer)
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert!(i.contains(&"images/installer/install".to_string()));
        let mut sorted = i.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), i.len());
    }
}
