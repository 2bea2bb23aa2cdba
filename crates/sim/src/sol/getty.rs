//! The booted host's serial login: a getty (echo, CR/LF, backspace, Ctrl-C), `Password:`
//! without echo, then a tiny shell with `uname -a`, `uptime`, `echo`, `cat /proc/cmdline`,
//! `seq`, `hostname`, `whoami` and `exit`. Pure: bytes in, bytes out.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::boot::{KERNEL, KERNEL_BUILD};

/// Longest input line kept; further characters are dropped (and not echoed).
const MAX_LINE: usize = 4096;
/// Most lines `seq` prints (about 7 MB); larger requests are refused.
const MAX_SEQ_LINES: u64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Login,
    Password,
    Shell,
}

/// The login/shell state of one booted host.
#[derive(Debug, Clone)]
pub(crate) struct Getty {
    host: String,
    cmdline: String,
    /// When the host came up (for `uptime`).
    booted: SystemTime,
    mode: Mode,
    user: String,
    line: Vec<u8>,
    /// The previous byte ended a line with CR, so an LF right after it is part of it.
    after_cr: bool,
}

impl Getty {
    pub(crate) fn new(host: &str, cmdline: String, booted: SystemTime) -> Self {
        Self {
            host: host.to_string(),
            cmdline,
            booted,
            mode: Mode::Login,
            user: String::new(),
            line: Vec::new(),
            after_cr: false,
        }
    }

    fn prompt(&self) -> String {
        match self.mode {
            Mode::Login => format!("{} login: ", self.host),
            Mode::Password => "Password: ".into(),
            Mode::Shell if self.user == "root" => format!("root@{}:~# ", self.host),
            Mode::Shell => format!("{}@{}:~$ ", self.user, self.host),
        }
    }

    /// Feeds typed bytes; returns what the host prints in answer.
    pub(crate) fn feed(&mut self, input: &[u8], now: SystemTime) -> Vec<u8> {
        let mut out = Vec::new();
        for &b in input {
            let after_cr = std::mem::replace(&mut self.after_cr, false);
            match b {
                b'\n' if after_cr => {}
                b'\r' | b'\n' => {
                    self.after_cr = b == b'\r';
                    out.extend_from_slice(b"\r\n");
                    let line =
                        String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
                    self.enter(line.trim(), now, &mut out);
                    out.extend_from_slice(self.prompt().as_bytes());
                }
                0x7F | 0x08 => {
                    let erased = self.line.pop().is_some();
                    if erased && self.mode != Mode::Password {
                        out.extend_from_slice(b"\x08 \x08");
                    }
                }
                0x03 => {
                    self.line.clear();
                    out.extend_from_slice(b"^C\r\n");
                    if self.mode == Mode::Password {
                        self.mode = Mode::Login;
                    }
                    out.extend_from_slice(self.prompt().as_bytes());
                }
                0x04 if self.line.is_empty() && self.mode == Mode::Shell => {
                    out.extend_from_slice(b"logout\r\n");
                    self.logout(&mut out);
                    out.extend_from_slice(self.prompt().as_bytes());
                }
                b if b >= 0x20 && self.line.len() < MAX_LINE => {
                    self.line.push(b);
                    if self.mode != Mode::Password {
                        out.push(b);
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// A completed line.
    fn enter(&mut self, line: &str, now: SystemTime, out: &mut Vec<u8>) {
        match self.mode {
            Mode::Login if line.is_empty() => {}
            Mode::Login => {
                self.user = line.to_string();
                self.mode = Mode::Password;
            }
            Mode::Password => {
                self.mode = Mode::Shell;
                let motd = format!(
                    "Linux {} {KERNEL} {KERNEL_BUILD} x86_64\r\n\r\nThe programs included with the Debian GNU/Linux system are free software.\r\n\r\n",
                    self.host
                );
                out.extend_from_slice(motd.as_bytes());
            }
            Mode::Shell => self.command(line, now, out),
        }
    }

    fn logout(&mut self, out: &mut Vec<u8>) {
        self.mode = Mode::Login;
        self.user.clear();
        let banner = format!("\r\nDebian GNU/Linux 12 {} ttyS1\r\n\r\n", self.host);
        out.extend_from_slice(banner.as_bytes());
    }

    fn command(&mut self, line: &str, now: SystemTime, out: &mut Vec<u8>) {
        let words = split_words(line);
        let Some((cmd, args)) = words.split_first() else {
            return;
        };
        let mut print = |s: &str| {
            out.extend_from_slice(s.as_bytes());
            out.extend_from_slice(b"\r\n");
        };
        match (cmd.as_str(), args) {
            ("exit" | "logout", _) => self.logout(out),
            ("uname", [a]) if a == "-a" => print(&format!(
                "Linux {} {KERNEL} {KERNEL_BUILD} x86_64 GNU/Linux",
                self.host
            )),
            ("uname", []) => print("Linux"),
            ("hostname", []) => print(&self.host),
            ("whoami", []) => print(&self.user),
            ("uptime", []) => print(&uptime(self.booted, now)),
            ("echo", args) => print(&args.join(" ")),
            ("cat", [f]) if f == "/proc/cmdline" => print(&self.cmdline),
            ("cat", [f]) => print(&format!("cat: {f}: No such file or directory")),
            ("seq", args) => seq(args, out),
            (c, _) => print(&format!("-bash: {c}: command not found")),
        }
    }
}

/// Splits on blanks, honouring single and double quotes (enough for `echo "a  b"`).
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let mut quote = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.get_or_insert_default().push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.get_or_insert_default();
            }
            (None, c) if c.is_whitespace() => words.extend(cur.take()),
            (None, c) => cur.get_or_insert_default().push(c),
        }
    }
    words.extend(cur);
    words
}

/// `seq LAST` or `seq FIRST LAST`, one number per line.
fn seq(args: &[String], out: &mut Vec<u8>) {
    let nums: Option<Vec<u64>> = args.iter().map(|a| a.parse().ok()).collect();
    let (first, last) = match nums.as_deref() {
        Some([last]) => (1, *last),
        Some([first, last]) => (*first, *last),
        _ => {
            out.extend_from_slice(b"seq: usage: seq [FIRST] LAST\r\n");
            return;
        }
    };
    if last >= first && last - first >= MAX_SEQ_LINES {
        let msg = format!("seq: more than {MAX_SEQ_LINES} lines on a serial console? no\r\n");
        out.extend_from_slice(msg.as_bytes());
        return;
    }
    for n in first..=last {
        out.extend_from_slice(n.to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// ` HH:MM:SS up N min,  1 user,  load average: 0.00, 0.00, 0.00` (UTC clock).
fn uptime(booted: SystemTime, now: SystemTime) -> String {
    let up = now
        .duration_since(booted)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let clock = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
        % 86_400;
    let since = if up < 3600 {
        format!("{} min", up / 60)
    } else {
        format!("{}:{:02}", up / 3600, (up % 3600) / 60)
    };
    format!(
        " {:02}:{:02}:{:02} up {since},  1 user,  load average: 0.00, 0.00, 0.00",
        clock / 3600,
        (clock % 3600) / 60,
        clock % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(g: &mut Getty, input: &str) -> String {
        String::from_utf8(g.feed(input.as_bytes(), SystemTime::now())).unwrap()
    }

    #[test]
    fn login_shell_and_logout() {
        let mut g = Getty::new("node-1", "ro quiet".into(), SystemTime::now());
        assert_eq!(run(&mut g, "root\r\n"), "root\r\nPassword: ");
        let after = run(&mut g, "secret\r");
        assert!(!after.contains("secret"));
        assert!(after.ends_with("root@node-1:~# "), "{after}");
        assert_eq!(
            run(&mut g, "echo \"a  b\" c\r"),
            "echo \"a  b\" c\r\na  b c\r\nroot@node-1:~# "
        );
        assert!(run(&mut g, "cat /proc/cmdline\n").contains("\r\nro quiet\r\n"));
        assert!(run(&mut g, "uname -a\r").contains("Linux node-1 6.1.0-18-amd64 #1 SMP"));
        assert!(run(&mut g, "uptime\r").contains(" up 0 min,  1 user"));
        assert!(run(&mut g, "frob\r").contains("-bash: frob: command not found"));
        assert_eq!(
            run(&mut g, "ab\x7f\r"),
            "ab\x08 \x08\r\n-bash: a: command not found\r\nroot@node-1:~# "
        );
        let seq = run(&mut g, "seq 3\r");
        assert_eq!(seq, "seq 3\r\n1\r\n2\r\n3\r\nroot@node-1:~# ");
        assert!(run(&mut g, "exit\r").ends_with("\r\nnode-1 login: "));
        // An empty line at login just prompts again.
        assert_eq!(run(&mut g, "\r"), "\r\nnode-1 login: ");
    }

    #[test]
    fn seq_produces_about_a_megabyte_and_refuses_absurd_requests() {
        let mut out = Vec::new();
        seq(&["200000".into()], &mut out);
        assert!(out.len() > 1_200_000, "{}", out.len());
        assert!(out.ends_with(b"199999\r\n200000\r\n"));
        let mut out = Vec::new();
        seq(&["99999999999".into()], &mut out);
        assert!(out.starts_with(b"seq: more than"));
    }
}
