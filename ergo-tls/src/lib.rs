//! TLS for ergo's node-to-node connections (rustls with ring), shared by the native
//! network (`ergo-net`) and the Erlang distribution (`ergo-erlang`): the certificate a
//! node presents (replaceable at run time, [`CertManager`]), how it verifies peers
//! ([`TlsOptions`]: a CA pool; client certificates none, optional or required
//! ([`ClientAuth`]); the server name), development certificates ([`DevCa`],
//! [`self_signed`], rcgen), and [`connect`]/[`accept`], which run the TLS handshake over
//! a stream and give tokio-rustls streams.

pub mod stream;

use std::sync::Arc;

use parking_lot::RwLock;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use sha2::{Digest, Sha256};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};

/// What went wrong setting TLS up (certificates, keys, CA pool).
#[derive(Error, Debug, Clone, PartialEq, Eq)]
pub enum TlsError {
    /// A certificate could not be read or used.
    #[error("bad certificate: {0}")]
    Certificate(String),
    /// A private key could not be read or used.
    #[error("bad private key: {0}")]
    Key(String),
    /// The CA pool or a verifier could not be built.
    #[error("bad trust settings: {0}")]
    Trust(String),
    /// The server name to verify is not a DNS name or an IP address.
    #[error("bad server name {0:?}")]
    ServerName(String),
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: std::sync::OnceLock<Arc<CryptoProvider>> = std::sync::OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The certificate (with its chain) and key a node presents, replaceable at run time:
/// after [`CertManager::replace`], new connections use the new certificate; open ones
/// keep theirs.
#[derive(Debug)]
pub struct CertManager {
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertManager {
    /// A manager presenting `chain` (end-entity certificate first) with `key`.
    pub fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<CertManager, TlsError> {
        Ok(CertManager {
            current: RwLock::new(certified(chain, key)?),
        })
    }

    /// A manager from PEM text: the certificate chain and a private key.
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<CertManager, TlsError> {
        let (chain, key) = parse_pem(chain_pem, key_pem)?;
        CertManager::new(chain, key)
    }

    /// Presents another certificate from now on (new connections; open ones are kept).
    pub fn replace(
        &self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<(), TlsError> {
        *self.current.write() = certified(chain, key)?;
        Ok(())
    }

    /// As [`CertManager::replace`], from PEM text.
    pub fn replace_pem(&self, chain_pem: &[u8], key_pem: &[u8]) -> Result<(), TlsError> {
        let (chain, key) = parse_pem(chain_pem, key_pem)?;
        self.replace(chain, key)
    }

    /// The certificate presented now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current.read().clone()
    }

    /// SHA-256 of the end-entity certificate presented now.
    pub fn fingerprint(&self) -> [u8; 32] {
        fingerprint(self.current().end_entity_cert().map_or(&[][..], |c| c))
    }
}

fn certified(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<CertifiedKey>, TlsError> {
    if chain.is_empty() {
        return Err(TlsError::Certificate("empty certificate chain".into()));
    }
    let key = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| TlsError::Key(e.to_string()))?;
    let certified = CertifiedKey::new(chain, key);
    certified
        .keys_match()
        .or_else(|e| match e {
            // The key type cannot tell: accept it, the handshake will.
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown) => Ok(()),
            e => Err(e),
        })
        .map_err(|e| TlsError::Key(e.to_string()))?;
    Ok(Arc::new(certified))
}

fn parse_pem(
    chain_pem: &[u8],
    key_pem: &[u8],
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let chain = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Certificate(e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Key(e.to_string()))?;
    Ok((chain, key))
}

/// SHA-256 of a DER certificate.
pub fn fingerprint(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// Whether an acceptor asks dialers for a client certificate (mutual TLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// No client certificate is asked for.
    #[default]
    None,
    /// One is asked for and verified against the CA pool if sent; dialers without one
    /// are still accepted (the cookie handshake still authenticates them).
    Optional,
    /// One is required and verified against the CA pool: mutual TLS.
    Required,
}

/// TLS settings of a node (or of one acceptor): what it presents, whom it trusts.
///
/// ```
/// use std::sync::Arc;
/// use ergo_tls::{self as tls, CertManager, ClientAuth, TlsOptions};
///
/// let ca = tls::DevCa::new("cluster CA").unwrap();
/// let (chain, key) = ca.issue(&["127.0.0.1"]).unwrap();
/// let certs = Arc::new(CertManager::new(chain, key).unwrap());
/// let options = TlsOptions::new(certs)
///     .trust(ca.certificate())
///     .unwrap()
///     .client_auth(ClientAuth::Required);
/// # let _ = options;
/// ```
#[derive(Clone)]
pub struct TlsOptions {
    certs: Arc<CertManager>,
    roots: RootCertStore,
    client_auth: ClientAuth,
    server_name: Option<String>,
    insecure: bool,
    present_client_cert: bool,
    verifiers: Arc<std::sync::OnceLock<Result<Verifiers, TlsError>>>,
}

#[derive(Clone)]
struct Verifiers {
    server: Arc<dyn ServerCertVerifier>,
    client: Arc<dyn rustls::server::danger::ClientCertVerifier>,
}

impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsOptions")
            .field("trusted", &self.roots.len())
            .field("client_auth", &self.client_auth)
            .field("server_name", &self.server_name)
            .field("insecure_skip_verify", &self.insecure)
            .finish_non_exhaustive()
    }
}

impl TlsOptions {
    /// Presents the certificate of `certs`; trusts nobody yet (add CAs with
    /// [`TlsOptions::trust`]); asks no client certificate.
    pub fn new(certs: Arc<CertManager>) -> TlsOptions {
        TlsOptions {
            certs,
            roots: RootCertStore::empty(),
            client_auth: ClientAuth::None,
            server_name: None,
            insecure: false,
            present_client_cert: true,
            verifiers: Arc::default(),
        }
    }

    /// Trusts certificates issued by `ca` (for servers dialed and, under mutual TLS,
    /// for clients).
    pub fn trust(mut self, ca: CertificateDer<'static>) -> Result<TlsOptions, TlsError> {
        self.roots
            .add(ca)
            .map_err(|e| TlsError::Trust(e.to_string()))?;
        self.verifiers = Arc::default();
        Ok(self)
    }

    /// Trusts every CA certificate of a PEM text.
    pub fn trust_pem(mut self, pem: &[u8]) -> Result<TlsOptions, TlsError> {
        for ca in CertificateDer::pem_slice_iter(pem) {
            self = self.trust(ca.map_err(|e| TlsError::Trust(e.to_string()))?)?;
        }
        Ok(self)
    }

    /// Whether acceptors ask for client certificates.
    pub fn client_auth(mut self, mode: ClientAuth) -> TlsOptions {
        self.client_auth = mode;
        self.verifiers = Arc::default();
        self
    }

    /// The name a dialed server's certificate must hold (default: the host part of
    /// the node name, `name@host`).
    pub fn server_name(mut self, name: &str) -> TlsOptions {
        self.server_name = Some(name.to_owned());
        self
    }

    /// Accepts any server certificate when dialing (development only: it defeats the
    /// point of TLS against an active attacker). Logs a warning.
    pub fn insecure_skip_verify(mut self) -> TlsOptions {
        tracing::warn!(
            "TLS: server certificates are NOT verified (insecure_skip_verify); \
             for development only"
        );
        self.insecure = true;
        self.verifiers = Arc::default();
        self
    }

    /// Dials without presenting a client certificate (the acceptor asked for one is
    /// then refused under [`ClientAuth::Required`]).
    pub fn no_client_certificate(mut self) -> TlsOptions {
        self.present_client_cert = false;
        self
    }

    /// The certificate manager.
    pub fn certs(&self) -> &Arc<CertManager> {
        &self.certs
    }

    fn verifiers(&self) -> Result<Verifiers, TlsError> {
        self.verifiers
            .get_or_init(|| {
                let roots = Arc::new(self.roots.clone());
                let server: Arc<dyn ServerCertVerifier> = if self.insecure {
                    Arc::new(SkipVerify(provider()))
                } else {
                    WebPkiServerVerifier::builder_with_provider(roots.clone(), provider())
                        .build()
                        .map_err(|e| TlsError::Trust(e.to_string()))?
                };
                let client = match self.client_auth {
                    ClientAuth::None => WebPkiClientVerifier::no_client_auth(),
                    ClientAuth::Optional => {
                        WebPkiClientVerifier::builder_with_provider(roots, provider())
                            .allow_unauthenticated()
                            .build()
                            .map_err(|e| TlsError::Trust(e.to_string()))?
                    }
                    ClientAuth::Required => {
                        WebPkiClientVerifier::builder_with_provider(roots, provider())
                            .build()
                            .map_err(|e| TlsError::Trust(e.to_string()))?
                    }
                };
                Ok(Verifiers { server, client })
            })
            .clone()
    }

    /// Checks that the settings make a working configuration (CA pool non-empty where
    /// it is needed).
    pub fn validate(&self) -> Result<(), TlsError> {
        self.verifiers().map(drop)
    }

    /// A client configuration presenting the certificate current now.
    fn client_config(&self, key: Arc<CertifiedKey>) -> Result<Arc<ClientConfig>, TlsError> {
        let verifiers = self.verifiers()?;
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Trust(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifiers.server);
        let config = if self.present_client_cert {
            builder.with_client_cert_resolver(Arc::new(Fixed(key)))
        } else {
            builder.with_no_client_auth()
        };
        Ok(Arc::new(config))
    }

    /// A server configuration presenting the certificate current now.
    fn server_config(&self, key: Arc<CertifiedKey>) -> Result<Arc<ServerConfig>, TlsError> {
        let verifiers = self.verifiers()?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Trust(e.to_string()))?
            .with_client_cert_verifier(verifiers.client)
            .with_cert_resolver(Arc::new(Fixed(key)));
        Ok(Arc::new(config))
    }

    /// The server name to verify when dialing `node` (`name@host`): the one set by
    /// [`TlsOptions::server_name`], else the host part of `node`.
    pub fn name_for(&self, node: &str) -> Result<ServerName<'static>, TlsError> {
        let name = match &self.server_name {
            Some(name) => name.clone(),
            None => node.split_once('@').map_or(node, |(_, h)| h).to_owned(),
        };
        ServerName::try_from(name.clone()).map_err(|_| TlsError::ServerName(name))
    }
}

/// Runs the client side of a TLS handshake over `io`, dialing `node` (`name@host`; the
/// server name verified is [`TlsOptions::name_for`]) and presenting the certificate
/// current now (unless [`TlsOptions::no_client_certificate`]).
///
/// A failure is an I/O error; [`cause`] tells a TLS refusal (untrusted certificate,
/// wrong name...) from a broken connection.
pub async fn connect<IO>(
    options: &TlsOptions,
    node: &str,
    io: IO,
) -> std::io::Result<tokio_rustls::client::TlsStream<IO>>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let name = options.name_for(node).map_err(std::io::Error::other)?;
    let config = options
        .client_config(options.certs.current())
        .map_err(std::io::Error::other)?;
    tokio_rustls::TlsConnector::from(config)
        .connect(name, io)
        .await
}

/// Runs the server side of a TLS handshake over `io`, presenting the certificate current
/// now and asking a client certificate as [`TlsOptions::client_auth`] says. Gives the
/// stream and the certificate it presented.
pub async fn accept<IO>(
    options: &TlsOptions,
    io: IO,
) -> std::io::Result<(tokio_rustls::server::TlsStream<IO>, Arc<CertifiedKey>)>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let key = options.certs.current();
    let config = options
        .server_config(key.clone())
        .map_err(std::io::Error::other)?;
    let stream = tokio_rustls::TlsAcceptor::from(config).accept(io).await?;
    Ok((stream, key))
}

/// The TLS error inside an I/O error of [`connect`]/[`accept`], as text (a certificate
/// that is not trusted, not valid for the name, missing...); `None` for other errors.
pub fn cause(e: &std::io::Error) -> Option<String> {
    let inner = e.get_ref()?;
    if let Some(e) = inner.downcast_ref::<rustls::Error>() {
        return Some(e.to_string());
    }
    inner.downcast_ref::<TlsError>().map(|e| e.to_string())
}

/// One certificate for every handshake of one connection.
#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>);

impl rustls::server::ResolvesServerCert for Fixed {
    fn resolve(&self, _: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

impl rustls::client::ResolvesClientCert for Fixed {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Accepts any server certificate (still checking the handshake signatures).
#[derive(Debug)]
struct SkipVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for SkipVerify {
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
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A self-signed certificate for `names` (DNS names or IP addresses), for development:
/// peers must trust it (it is its own CA) or skip verification.
pub fn self_signed(
    names: &[&str],
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), TlsError> {
    let key = rcgen::KeyPair::generate().map_err(|e| TlsError::Key(e.to_string()))?;
    let mut params = leaf_params(names)?;
    params.is_ca = rcgen::IsCa::NoCa;
    let cert = params
        .self_signed(&key)
        .map_err(|e| TlsError::Certificate(e.to_string()))?;
    Ok((cert.der().clone(), private_key(&key)))
}

fn leaf_params(names: &[&str]) -> Result<rcgen::CertificateParams, TlsError> {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = rcgen::CertificateParams::new(names.clone())
        .map_err(|e| TlsError::Certificate(e.to_string()))?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        names.first().cloned().unwrap_or_default(),
    );
    // An IP address is also written as a DNS name: OTP's `inet_tls_dist` checks the host
    // part of a node name (`name@127.0.0.1`) as a DNS name, rustls as an IP address.
    for name in &names {
        if name.parse::<std::net::IpAddr>().is_ok() {
            let text = rcgen::Ia5String::try_from(name.as_str())
                .map_err(|e| TlsError::Certificate(e.to_string()))?;
            params.subject_alt_names.push(rcgen::SanType::DnsName(text));
        }
    }
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    Ok(params)
}

fn private_key(key: &rcgen::KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(key.serialize_der().into())
}

/// A certificate authority made on the spot, for development and tests: it issues
/// node certificates that peers trusting [`DevCa::certificate`] accept.
pub struct DevCa {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl DevCa {
    /// A new CA called `name`.
    pub fn new(name: &str) -> Result<DevCa, TlsError> {
        let key = rcgen::KeyPair::generate().map_err(|e| TlsError::Key(e.to_string()))?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
            .map_err(|e| TlsError::Certificate(e.to_string()))?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name.to_owned());
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params
            .self_signed(&key)
            .map_err(|e| TlsError::Certificate(e.to_string()))?;
        Ok(DevCa { cert, key })
    }

    /// The CA certificate, to trust.
    pub fn certificate(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }

    /// The CA certificate as PEM.
    pub fn certificate_pem(&self) -> String {
        self.cert.pem()
    }

    /// A certificate for `names` (DNS names or IP addresses), usable by a server and a
    /// client, with its key: the chain (the certificate, then the CA) and the key.
    pub fn issue(
        &self,
        names: &[&str],
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
        let key = rcgen::KeyPair::generate().map_err(|e| TlsError::Key(e.to_string()))?;
        let cert = leaf_params(names)?
            .signed_by(&key, &self.cert, &self.key)
            .map_err(|e| TlsError::Certificate(e.to_string()))?;
        Ok((
            vec![cert.der().clone(), self.certificate()],
            private_key(&key),
        ))
    }
}

impl DevCa {
    /// As [`DevCa::issue`], as PEM text: the chain (the certificate, then the CA) and
    /// the key, for [`CertManager::from_pem`] (or files a node reads).
    pub fn issue_pem(&self, names: &[&str]) -> Result<(String, String), TlsError> {
        let key = rcgen::KeyPair::generate().map_err(|e| TlsError::Key(e.to_string()))?;
        let cert = leaf_params(names)?
            .signed_by(&key, &self.cert, &self.key)
            .map_err(|e| TlsError::Certificate(e.to_string()))?;
        Ok((cert.pem() + &self.cert.pem(), key.serialize_pem()))
    }
}
