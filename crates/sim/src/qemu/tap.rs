//! One tap per QEMU board, made with iproute2 (`ip tuntap add`, `ip link set … master`) on the
//! configured bridge, in the configured network namespace.

use std::net::Ipv4Addr;

use tokio::process::Command;

use super::QemuBoards;

/// The tap of the board at `ip`: `mq` and the address's low 24 bits in hex, so the names of
/// one rack differ and fit IFNAMSIZ (15 characters).
pub(crate) fn name(ip: Ipv4Addr) -> String {
    format!("mq{:06x}", u32::from(ip) & 0xFF_FFFF)
}

/// `ip [-n NS] ARGS`, its stderr as the error.
async fn ip(boards: &QemuBoards, args: &[&str]) -> Result<(), String> {
    let mut cmd = Command::new("ip");
    if let Some(ns) = &boards.netns {
        cmd.args(["-n", ns]);
    }
    let out = cmd
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Makes the tap of the board at `ip` and puts it, up, on the bridge. A tap of that name left
/// by an earlier run is replaced.
pub(crate) async fn create(boards: &QemuBoards, ip_addr: Ipv4Addr) -> Result<String, String> {
    let tap = name(ip_addr);
    ip(boards, &["link", "show", "dev", &boards.bridge])
        .await
        .map_err(|e| format!("bridge {} is missing: {e}", boards.bridge))?;
    let _ = ip(boards, &["link", "del", "dev", &tap]).await;
    ip(boards, &["tuntap", "add", "dev", &tap, "mode", "tap"]).await?;
    ip(
        boards,
        &["link", "set", "dev", &tap, "master", &boards.bridge, "up"],
    )
    .await?;
    Ok(tap)
}

/// Removes a tap made by [`create`].
pub(crate) async fn remove(boards: &QemuBoards, tap: &str) -> Result<(), String> {
    ip(boards, &["link", "del", "dev", tap]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_and_differ() {
        assert_eq!(name(Ipv4Addr::new(10, 99, 0, 20)), "mq630014");
        assert_ne!(
            name(Ipv4Addr::new(10, 99, 0, 20)),
            name(Ipv4Addr::new(10, 99, 0, 21))
        );
        assert!(name(Ipv4Addr::new(255, 255, 255, 255)).len() <= 15);
    }
}
