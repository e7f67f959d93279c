//! HTTPS: the TLS server configuration built from the PEM files named by
//! `PAIRSYNC_TLS_CERT` and `PAIRSYNC_TLS_KEY`. TLS 1.2 and 1.3 only, with rustls and
//! its `ring` provider; the HTTP layer offers `h2` and `http/1.1` by ALPN.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

/// Why HTTPS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Only the certificate was given.
    #[error("PAIRSYNC_TLS_CERT (--tls-cert) is set but PAIRSYNC_TLS_KEY (--tls-key) is not: set both to serve HTTPS, or neither")]
    KeyMissing,
    /// Only the key was given.
    #[error("PAIRSYNC_TLS_KEY (--tls-key) is set but PAIRSYNC_TLS_CERT (--tls-cert) is not: set both to serve HTTPS, or neither")]
    CertMissing,
    /// The certificate file could not be read as PEM certificates.
    #[error("cannot read the TLS certificate chain {} (PAIRSYNC_TLS_CERT): {}", .0.display(), pem_cause(.1, "CERTIFICATE"))]
    Cert(PathBuf, pem::Error),
    /// The key file could not be read as a PEM private key.
    #[error("cannot read the TLS private key {} (PAIRSYNC_TLS_KEY): {}", .0.display(), pem_cause(.1, "PRIVATE KEY"))]
    Key(PathBuf, pem::Error),
    /// rustls refused the pair (for instance, a key that does not match the certificate).
    #[error("the TLS certificate {} and key {} are refused: {}", .cert.display(), .key.display(), refusal(.error))]
    Refused {
        /// The certificate chain's file.
        cert: PathBuf,
        /// The private key's file.
        key: PathBuf,
        /// What rustls said.
        error: rustls::Error,
    },
}

/// The server configuration for `cert` and `key`: `None` for plain HTTP when neither is
/// set, an error when only one is.
pub fn server_config(
    cert: Option<&Path>,
    key: Option<&Path>,
) -> Result<Option<ServerConfig>, TlsError> {
    let (cert, key) = match (cert, key) {
        (None, None) => return Ok(None),
        (Some(_), None) => return Err(TlsError::KeyMissing),
        (None, Some(_)) => return Err(TlsError::CertMissing),
        (Some(cert), Some(key)) => (cert, key),
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Cert(cert.to_path_buf(), e))?;
    if chain.is_empty() {
        return Err(TlsError::Cert(cert.to_path_buf(), pem::Error::NoItemsFound));
    }
    let private_key =
        PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key(key.to_path_buf(), e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .and_then(|builder| {
            builder
                .with_no_client_auth()
                .with_single_cert(chain, private_key)
        })
        .map(Some)
        .map_err(|error| TlsError::Refused {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            error,
        })
}

/// Why a PEM file could not be read, in words; `label` is what its block should hold.
fn pem_cause(e: &pem::Error, label: &str) -> String {
    match e {
        pem::Error::NoItemsFound => {
            format!("it holds no PEM block (-----BEGIN {label}-----). Give the PEM file, not DER")
        }
        pem::Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => {
            "there is no such file".into()
        }
        pem::Error::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
            "pairsync may not read it".into()
        }
        other => other.to_string(),
    }
}

/// Why rustls refused a certificate and key, in words.
fn refusal(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InconsistentKeys(_) => "the key does not belong to the certificate. Give              PAIRSYNC_TLS_KEY the private key the certificate was made for"
            .into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn neither_file_is_plain_http_and_one_alone_is_an_error() {
        let dir = std::env::temp_dir();
        let p = dir.join("pairsync-any.pem");
        assert!(matches!(server_config(None, None), Ok(None)));
        assert!(matches!(
            server_config(Some(&p), None),
            Err(TlsError::KeyMissing)
        ));
        assert!(matches!(
            server_config(None, Some(&p)),
            Err(TlsError::CertMissing)
        ));
        assert!(TlsError::KeyMissing
            .to_string()
            .contains("PAIRSYNC_TLS_KEY"));
    }

    #[test]
    fn files_without_pem_content_are_named_in_the_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cert = write(dir.path(), "cert.pem", "not a certificate\n");
        let key = write(dir.path(), "key.pem", "not a key\n");
        let err = server_config(Some(&cert), Some(&key)).expect_err("refused");
        assert!(matches!(err, TlsError::Cert(..)), "{err}");
        assert!(err.to_string().contains("cert.pem"), "{err}");
        let missing = dir.path().join("absent.pem");
        let err = server_config(Some(&missing), Some(&key)).expect_err("refused");
        assert!(err.to_string().contains("absent.pem"), "{err}");
    }

    #[test]
    fn a_generated_pair_is_accepted_and_a_foreign_key_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ours = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
            .expect("a certificate");
        let other = rcgen::KeyPair::generate().expect("a key");
        let cert = write(dir.path(), "cert.pem", &ours.cert.pem());
        let key = write(dir.path(), "key.pem", &ours.signing_key.serialize_pem());
        let foreign = write(dir.path(), "other.pem", &other.serialize_pem());
        assert!(matches!(
            server_config(Some(&cert), Some(&key)),
            Ok(Some(_))
        ));
        let err = server_config(Some(&cert), Some(&foreign)).expect_err("refused");
        assert!(matches!(err, TlsError::Refused { .. }), "{err}");
    }
}
