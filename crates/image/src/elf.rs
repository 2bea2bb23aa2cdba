//! Which shared libraries a program needs, read from its ELF dynamic section (DT_NEEDED, the
//! interpreter, DT_RUNPATH and DT_RPATH) with goblin and resolved inside the build tree, so
//! that a program copied into an initramfs finds everything it links against. Hand-resolved
//! because `ldd` would run the tree's loader on the host.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::error::io;

/// Library folders of a Debian amd64 tree (merged /usr), in the loader's order.
const LIBRARY_DIRS: [&str; 4] = [
    "usr/lib/x86_64-linux-gnu",
    "usr/lib",
    "usr/lib64",
    "usr/lib/x86_64-linux-gnu/xen-4.17",
];

/// `program` (a path inside `root`) and every library it needs, transitively, as paths inside
/// `root` (without the leading `/`).
pub fn closure(root: &Path, program: &str) -> Result<BTreeSet<PathBuf>, Error> {
    let mut done = BTreeSet::new();
    let mut todo = vec![PathBuf::from(program.trim_start_matches('/'))];
    while let Some(rel) = todo.pop() {
        if !done.insert(rel.clone()) {
            continue;
        }
        let path = root.join(within(root, &rel)?);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let elf = goblin::elf::Elf::parse(&bytes).map_err(|e| Error::Tree {
            path: path.clone(),
            reason: format!("not an ELF file: {e}"),
        })?;
        if let Some(interp) = elf.interpreter {
            let interp = Path::new(interp.trim_start_matches('/'));
            let folder = within(root, interp.parent().unwrap_or(Path::new("")))?;
            todo.push(folder.join(interp.file_name().unwrap_or_default()));
        }
        // The object's own search path first (ld.so(8): DT_RUNPATH, else DT_RPATH; Ceph's
        // libraries find each other under /usr/lib/x86_64-linux-gnu/ceph so), with `$ORIGIN`
        // its own folder; then the tree's library folders.
        let origin = rel.parent().unwrap_or(Path::new("")).to_path_buf();
        let own = if elf.runpaths.is_empty() {
            &elf.rpaths
        } else {
            &elf.runpaths
        };
        let own: Vec<PathBuf> = own
            .iter()
            .flat_map(|list| list.split(':'))
            .filter(|d| !d.is_empty())
            .map(|d| {
                let origin = origin.to_string_lossy();
                let d = d.replace("${ORIGIN}", &origin).replace("$ORIGIN", &origin);
                PathBuf::from(d.trim_start_matches('/'))
            })
            .collect();
        for lib in elf.libraries {
            let found = own
                .iter()
                .map(PathBuf::as_path)
                .chain(LIBRARY_DIRS.iter().map(Path::new))
                .map(|d| d.join(lib))
                .find(|p| within(root, p).is_ok_and(|p| root.join(p).exists()))
                .ok_or_else(|| Error::Tree {
                    path: path.clone(),
                    reason: format!("needs {lib}, which is not in the tree"),
                })?;
            // Kept by its resolved folder and its own name (the link the loader opens), so
            // no `..` reaches the copy and each library is visited once.
            let folder = within(root, found.parent().unwrap_or(Path::new("")))?;
            todo.push(folder.join(found.file_name().unwrap_or_default()));
        }
    }
    Ok(done)
}

/// `rel` with every symbolic link on its way followed inside `root`: an absolute link target
/// means the tree's root, never the host's (Debian's loader link is absolute, and a host loader
/// beside the tree's libc would not run).
pub fn within(root: &Path, rel: &Path) -> Result<PathBuf, Error> {
    let mut todo: Vec<std::ffi::OsString> = rel
        .components()
        .rev()
        .filter_map(|c| match c {
            std::path::Component::Normal(n) => Some(n.to_os_string()),
            std::path::Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    let mut done = PathBuf::new();
    let mut hops = 0;
    while let Some(part) = todo.pop() {
        if part == ".." {
            done.pop();
            continue;
        }
        let next = done.join(&part);
        match std::fs::read_link(root.join(&next)) {
            Ok(target) => {
                hops += 1;
                if hops > 40 {
                    return Err(Error::Tree {
                        path: root.join(rel),
                        reason: "too many symbolic links".to_string(),
                    });
                }
                if target.is_absolute() {
                    done = PathBuf::new();
                }
                for c in target.components().rev() {
                    match c {
                        std::path::Component::Normal(n) => todo.push(n.to_os_string()),
                        std::path::Component::ParentDir => todo.push("..".into()),
                        _ => {}
                    }
                }
            }
            Err(_) => done = next,
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_shell_needs_libc_and_its_loader() {
        // The host is a Debian tree too: /bin/sh (dash) links only against libc.
        let libs = closure(Path::new("/"), "/usr/bin/dash").unwrap();
        let names: Vec<String> = libs
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(names.contains(&"libc.so.6".to_string()), "{names:?}");
        assert!(names.iter().any(|n| n.starts_with("ld-linux")), "{names:?}");
        // Each is kept under its resolved folder (no `..`, no linked folder), so the copy
        // into a stage lands where the loader looks and never outside it.
        for lib in &libs {
            let folder = lib.parent().unwrap();
            assert_eq!(within(Path::new("/"), folder).unwrap(), folder, "{lib:?}");
        }
    }

    #[test]
    fn absolute_links_resolve_inside_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("usr/lib/x86_64-linux-gnu")).unwrap();
        std::fs::write(root.join("usr/lib/x86_64-linux-gnu/ld.so"), "tree's").unwrap();
        std::fs::create_dir_all(root.join("usr/lib64")).unwrap();
        std::os::unix::fs::symlink("/lib/x86_64-linux-gnu/ld.so", root.join("usr/lib64/ld.so"))
            .unwrap();
        std::os::unix::fs::symlink("usr/lib", root.join("lib")).unwrap();
        std::os::unix::fs::symlink("usr/lib64", root.join("lib64")).unwrap();
        let real = within(root, Path::new("lib64/ld.so")).unwrap();
        assert_eq!(real, Path::new("usr/lib/x86_64-linux-gnu/ld.so"));
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        assert!(within(root, Path::new("loop")).is_err());
    }

    #[test]
    fn parent_components_resolve_and_never_climb_out_of_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("usr/lib/ceph")).unwrap();
        let up = within(
            root,
            Path::new("usr/lib/ceph/../x86_64-linux-gnu/librbd.so.1"),
        )
        .unwrap();
        assert_eq!(up, Path::new("usr/lib/x86_64-linux-gnu/librbd.so.1"));
        let out = within(root, Path::new("usr/../../../etc/passwd")).unwrap();
        assert_eq!(out, Path::new("etc/passwd"));
        std::os::unix::fs::symlink("../../../../etc", root.join("usr/lib/escape")).unwrap();
        let linked = within(root, Path::new("usr/lib/escape/shadow")).unwrap();
        assert_eq!(linked, Path::new("etc/shadow"));
    }

    #[test]
    fn a_non_elf_file_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("script"), "#!/bin/sh\n").unwrap();
        let err = closure(dir.path(), "/script").unwrap_err().to_string();
        assert!(
            err.contains("script") && err.contains("not an ELF"),
            "{err}"
        );
    }
}
