//! Per-board self-signed TLS identity (rcgen, ECDSA P-256) and the rustls server config
//! (ring provider, TLS 1.2 and 1.3). Real AMT uses a self-signed or private-CA certificate
//! that clients pin (amt-protocol.md §2b "TLS").

use std::net::Ipv4Addr;
use std::sync::Arc;

use rcgen::{CertificateParams, DnType, KeyPair};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::SimError;

/// A certificate and the server config that presents it.
#[derive(Clone)]
pub(crate) struct TlsIdentity {
    pub der: Vec<u8>,
    pub config: Arc<ServerConfig>,
}

impl TlsIdentity {
    /// A fresh key and self-signed certificate for the board at `ip`.
    pub(crate) fn generate(ip: Ipv4Addr, serial: &str) -> Result<Self, SimError> {
        let err = |e: &dyn std::fmt::Display| SimError::Tls {
            ip,
            reason: e.to_string(),
        };
        let key = KeyPair::generate().map_err(|e| err(&e))?;
        let mut params = CertificateParams::new(vec![ip.to_string()]).map_err(|e| err(&e))?;
        params
            .distinguished_name
            .push(DnType::CommonName, format!("iAMT simulated board {serial}"));
        let cert = params.self_signed(&key).map_err(|e| err(&e))?;
        let der = cert.der().to_vec();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
            .map_err(|e| err(&e))?
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .map_err(|e| err(&e))?;
        Ok(Self {
            der,
            config: Arc::new(config),
        })
    }
}
