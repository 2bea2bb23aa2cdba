//! TLS to a WS-Man endpoint (AMT: port 16993, and 16995 for redirection) with the certificate pinned
//! by SHA-256.
//!
//! AMT boards present self-signed or private-CA certificates, so CA validation is useless and
//! every AMT client pins instead (go-wsman-messages pins the SHA-256 of the DER; see
//! amt-protocol.md §2b). The first connection to a board records its pin in a known-hosts file,
//! as ssh does; later connections must present the same certificate, and a changed one is
//! refused unless the user re-pins explicitly. Handshake signatures are still verified, so the
//! peer must hold the pinned certificate's private key.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::error::ErrorKind;

/// A SHA-256 certificate fingerprint.
pub type Pin = [u8; 32];

/// SHA-256 of a DER certificate.
pub fn fingerprint(der: &[u8]) -> Pin {
    Sha256::digest(der).into()
}

/// Pins of known boards, keyed by `address:port`, optionally backed by a file with one
/// `address:port sha256-hex` line per board (later lines override earlier ones).
#[derive(Debug)]
pub struct KnownHosts {
    path: Option<PathBuf>,
    pins: Mutex<HashMap<String, Pin>>,
    repin: bool,
}

impl KnownHosts {
    /// Pins kept in memory only (tests, one-off commands).
    pub fn in_memory() -> Self {
        Self {
            path: None,
            pins: Mutex::new(HashMap::new()),
            repin: false,
        }
    }

    /// Loads the file if it exists; new pins are appended to it.
    pub fn load(path: &Path) -> std::io::Result<Self> {
        let mut pins = HashMap::new();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                for (n, line) in text.lines().enumerate() {
                    let line = line.trim();
                    if line.is_empty() || line.starts_with('#') {
                        continue;
                    }
                    let parsed = line.split_once(' ').and_then(|(host, hex_pin)| {
                        let bytes = hex::decode(hex_pin.trim()).ok()?;
                        Some((host.to_string(), Pin::try_from(bytes.as_slice()).ok()?))
                    });
                    let (host, pin) = parsed.ok_or_else(|| {
                        std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!(
                                "{}:{}: expected 'address:port sha256-hex'",
                                path.display(),
                                n + 1
                            ),
                        )
                    })?;
                    pins.insert(host, pin);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(Self {
            path: Some(path.to_path_buf()),
            pins: Mutex::new(pins),
            repin: false,
        })
    }

    /// Accept a changed certificate once and record it (the explicit "re-pin").
    pub fn with_repin(mut self, repin: bool) -> Self {
        self.repin = repin;
        self
    }

    pub fn get(&self, host: &str) -> Option<Pin> {
        self.pins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
            .copied()
    }

    /// Sets a pin known from elsewhere (e.g. the inventory).
    pub fn insert(&self, host: &str, pin: Pin) {
        self.pins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(host.to_string(), pin);
    }

    /// The pin a new connection must match: `None` means first use (or re-pinning).
    pub(crate) fn expected(&self, host: &str) -> Option<Pin> {
        if self.repin { None } else { self.get(host) }
    }

    /// Records the pin seen on a successful handshake, if it is new.
    pub(crate) fn record(&self, host: &str, pin: Pin) -> std::io::Result<()> {
        let mut pins = self.pins.lock().unwrap_or_else(|e| e.into_inner());
        if pins.get(host) == Some(&pin) {
            return Ok(());
        }
        if let Some(path) = &self.path {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut file = OpenOptions::new().create(true).append(true).open(path)?;
            writeln!(file, "{host} {}", hex::encode(pin))?;
        }
        pins.insert(host.to_string(), pin);
        Ok(())
    }
}

/// Performs a TLS handshake on `tcp` with `server` (the host name or address sent as SNI),
/// checking the certificate against the pin recorded under `pin_key` (`host:port`) and
/// recording it on first use (or when re-pinning). Used for WS-Man and, by `metal-amt`, for
/// the redirection protocol.
pub async fn connect_pinned(
    tcp: TcpStream,
    server: &str,
    pin_key: &str,
    known: &KnownHosts,
) -> Result<TlsStream<TcpStream>, ErrorKind> {
    let key = pin_key.to_string();
    let expected = known.expected(&key);
    let observed = Arc::new(Mutex::new(None));
    let verifier = PinVerifier::new(expected, observed.clone());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| ErrorKind::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    let name = ServerName::try_from(server.to_string())
        .map_err(|e| ErrorKind::Tls(format!("invalid server name: {e}")))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let seen = || *observed.lock().unwrap_or_else(|e| e.into_inner());
    match connector.connect(name, tcp).await {
        Ok(stream) => {
            if let Some(pin) = seen() {
                known
                    .record(&key, pin)
                    .map_err(|e| ErrorKind::PinStore(e.to_string()))?;
            }
            Ok(stream)
        }
        Err(e) => match (expected, seen()) {
            (Some(want), Some(got)) if want != got => Err(ErrorKind::PinMismatch {
                expected: hex::encode(want),
                actual: hex::encode(got),
            }),
            _ => Err(ErrorKind::Tls(e.to_string())),
        },
    }
}

/// Verifies a handshake against an expected pin and reports the certificate it saw.
#[derive(Debug)]
struct PinVerifier {
    expected: Option<Pin>,
    observed: Arc<Mutex<Option<Pin>>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinVerifier {
    fn new(expected: Option<Pin>, observed: Arc<Mutex<Option<Pin>>>) -> Self {
        Self {
            expected,
            observed,
            algorithms: provider().signature_verification_algorithms,
        }
    }
}

/// The crypto provider used for AMT TLS (ring).
fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let seen = fingerprint(end_entity.as_ref());
        *self.observed.lock().unwrap_or_else(|e| e.into_inner()) = Some(seen);
        match self.expected {
            Some(pin) if pin != seen => Err(rustls::Error::General(
                "certificate does not match the pin".into(),
            )),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_hosts_file_round_trip_and_override() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/known_amt_hosts");
        let hosts = KnownHosts::load(&path).unwrap();
        assert_eq!(hosts.expected("10.0.0.1:16993"), None);
        hosts.record("10.0.0.1:16993", [1; 32]).unwrap();
        hosts.record("10.0.0.1:16993", [2; 32]).unwrap();
        let again = KnownHosts::load(&path).unwrap();
        assert_eq!(again.expected("10.0.0.1:16993"), Some([2; 32]));
        let repin = KnownHosts::load(&path).unwrap().with_repin(true);
        assert_eq!(repin.expected("10.0.0.1:16993"), None);
    }

    #[test]
    fn corrupt_file_is_an_error_with_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, "10.0.0.1:16993 zz\n").unwrap();
        let err = KnownHosts::load(&path).unwrap_err();
        assert!(err.to_string().contains(":1:"), "{err}");
    }
}
