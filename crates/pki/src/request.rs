//! The agent's side of enrolment: a fresh key pair, kept in memory or in the Dom0's `/run`,
//! and a certificate signing request carrying only the public key and the hostname the agent
//! believes it has (the authority ignores it and uses the inventory's).

use rcgen::{CertificateParams, DnType, KeyPair};

use crate::Error;

pub struct AgentKey {
    key: KeyPair,
}

impl AgentKey {
    /// A new ECDSA P-256 key.
    pub fn generate() -> Result<AgentKey, Error> {
        let key = KeyPair::generate().map_err(|source| Error::Certificate {
            what: "generating the agent key".into(),
            source,
        })?;
        Ok(AgentKey { key })
    }

    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// A CSR (PEM) for `hostname`, signed with the key (proof that the sender holds it).
    pub fn request(&self, hostname: &str) -> Result<String, Error> {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, hostname);
        let csr = params
            .serialize_request(&self.key)
            .map_err(|source| Error::Certificate {
                what: "making the signing request".into(),
                source,
            })?;
        csr.pem().map_err(|source| Error::Certificate {
            what: "encoding the signing request".into(),
            source,
        })
    }
}
