//! DHCP leases shared by the netboot servers of one segment (`metal serve --inventory` in
//! DHCP mode): each address is claimed in a transaction that holds the allocation lock, so of
//! two servers answering two clients at once, one gets the address and the other picks again.

use std::net::Ipv4Addr;

use crate::Error;
use crate::store::{Store, get};
use metal_types::MacAddr;

/// What a client does with an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseKind {
    Offered,
    Bound,
    /// The client found it in use; held back until it expires.
    Declined,
}

impl LeaseKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Offered => "offered",
            Self::Bound => "bound",
            Self::Declined => "declined",
        }
    }

    fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "offered" => Ok(Self::Offered),
            "bound" => Ok(Self::Bound),
            "declined" => Ok(Self::Declined),
            _ => Err(Error::Invalid(format!("lease state {s:?}"))),
        }
    }
}

/// One address of a segment, who holds it, until when (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRecord {
    pub ip: Ipv4Addr,
    pub mac: MacAddr,
    pub kind: LeaseKind,
    pub expires: u64,
}

impl Store {
    /// Every lease of `segment`, expired or not.
    pub async fn leases(&self, segment: &str) -> Result<Vec<LeaseRecord>, Error> {
        let rows =
            sqlx::query("SELECT ip, mac, state, expires FROM dhcp_leases WHERE segment = $1")
                .bind(segment)
                .fetch_all(&self.pool)
                .await
                .map_err(Error::db(format!(
                    "{}: reading the leases of {segment}",
                    self.url()
                )))?;
        rows.iter().map(lease_from_row).collect()
    }

    /// Takes `lease` for its MAC unless another MAC holds an unexpired lease on the address at
    /// `now`. A bound lease replaces the MAC's other leases of the segment (but declined
    /// ones); an offer does not, since every server on the segment offers to each DISCOVER
    /// and the client picks one.
    pub async fn claim_lease(
        &self,
        segment: &str,
        lease: &LeaseRecord,
        now: u64,
    ) -> Result<bool, Error> {
        let db =
            |what: &str| Error::db(format!("{}: {what} {} in {segment}", self.url(), lease.ip));
        let mut tx = self.begin_allocation().await?;
        let held = sqlx::query(
            "SELECT mac, state, expires FROM dhcp_leases WHERE segment = $1 AND ip = $2",
        )
        .bind(segment)
        .bind(lease.ip.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("reading the lease of"))?;
        if let Some(row) = held {
            let (mac, expires): (String, i64) = (get(&row, "mac")?, get(&row, "expires")?);
            let live = u64::try_from(expires).unwrap_or(0) > now;
            if mac != lease.mac.to_string() && live {
                return Ok(false);
            }
            // A slower server's offer of the address the client already bound through the
            // other one must not shorten its lease to an offer's minute.
            let state: String = get(&row, "state")?;
            if live && state == "bound" && lease.kind == LeaseKind::Offered {
                return Ok(true);
            }
        }
        if lease.kind == LeaseKind::Bound {
            sqlx::query(
                "DELETE FROM dhcp_leases WHERE segment = $1 AND mac = $2 AND ip <> $3 AND state <> 'declined'",
            )
            .bind(segment)
            .bind(lease.mac.to_string())
            .bind(lease.ip.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db("dropping the other leases of the holder of"))?;
        }
        sqlx::query(
            "INSERT INTO dhcp_leases (segment, ip, mac, state, expires) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (segment, ip) DO UPDATE SET mac = excluded.mac, state = excluded.state, \
             expires = excluded.expires",
        )
        .bind(segment)
        .bind(lease.ip.to_string())
        .bind(lease.mac.to_string())
        .bind(lease.kind.as_str())
        .bind(i64::try_from(lease.expires).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await
        .map_err(db("writing the lease of"))?;
        tx.commit().await.map_err(db("committing the lease of"))?;
        Ok(true)
    }

    /// Frees `ip` if `mac` holds it (but not a declined address).
    pub async fn release_lease(
        &self,
        segment: &str,
        mac: MacAddr,
        ip: Ipv4Addr,
    ) -> Result<bool, Error> {
        let done = sqlx::query(
            "DELETE FROM dhcp_leases WHERE segment = $1 AND ip = $2 AND mac = $3 AND state <> 'declined'",
        )
        .bind(segment)
        .bind(ip.to_string())
        .bind(mac.to_string())
        .execute(&self.pool)
        .await
        .map_err(Error::db(format!("{}: releasing {ip} in {segment}", self.url())))?;
        Ok(done.rows_affected() > 0)
    }
}

fn lease_from_row(row: &sqlx::any::AnyRow) -> Result<LeaseRecord, Error> {
    let bad = |what: &str, v: &str| Error::Invalid(format!("lease with a bad {what} {v:?}"));
    let ip: String = get(row, "ip")?;
    let mac: String = get(row, "mac")?;
    let expires: i64 = get(row, "expires")?;
    Ok(LeaseRecord {
        ip: ip.parse().map_err(|_| bad("address", &ip))?,
        mac: mac.parse().map_err(|_| bad("MAC", &mac))?,
        kind: LeaseKind::parse(&get::<String>(row, "state")?)?,
        expires: u64::try_from(expires).unwrap_or(0),
    })
}
