//! What iPXE's multiboot loader (BIOS) can carry, checked on every rendered script before it is
//! served, because iPXE truncates silently.
//!
//! iPXE `src/arch/x86/image/multiboot.c`: `multiboot_add_cmdline` copies, for the kernel and
//! then for each module, the image's full URI, then (when the image has one) a space and its
//! command line, then a NUL, into one buffer `mb_cmdlines[MB_MAX_CMDLINE]` of 512 bytes shared
//! by all of them; what does not fit is cut off without an error. At most `MAX_MODULES` (8)
//! modules are passed. So a long per-MAC URL plus Xen's and Dom0's command lines can lose the
//! end of Dom0's (its `metal.token=` first) and the boot fails far from its cause.

/// `MB_MAX_CMDLINE`: the bytes all multiboot command lines share.
pub const MAX_CMDLINE_BYTES: usize = 512;
/// `MAX_MODULES`: the modules iPXE passes.
pub const MAX_MODULES: usize = 8;

/// Why a script would not boot as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultibootError {
    /// The command lines need more than the buffer holds.
    #[error(
        "its multiboot command lines need {needed} bytes (URIs and arguments of the kernel and {modules} modules); iPXE keeps {MAX_CMDLINE_BYTES} and would cut the rest off silently"
    )]
    TooLong { needed: usize, modules: usize },
    /// More modules than iPXE passes.
    #[error("it loads {0} multiboot modules; iPXE passes {MAX_MODULES}")]
    TooManyModules(usize),
}

/// One `kernel` or `module` line: `URI [args…]` (iPXE's `--name` and other options first).
fn image_bytes(rest: &str) -> usize {
    let mut words = rest.split_whitespace().skip_while(|w| w.starts_with("--"));
    let Some(uri) = words.next() else { return 1 };
    let args: Vec<&str> = words.collect();
    // format_uri(uri) + NUL, and with arguments " " + args (the NUL moves to the end).
    uri.len()
        + 1
        + if args.is_empty() {
            0
        } else {
            1 + args.join(" ").len()
        }
}

/// Checks every multiboot boot in `script`: the last `kernel` before `module` lines, and those
/// modules, until the next `boot`. iPXE's `module` is another name of `initrd`; the templates
/// (`pxe/README.md`) write `module` for multiboot modules and `initrd` for a Linux kernel's
/// initrd, which is not multiboot and has no such limit.
pub fn check(script: &str) -> Result<(), MultibootError> {
    let mut kernel = None;
    let mut modules: Vec<usize> = Vec::new();
    let mut verdict = Ok(());
    let mut finish = |kernel: &mut Option<usize>, modules: &mut Vec<usize>| {
        if let Some(k) = kernel.take()
            && !modules.is_empty()
        {
            let needed = k + modules.iter().sum::<usize>();
            if modules.len() > MAX_MODULES {
                verdict = verdict
                    .clone()
                    .and(Err(MultibootError::TooManyModules(modules.len())));
            } else if needed > MAX_CMDLINE_BYTES {
                verdict = verdict.clone().and(Err(MultibootError::TooLong {
                    needed,
                    modules: modules.len(),
                }));
            }
        }
        modules.clear();
    };
    for line in script.lines().map(str::trim) {
        let (command, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        match command {
            "kernel" | "chain" | "imgexec" => {
                finish(&mut kernel, &mut modules);
                kernel = (command == "kernel").then(|| image_bytes(rest));
            }
            "module" if kernel.is_some() => modules.push(image_bytes(rest)),
            "boot" => finish(&mut kernel, &mut modules),
            _ => {}
        }
    }
    finish(&mut kernel, &mut modules);
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(xen_args: &str) -> String {
        format!(
            "#!ipxe\nkernel http://10.0.0.1:8080/files/xen {xen_args}\nmodule http://10.0.0.1:8080/files/vmlinuz console=hvc0 metal.token=0123\nmodule http://10.0.0.1:8080/files/initrd.img\nboot\n:efi\nchain http://10.0.0.1:8080/files/xen.efi\n"
        )
    }

    #[test]
    fn the_shared_buffer_is_counted_as_ipxe_fills_it() {
        // kernel: 30-byte URI + " " + args + NUL; module 1: 34 + " " + 29 + NUL; module 2: 37
        // + NUL.
        let fixed = 30 + 1 + 1 + (34 + 1 + 29 + 1) + (37 + 1);
        let fits = "x".repeat(MAX_CMDLINE_BYTES - fixed);
        assert_eq!(check(&script(&fits)), Ok(()));
        let over = "x".repeat(MAX_CMDLINE_BYTES - fixed + 1);
        assert_eq!(
            check(&script(&over)),
            Err(MultibootError::TooLong {
                needed: 513,
                modules: 2
            })
        );
    }

    #[test]
    fn only_multiboot_boots_are_limited() {
        let long = "y".repeat(3000);
        let linux = format!(
            "#!ipxe\nkernel http://s/files/vmlinuz {long}\ninitrd http://s/files/initrd.img\nboot\n"
        );
        assert_eq!(
            check(&linux),
            Ok(()),
            "a Linux kernel and its initrd: not multiboot"
        );
        let many = format!(
            "#!ipxe\nkernel http://s/x\n{}boot\n",
            "module http://s/m\n".repeat(MAX_MODULES + 1)
        );
        assert_eq!(check(&many), Err(MultibootError::TooManyModules(9)));
    }
}
