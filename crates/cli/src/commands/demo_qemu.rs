//! `demo --qemu`: one board from enrolment to a running Dom0, for real: a QEMU VM behind a
//! simulated AMT board (`metal sim --qemu`), `metal serve --inventory`, `metal enroll --boot`,
//! the installer building RAID-10 and `vg00` on four virtual disks, and Xen with Dom0 booting
//! from them. Needs root and the packages of `.ci/netboot-deps.sh`; takes two to three minutes
//! under emulation (more the first time: the images are built and cached).
//!
//! The board's network must not touch the host's: the demo makes a network namespace with a
//! bridge (`br0`, 10.99.0.1/24), builds the images outside it (debootstrap needs the Debian
//! mirror), then runs itself inside it (`--inside-netns`) where the netboot service, the
//! simulator and the VM live; the namespace is deleted afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use metal_ops::enroll::Enrolment;
use metal_ops::image::{BuildRequest, Kind};
use metal_ops::netboot::{Service, ServiceLog};
use metal_ops::show::Shown;
use metal_ops::{Config, Error, ProfileSource, Silent};
use metal_sim::{QemuBoards, Sim, SimConfig};
use metal_types::text::Escaped;

use super::ctx::Ctx;
use super::demo::{PASSWORD, boots, demo_config, step};
use crate::args::DemoArgs;
use crate::output;

/// The board's AMT address (on the namespace's loopback) and the server's address.
const BOARD: &str = "127.0.30.1";
const SERVER: &str = "10.99.0.1";
/// How long the whole bring-up may take before the demo gives up.
const PATIENCE: Duration = Duration::from_secs(900);
/// Xen under QEMU's emulation (../shared/docs/xen-in-qemu.md): one Dom0 vCPU, the console on
/// the serial port, SMAP and XSAVE off, no boot-time scrubbing.
const XEN_TCG: &str = "dom0_max_vcpus=1 console=com1 com1=115200,8n1 smap=0 xsave=0 bootscrub=0";

pub async fn run(ctx: &Ctx, args: DemoArgs) -> Result<i32, Error> {
    super::ctx::no_json(ctx, "demo", "it is a walkthrough")?;
    match &args.inside_netns {
        None => outside(&args).await,
        Some(_) => inside(ctx).await,
    }
}

fn ip(args: &[&str]) -> Result<(), Error> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| Error::Usage(format!("demo --qemu needs iproute2's ip: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "ip {}: {} (demo --qemu needs root)",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Builds the images, makes the namespace, runs the demo in it, removes it.
async fn outside(args: &DemoArgs) -> Result<i32, Error> {
    println!("metal demo --qemu: one QEMU board from enrolment to a running Xen Dom0.");
    step(
        1,
        "metal image build dom0 / installer (cached by their inputs)",
    );
    let images = metal_ops::image::cache_dir().join("demo-images");
    for kind in [Kind::Dom0, Kind::Installer] {
        let request = BuildRequest {
            kind,
            out: Some(images.clone()),
            mirror: None,
            agent: None,
        };
        let built = metal_ops::image::build(request, |phase| println!("  {phase}")).await?;
        let how = if built.cached {
            "from the cache"
        } else {
            "built"
        };
        println!("  {}: {how} in {:.1?}", kind.name(), built.took);
    }
    let ns = format!("metal-demo-{}", std::process::id());
    ip(&["netns", "add", &ns])?;
    let result = async {
        for cmd in [
            vec!["-n", &ns, "link", "set", "lo", "up"],
            vec!["-n", &ns, "link", "add", "br0", "type", "bridge"],
            vec!["-n", &ns, "addr", "add", "10.99.0.1/24", "dev", "br0"],
            vec!["-n", &ns, "link", "set", "br0", "up"],
        ] {
            ip(&cmd)?;
        }
        println!("  network namespace {ns}: bridge br0 with {SERVER}/24, where the board and the server meet");
        let exe = std::env::current_exe().map_err(Error::Output)?;
        let mut inner = tokio::process::Command::new("ip");
        inner
            .args(["netns", "exec", &ns])
            .arg(exe)
            .args(["demo", "--qemu", "--inside-netns", &ns])
            .env("METAL_DEMO_IMAGES", &images);
        if let Some(first) = args.first_ip {
            inner.arg("--first-ip").arg(first.to_string());
        }
        let status = inner.status().await.map_err(Error::Output)?;
        Ok::<i32, Error>(status.code().unwrap_or(1))
    }
    .await;
    // What still runs in the namespace (a VM whose simulator was killed) is the demo's.
    if let Ok(out) = Command::new("ip").args(["netns", "pids", &ns]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
    ip(&["netns", "del", &ns])?;
    result
}

/// The netboot configuration of the demo: DHCP on br0, the Dom0 and installer profiles.
fn netboot_config(scratch: &Path, images: &Path) -> String {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pxe");
    let templates = if templates.is_dir() {
        templates
    } else {
        PathBuf::from("/usr/share/metal/pxe")
    };
    format!(
        "server_ip = \"{SERVER}\"\ninterface = \"br0\"\nmode = \"dhcp\"\ndefault_profile = \"dom0-diskless\"\n\
         [dhcp]\nsubnet = \"10.99.0.0/24\"\nrange = [\"10.99.0.100\", \"10.99.0.149\"]\nrouter = \"{SERVER}\"\n\
         lease_file = \"{scratch}/leases.json\"\n\
         [tftp]\nroot = \"{scratch}/tftp\"\n\
         [http]\nlisten = \"{SERVER}:8080\"\nroot = \"{images}\"\ntemplates = \"{templates}\"\n\
         [profiles.dom0-diskless]\ntemplate = \"dom0.ipxe\"\nmode = \"diskless\"\nxen = \"xen.elf\"\nkernel = \"vmlinuz\"\n\
         initrd = \"dom0-initrd.img\"\nxen_cmdline = \"dom0_mem=512M,max:512M {XEN_TCG}\"\ncmdline = \"console=hvc0\"\n\
         [profiles.install-raid10]\ntemplate = \"installer.ipxe\"\nmode = \"install\"\nstorage = \"raid10\"\n\
         kernel = \"vmlinuz\"\ninitrd = \"installer-initrd.img\"\ncmdline = \"console=ttyS0\"\ndom0_cmdline = \"console=hvc0\"\n\
         xen_cmdline = \"dom0_mem=512M,max:512M {XEN_TCG}\"\n",
        scratch = scratch.display(),
        images = images.display(),
        templates = templates.display(),
    )
}

/// The one hardware profile of the demo: a 1 GiB board with four disks gets RAID-10.
const PROFILE: &str = "description = \"Demo QEMU board, 1 GiB, four disks in RAID-10\"\n\
    [match]\nmemory_gib = 1\ndisks = 4\ndisk_kind = \"hdd\"\n\
    [provision]\nstorage = \"raid10\"\ndom0_memory_mib = 512\nrole = \"storage\"\nnetboot = \"install-raid10\"\n";

/// Inside the namespace: the service, the board, the bring-up.
async fn inside(ctx: &Ctx) -> Result<i32, Error> {
    let scratch = std::env::temp_dir().join(format!("metal-demo-qemu-{}", std::process::id()));
    let images = std::env::var_os("METAL_DEMO_IMAGES")
        .map(PathBuf::from)
        .ok_or_else(|| Error::Usage("--inside-netns is demo --qemu's own".into()))?;
    let io = Error::Output;
    std::fs::create_dir_all(scratch.join("tftp")).map_err(io)?;
    std::fs::create_dir_all(scratch.join("profiles")).map_err(io)?;
    for f in ["undionly.kpxe", "snponly.efi", "ipxe.efi"] {
        std::fs::copy(
            Path::new("/usr/lib/ipxe").join(f),
            scratch.join("tftp").join(f),
        )
        .map_err(|e| Error::Usage(format!("/usr/lib/ipxe/{f}: {e} (Debian package ipxe)")))?;
    }
    std::fs::write(scratch.join("profiles/qemu-raid10.toml"), PROFILE).map_err(io)?;
    let netboot = scratch.join("netboot.toml");
    std::fs::write(&netboot, netboot_config(&scratch, &images)).map_err(io)?;
    let mut config: Config = demo_config(&ctx.config, &scratch);
    config.profiles = ProfileSource::Dir(scratch.join("profiles"));

    let result = bring_up(&config, &netboot, &scratch).await;
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

async fn bring_up(config: &Config, netboot: &Path, scratch: &Path) -> Result<i32, Error> {
    step(
        2,
        "metal serve --inventory: DHCP, TFTP and HTTP on br0, boots decided by the inventory",
    );
    let service = Service::start(config, netboot, true, Duration::from_secs(600)).await?;
    let served = tokio::spawn(service.run(|log| {
        match log {
            ServiceLog::Event(e) => println!("  [serve] {}: {}", e.stage, Escaped(&e.message)),
            ServiceLog::Inventory(line) => println!("  [serve] {}", Escaped(&line)),
        }
        Ok(())
    }));

    step(
        3,
        "metal sim --qemu: an AMT board whose host is a QEMU VM (1 GiB, four 3 GiB disks, SeaBIOS), powered off",
    );
    let mut boards = QemuBoards::new("br0", scratch.join("vms"));
    boards.disks = "4x3G".parse().map_err(Error::Usage)?;
    let sim = Sim::start(SimConfig {
        boards: 1,
        first_ip: BOARD.parse().map_err(|_| Error::Usage(BOARD.into()))?,
        user: "admin".into(),
        password: PASSWORD.into(),
        transition: Duration::from_millis(300),
        qemu: Some(boards),
        ..SimConfig::default()
    })
    .await
    .map_err(|e| Error::Usage(format!("cannot start the QEMU board: {e}")))?;
    let result = walk(config, &sim).await;
    sim.shutdown().await;
    served.abort();
    result
}

async fn walk(config: &Config, sim: &Sim) -> Result<i32, Error> {
    let out = &mut std::io::stdout();
    let board = sim
        .boards()
        .into_iter()
        .next()
        .ok_or_else(|| Error::Usage("the simulator started no board".into()))?;

    step(
        4,
        "metal enroll 127.0.30.1 --rack r01 --boot: profile, name, address, then PXE boot and power on",
    );
    let plan = Enrolment {
        specs: vec![BOARD.into()],
        rack: "r01".into(),
        site: "demo".into(),
        pool: Some("10.99.0.32/27".into()),
        hostname_scheme: None,
        credential_set: "default".into(),
        boot: true,
    };
    let enrolled = metal_ops::enroll::enroll(config, &plan, &Silent).await?;
    output::fleet::enroll(out, &enrolled, false)?;
    if enrolled.exit_code() != 0 {
        return Ok(enrolled.exit_code());
    }

    step(
        5,
        "The board's own serial console (what its SOL port carries): the milestones of install, reboot and Dom0",
    );
    let start = Instant::now();
    let mut seen = 0;
    let outcome = loop {
        let text = String::from_utf8_lossy(&board.console_output()).into_owned();
        // Complete lines only: the last one may still be coming.
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        let lines: Vec<&str> = complete.lines().collect();
        for line in lines.iter().skip(seen) {
            let line = line.trim_end_matches('\r');
            if line.starts_with("METAL-") || line.starts_with("== install/") {
                println!("  [console] {}", Escaped(line));
            }
        }
        seen = lines.len();
        let after_install = text.split_once("METAL-INSTALLED").map(|(_, rest)| rest);
        if text.contains("METAL-INSTALL-FAILED") || text.contains("METAL-FAILED") {
            break Err("the installer or the Dom0 reported a failure (above)".to_string());
        }
        if after_install.is_some_and(|rest| rest.contains("METAL-READY")) {
            break Ok(());
        }
        if start.elapsed() > PATIENCE {
            break Err(format!("not up after {} s", PATIENCE.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    if let Err(why) = outcome {
        println!("\nThe bring-up did not finish: {why}.");
        return Ok(1);
    }
    println!(
        "  Dom0 up from disk after {:.0} s",
        start.elapsed().as_secs_f64()
    );

    step(6, "metal show r01-h01: the deployed host, and its boots");
    let shown = metal_ops::show::show(config, "r01-h01").await?;
    if let Shown::Machine(tree) = &shown {
        output::inventory::tree(out, tree, false)?;
    }
    println!(
        "The board booted from: {} (the disk boot set over AMT once it deployed).",
        boots(&board)
    );
    Ok(shown.exit_code())
}
