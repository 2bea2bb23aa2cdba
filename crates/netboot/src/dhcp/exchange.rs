//! One DHCP exchange: a classified request in, maybe a reply out. No sockets here, so every
//! rule is unit-tested; [`super::server`] does the I/O.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use dhcproto::v4::{Message, MessageType};

use super::client::{BootTarget, ClientRequest};
use super::reply::{self, Addressing};
use crate::config::{BootFiles, DhcpConfig};
use crate::leases::{LeaseError, LeaseState, Leases, OFFER_HOLD_SECS};
use crate::policy::{BootAction, BootDecision};

/// Which socket a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// Port 67, broadcast.
    Dhcp,
    /// Port 4011, the PXE boot server port, unicast (PXE specification 2.1 §2.2.6).
    Pxe,
}

/// What does not change between exchanges.
#[derive(Debug, Clone)]
pub struct Context {
    /// Our address: server identifier and `siaddr`.
    pub server: Ipv4Addr,
    /// `http://ADDR:PORT` of the HTTP server, for script URLs.
    pub http_base: String,
    /// Boot file names.
    pub files: BootFiles,
}

/// What the dynamic range never hands out: the reservations and the server itself.
fn excluded(server: Ipv4Addr, reserved: impl IntoIterator<Item = Ipv4Addr>) -> HashSet<Ipv4Addr> {
    reserved
        .into_iter()
        .chain(std::iter::once(server))
        .collect()
}

/// Our address pool (mode `dhcp`).
#[derive(Debug)]
pub struct Pool {
    /// Subnet, range, options.
    pub config: DhcpConfig,
    /// Leases.
    pub leases: Leases,
}

impl Pool {
    /// Opens the pool's lease file. `reserved` are the configuration's fixed addresses, kept
    /// out of the dynamic range.
    pub fn open(
        config: DhcpConfig,
        server: Ipv4Addr,
        reserved: impl IntoIterator<Item = Ipv4Addr>,
    ) -> Result<Pool, LeaseError> {
        let excluded = excluded(server, reserved);
        let leases = Leases::open(&config.lease_file, config.range, excluded)?;
        Ok(Pool { config, leases })
    }

    /// A pool whose leases live in a shared store (the lease file is not used).
    pub fn shared(
        config: DhcpConfig,
        server: Ipv4Addr,
        reserved: impl IntoIterator<Item = Ipv4Addr>,
    ) -> Pool {
        let leases = Leases::shared(config.range, excluded(server, reserved));
        Pool { config, leases }
    }

    /// The address `mac` may have now: its reservation if nobody else holds that, else one
    /// from the dynamic range. The reservation must lie in the subnet.
    fn address_for(&self, client: &ClientRequest, d: &BootDecision, now: u64) -> Option<Ipv4Addr> {
        match d.address {
            Some(ip) => (self.config.subnet.contains(&ip)
                && self.leases.available_to(ip, client.mac, now))
            .then_some(ip),
            None => self.leases.pick(client.mac, client.requested_ip, now),
        }
    }

    /// Whether `mac` may bind `ip`: its reservation, or a free dynamic address in the range.
    fn may_bind(&self, client: &ClientRequest, d: &BootDecision, ip: Ipv4Addr, now: u64) -> bool {
        match d.address {
            Some(reserved) => reserved == ip && self.leases.available_to(ip, client.mac, now),
            None => self.leases.bindable(ip, client.mac, now),
        }
    }

    fn addressing(&self, ip: Ipv4Addr, d: &BootDecision) -> Addressing {
        Addressing {
            ip,
            mask: self.config.subnet.netmask(),
            router: self.config.router,
            dns: self.config.dns.clone(),
            lease_secs: self.config.lease_secs,
            hostname: d.hostname.clone(),
        }
    }
}

/// The outcome of one exchange: the reply, if any, and a log line.
#[derive(Debug)]
pub struct Exchange {
    /// The reply to send.
    pub reply: Option<Message>,
    /// What happened, for the log.
    pub summary: String,
}

fn silent(summary: impl Into<String>) -> Exchange {
    Exchange {
        reply: None,
        summary: summary.into(),
    }
}

/// Handles one request. `pool` is `None` in proxy mode.
pub fn handle(
    ctx: &Context,
    pool: Option<&mut Pool>,
    msg: &Message,
    client: &ClientRequest,
    decision: &BootDecision,
    port: Port,
    now: u64,
) -> Result<Exchange, LeaseError> {
    let target = match decision.action {
        BootAction::Ignore => BootTarget::None,
        BootAction::Profile(_) | BootAction::LocalDisk => {
            client.boot_target(&ctx.files, &ctx.http_base)
        }
    };
    let boot = reply::describe(&target);
    if port == Port::Pxe {
        return Ok(pxe_port(ctx, msg, client, &target, boot));
    }
    match pool {
        None => Ok(proxy(ctx, msg, client, &target, boot)),
        Some(pool) => own_subnet(ctx, pool, msg, client, decision, &target, boot, now),
    }
}

/// Port 4011 (PXE specification 2.1 §2.2.6): a client that has its address already asks the
/// boot server with a DHCPREQUEST; the DHCPACK carries boot information and no address.
fn pxe_port(
    ctx: &Context,
    msg: &Message,
    client: &ClientRequest,
    target: &BootTarget,
    boot: String,
) -> Exchange {
    if !matches!(client.kind, MessageType::Request | MessageType::Inform) {
        return silent(format!("{:?} on the PXE port: ignored", client.kind));
    }
    let mut m = reply::start(msg, client, MessageType::Ack, ctx.server);
    if !reply::add_boot(&mut m, client, target, ctx.server) {
        return silent(format!("REQUEST on the PXE port, {boot}: not answered"));
    }
    Exchange {
        reply: Some(m),
        summary: format!("REQUEST on the PXE port → ACK {boot}"),
    }
}

/// ProxyDHCP (PXE specification 2.1 §2.2.5): answer a PXE client's DHCPDISCOVER with an offer
/// that has boot information and no address (`yiaddr` 0); the site's server supplies the
/// address. Everything else is the site server's business.
fn proxy(
    ctx: &Context,
    msg: &Message,
    client: &ClientRequest,
    target: &BootTarget,
    boot: String,
) -> Exchange {
    if client.kind != MessageType::Discover {
        return silent(format!("{:?}: left to the site's DHCP server", client.kind));
    }
    let mut m = reply::start(msg, client, MessageType::Offer, ctx.server);
    if !reply::add_boot(&mut m, client, target, ctx.server) {
        return silent(format!("DISCOVER, {boot}: not a client we boot"));
    }
    Exchange {
        reply: Some(m),
        summary: format!("DISCOVER → proxy OFFER {boot}"),
    }
}

#[allow(clippy::too_many_arguments)]
fn own_subnet(
    ctx: &Context,
    pool: &mut Pool,
    msg: &Message,
    client: &ClientRequest,
    d: &BootDecision,
    target: &BootTarget,
    boot: String,
    now: u64,
) -> Result<Exchange, LeaseError> {
    let lease_end = now + u64::from(pool.config.lease_secs);
    // RFC 2131 §4.3.1: the address comes from the subnet the request came from, which for a
    // relayed request is the one 'giaddr' names; we serve one subnet only.
    let relay = msg.giaddr();
    if !relay.is_unspecified() && !pool.config.subnet.contains(&relay) {
        return Ok(silent(format!(
            "relayed from {relay}, not our subnet: ignored"
        )));
    }
    match client.kind {
        // RFC 2131 §4.3.1: choose an address, reserve it, offer it.
        MessageType::Discover => {
            let Some(ip) = pool.address_for(client, d, now) else {
                return Ok(silent(
                    "DISCOVER: no free address in the range, not answered",
                ));
            };
            pool.leases
                .record(client.mac, ip, LeaseState::Offered, now + OFFER_HOLD_SECS)?;
            let mut m = reply::start(msg, client, MessageType::Offer, ctx.server);
            reply::add_address(&mut m, &pool.addressing(ip, d));
            reply::add_boot(&mut m, client, target, ctx.server);
            Ok(Exchange {
                reply: Some(m),
                summary: format!("DISCOVER → OFFER {ip}, {boot}"),
            })
        }
        // RFC 2131 §4.3.2.
        MessageType::Request => {
            if let Some(sid) = client.server_id
                && sid != ctx.server
            {
                // SELECTING, and the client chose another server's offer.
                return Ok(silent(format!("REQUEST for server {sid}: not us")));
            }
            let requested = client
                .requested_ip
                .or_else(|| (!msg.ciaddr().is_unspecified()).then_some(msg.ciaddr()));
            let Some(ip) = requested else {
                return Ok(silent("REQUEST without an address: ignored"));
            };
            if !pool.may_bind(client, d, ip, now) {
                // "If the requested address is incorrect ... the server SHOULD respond with a
                // DHCPNAK" (INIT-REBOOT; SELECTING with our server identifier likewise).
                let m = reply::start(msg, client, MessageType::Nak, ctx.server);
                return Ok(Exchange {
                    reply: Some(m),
                    summary: format!("REQUEST {ip} → NAK (not available to it)"),
                });
            }
            pool.leases
                .record(client.mac, ip, LeaseState::Bound, lease_end)?;
            let mut m = reply::start(msg, client, MessageType::Ack, ctx.server);
            reply::add_address(&mut m, &pool.addressing(ip, d));
            reply::add_boot(&mut m, client, target, ctx.server);
            Ok(Exchange {
                reply: Some(m),
                summary: format!("REQUEST {ip} → ACK, {boot}"),
            })
        }
        // RFC 2131 §4.3.3: the client found the address in use; hold it back.
        MessageType::Decline => match client.requested_ip {
            Some(ip) if pool.leases.in_range(ip) => {
                pool.leases
                    .record(client.mac, ip, LeaseState::Declined, lease_end)?;
                Ok(silent(format!(
                    "DECLINE {ip}: held back until the lease time passes"
                )))
            }
            _ => Ok(silent("DECLINE of an address not ours: ignored")),
        },
        // RFC 2131 §4.3.4.
        MessageType::Release => {
            let released = pool.leases.release(client.mac, msg.ciaddr())?;
            Ok(silent(format!(
                "RELEASE {}: {}",
                msg.ciaddr(),
                if released { "freed" } else { "not its lease" }
            )))
        }
        // RFC 2131 §4.3.5: configuration without an address.
        MessageType::Inform => {
            let mut m = reply::start(msg, client, MessageType::Ack, ctx.server);
            m.opts_mut().insert(dhcproto::v4::DhcpOption::SubnetMask(
                pool.config.subnet.netmask(),
            ));
            reply::add_boot(&mut m, client, target, ctx.server);
            Ok(Exchange {
                reply: Some(m),
                summary: format!("INFORM → ACK, {boot}"),
            })
        }
        other => Ok(silent(format!("{other:?}: ignored"))),
    }
}

#[cfg(test)]
#[path = "exchange_tests.rs"]
mod tests;
