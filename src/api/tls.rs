//! The rustls server side of an HTTPS control channel (Kea ARM 7.4, 23.1.2).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::transport::read_config_file;

/// The `trust-anchor`, `cert-file`, `key-file` and `cert-required` parameters (Kea ARM 7.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// CA certificate file, or a directory of them, used to verify client certificates.
    pub trust_anchor: PathBuf,
    /// The server certificate chain (PEM).
    pub cert_file: PathBuf,
    /// The server private key (PEM: PKCS#8, SEC1 or PKCS#1).
    pub key_file: PathBuf,
    /// Whether clients must present a certificate (mutual TLS); Kea's default is true.
    pub cert_required: bool,
}

/// Builds the rustls server configuration from the PEM files (Kea ARM 23.1.2).
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, String> {
    // An explicit provider keeps us independent of whichever default another crate installs.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = load_certs(&files.cert_file)?;
    if certs.is_empty() {
        return Err(format!("no certificate found in cert-file '{}'", files.cert_file.display()));
    }
    let key_pem = read_config_file(&files.key_file)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| format!("failed to read key-file '{}': {e}", files.key_file.display()))?;
    let roots = load_roots(&files.trust_anchor)?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    let verifier = if files.cert_required { verifier } else { verifier.allow_unauthenticated() };
    let verifier = verifier.build().map_err(|e| format!("bad trust-anchor: {e}"))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| format!("cert-file and key-file do not form a usable pair: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Certificates are read through [`read_config_file`], so a FIFO or device is refused rather
/// than blocking the caller.
fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read_config_file(path)?;
    CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("failed to read certificates from '{}': {e}", path.display()))
}

/// Kea accepts a CA file or an OpenSSL-style directory; for the directory every PEM file in it
/// is loaded, since rustls has no hashed-name lookup.
fn load_roots(path: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let files = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| format!("failed to read trust-anchor directory '{}': {e}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    for file in files {
        for cert in load_certs(&file)? {
            roots.add(cert).map_err(|e| format!("bad CA certificate in '{}': {e}", file.display()))?;
        }
    }
    if roots.is_empty() {
        return Err(format!("no CA certificate found in trust-anchor '{}'", path.display()));
    }
    Ok(roots)
}
