//! A network namespace per test with a bridge `br0` (10.99.0.1/24, the server's side), taps for
//! VMs, and the processes started in it. Everything is torn down in `Drop` (children killed by
//! PID, namespaces deleted), also when the test fails; a failing test prints the logs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::assets::{self, run};

pub const SERVER: &str = "10.99.0.1";

/// Fails loudly when the test cannot do what it must (never a silent pass).
pub fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("");
    assert_eq!(
        euid, "0",
        "netboot end-to-end tests need root (network namespaces, taps); run them as root"
    );
}

pub enum Firmware {
    /// SeaBIOS with QEMU's iPXE option ROM: the first DHCP is already iPXE's.
    Bios,
    /// OVMF with the NIC's option ROM removed: the firmware's own PXE, then TFTP iPXE.
    Uefi,
}

/// What a VM has besides its NIC.
pub struct Machine {
    pub memory_mib: u32,
    /// QEMU's `-cpu` (Xen needs `max`: see ../shared/docs/xen-in-qemu.md).
    pub cpu: Option<&'static str>,
    /// Raw disk images, attached as virtio disks in order.
    pub disks: Vec<PathBuf>,
    /// QEMU's `-boot` order: `n` network, `c` disk.
    pub boot: &'static str,
}

impl Default for Machine {
    fn default() -> Self {
        Machine {
            memory_mib: 512,
            cpu: None,
            disks: Vec::new(),
            boot: "n",
        }
    }
}

pub struct Lab {
    pub ns: String,
    pub dir: tempfile::TempDir,
    extra_ns: Vec<String>,
    children: Vec<(String, Child)>,
    logs: Vec<PathBuf>,
}

impl Lab {
    pub fn new(name: &str) -> Lab {
        require_root();
        let ns = format!("metal-e2e-{name}-{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &ns]).output();
        run(Command::new("ip").args(["netns", "add", &ns]));
        let lab = Lab {
            ns,
            dir: tempfile::tempdir().unwrap(),
            extra_ns: Vec::new(),
            children: Vec::new(),
            logs: Vec::new(),
        };
        lab.ip(&["link", "set", "lo", "up"]);
        lab.ip(&["link", "add", "br0", "type", "bridge"]);
        lab.ip(&["addr", "add", &format!("{SERVER}/24"), "dev", "br0"]);
        lab.ip(&["addr", "add", "fd99::1/64", "dev", "br0", "nodad"]);
        lab.ip(&["link", "set", "br0", "up"]);
        lab
    }

    /// Router advertisements on br0 (dnsmasq, RA only: no DHCP, no DNS). Without one, iPXE
    /// waits about 12 s for IPv6 autoconfiguration before it boots.
    pub fn advertise_router(&mut self) {
        let mut ra = self.exec("dnsmasq");
        ra.args([
            "--no-daemon",
            "--conf-file=/dev/null",
            "--port=0",
            "--user=root",
        ])
        .args(["--bind-interfaces", "--interface=br0", "--enable-ra"])
        .args(["--dhcp-range=::,constructor:br0,ra-only"])
        .arg(format!(
            "--pid-file={}",
            self.dir.path().join("ra.pid").display()
        ));
        let log = self.spawn("router-advertisements", ra);
        wait_for(&log, "router advertisement on", Duration::from_secs(10))
            .expect("dnsmasq router advertisements did not start");
    }

    pub fn ip(&self, args: &[&str]) {
        run(Command::new("ip").arg("-n").arg(&self.ns).args(args));
    }

    pub fn exec(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns, program]);
        c
    }

    /// A tap on the bridge, for one VM.
    pub fn tap(&self, name: &str) {
        self.ip(&["tuntap", "add", "dev", name, "mode", "tap"]);
        self.ip(&["link", "set", name, "master", "br0", "up"]);
    }

    /// Another namespace joined to the bridge by a veth pair, its end addressed `cidr`; for a
    /// second server on the segment, or a client.
    pub fn neighbour(&mut self, suffix: &str, cidr: Option<&str>) -> String {
        let other = format!("{}-{suffix}", self.ns);
        run(Command::new("ip").args(["netns", "add", &other]));
        self.extra_ns.push(other.clone());
        let (here, there) = (format!("v{suffix}"), format!("v{suffix}p"));
        self.ip(&[
            "link", "add", &here, "type", "veth", "peer", "name", &there, "netns", &other,
        ]);
        self.ip(&["link", "set", &here, "master", "br0", "up"]);
        let theirs = |args: &[&str]| run(Command::new("ip").arg("-n").arg(&other).args(args));
        theirs(&["link", "set", "lo", "up"]);
        theirs(&["link", "set", &there, "up"]);
        if let Some(cidr) = cidr {
            theirs(&["addr", "add", cidr, "dev", &there]);
        }
        other
    }

    /// A udhcpc hook (`-s`) that prints `lease IP` once bound and configures nothing.
    pub fn lease_script(&self) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let script = self.dir.path().join("lease.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\n[ \"$1\" = bound ] && echo \"lease $ip\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    }

    /// Starts `cmd` with stdout and stderr in `<label>.log`; returns the log's path.
    pub fn spawn(&mut self, label: &str, mut cmd: Command) -> PathBuf {
        let log = self.dir.path().join(format!("{label}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {label}: {e}"));
        self.children.push((label.to_string(), child));
        self.logs.push(log.clone());
        log
    }

    /// The PID of the process started as `label`.
    pub fn pid(&self, label: &str) -> Option<u32> {
        self.children
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, c)| c.id())
    }

    /// Waits until the process started as `label` has exited (a VM that powered off or, with
    /// `-no-reboot`, rebooted).
    pub fn wait_exit(&mut self, label: &str, timeout: Duration) -> Result<(), String> {
        let start = Instant::now();
        let (_, child) = self
            .children
            .iter_mut()
            .find(|(l, _)| l == label)
            .ok_or_else(|| format!("no process {label}"))?;
        loop {
            if child.try_wait().map_err(|e| e.to_string())?.is_some() {
                return Ok(());
            }
            if start.elapsed() > timeout {
                return Err(format!("{label} still running after {timeout:?}"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Asks the process started as `label` to stop (SIGTERM, by its PID) and waits up to
    /// `patience` for it, then kills it: for processes that clean up after themselves.
    pub fn terminate(&mut self, label: &str, patience: Duration) {
        if let Some((_, child)) = self.children.iter_mut().find(|(l, _)| l == label) {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let start = Instant::now();
            while start.elapsed() < patience {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the process started as `label` (by its PID) and waits for it.
    pub fn stop(&mut self, label: &str) {
        if let Some((_, child)) = self.children.iter_mut().find(|(l, _)| l == label) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `metal serve` in the namespace with `config`; returns its log once it printed `ready`.
    pub fn serve(&mut self, config: &str) -> PathBuf {
        let path = self.dir.path().join("netboot.toml");
        std::fs::write(&path, config).unwrap();
        let mut cmd = self.exec(env!("CARGO_BIN_EXE_metal"));
        cmd.arg("serve")
            .arg("--config")
            .arg(&path)
            .env("METAL_LOG", "metal_netboot=info")
            .env("METAL_PKI", self.dir.path().join("pki"));
        self.advertise_router();
        let log = self.spawn("metal-serve", cmd);
        wait_for(&log, "ready ", Duration::from_secs(20)).expect("metal serve did not start");
        log
    }

    /// A VM on `tap` booting from the network; returns its serial log.
    pub fn vm(&mut self, label: &str, tap: &str, mac: &str, firmware: Firmware) -> PathBuf {
        self.machine(label, tap, mac, firmware, &Machine::default())
    }

    /// A VM with `machine`'s memory, CPU and disks; returns its serial log.
    pub fn machine(
        &mut self,
        label: &str,
        tap: &str,
        mac: &str,
        firmware: Firmware,
        machine: &Machine,
    ) -> PathBuf {
        let serial = self.dir.path().join(format!("{label}.serial"));
        let mut nic = format!("virtio-net-pci,netdev=n0,mac={mac}");
        let mut cmd = self.exec("qemu-system-x86_64");
        cmd.args(["-accel", "tcg,tb-size=256", "-nographic", "-nodefaults"])
            .arg("-m")
            .arg(machine.memory_mib.to_string())
            .args(["-smp", "1", "-monitor", "none", "-no-reboot"])
            .args(["-boot", machine.boot])
            .arg("-serial")
            .arg(format!("file:{}", serial.display()))
            .arg("-netdev")
            .arg(format!("tap,id=n0,ifname={tap},script=no,downscript=no"));
        if let Some(cpu) = machine.cpu {
            cmd.args(["-cpu", cpu]);
        }
        if let Firmware::Uefi = firmware {
            cmd.args(["-bios", "/usr/share/ovmf/OVMF.fd"]);
            nic.push_str(",romfile=");
        }
        cmd.arg("-device").arg(nic);
        for disk in &machine.disks {
            cmd.arg("-drive").arg(format!(
                "file={},if=virtio,format=raw,cache=unsafe",
                disk.display()
            ));
        }
        self.spawn(label, cmd);
        self.logs.push(serial.clone());
        serial
    }

    /// A config for `metal serve` in this lab: `mode`, the assets, two profiles that differ in
    /// `metal.profile=` on the kernel command line, and `hosts` appended verbatim.
    pub fn config(&self, mode: &str, hosts: &str) -> String {
        let a = assets::get();
        let pool = if mode == "dhcp" {
            format!(
                "[dhcp]\nsubnet = \"10.99.0.0/24\"\nrange = [\"10.99.0.100\", \"10.99.0.149\"]\n\
                 router = \"{SERVER}\"\nlease_secs = 600\nlease_file = \"{}\"\n",
                self.dir.path().join("leases.json").display()
            )
        } else {
            String::new()
        };
        let mut c = format!(
            "server_ip = \"{SERVER}\"\ninterface = \"br0\"\nmode = \"{mode}\"\n\
             default_profile = \"default\"\n{pool}\n\
             [tftp]\nroot = \"{}\"\n\n[http]\nlisten = \"{SERVER}:8080\"\nroot = \"{}\"\ntemplates = \"{}\"\n",
            a.tftp.display(),
            a.images.display(),
            a.templates.display()
        );
        for p in ["default", "special"] {
            let _ = write!(
                c,
                "\n[profiles.{p}]\ntemplate = \"linux.ipxe\"\nkernel = \"vmlinuz\"\ninitrd = \"initrd.img\"\n\
                 cmdline = \"console=ttyS0 quiet panic=-1 metal.profile={p}\"\n"
            );
        }
        c + "\n" + hosts
    }
}

/// A log as text: firmware and GRUB write bytes that are not UTF-8 to the serial port.
pub fn read_lossy(file: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(file).unwrap_or_default()).into_owned()
}

/// Waits until `file` contains `needle`; returns the time waited, or the file's tail.
pub fn wait_for(file: &Path, needle: &str, timeout: Duration) -> Result<Duration, String> {
    let start = Instant::now();
    loop {
        let text = read_lossy(file);
        if text.contains(needle) {
            return Ok(start.elapsed());
        }
        if start.elapsed() > timeout {
            let tail: String = text
                .chars()
                .rev()
                .take(3000)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            return Err(format!(
                "{needle:?} not in {} after {timeout:?}:\n{tail}",
                file.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `file` contains `needle`, failing at once when it shows `failure` (or a kernel
/// panic, or Xen's crashed Dom0) instead.
pub fn wait_unless(
    file: &Path,
    needle: &str,
    failure: &str,
    timeout: Duration,
) -> Result<Duration, String> {
    let start = Instant::now();
    loop {
        let text = read_lossy(file);
        if text.contains(needle) {
            return Ok(start.elapsed());
        }
        let failed = [failure, "Kernel panic", "(XEN) Hardware Dom0 crashed"]
            .iter()
            .find_map(|f| text.find(f));
        if let Some(at) = failed {
            let line = text[at..].lines().next().unwrap_or_default();
            return Err(format!(
                "{} shows {line:?} instead of {needle:?}",
                file.display()
            ));
        }
        if start.elapsed() > timeout {
            return wait_for(file, needle, Duration::ZERO);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The server's `event` lines for `mac` and `stage`.
pub fn events(server_log: &Path, mac: &str, stage: &str) -> Vec<String> {
    let needle = format!("event mac={mac} stage={stage} ");
    std::fs::read_to_string(server_log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with(&needle))
        .map(str::to_string)
        .collect()
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            for log in &self.logs {
                let text = read_lossy(log);
                let tail: String = text
                    .chars()
                    .rev()
                    .take(4000)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                eprintln!("===== {} =====\n{tail}", log.display());
            }
        }
        for ns in self.extra_ns.iter().chain(std::iter::once(&self.ns)) {
            // What the killed processes started in the lab's namespaces (a simulator's VMs)
            // is the lab's too.
            let pids = Command::new("ip").args(["netns", "pids", ns]).output();
            for pid in pids
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
                .split_whitespace()
            {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}
