//! `metal-agent serve` as a process on a loopback address: who gets through its mutual TLS,
//! and how it answers what it refuses. (Guests themselves need Xen: the QEMU Dom0 end-to-end
//! test, `tests/netboot/vm.rs`, creates and moves real ones.)

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use metal_pki::{Authority, Identity, client_config};
use metal_test_support::loopback::Block;
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;

const AGENT: &str = env!("CARGO_BIN_EXE_metal-agent");

struct Served {
    child: Child,
    addr: SocketAddr,
    authority: Authority,
    agent: Identity,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An agent certified the way metal-init does it: `metal-agent request` makes the key and the
/// CSR, the authority signs it for the inventory's name and the agent's address.
fn serve(ip: IpAddr) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let authority = Authority::open(&pki).unwrap();
    let key = dir.path().join("agent.key");
    let out = Command::new(AGENT)
        .args(["request", "--hostname", "r01-h01", "--key"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csr = String::from_utf8(out.stdout).unwrap();
    assert!(
        csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----"),
        "{csr}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the agent's key is private");
    let cert = authority.sign_agent(&csr, "r01-h01", ip).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let cert_path = write("agent.pem", &cert);
    let ca_path = write("ca.pem", authority.ca_pem());
    let addr = SocketAddr::new(ip, 7443);
    let child = Command::new(AGENT)
        .args(["serve", "--listen", &addr.to_string(), "--cert"])
        .arg(&cert_path)
        .arg("--key")
        .arg(&key)
        .arg("--ca")
        .arg(&ca_path)
        .arg("--state")
        .arg(dir.path().join("state"))
        .arg("--console-dir")
        .arg(dir.path().join("console"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "the agent did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let agent = Identity {
        cert_pem: cert,
        key_pem: std::fs::read_to_string(&key).unwrap(),
    };
    Served {
        child,
        addr,
        authority,
        agent,
        _dir: dir,
    }
}

/// One HTTP/1.1 request over TLS with `config`; the whole answer, or the error that ended it.
fn request(
    config: Arc<rustls::ClientConfig>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> Result<String, String> {
    let mut tcp = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let name = ServerName::IpAddress(addr.ip().into());
    let mut conn = rustls::ClientConnection::new(config, name).map_err(|e| e.to_string())?;
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    match tls.read_to_end(&mut out) {
        Ok(_) => Ok(String::from_utf8_lossy(&out).into_owned()),
        Err(e) if !out.is_empty() && e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Ok(String::from_utf8_lossy(&out).into_owned())
        }
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn metals_client_identity_gets_answers_with_the_cause_of_each_refusal() {
    let block = Block::allocate();
    let s = serve(IpAddr::V4(block.ip(1)));
    let client = client_config(&s.authority.client().unwrap(), s.authority.ca_pem()).unwrap();
    let answer = request(client.clone(), s.addr, "GET", "/v1/guests/web1/console", "").unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(
        answer.contains("guest web1 is not defined on this Dom0"),
        "{answer}"
    );
    let bad = r#"{"name":"Web_1","address":"10.0.0.5","memory_mib":512,"vcpus":1,"disk_gib":4}"#;
    let answer = request(client.clone(), s.addr, "POST", "/v1/guests", bad).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("guest name \\\"Web_1\\\""), "{answer}");
    let small = r#"{"name":"web1","address":"10.0.0.5","memory_mib":16,"vcpus":1,"disk_gib":4}"#;
    let answer = request(client.clone(), s.addr, "POST", "/v1/guests", small).unwrap();
    assert!(
        answer.contains("memory (MiB) must be 128 to 262144, not 16"),
        "{answer}"
    );
    let answer = request(
        client,
        s.addr,
        "POST",
        "/v1/guests/web1/receive",
        r#"{"kind":"full","token":"00","base":null}"#,
    )
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
}

#[test]
fn anyone_else_is_refused_at_the_handshake() {
    let block = Block::allocate();
    let s = serve(IpAddr::V4(block.ip(1)));
    // No client certificate at all.
    let roots = {
        let mut r = rustls::RootCertStore::empty();
        let ca = rustls::pki_types::CertificateDer::from_pem_slice(s.authority.ca_pem().as_bytes())
            .unwrap();
        r.add(ca).unwrap();
        r
    };
    let anonymous = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    let got = request(anonymous, s.addr, "GET", "/v1/guests", "");
    assert!(got.is_err(), "no client certificate got an answer: {got:?}");
    // A Dom0's own certificate (serverAuth only): one agent cannot command another.
    let peer = client_config(&s.agent, s.authority.ca_pem()).unwrap();
    let got = request(peer, s.addr, "GET", "/v1/guests", "");
    assert!(got.is_err(), "an agent certificate got an answer: {got:?}");
    // A client of another authority.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Authority::open(&other_dir.path().join("pki")).unwrap();
    let stranger = client_config(&other.client().unwrap(), s.authority.ca_pem()).unwrap();
    let got = request(stranger, s.addr, "GET", "/v1/guests", "");
    assert!(got.is_err(), "a stranger got an answer: {got:?}");
    // Nothing of that reached the API; the agent still serves metal.
    let client = client_config(&s.authority.client().unwrap(), s.authority.ca_pem()).unwrap();
    let answer = request(client, s.addr, "GET", "/v1/guests/x/console", "").unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
}
