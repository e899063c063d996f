//! TLS to the sinks and to the daemon's API (rustls with the `ring` provider): which
//! certificate authorities a client trusts (the Mozilla roots, plus an operator's own CA),
//! the client certificate it may present, and reading PEM files with messages that name
//! the file.
use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use rustls::{
    pki_types::{pem::PemObject as _, CertificateDer, PrivateKeyDer},
    server::WebPkiClientVerifier,
    ClientConfig, RootCertStore, ServerConfig,
};

/// A certificate, key or CA file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file could not be read or holds no PEM item of the kind wanted.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// rustls refused the combination (a key that does not match its certificate, a CA
    /// certificate it cannot parse).
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    /// The client CAs cannot verify client certificates.
    #[error("client certificate authorities: {0}")]
    ClientCa(#[from] rustls::server::VerifierBuilderError),
}

/// What a TLS client trusts and presents.
#[derive(Clone, Debug, Default)]
pub struct ClientTls {
    /// Certificate authorities trusted besides the Mozilla roots (an operator's own CA).
    ca: Vec<CertificateDer<'static>>,
    /// The PEM text of `ca`, for clients configured from PEM (gRPC).
    ca_pem: Vec<u8>,
    /// A client certificate chain and its key, for servers that ask for one.
    identity: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
}

impl ClientTls {
    /// Trusts the certificate authorities in the PEM file `path` too.
    ///
    /// # Errors
    /// An unreadable file, or one without a certificate.
    pub fn with_ca_file(mut self, path: &Path) -> Result<Self, TlsError> {
        let pem = read(path)?;
        self.ca.extend(parse_certificates(path, &pem)?);
        self.ca_pem.extend_from_slice(&pem);
        self.ca_pem.push(b'\n');
        Ok(self)
    }

    /// The public roots, and the CAs in the PEM file `ca_file` when one is given.
    ///
    /// # Errors
    /// As [`Self::with_ca_file`].
    pub fn trusting(ca_file: Option<&Path>) -> Result<Self, TlsError> {
        match ca_file {
            Some(path) => Self::default().with_ca_file(path),
            None => Ok(Self::default()),
        }
    }

    /// Presents the certificate chain in `cert` with the private key in `key` (PEM files)
    /// to servers that ask for a client certificate.
    ///
    /// # Errors
    /// Unreadable files, or ones without a certificate or a key.
    pub fn with_identity(mut self, cert: &Path, key: &Path) -> Result<Self, TlsError> {
        self.identity = Some((certificates(cert)?, Arc::new(private_key(key)?)));
        Ok(self)
    }

    /// Whether an operator's CA was given.
    #[must_use]
    pub fn has_ca(&self) -> bool {
        !self.ca.is_empty()
    }

    /// The operator's CA certificates as PEM (empty when none was given).
    #[must_use]
    pub fn ca_pem(&self) -> &[u8] {
        &self.ca_pem
    }

    /// A rustls client configuration: the Mozilla roots and the operator's CAs, and the
    /// client certificate when one was given.
    ///
    /// # Errors
    /// A CA certificate rustls cannot parse; a key that does not suit its certificate.
    pub fn rustls_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        for ca in &self.ca {
            roots.add(ca.clone())?;
        }
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots);
        let config = match &self.identity {
            Some((chain, key)) => builder.with_client_auth_cert(chain.clone(), key.clone_key())?,
            None => builder.with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }
}

/// A TLS server configuration for the daemon's API: the certificate chain in `cert` with
/// its key in `key`, and, when `client_ca` is given, a client certificate signed by one of
/// the CAs in it required of every client. HTTP/1.1 only, as the API serves.
///
/// # Errors
/// Unreadable or unusable files; a key that does not suit the certificate.
pub fn server_config(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = certificates(cert)?;
    let key = private_key(key)?;
    let builder = ServerConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
    let builder = match client_ca {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for ca in certificates(path)? {
                roots.add(ca)?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider()).build()?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The crypto provider every TLS configuration here uses (one build, one provider).
#[must_use]
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates in the PEM file `path`, in order.
///
/// # Errors
/// An unreadable file, or one without a certificate.
pub fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    parse_certificates(path, &read(path)?)
}

/// The certificates in `pem`, the text of the file `path`.
fn parse_certificates(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(file_error(path, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into()));
    }
    Ok(certs)
}

/// The private key in the PEM file `path` (PKCS#8, PKCS#1 or SEC1).
///
/// # Errors
/// An unreadable file, or one without a private key.
pub fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| file_error(path, format!("holds no PEM private key ({e}); give the key of the certificate")))
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| file_error(path, format!("cannot read: {e}")))
}

fn file_error(path: &Path, message: String) -> TlsError {
    TlsError::File { path: path.to_owned(), message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_that_are_not_pem_say_so_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate\n").unwrap();
        let err = ClientTls::default().with_ca_file(&junk).unwrap_err().to_string();
        assert!(err.contains("junk.pem") && err.contains("no PEM certificate"), "{err}");
        let err = private_key(&junk).unwrap_err().to_string();
        assert!(err.contains("junk.pem") && err.contains("no PEM private key"), "{err}");
        let err = ClientTls::default().with_ca_file(&dir.path().join("missing.pem")).unwrap_err().to_string();
        assert!(err.contains("missing.pem") && err.contains("cannot read"), "{err}");
    }

    #[test]
    fn an_operators_ca_and_client_certificate_go_into_the_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&key).unwrap();
        let (ca_file, key_file) = (dir.path().join("ca.pem"), dir.path().join("ca.key"));
        std::fs::write(&ca_file, ca.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();

        let plain = ClientTls::default();
        assert!(!plain.has_ca() && plain.ca_pem().is_empty());
        assert!(!plain.rustls_config().unwrap().client_auth_cert_resolver.has_certs());

        let tls = ClientTls::default().with_ca_file(&ca_file).unwrap().with_identity(&ca_file, &key_file).unwrap();
        assert!(tls.has_ca());
        assert!(String::from_utf8_lossy(tls.ca_pem()).contains("BEGIN CERTIFICATE"));
        let config = tls.rustls_config().unwrap();
        assert!(config.client_auth_cert_resolver.has_certs(), "the client certificate is offered");
    }
}
