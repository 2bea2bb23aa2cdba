//! The authority: one self-signed CA per operator, kept in the PKI folder, that signs agent
//! certificates from their CSRs and issues `metal`'s own client identity.

use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

use crate::{Error, io};

const CA_CERT: &str = "ca.pem";
const CA_KEY: &str = "ca.key";
const CLIENT_CERT: &str = "client.pem";
const CLIENT_KEY: &str = "client.key";

/// How long what the authority signs stays valid.
const CA_DAYS: i64 = 3650;
const CLIENT_DAYS: i64 = 730;
/// An agent's certificate lives as long as its key, which a diskless Dom0 makes at every boot.
const AGENT_DAYS: i64 = 365;

/// A certificate and its key, both PEM.
#[derive(Debug, Clone)]
pub struct Identity {
    pub cert_pem: String,
    pub key_pem: String,
}

pub struct Authority {
    dir: PathBuf,
    ca_pem: String,
    key: KeyPair,
}

impl Authority {
    /// The authority in `dir`, made there (mode 0700, keys 0600) if it has none yet. A folder
    /// or key that others may read is refused: whoever reads `ca.key` commands every Dom0.
    pub fn open(dir: &Path) -> Result<Authority, Error> {
        if !dir.exists() {
            if let Some(parent) = dir.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            // Made with its mode, so that no other process ever sees it open.
            match std::fs::DirBuilder::new().mode(0o700).create(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(dir)(e)),
            }
        }
        private(dir)?;
        let cert_path = dir.join(CA_CERT);
        let key_path = dir.join(CA_KEY);
        // Two processes starting at once (two `metal serve`) must not both make an authority:
        // whoever holds the folder's lock makes it, the other then reads it.
        let _lock = lock(dir)?;
        if !key_path.exists() || !cert_path.exists() {
            let _ = std::fs::remove_file(&key_path);
            let key = generate("the authority's key")?;
            let mut params = CertificateParams::default();
            params
                .distinguished_name
                .push(DnType::CommonName, "metal agent authority");
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            valid_for(&mut params, CA_DAYS);
            let cert = params
                .self_signed(&key)
                .map_err(cert_error("making the authority"))?;
            write_private(&key_path, &key.serialize_pem())?;
            std::fs::write(&cert_path, cert.pem()).map_err(io(&cert_path))?;
        }
        private(&key_path)?;
        let key_pem = std::fs::read_to_string(&key_path).map_err(io(&key_path))?;
        let key =
            KeyPair::from_pem(&key_pem).map_err(cert_error(key_path.display().to_string()))?;
        let ca_pem = std::fs::read_to_string(&cert_path).map_err(io(&cert_path))?;
        Ok(Authority {
            dir: dir.to_path_buf(),
            ca_pem,
            key,
        })
    }

    /// The authority's certificate (what both ends trust).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    fn issuer(&self) -> Result<Issuer<'static, &KeyPair>, Error> {
        Issuer::from_ca_cert_pem(&self.ca_pem, &self.key).map_err(cert_error("reading ca.pem"))
    }

    /// A server certificate for the agent of `hostname` at `address`, for the key in
    /// `csr_pem`. The CSR's signature must hold (the sender has the key); everything else in
    /// it (names, extensions) is ignored.
    pub fn sign_agent(
        &self,
        csr_pem: &str,
        hostname: &str,
        address: IpAddr,
    ) -> Result<String, Error> {
        let csr = CertificateSigningRequestParams::from_pem(csr_pem)
            .map_err(cert_error(format!("the signing request of {hostname}")))?;
        let mut params = CertificateParams::new(vec![hostname.to_string()])
            .map_err(cert_error(format!("the name {hostname:?}")))?;
        params.subject_alt_names.push(SanType::IpAddress(address));
        params.distinguished_name.push(DnType::CommonName, hostname);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        valid_for(&mut params, AGENT_DAYS);
        let cert = params
            .signed_by(&csr.public_key, &self.issuer()?)
            .map_err(cert_error(format!("signing the certificate of {hostname}")))?;
        Ok(cert.pem())
    }

    /// `metal`'s client identity, issued on first use and kept beside the authority.
    pub fn client(&self) -> Result<Identity, Error> {
        let cert_path = self.dir.join(CLIENT_CERT);
        let key_path = self.dir.join(CLIENT_KEY);
        let _lock = lock(&self.dir)?;
        if !key_path.exists() || !cert_path.exists() {
            // A key without its certificate is what an interrupted issue left: issue again.
            let _ = std::fs::remove_file(&key_path);
            let key = generate("the client key")?;
            let mut params = CertificateParams::default();
            params.distinguished_name.push(DnType::CommonName, "metal");
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            valid_for(&mut params, CLIENT_DAYS);
            let cert = params
                .signed_by(&key, &self.issuer()?)
                .map_err(cert_error("issuing the client certificate"))?;
            write_private(&key_path, &key.serialize_pem())?;
            std::fs::write(&cert_path, cert.pem()).map_err(io(&cert_path))?;
        }
        private(&key_path)?;
        Ok(Identity {
            cert_pem: std::fs::read_to_string(&cert_path).map_err(io(&cert_path))?,
            key_pem: std::fs::read_to_string(&key_path).map_err(io(&key_path))?,
        })
    }
}

/// An exclusive lock on `dir/.lock`, held until the file is dropped.
fn lock(dir: &Path) -> Result<std::fs::File, Error> {
    let path = dir.join(".lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(io(&path))?;
    f.lock().map_err(io(&path))?;
    Ok(f)
}

fn generate(what: &str) -> Result<KeyPair, Error> {
    KeyPair::generate().map_err(cert_error(format!("generating {what}")))
}

fn cert_error(what: impl Into<String>) -> impl FnOnce(rcgen::Error) -> Error {
    let what = what.into();
    move |source| Error::Certificate { what, source }
}

fn valid_for(params: &mut CertificateParams, days: i64) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(days);
}

/// Refuses `path` when its group or others may read or write it.
fn private(path: &Path) -> Result<(), Error> {
    let mode = std::fs::metadata(path)
        .map_err(io(path))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(Error::Unsafe {
            path: path.to_path_buf(),
            reason: format!(
                "mode {:o}: the agent authority must be private to its owner (chmod go-rwx)",
                mode & 0o777
            ),
        });
    }
    Ok(())
}

fn write_private(path: &Path, text: &str) -> Result<(), Error> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    f.write_all(text.as_bytes()).map_err(io(path))
}
