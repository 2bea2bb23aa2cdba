//! The build tree: `debootstrap --variant=minbase --include=<images/dom0/packages>`, kept in the
//! cache under its key. Built beside its final name and renamed when complete, so an
//! interrupted build never leaves a tree that looks finished.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::io;
use crate::recipe::{Kind, Recipe};
use crate::{Error, tools};

/// A finished tree and what is in it.
pub struct Tree {
    pub root: PathBuf,
    /// The one kernel in `/boot` (`6.1.0-…-amd64`); empty for a DomU root, which has none
    /// (guests boot the kernel the Dom0 image carries).
    pub kernel_version: String,
}

/// The name both images publish the kernel under.
pub const KERNEL: &str = "vmlinuz";

impl Tree {
    /// The tree's kernel (`boot/vmlinuz-<version>`): it boots the Dom0 and the installer.
    pub fn kernel(&self) -> PathBuf {
        self.root
            .join(format!("boot/vmlinuz-{}", self.kernel_version))
    }
}

pub fn ensure(
    recipe: &Recipe,
    kind: Kind,
    cache: &Path,
    step: &mut dyn FnMut(&str),
) -> Result<Tree, Error> {
    let key = recipe.tree_key(kind);
    let packages = recipe.packages(kind);
    let root = cache.join(format!("tree-{}", &key[..16]));
    if !root.join("etc/metal-tree").exists() {
        let partial = root.with_extension("partial");
        if partial.exists() {
            std::fs::remove_dir_all(&partial).map_err(io(&partial))?;
        }
        std::fs::create_dir_all(cache).map_err(io(cache))?;
        step(&format!(
            "debootstrap {} from {} ({} packages)",
            recipe.suite,
            recipe.mirror,
            packages.len()
        ));
        tools::run(
            Command::new("debootstrap")
                .arg("--variant=minbase")
                .arg(format!("--include={}", packages.join(",")))
                .arg(&recipe.suite)
                .arg(&partial)
                .arg(&recipe.mirror),
        )?;
        let stamp = partial.join("etc/metal-tree");
        std::fs::write(&stamp, &key).map_err(io(&stamp))?;
        if root.exists() {
            std::fs::remove_dir_all(&root).map_err(io(&root))?;
        }
        std::fs::rename(&partial, &root).map_err(io(&root))?;
    } else {
        step("build tree: inputs unchanged, from the cache");
    }
    let kernel_version = match kind {
        Kind::Domu => String::new(),
        Kind::Dom0 | Kind::Installer | Kind::Burnin => kernel_version(&root)?,
    };
    Ok(Tree {
        root,
        kernel_version,
    })
}

fn kernel_version(root: &Path) -> Result<String, Error> {
    let boot = root.join("boot");
    let mut versions: Vec<String> = std::fs::read_dir(&boot)
        .map_err(io(&boot))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("vmlinuz-"))
                .map(str::to_string)
        })
        .collect();
    versions.sort();
    match versions.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(Error::Tree {
            path: boot,
            reason: format!("expected exactly one kernel, found {versions:?}"),
        }),
    }
}

/// The installed packages and their versions, read from the tree's dpkg database.
pub fn packages(tree: &Tree) -> Result<Vec<(String, String)>, Error> {
    let out = tools::run(
        Command::new("dpkg-query")
            .arg(format!(
                "--admindir={}",
                tree.root.join("var/lib/dpkg").display()
            ))
            .args(["-W", "-f", "${Package}\t${Version}\n"]),
    )?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(p, v)| (p.to_string(), v.to_string()))
        .collect())
}
