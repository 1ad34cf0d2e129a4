//! TLS settings (rustls 0.23 with the ring provider): which roots to trust and an optional
//! client certificate.

use std::path::Path;
use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::Error;

/// Which certificate authorities to trust.
#[derive(Debug, Clone)]
enum Roots {
    WebPki,
    Native,
    Pem(Vec<CertificateDer<'static>>),
}

/// TLS configuration for the connection to the broker. The server name checked against the
/// certificate is the host of the broker address.
///
/// ```
/// use transport_core::TlsConfig;
/// let tls = TlsConfig::webpki_roots(); // Mozilla's roots, bundled
/// # let _ = tls;
/// ```
#[derive(Debug, Clone)]
pub struct TlsConfig {
    roots: Roots,
    client_auth: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
    accept_any_certificate: bool,
}

impl TlsConfig {
    /// Trusts the Mozilla root certificates bundled in `webpki-roots`.
    pub fn webpki_roots() -> Self {
        Self {
            roots: Roots::WebPki,
            client_auth: None,
            accept_any_certificate: false,
        }
    }

    /// Trusts the operating system's certificate store.
    pub fn native_roots() -> Self {
        Self {
            roots: Roots::Native,
            client_auth: None,
            accept_any_certificate: false,
        }
    }

    /// Trusts the CA certificates in a PEM string (e.g. a private broker's CA).
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Certificate(format!("CA PEM: {e}")))?;
        if certs.is_empty() {
            return Err(Error::Certificate("no certificate in the CA PEM".into()));
        }
        Ok(Self {
            roots: Roots::Pem(certs),
            client_auth: None,
            accept_any_certificate: false,
        })
    }

    /// Trusts the CA certificates in a PEM file.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let pem = std::fs::read_to_string(path.as_ref())
            .map_err(|e| Error::Certificate(format!("{}: {e}", path.as_ref().display())))?;
        Self::from_pem(&pem)
    }

    /// Authenticates with a client certificate chain and its private key (PEM).
    pub fn client_cert(mut self, cert_pem: &str, key_pem: &str) -> Result<Self, Error> {
        let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Certificate(format!("client certificate PEM: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| Error::Certificate(format!("client key PEM: {e}")))?;
        self.client_auth = Some((chain, Arc::new(key)));
        Ok(self)
    }

    /// Like [`Self::client_cert`], reading both PEM files.
    pub fn client_cert_files(
        self,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, Error> {
        let read = |p: &Path| {
            std::fs::read_to_string(p)
                .map_err(|e| Error::Certificate(format!("{}: {e}", p.display())))
        };
        let cert = read(cert.as_ref())?;
        let key = read(key.as_ref())?;
        self.client_cert(&cert, &key)
    }

    /// DANGER: accepts any server certificate, for any host name: the connection is encrypted
    /// but the broker is not authenticated, so anyone on the path can impersonate it. For
    /// testing against brokers with self-signed certificates only.
    #[must_use]
    pub fn danger_accept_any_certificate(mut self) -> Self {
        self.accept_any_certificate = true;
        self
    }

    /// The rustls client configuration these settings describe (for other transports).
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, Error> {
        self.build()
    }

    /// The rustls configuration.
    fn build(&self) -> Result<Arc<ClientConfig>, Error> {
        let mut roots = RootCertStore::empty();
        match &self.roots {
            Roots::WebPki => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Roots::Native => {
                let found = rustls_native_certs::load_native_certs();
                let (added, _ignored) = roots.add_parsable_certificates(found.certs);
                if added == 0 {
                    return Err(Error::Certificate(
                        "no usable certificate in the system store".into(),
                    ));
                }
            }
            Roots::Pem(certs) => {
                for cert in certs {
                    roots.add(cert.clone())?;
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots);
        let mut config = match &self.client_auth {
            Some((chain, key)) => builder.with_client_auth_cert(chain.clone(), key.clone_key())?,
            None => builder.with_no_client_auth(),
        };
        if self.accept_any_certificate {
            let provider = rustls::crypto::ring::default_provider();
            config
                .dangerous()
                .set_certificate_verifier(Arc::new(AcceptAny(provider)));
        }
        Ok(Arc::new(config))
    }
}

/// Certificate "verifier" that accepts every certificate but still checks that the handshake
/// is signed by the key in it.
#[derive(Debug)]
struct AcceptAny(rustls::crypto::CryptoProvider);

impl rustls::client::danger::ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls_pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
