//! The conventions operators expect of a command-line tool, tried as they would: shell
//! completions that bash sources and that complete subcommands, man pages that `man -l`
//! renders, help text without stray line breaks, and `--json` refused clearly where it has no
//! meaning.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_metal");

fn metal(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("METAL_CONFIG", "/nonexistent/metal-config.toml")
        .output()
        .expect("run metal");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bash_completion_sources_and_completes_subcommands() {
    let (code, script, err) = metal(&["completions", "bash"]);
    assert_eq!(code, 0, "{err}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metal.bash");
    std::fs::write(&path, &script).unwrap();
    // What bash does on `metal po<TAB>` and `metal power <TAB>`: call the registered function
    // with COMP_WORDS/COMP_CWORD set, then read COMPREPLY.
    let probe = format!(
        r#"source {path}
complete -p metal >/dev/null || exit 7
COMP_WORDS=(metal po); COMP_CWORD=1; COMP_LINE="metal po"; COMP_POINT=${{#COMP_LINE}}
_metal metal po metal
echo "first: ${{COMPREPLY[*]}}"
COMP_WORDS=(metal power ""); COMP_CWORD=2; COMP_LINE="metal power "; COMP_POINT=${{#COMP_LINE}}
_metal metal "" power
echo "second: ${{COMPREPLY[*]}}"
"#,
        path = path.display()
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &probe])
        .output()
        .expect("bash");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = text.lines().find(|l| l.starts_with("first:")).unwrap();
    assert!(
        first.contains("power") && first.contains("power-cycle"),
        "{text}"
    );
    let second = text.lines().find(|l| l.starts_with("second:")).unwrap();
    for op in [
        "status",
        "on",
        "off",
        "cycle",
        "reset",
        "soft-off",
        "soft-reset",
    ] {
        assert!(second.split_whitespace().any(|w| w == op), "{op}: {text}");
    }
    for shell in ["zsh", "fish"] {
        let (code, script, _) = metal(&["completions", shell]);
        assert_eq!(code, 0);
        assert!(script.contains("enroll"), "{shell}");
    }
}

#[test]
fn man_pages_render_for_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = metal(&["man", "--out", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    for page in [
        "metal.1",
        "metal-power.1",
        "metal-power-status.1",
        "metal-enroll.1",
        "metal-export-nagios.1",
        "metal-dns-sync.1",
        "metal-tftp-serve.1",
    ] {
        let path = dir.path().join(page);
        assert!(path.exists(), "{page} missing");
        let out = Command::new("man")
            .arg("-l")
            .arg(&path)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .expect("man (man-db) is installed");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{page}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("NAME") && text.contains("SYNOPSIS"),
            "{page}: {text}"
        );
    }
    let top = Command::new("man")
        .arg("-l")
        .arg(dir.path().join("metal-enroll.1"))
        .env("MANPAGER", "cat")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&top.stdout).contains("--credential-set"));
}

#[test]
fn help_shows_placeholders_literally() {
    let (code, help, _) = metal(&["enroll", "--help"]);
    assert_eq!(code, 0);
    assert!(help.contains("{rack}-h{n:02}"), "{help}");
    assert!(help.contains("{n:0W}"), "{help}");
    // No help line is cut by a clap escape: every option's text stays on its own lines.
    let scheme = help
        .lines()
        .skip_while(|l| !l.contains("--hostname-scheme"))
        .take(4)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(scheme.contains("placeholders {rack}"), "{scheme}");
}

#[test]
fn json_is_refused_where_it_means_nothing() {
    for args in [
        &["demo", "--json"][..],
        &["completions", "bash", "--json"],
        &["console", "127.0.0.1", "--json", "--password", "x"],
    ] {
        let (code, out, err) = metal(args);
        assert_eq!(code, 1, "{args:?}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert!(err.contains("has no --json output"), "{args:?}: {err}");
    }
}

/// On a terminal `metal` may colour (clap's help, the log lines on stderr); with NO_COLOR set
/// (<https://no-color.org>) it prints no escape sequence at all.
#[test]
fn no_color_is_respected_on_a_terminal() {
    use metal_test_support::terminal::Tmux;
    let run = |name: &str, env: &str| {
        let command = format!(
            "{env} {BIN} --log-level debug tftp serve /nonexistent-dir --listen 127.0.0.1:0; {env} {BIN} power --help; echo DONE; sleep 30"
        );
        let tmux = Tmux::start(name, &command);
        tmux.wait_for("DONE");
        tmux.screen_with_escapes()
    };
    let pid = std::process::id();
    let coloured = run(&format!("metal-colour-{pid}"), "env -u NO_COLOR");
    assert!(
        coloured.contains('\u{1b}'),
        "colour on a terminal: {coloured}"
    );
    let plain = run(&format!("metal-nocolour-{pid}"), "env NO_COLOR=1");
    assert!(plain.contains("Usage: metal power"), "{plain}");
    assert!(
        !plain.contains('\u{1b}'),
        "escape sequences despite NO_COLOR: {plain:?}"
    );
}
