//! Running a Dom0 tool (`lvm`, `xl`, `e2fsck`, `mount`) with its arguments passed apart (never
//! through a shell), its output captured, and a deadline after which it is killed: a hung
//! hotplug script or a stuck device must end in an error naming the command, not in a request
//! that never returns.

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("running {command}: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("{command} failed: {stderr}")]
    Failed {
        command: String,
        /// The exit status (`None` when a signal ended it).
        code: Option<i32>,
        stderr: String,
    },
    #[error("{command} did not finish within {secs} s and was killed")]
    Timeout { command: String, secs: u64 },
}

/// Runs `program` with `args` (and `env`), stdin empty; its stdout when it exits 0.
pub fn run(
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
    timeout: Duration,
) -> Result<String, CommandError> {
    let command = format!("{program} {}", args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| CommandError::Spawn {
            command: command.clone(),
            source,
        })?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(CommandError::Timeout {
                    command,
                    secs: timeout.as_secs(),
                });
            }
            Err(source) => return Err(CommandError::Spawn { command, source }),
        }
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    if status.success() {
        Ok(out)
    } else {
        // A tool's complaint is bounded: enough to name the cause, never a flood.
        let stderr: String = err.trim().chars().take(2000).collect();
        Err(CommandError::Failed {
            command,
            code: status.code(),
            stderr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_failure_and_deadline() {
        assert_eq!(
            run(
                "sh",
                &["-c", "echo $X"],
                &[("X", "hi")],
                Duration::from_secs(5)
            )
            .unwrap(),
            "hi\n"
        );
        let e = run(
            "sh",
            &["-c", "echo no >&2; exit 3"],
            &[],
            Duration::from_secs(5),
        )
        .unwrap_err();
        assert!(e.to_string().ends_with("failed: no"), "{e}");
        assert!(
            matches!(e, CommandError::Failed { code: Some(3), .. }),
            "{e}"
        );
        let e = run("sleep", &["5"], &[], Duration::from_millis(200)).unwrap_err();
        assert!(matches!(e, CommandError::Timeout { .. }), "{e}");
        let e = run("/nonexistent/tool", &[], &[], Duration::from_secs(1)).unwrap_err();
        assert!(matches!(e, CommandError::Spawn { .. }), "{e}");
    }
}
