//! The authority's certificates in real rustls handshakes (in memory): who gets through and
//! who is refused.

use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use metal_pki::{AgentKey, Authority, Identity, client_config, server_config};
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, ServerConnection};

const DOM0: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 99, 0, 31));

fn agent(authority: &Authority, asked: &str) -> Identity {
    let key = AgentKey::generate().unwrap();
    let csr = key.request(asked).unwrap();
    Identity {
        cert_pem: authority.sign_agent(&csr, "r01-h01", DOM0).unwrap(),
        key_pem: key.key_pem(),
    }
}

/// Runs a handshake between the two configurations; the first error either side meets.
fn handshake(
    client: Arc<rustls::ClientConfig>,
    server: Arc<rustls::ServerConfig>,
    name: ServerName<'static>,
) -> Result<(), rustls::Error> {
    let mut c = ClientConnection::new(client, name)?;
    let mut s = ServerConnection::new(server)?;
    for _ in 0..20 {
        let mut buf = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut buf).unwrap();
        }
        if !buf.is_empty() {
            s.read_tls(&mut buf.as_slice()).unwrap();
            s.process_new_packets()?;
        }
        let mut back = Vec::new();
        while s.wants_write() {
            s.write_tls(&mut back).unwrap();
        }
        if !back.is_empty() {
            c.read_tls(&mut back.as_slice()).unwrap();
            c.process_new_packets()?;
        }
        if !c.is_handshaking() && !s.is_handshaking() {
            return Ok(());
        }
    }
    panic!("the handshake did not finish");
}

fn private_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

#[test]
fn metal_and_its_agent_meet_by_address_and_by_name() {
    let dir = private_dir();
    let ca = Authority::open(&dir.path().join("pki")).unwrap();
    let agent = agent(&ca, "r01-h01");
    let server = server_config(&agent, ca.ca_pem()).unwrap();
    let client = client_config(&ca.client().unwrap(), ca.ca_pem()).unwrap();
    handshake(
        client.clone(),
        server.clone(),
        ServerName::IpAddress(DOM0.into()),
    )
    .unwrap();
    handshake(client, server, ServerName::try_from("r01-h01").unwrap()).unwrap();
    // The same authority and client identity come back from the folder.
    let again = Authority::open(&dir.path().join("pki")).unwrap();
    assert_eq!(again.ca_pem(), ca.ca_pem());
    assert_eq!(
        again.client().unwrap().cert_pem,
        ca.client().unwrap().cert_pem
    );
}

#[test]
fn the_certificate_names_what_the_authority_says_not_what_the_csr_asked() {
    let dir = private_dir();
    let ca = Authority::open(&dir.path().join("pki")).unwrap();
    let agent = agent(&ca, "r09-h99");
    let server = server_config(&agent, ca.ca_pem()).unwrap();
    let client = client_config(&ca.client().unwrap(), ca.ca_pem()).unwrap();
    let err = handshake(client, server, ServerName::try_from("r09-h99").unwrap()).unwrap_err();
    assert!(err.to_string().contains("not valid for name"), "{err}");
}

#[test]
fn an_agent_certificate_cannot_command_another_agent() {
    let dir = private_dir();
    let ca = Authority::open(&dir.path().join("pki")).unwrap();
    let target = agent(&ca, "r01-h01");
    let other = agent(&ca, "r01-h02");
    let server = server_config(&target, ca.ca_pem()).unwrap();
    // A Dom0's own (serverAuth-only) certificate presented as a client is refused.
    let client = client_config(&other, ca.ca_pem()).unwrap();
    let err = handshake(client, server, ServerName::IpAddress(DOM0.into())).unwrap_err();
    assert!(
        matches!(
            err,
            rustls::Error::InvalidCertificate(rustls::CertificateError::InvalidPurpose)
                | rustls::Error::InvalidCertificate(
                    rustls::CertificateError::InvalidPurposeContext { .. }
                )
        ),
        "{err:?}"
    );
}

#[test]
fn a_client_of_another_authority_is_refused() {
    let dir = private_dir();
    let ca = Authority::open(&dir.path().join("a")).unwrap();
    let stranger = Authority::open(&dir.path().join("b")).unwrap();
    let server = server_config(&agent(&ca, "r01-h01"), ca.ca_pem()).unwrap();
    let client = client_config(&stranger.client().unwrap(), ca.ca_pem()).unwrap();
    let err = handshake(client, server, ServerName::IpAddress(DOM0.into())).unwrap_err();
    assert!(
        matches!(err, rustls::Error::InvalidCertificate(_)),
        "{err:?}"
    );
    // And metal refuses an agent the stranger signed.
    let server = server_config(&agent(&stranger, "r01-h01"), stranger.ca_pem()).unwrap();
    let client = client_config(&ca.client().unwrap(), ca.ca_pem()).unwrap();
    let err = handshake(client, server, ServerName::IpAddress(DOM0.into())).unwrap_err();
    assert!(
        matches!(err, rustls::Error::InvalidCertificate(_)),
        "{err:?}"
    );
}

#[test]
fn a_forged_or_garbled_request_is_refused() {
    let dir = private_dir();
    let ca = Authority::open(&dir.path().join("pki")).unwrap();
    let csr = AgentKey::generate().unwrap().request("r01-h01").unwrap();
    // One flipped character in the body breaks the signature (or the encoding).
    let mut forged: Vec<char> = csr.chars().collect();
    let at = forged.len() / 2;
    forged[at] = if forged[at] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    assert!(ca.sign_agent(&forged, "r01-h01", DOM0).is_err());
    assert!(ca.sign_agent("not a request", "r01-h01", DOM0).is_err());
}

#[test]
fn processes_opening_a_new_authority_at_once_share_one() {
    let dir = private_dir();
    let path = dir.path().join("pki");
    let opened: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| Authority::open(&path).unwrap().ca_pem().to_string()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        opened.iter().all(|pem| *pem == opened[0]),
        "one authority, not several"
    );
    let clients: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| Authority::open(&path).unwrap().client().unwrap().cert_pem))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        clients.iter().all(|pem| *pem == clients[0]),
        "one client identity"
    );
}

#[test]
fn an_authority_others_can_read_is_refused() {
    let dir = private_dir();
    let path = dir.path().join("pki");
    Authority::open(&path).unwrap();
    std::fs::set_permissions(path.join("ca.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = Authority::open(&path).err().unwrap().to_string();
    assert!(err.contains("ca.key") && err.contains("644"), "{err}");
}
