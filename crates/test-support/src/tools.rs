//! Real tools that check what `metal` writes: Nagios' own verification, and the way to call a
//! system tool so that a missing one fails with the package to install.

use std::path::Path;
use std::process::Command;

/// Runs a system tool, failing loudly when it is not installed.
pub fn tool(program: &str, package: &str) -> Command {
    let in_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    let sbin = Path::new("/usr/sbin").join(program);
    assert!(
        in_path || sbin.is_file(),
        "this test needs {program} (Debian package {package}; .ci/inventory-deps.sh installs it)"
    );
    if sbin.is_file() {
        Command::new(sbin)
    } else {
        Command::new(program)
    }
}

/// Runs `cmd`, asserting it succeeds; returns stdout and stderr.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run tool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// `nagios4 -v` over Debian's stock commands, contacts, time periods and templates, a site
/// file with a host check and a service, and `objects`; `dir` holds the rest of the main
/// configuration. Returns the verification output (which `Total Errors:   0` ends when fine).
pub fn nagios_verify(dir: &Path, objects: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let stock = Path::new("/etc/nagios4/objects");
    assert!(
        stock.is_dir(),
        "this test needs Nagios 4 (Debian package nagios4-core; .ci/inventory-deps.sh installs it)"
    );
    let mut main = String::new();
    for f in [
        "commands.cfg",
        "contacts.cfg",
        "timeperiods.cfg",
        "templates.cfg",
    ] {
        main += &format!("cfg_file={}\n", stock.join(f).display());
    }
    // What a site's own configuration provides: a host check command (Debian ships them with
    // the monitoring plugins) and at least one service.
    let site = dir.join("site.cfg");
    std::fs::write(
        &site,
        "define command {\n command_name check-host-alive\n command_line /bin/true\n}\n\
         define service {\n use generic-service\n hostgroup_name dom0\n service_description alive\n check_command check-host-alive\n}\n",
    )
    .unwrap();
    // Nagios runs as its own user: its check result directory must be writable by it.
    let results = dir.join("results");
    std::fs::create_dir_all(&results).unwrap();
    std::fs::set_permissions(&results, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    main += &format!(
        "cfg_file={}\ncfg_file={}\ncheck_result_path={}\nlock_file={}\ntemp_file={}\nlog_file={}\nillegal_macro_output_chars=`~$&|'\"<>\n",
        site.display(),
        objects.display(),
        results.display(),
        dir.join("nagios.lock").display(),
        dir.join("nagios.tmp").display(),
        dir.join("nagios.log").display()
    );
    let main_cfg = dir.join("nagios.cfg");
    std::fs::write(&main_cfg, main).unwrap();
    run_ok(tool("nagios4", "nagios4-core").args(["-v", main_cfg.to_str().unwrap()]))
}
