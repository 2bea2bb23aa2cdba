//! Applying the inventory's records to a live zone with DNS UPDATE (RFC 2136), signed with
//! TSIG (RFC 8945), over TCP (RFC 1035 §4.2.2: a two-byte length before each message).
//!
//! For every owner name and type, one message carries, in its Update section:
//! - RFC 2136 §2.5.2 "Delete An RRset": "One RR is added to the Update Section whose NAME and
//!   TYPE are those of the RRset to be deleted. TTL must be specified as zero (0) and is
//!   otherwise not used by the Primary Zone Server. CLASS must be specified as ANY. RDLENGTH
//!   must be zero (0) and RDATA must therefore be empty."
//! - then RFC 2136 §2.5.1 "Add To An RRset": "RRs are added to the Update Section whose NAME,
//!   TYPE, TTL, RDLENGTH and RDATA are those being added, and CLASS is the same as the zone
//!   class."
//!
//! so the result is the inventory's RRset whatever was there before. A name published earlier
//! that the inventory no longer implies (a retired machine, a removed guest) gets only deletes,
//! one per type this module writes (A, CNAME, PTR): records someone else put at that name stay. RFC 2136 §3.4.2 has the
//! server apply the Update section in order and §3.7 makes a message atomic. The Zone section
//! names the zone (§2.3: ZNAME, ZTYPE SOA, ZCLASS IN). Each request is signed (RFC 8945 §5.1)
//! and the server's answer must carry a valid TSIG (§5.3) and RCODE NOERROR (RFC 2136 §2.2).

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::op::{Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_proto::rr::rdata::{A, CNAME, PTR};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType, TSigner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Error;
use crate::records::{Data, DnsRecord, absolute};

/// RRsets per UPDATE message (each RRset's delete and adds stay in one message).
const BATCH: usize = 64;

/// A TSIG key as BIND's `tsig-keygen` writes it:
/// `key "name" { algorithm hmac-sha256; secret "base64"; };`.
#[derive(Clone)]
pub struct TsigKey {
    pub name: String,
    pub algorithm: String,
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl TsigKey {
    /// Parses a BIND key file.
    pub fn parse_bind(text: &str) -> Result<TsigKey, Error> {
        let bad = |why: &str| Error::Key(why.to_string());
        let quoted = |after: &str| -> Option<String> {
            let at = text.find(after)? + after.len();
            let rest = &text[at..];
            let open = rest.find('"')?;
            let close = rest[open + 1..].find('"')?;
            Some(rest[open + 1..open + 1 + close].to_string())
        };
        let name = quoted("key").ok_or_else(|| bad("no key \"NAME\""))?;
        let secret = quoted("secret").ok_or_else(|| bad("no secret \"...\""))?;
        let algorithm = text
            .split("algorithm")
            .nth(1)
            .and_then(|r| r.split(';').next())
            .map(|a| a.trim().trim_matches('"').to_ascii_lowercase())
            .ok_or_else(|| bad("no algorithm"))?;
        let secret = data_encoding::BASE64
            .decode(secret.as_bytes())
            .map_err(|_| bad("the secret is not base64"))?;
        Ok(TsigKey {
            name,
            algorithm,
            secret,
        })
    }

    fn signer(&self) -> Result<TSigner, Error> {
        let algorithm = match self.algorithm.as_str() {
            "hmac-sha256" => TsigAlgorithm::HmacSha256,
            "hmac-sha384" => TsigAlgorithm::HmacSha384,
            "hmac-sha512" => TsigAlgorithm::HmacSha512,
            other => {
                return Err(Error::Key(format!(
                    "algorithm {other} (use hmac-sha256, hmac-sha384 or hmac-sha512)"
                )));
            }
        };
        let name = Name::from_ascii(&self.name)
            .map_err(|e| Error::Key(format!("key name {:?}: {e}", self.name)))?;
        TSigner::new(self.secret.clone(), algorithm, name, 300)
            .map_err(|e| Error::Key(e.to_string()))
    }
}

fn name(text: &str) -> Result<Name, Error> {
    Name::from_ascii(text).map_err(|e| Error::Name(format!("{text}: {e}")))
}

fn rdata(d: &Data) -> Result<RData, Error> {
    Ok(match d {
        Data::A(a) => RData::A(A(*a)),
        Data::Cname(t) => RData::CNAME(CNAME(name(t)?)),
        Data::Ptr(t) => RData::PTR(PTR(name(t)?)),
    })
}

fn record_type(d: &Data) -> RecordType {
    match d {
        Data::A(_) => RecordType::A,
        Data::Cname(_) => RecordType::CNAME,
        Data::Ptr(_) => RecordType::PTR,
    }
}

/// The types of record this module writes, and so the ones it deletes at a stale name.
const MANAGED: [RecordType; 3] = [RecordType::A, RecordType::CNAME, RecordType::PTR];

/// The UPDATE messages that make `zone` hold `records` and no longer hold the records of the
/// `stale` names (all names relative to the zone).
pub fn messages(
    zone: &str,
    records: &[DnsRecord],
    stale: &[String],
    ttl: u32,
) -> Result<Vec<Message>, Error> {
    let origin = name(&absolute(zone))?;
    // Group by owner and type: one RRset, deleted then re-added. Stale names come first and get
    // deletes only, so that a name coming back in another case (DNS names are
    // case-insensitive) is deleted before it is added, not after.
    let mut sets: Vec<(String, RecordType, Vec<&Data>)> = stale
        .iter()
        .flat_map(|owner| MANAGED.iter().map(|t| (owner.clone(), *t, Vec::new())))
        .collect();
    for r in records {
        let t = record_type(&r.data);
        match sets.iter_mut().find(|(n, ty, _)| *n == r.name && *ty == t) {
            Some((_, _, d)) => d.push(&r.data),
            None => sets.push((r.name.clone(), t, vec![&r.data])),
        }
    }
    let mut out = Vec::new();
    for chunk in sets.chunks(BATCH) {
        let mut msg = Message::query();
        msg.metadata.op_code = OpCode::Update;
        msg.metadata.recursion_desired = false;
        let mut zone_q = Query::new();
        zone_q
            .set_name(origin.clone())
            .set_query_class(DNSClass::IN)
            .set_query_type(RecordType::SOA);
        msg.add_query(zone_q);
        for (owner, t, datas) in chunk {
            let owner = name(&format!("{owner}.{origin}"))?;
            let mut delete = Record::update0(owner.clone(), 0, *t);
            delete.dns_class = DNSClass::ANY;
            msg.add_authority(delete);
            for d in datas {
                let mut add = Record::from_rdata(owner.clone(), ttl, rdata(d)?);
                add.dns_class = DNSClass::IN;
                msg.add_authority(add);
            }
        }
        out.push(msg);
    }
    Ok(out)
}

/// Sends the messages to `server`, signed with `key`; returns how many were applied.
pub async fn send(
    server: SocketAddr,
    key: &TsigKey,
    messages: Vec<Message>,
    timeout: Duration,
) -> Result<usize, Error> {
    let signer = key.signer()?;
    let io = |e: std::io::Error| Error::Server {
        server,
        why: e.to_string(),
    };
    let mut stream = tokio::time::timeout(timeout, TcpStream::connect(server))
        .await
        .map_err(|_| Error::Server {
            server,
            why: "connect timed out".into(),
        })?
        .map_err(io)?;
    let mut applied = 0;
    for (i, mut msg) in messages.into_iter().enumerate() {
        msg.metadata.id = (i as u16).wrapping_add(0x4d00);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let verifier = msg.finalize(&signer, now).map_err(|e| Error::Server {
            server,
            why: format!("signing: {e}"),
        })?;
        let bytes = msg.to_vec().map_err(|e| Error::Server {
            server,
            why: format!("encoding: {e}"),
        })?;
        let len = u16::try_from(bytes.len()).map_err(|_| Error::Server {
            server,
            why: "UPDATE message over 64 KiB".into(),
        })?;
        let exchange = async {
            stream.write_all(&len.to_be_bytes()).await?;
            stream.write_all(&bytes).await?;
            let mut len = [0u8; 2];
            stream.read_exact(&mut len).await?;
            let mut reply = vec![0u8; u16::from_be_bytes(len) as usize];
            stream.read_exact(&mut reply).await?;
            Ok::<_, std::io::Error>(reply)
        };
        let reply = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| Error::Server {
                server,
                why: "no answer in time".into(),
            })?
            .map_err(io)?;
        let code = match verifier {
            Some(mut v) => {
                v.verify(&reply)
                    .map_err(|e| Error::Server {
                        server,
                        why: format!("the answer's TSIG does not verify: {e}"),
                    })?
                    .metadata
                    .response_code
            }
            None => {
                Message::from_vec(&reply)
                    .map_err(|e| Error::Server {
                        server,
                        why: format!("unreadable answer: {e}"),
                    })?
                    .metadata
                    .response_code
            }
        };
        if code != ResponseCode::NoError {
            return Err(Error::Server {
                server,
                why: format!("refused the update: {code}"),
            });
        }
        applied += 1;
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_name_gets_deletes_of_the_managed_types_only() {
        let records = vec![DnsRecord {
            name: "h01".into(),
            data: Data::A("10.0.0.1".parse().unwrap()),
        }];
        let msgs = messages("host.h", &records, &["h03".into()], 300).unwrap();
        assert_eq!(msgs.len(), 1);
        let updates = msgs[0].authorities.clone();
        let h03: Vec<_> = updates
            .iter()
            .filter(|r| r.name.to_ascii() == "h03.host.h.")
            .collect();
        assert_eq!(h03.len(), 3, "{updates:?}");
        for r in &h03 {
            // RFC 2136 §2.5.2: CLASS ANY, TTL 0, no RDATA.
            assert_eq!(r.dns_class, DNSClass::ANY);
            assert_eq!(r.ttl, 0);
        }
        let mut types: Vec<_> = h03.iter().map(|r| r.record_type()).collect();
        types.sort();
        assert_eq!(
            types,
            vec![RecordType::A, RecordType::CNAME, RecordType::PTR]
        );
        // h01: its A RRset deleted, then added.
        assert_eq!(updates.len(), 5);
    }
}
