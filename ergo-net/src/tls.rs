//! TLS on node-to-node connections (rustls): the certificate a node presents (replaceable
//! at run time), how it verifies peers (a CA pool; client certificates none, optional or
//! required; the server name), development certificates (rcgen), and the channel
//! binding mixed into the cookie handshake.
//!
//! The binding is SHA-256 over the server certificate's fingerprint and 32 bytes of
//! keying material exported from the TLS session (RFC 5705/9266). Both ends compute it
//! on their own, and both proofs of the cookie handshake cover it: a TLS-terminating
//! middlebox that knows the cookie still cannot splice two sessions together, since
//! each of its sessions has another exporter value (and, unless it holds the node's
//! key, another certificate).

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
use tokio::net::TcpStream;

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
/// use ergo_net::tls::{self, CertManager, ClientAuth, TlsOptions};
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

    /// The server name to verify when dialing `node`.
    fn name_for(&self, node: &str) -> Result<ServerName<'static>, TlsError> {
        let name = match &self.server_name {
            Some(name) => name.clone(),
            None => node.split_once('@').map_or(node, |(_, h)| h).to_owned(),
        };
        ServerName::try_from(name.clone()).map_err(|_| TlsError::ServerName(name))
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

    /// TLS over a dialed connection to `node`; the stream and its channel binding.
    pub(crate) async fn connect(
        &self,
        node: &str,
        tcp: TcpStream,
    ) -> Result<(NetStream, [u8; 32]), std::io::Error> {
        let name = self.name_for(node).map_err(std::io::Error::other)?;
        let config = self
            .client_config(self.certs.current())
            .map_err(std::io::Error::other)?;
        let stream = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await?;
        let (_, conn) = stream.get_ref();
        let server_cert = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map_or(&[][..], |c| c);
        let binding = binding(server_cert, conn);
        Ok((NetStream::Tls(Box::new(stream.into())), binding))
    }

    /// TLS over an accepted connection; the stream and its channel binding.
    pub(crate) async fn accept(
        &self,
        tcp: TcpStream,
    ) -> Result<(NetStream, [u8; 32]), std::io::Error> {
        let key = self.certs.current();
        let config = self
            .server_config(key.clone())
            .map_err(std::io::Error::other)?;
        let stream = tokio_rustls::TlsAcceptor::from(config).accept(tcp).await?;
        let (_, conn) = stream.get_ref();
        let mine = key.end_entity_cert().map_or(&[][..], |c| c);
        let binding = binding(mine, conn);
        Ok((NetStream::Tls(Box::new(stream.into())), binding))
    }
}

/// SHA-256("ergo-tls" ‖ fingerprint(server certificate) ‖ exported keying material).
fn binding<D>(server_cert: &[u8], conn: &rustls::ConnectionCommon<D>) -> [u8; 32] {
    let mut exported = [0u8; 32];
    // Fails only before the handshake completed, which it has here; zeros then would
    // still differ from the peer's value and fail the cookie handshake, safely.
    let _ = conn.export_keying_material(&mut exported, b"EXPORTER-ergo-node", None);
    let mut hash = Sha256::new();
    hash.update(b"ergo-tls");
    hash.update(fingerprint(server_cert));
    hash.update(exported);
    hash.finalize().into()
}

/// The rustls error inside an I/O error of a TLS stream, as text (a certificate that
/// is not trusted, not valid for the name, missing...).
pub(crate) fn tls_cause(e: &std::io::Error) -> Option<String> {
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

/// A connection: clear TCP or TLS over TCP.
pub(crate) enum NetStream {
    /// Clear text.
    Plain(TcpStream),
    /// TLS (either side).
    Tls(Box<tokio_rustls::TlsStream<TcpStream>>),
}

/// The read half of a [`NetStream`].
pub(crate) enum NetRead {
    Plain(tokio::net::tcp::OwnedReadHalf),
    Tls(tokio::io::ReadHalf<tokio_rustls::TlsStream<TcpStream>>),
}

/// The write half of a [`NetStream`].
pub(crate) enum NetWrite {
    Plain(tokio::net::tcp::OwnedWriteHalf),
    Tls(tokio::io::WriteHalf<tokio_rustls::TlsStream<TcpStream>>),
}

impl NetStream {
    /// Its two halves, for a reader and a writer task.
    pub(crate) fn into_split(self) -> (NetRead, NetWrite) {
        match self {
            NetStream::Plain(s) => {
                let (r, w) = s.into_split();
                (NetRead::Plain(r), NetWrite::Plain(w))
            }
            NetStream::Tls(s) => {
                let (r, w) = tokio::io::split(*s);
                (NetRead::Tls(r), NetWrite::Tls(w))
            }
        }
    }
}

impl NetWrite {
    /// Writes what fits now without waiting (a keepalive answer: if it does not fit, it
    /// is not needed). Over TLS the bytes are handed to the session, sent as the socket
    /// allows.
    pub(crate) fn try_write(&mut self, buf: &[u8]) {
        match self {
            NetWrite::Plain(w) => {
                let _ = w.try_write(buf);
            }
            NetWrite::Tls(w) => {
                use std::task::{Context, Poll};
                let mut cx = Context::from_waker(std::task::Waker::noop());
                let pinned = std::pin::Pin::new(w);
                if let Poll::Ready(Ok(_)) = tokio::io::AsyncWrite::poll_write(pinned, &mut cx, buf)
                {
                }
            }
        }
    }
}

macro_rules! delegate_io {
    ($ty:ident) => {
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                match self.get_mut() {
                    $ty::Plain(s) => std::pin::Pin::new(s).poll_read(cx, buf),
                    $ty::Tls(s) => std::pin::Pin::new(s).poll_read(cx, buf),
                }
            }
        }
    };
}

macro_rules! delegate_write {
    ($ty:ident) => {
        impl tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                match self.get_mut() {
                    $ty::Plain(s) => std::pin::Pin::new(s).poll_write(cx, buf),
                    $ty::Tls(s) => std::pin::Pin::new(s).poll_write(cx, buf),
                }
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                match self.get_mut() {
                    $ty::Plain(s) => std::pin::Pin::new(s).poll_flush(cx),
                    $ty::Tls(s) => std::pin::Pin::new(s).poll_flush(cx),
                }
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                match self.get_mut() {
                    $ty::Plain(s) => std::pin::Pin::new(s).poll_shutdown(cx),
                    $ty::Tls(s) => std::pin::Pin::new(s).poll_shutdown(cx),
                }
            }
        }
    };
}

delegate_io!(NetStream);
delegate_io!(NetRead);
delegate_write!(NetStream);
delegate_write!(NetWrite);
