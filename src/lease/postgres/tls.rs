//! TLS to the PostgreSQL server (Kea 3.0 ARM 8.2.2.2: `trust-anchor`, `cert-file`, `key-file`,
//! `ssl-mode`), with libpq's meaning of each mode: `disable` no TLS; `prefer` TLS when the
//! server offers it; `require` TLS always; `verify-ca` TLS with the server's certificate
//! checked against the trust anchor; `verify-full` also checked against the host name. As in
//! libpq, `prefer` and `require` check the certificate as `verify-ca` does when a trust anchor
//! is given.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::PgError;
use crate::config::model::SqlTls;

/// The connector of a database and the mode tokio-postgres negotiates with.
pub fn connector(tls: &SqlTls) -> Result<(MakeRustlsConnect, SslMode), PgError> {
    let files = tls.trust_anchor.is_some() || tls.cert_file.is_some();
    let mode = tls.ssl_mode.as_deref().unwrap_or(if files { "prefer" } else { "disable" });
    let ssl = match mode {
        "disable" => SslMode::Disable,
        "prefer" => SslMode::Prefer,
        _ => SslMode::Require,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(format!("TLS: {e}")))?;
    let roots = tls.trust_anchor.as_deref().map(roots).transpose()?;
    let verifier: Arc<dyn ServerCertVerifier> = match (roots, mode) {
        (None, "verify-ca" | "verify-full") => {
            return Err(bad(format!("ssl-mode {mode} needs a trust-anchor to verify the server against")))
        }
        (None, _) => Arc::new(Unverified(provider)),
        (Some(r), m) => {
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(r), provider)
                .build()
                .map_err(|e| bad(format!("trust-anchor: {e}")))?;
            Arc::new(Verified { webpki, names: m == "verify-full" })
        }
    };
    let builder = builder.dangerous().with_custom_certificate_verifier(verifier);
    let config = match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| bad(format!("cert-file {}: {e}", cert.display())))?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(format!("key-file {}: {e}", key.display())))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| bad(format!("cert-file/key-file: {e}")))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok((MakeRustlsConnect::new(config), ssl))
}

fn bad(msg: String) -> PgError {
    PgError::Unsupported(msg)
}

fn roots(path: &Path) -> Result<RootCertStore, PgError> {
    let mut store = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| bad(format!("trust-anchor {}: {e}", path.display())))?;
    for c in certs {
        store.add(c).map_err(|e| bad(format!("trust-anchor {}: {e}", path.display())))?;
    }
    Ok(store)
}

/// `verify-ca` (names: false) and `verify-full` (names: true).
#[derive(Debug)]
struct Verified {
    webpki: Arc<WebPkiServerVerifier>,
    names: bool,
}

impl ServerCertVerifier for Verified {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            // verify-ca: a certificate the anchor signed for another name is still good.
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForNameContext { .. }))
                if !self.names =>
            {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// `prefer` and `require` without a trust anchor: encrypted, the certificate not checked
/// (libpq's behaviour); the handshake signatures still are.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
