// A TLS client for the tests that accepts any certificate and remembers it (clients pin
// AMT's self-signed certificate instead of verifying it, amt-protocol.md §2b).

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

#[derive(Debug, Default)]
pub struct AcceptAny {
    pub seen: Mutex<Vec<u8>>,
}

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.seen.lock().unwrap() = end_entity.to_vec();
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, &algs)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, &algs)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Connects with TLS to port 16993; returns the connection and the verifier that saw the
/// certificate. `version` restricts the protocol version when given.
pub async fn tls_connect_with(
    ip: std::net::Ipv4Addr,
    version: Option<&'static rustls::SupportedProtocolVersion>,
) -> (
    super::Conn<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>,
    Arc<AcceptAny>,
) {
    let verifier = Arc::new(AcceptAny::default());
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = match version {
        Some(v) => vec![v],
        None => vec![&rustls::version::TLS12, &rustls::version::TLS13],
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&versions)
    .unwrap()
    .dangerous()
    .with_custom_certificate_verifier(verifier.clone())
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect((ip, 16993))
        .await
        .expect("connect 16993");
    let name = ServerName::IpAddress(std::net::IpAddr::V4(ip).into());
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake");
    (super::Conn::new(stream), verifier)
}

pub async fn tls_connect(
    ip: std::net::Ipv4Addr,
) -> super::Conn<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    tls_connect_with(ip, None).await.0
}

/// A TLS stream to any port (the SOL tests use 16995), accepting and remembering any
/// certificate.
pub async fn tls_stream(
    ip: std::net::Ipv4Addr,
    port: u16,
) -> (
    tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    Arc<AcceptAny>,
) {
    let verifier = Arc::new(AcceptAny::default());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
    .unwrap()
    .dangerous()
    .with_custom_certificate_verifier(verifier.clone())
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect((ip, port))
        .await
        .expect("connect");
    let name = ServerName::IpAddress(std::net::IpAddr::V4(ip).into());
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake");
    (stream, verifier)
}
