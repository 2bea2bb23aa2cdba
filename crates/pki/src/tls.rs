//! The rustls configurations of both ends. The agent requires a client certificate that
//! chains to the authority and carries `clientAuth` (webpki checks the extended key usage);
//! `metal` requires the agent's certificate to chain to the authority and name the address
//! it dialled.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::{Error, Identity};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certs(pem: &str, what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Pem {
            what: what.into(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(Error::Pem {
            what: what.into(),
            reason: "no certificate".into(),
        });
    }
    Ok(certs)
}

fn key(pem: &str, what: &str) -> Result<PrivateKeyDer<'static>, Error> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| Error::Pem {
        what: what.into(),
        reason: e.to_string(),
    })
}

fn roots(ca_pem: &str) -> Result<Arc<RootCertStore>, Error> {
    let mut roots = RootCertStore::empty();
    for c in certs(ca_pem, "the authority's certificate")? {
        roots.add(c).map_err(|e| Error::Tls(e.to_string()))?;
    }
    Ok(Arc::new(roots))
}

/// The agent's server side: its own certificate, and only clients the authority issued.
pub fn server_config(identity: &Identity, ca_pem: &str) -> Result<Arc<ServerConfig>, Error> {
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(ca_pem)?, provider())
        .build()
        .map_err(|e| Error::Tls(e.to_string()))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            certs(&identity.cert_pem, "the agent's certificate")?,
            key(&identity.key_pem, "the agent's key")?,
        )
        .map_err(|e| Error::Tls(e.to_string()))?;
    Ok(Arc::new(config))
}

/// `metal`'s client side: its identity, and only agents the authority signed.
pub fn client_config(identity: &Identity, ca_pem: &str) -> Result<Arc<ClientConfig>, Error> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(roots(ca_pem)?)
        .with_client_auth_cert(
            certs(&identity.cert_pem, "the client certificate")?,
            key(&identity.key_pem, "the client key")?,
        )
        .map_err(|e| Error::Tls(e.to_string()))?;
    Ok(Arc::new(config))
}
