//! HTTPS for the client: rustls with its `ring` provider (the one the server uses),
//! trusting the system's certificate authorities plus the certificates of the PEM file
//! that `PAIRSYNC_CA_CERT` (or `--ca-cert`) names; and a refused certificate in words.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Once;

use reqwest::{Certificate, Client, ClientBuilder};

use super::error::{root_cause, ClientError};

/// The variable that names the PEM file of certificates to trust.
pub const CA_CERT_ENV: &str = "PAIRSYNC_CA_CERT";

/// Makes `ring` the process's rustls provider, once; reqwest's TLS needs one before a
/// client is built. (Another provider installed first is kept.)
pub fn install_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// What the client trusts besides the system's authorities.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// The PEM file the certificates came from.
    file: Option<PathBuf>,
    certs: Vec<Certificate>,
}

impl Trust {
    /// The certificates of the PEM file `file` (none for `None` or an empty path).
    pub fn load(file: Option<&Path>) -> Result<Trust, ClientError> {
        let Some(file) = file.filter(|f| !f.as_os_str().is_empty()) else {
            return Ok(Trust::default());
        };
        let shown = file.display();
        let pem = std::fs::read(file).map_err(|e| {
            ClientError::Usage(format!(
                "cannot read {shown} ({CA_CERT_ENV}): {}",
                root_cause(&e)
            ))
        })?;
        let certs = Certificate::from_pem_bundle(&pem).map_err(|e| {
            ClientError::Usage(format!(
                "{shown} ({CA_CERT_ENV}) cannot be read as PEM certificates: {}",
                root_cause(&e)
            ))
        })?;
        if certs.is_empty() {
            return Err(ClientError::Usage(format!(
                "{shown} ({CA_CERT_ENV}) holds no certificate: it should hold PEM blocks that begin with -----BEGIN CERTIFICATE-----"
            )));
        }
        Ok(Trust {
            file: Some(file.to_path_buf()),
            certs,
        })
    }

    /// A client made by `make` that trusts the system's authorities and these
    /// certificates; and whether the system's authorities could be loaded. Without any
    /// (a system with no CA store), only these certificates are trusted.
    pub fn client(&self, make: impl Fn() -> ClientBuilder) -> Result<(Client, bool), ClientError> {
        install_provider();
        match make().tls_certs_merge(self.certs.clone()).build() {
            Ok(client) => Ok((client, true)),
            Err(e) if !self.certs.is_empty() => Err(ClientError::Usage(format!(
                "the certificates in {} ({CA_CERT_ENV}) cannot be used: {}",
                self.file
                    .as_deref()
                    .map_or_else(String::new, |f| f.display().to_string()),
                root_cause(&e)
            ))),
            Err(e) => make()
                .tls_certs_only(Vec::new())
                .build()
                .map(|client| (client, false))
                .map_err(|_| ClientError::Usage(format!("cannot set up HTTP: {}", root_cause(&e)))),
        }
    }
}

/// What is wrong with a certificate the client refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Signed by no authority the client trusts.
    UnknownIssuer,
    /// Made out to other names than the server's host.
    OtherName,
    /// Past its end.
    Expired,
    /// Before its start.
    NotYetValid,
    /// Revoked by its authority.
    Revoked,
    /// Anything else, in rustls's words.
    Other(String),
}

fn refusal_of(error: &rustls::Error) -> Option<Refusal> {
    use rustls::CertificateError as C;
    let rustls::Error::InvalidCertificate(cert) = error else {
        return None;
    };
    Some(match cert {
        // A bad signature: signed by another key than that of the trusted authority of
        // the same name, which to a person is the same: not signed by one they trust.
        C::UnknownIssuer | C::BadSignature => Refusal::UnknownIssuer,
        C::NotValidForName | C::NotValidForNameContext { .. } => Refusal::OtherName,
        C::Expired | C::ExpiredContext { .. } => Refusal::Expired,
        C::NotValidYet | C::NotValidYetContext { .. } => Refusal::NotYetValid,
        C::Revoked => Refusal::Revoked,
        _ => Refusal::Other(error.to_string()),
    })
}

/// The rustls error behind `error`, if any.
fn rustls_error<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        // An I/O error's `source` skips the error it wraps (which may be another I/O
        // error): look inside it instead.
        cause = match e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn Error + 'static)),
            None => e.source(),
        };
    }
    None
}

/// The refused certificate behind `error`, if that is what made a request fail.
pub fn refused_certificate(error: &(dyn Error + 'static)) -> Option<Refusal> {
    rustls_error(error).and_then(refusal_of)
}

/// Whether `error` came of an answer that is not TLS at all: a plain HTTP server at an
/// `https://` address.
pub fn not_tls(error: &(dyn Error + 'static)) -> bool {
    matches!(rustls_error(error), Some(rustls::Error::InvalidMessage(_)))
}

/// One line for a person: the server at `server` was refused for `refusal`, and what to
/// do about it. `system_roots`: whether the system's authorities were loaded.
pub fn untrusted(server: &str, refusal: &Refusal, trust: &Trust, system_roots: bool) -> String {
    let host = reqwest::Url::parse(server)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| server.to_string());
    let why = match refusal {
        Refusal::UnknownIssuer => {
            let none = if system_roots {
                ""
            } else {
                " (none were found on this system)"
            };
            match &trust.file {
                None => format!(
                    "its certificate is not signed by any authority this computer trusts{none}. \
                     If it is your own server, set {CA_CERT_ENV} to the PEM file of its \
                     certificate (or of the authority that signed it)"
                ),
                Some(file) => format!(
                    "its certificate is signed neither by an authority this computer trusts{none} \
                     nor by one in {} ({CA_CERT_ENV}). Set {CA_CERT_ENV} to the PEM file of the \
                     server's certificate (or of the authority that signed it)",
                    file.display()
                ),
            }
        }
        Refusal::OtherName => format!(
            "its certificate is not made out to {host}. Use the server's address with a name \
             its certificate gives"
        ),
        Refusal::Expired => {
            "its certificate has expired. The server needs a new certificate".to_string()
        }
        Refusal::NotYetValid => {
            "its certificate is not valid yet. Check this computer's clock".to_string()
        }
        Refusal::Revoked => "its certificate has been revoked".to_string(),
        Refusal::Other(what) => format!("its certificate is refused: {what}"),
    };
    format!("the server at {server} is not trusted: {why}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("error sending request")]
    struct Outer(#[source] std::io::Error);

    fn wrapped(cert: rustls::CertificateError) -> Outer {
        Outer(std::io::Error::other(rustls::Error::InvalidCertificate(
            cert,
        )))
    }

    #[test]
    fn a_refused_certificate_is_found_inside_an_io_error() {
        assert_eq!(
            refused_certificate(&wrapped(rustls::CertificateError::UnknownIssuer)),
            Some(Refusal::UnknownIssuer)
        );
        assert_eq!(
            refused_certificate(&wrapped(rustls::CertificateError::BadSignature)),
            Some(Refusal::UnknownIssuer)
        );
        assert_eq!(
            refused_certificate(&wrapped(rustls::CertificateError::NotValidForName)),
            Some(Refusal::OtherName)
        );
        assert_eq!(
            refused_certificate(&wrapped(rustls::CertificateError::Expired)),
            Some(Refusal::Expired)
        );
        assert_eq!(
            refused_certificate(&rustls::Error::InvalidCertificate(
                rustls::CertificateError::Revoked
            )),
            Some(Refusal::Revoked)
        );
    }

    #[test]
    fn other_failures_are_no_certificate_refusal() {
        let refused = Outer(std::io::Error::from_raw_os_error(111));
        assert_eq!(refused_certificate(&refused), None);
        assert!(!not_tls(&refused));
        let handshake = Outer(std::io::Error::other(rustls::Error::HandshakeNotComplete));
        assert_eq!(refused_certificate(&handshake), None);
        assert!(!not_tls(&handshake));
    }

    #[test]
    fn an_answer_that_is_not_tls_is_told_apart() {
        let plain = Outer(std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
        )));
        assert!(not_tls(&plain));
        assert_eq!(refused_certificate(&plain), None);
        assert!(!not_tls(&wrapped(rustls::CertificateError::UnknownIssuer)));
    }

    #[test]
    fn an_unknown_issuer_points_at_pairsync_ca_cert() {
        let line = untrusted(
            "https://example.test:8443",
            &Refusal::UnknownIssuer,
            &Trust::default(),
            true,
        );
        assert_eq!(
            line,
            "the server at https://example.test:8443 is not trusted: its certificate is not \
             signed by any authority this computer trusts. If it is your own server, set \
             PAIRSYNC_CA_CERT to the PEM file of its certificate (or of the authority that \
             signed it)."
        );
        let given = Trust {
            file: Some(PathBuf::from("/etc/team-ca.pem")),
            certs: Vec::new(),
        };
        let line = untrusted("https://h", &Refusal::UnknownIssuer, &given, false);
        assert!(
            line.contains("nor by one in /etc/team-ca.pem (PAIRSYNC_CA_CERT)"),
            "{line}"
        );
        assert!(line.contains("(none were found on this system)"), "{line}");
    }

    #[test]
    fn a_certificate_for_another_name_names_the_host() {
        let line = untrusted(
            "https://10.0.0.7:8443/pairsync",
            &Refusal::OtherName,
            &Trust::default(),
            true,
        );
        assert!(
            line.starts_with(
                "the server at https://10.0.0.7:8443/pairsync is not trusted: its certificate is not made out to 10.0.0.7."
            ),
            "{line}"
        );
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_said_plainly() {
        let dir = tempfile::tempdir().expect("a folder");
        let missing = dir.path().join("nope.pem");
        let e = Trust::load(Some(&missing)).expect_err("missing");
        assert!(e.to_string().contains("cannot read"), "{e}");
        assert!(e.to_string().contains("PAIRSYNC_CA_CERT"), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let e = Trust::load(Some(&empty)).expect_err("no certificate");
        assert!(e.to_string().contains("holds no certificate"), "{e}");
        assert!(Trust::load(None).expect("nothing to load").file.is_none());
        assert!(Trust::load(Some(Path::new("")))
            .expect("unset")
            .file
            .is_none());
    }

    #[test]
    fn a_pem_certificate_is_trusted_and_makes_a_client() {
        let made =
            rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("a cert");
        let dir = tempfile::tempdir().expect("a folder");
        let file = dir.path().join("ca.pem");
        std::fs::write(&file, made.cert.pem()).expect("write");
        let trust = Trust::load(Some(&file)).expect("a certificate");
        assert_eq!(trust.certs.len(), 1);
        assert!(trust.client(reqwest::Client::builder).is_ok());
    }
}
