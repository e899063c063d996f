//! A throwaway certificate authority for the TLS tests: a CA, a server certificate for
//! `127.0.0.1` and `localhost`, and a client certificate, as PEM files in a directory.
use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

/// The PEM files of a test PKI.
pub struct TestPki {
    /// The CA certificate.
    pub ca: PathBuf,
    /// The server certificate (signed by the CA; `127.0.0.1`, `localhost`).
    pub server_cert: PathBuf,
    /// Its key.
    pub server_key: PathBuf,
    /// A client certificate (signed by the CA).
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
    /// A CA that signed none of these.
    pub other_ca: PathBuf,
}

impl TestPki {
    /// Writes a fresh PKI into `dir`.
    ///
    /// # Panics
    /// When a certificate cannot be made or written.
    #[must_use]
    pub fn create(dir: &Path) -> Self {
        let write = |name: &str, pem: String| {
            let path = dir.join(name);
            std::fs::write(&path, pem).expect("write PEM");
            path
        };
        let (ca_pem, issuer) = authority("tracesynth test CA");
        let (other_pem, _) = authority("someone else's CA");
        let leaf = |names: Vec<String>, common: &str| {
            let key = KeyPair::generate().expect("key");
            let mut params = CertificateParams::new(names).expect("params");
            params.distinguished_name.push(DnType::CommonName, common);
            let cert = params.signed_by(&key, &issuer).expect("sign");
            (cert.pem(), key.serialize_pem())
        };
        let (server_pem, server_key) = leaf(vec!["127.0.0.1".into(), "localhost".into()], "tracesynth daemon");
        let (client_pem, client_key) = leaf(Vec::new(), "tracesynth client");
        Self {
            ca: write("ca.pem", ca_pem),
            server_cert: write("server.pem", server_pem),
            server_key: write("server.key", server_key),
            client_cert: write("client.pem", client_pem),
            client_key: write("client.key", client_key),
            other_ca: write("other-ca.pem", other_pem),
        }
    }
}

fn authority(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).expect("self-sign");
    (cert.pem(), Issuer::new(params, key))
}

/// A path as `&str`, for argument lists.
#[must_use]
pub fn arg(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}
