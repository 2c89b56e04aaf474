//! The EPMD client: `ALIVE2_REQ` (kept open while registered), `PORT_PLEASE2_REQ` and
//! `NAMES_REQ`.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{op, EpmdError, NODE_TYPE_HIDDEN, NODE_TYPE_NORMAL};

/// A registration: epmd forgets the name when this is dropped (the socket closes).
#[derive(Debug)]
pub struct Registration {
    /// The creation epmd assigned.
    pub creation: u32,
    _socket: TcpStream,
}

/// What epmd knows of a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeEntry {
    /// The node's distribution port.
    pub port: u16,
    /// 77 normal, 72 hidden.
    pub node_type: u8,
    /// 0 = TCP/IPv4.
    pub protocol: u8,
    /// Highest distribution version.
    pub high: u16,
    /// Lowest distribution version.
    pub low: u16,
    /// The alive name.
    pub name: String,
}

fn request(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 2);
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Registers `alive` (the part of the node name before `@`) at the epmd on `epmd`,
/// with the distribution port `port`.
pub async fn register(
    epmd: SocketAddr,
    alive: &str,
    port: u16,
    hidden: bool,
) -> Result<Registration, EpmdError> {
    let mut s = TcpStream::connect(epmd).await?;
    let name = alive.as_bytes();
    let nlen = u16::try_from(name.len()).map_err(|_| EpmdError::Protocol("name too long"))?;
    let mut body = vec![op::ALIVE2_REQ];
    body.extend_from_slice(&port.to_be_bytes());
    body.push(if hidden {
        NODE_TYPE_HIDDEN
    } else {
        NODE_TYPE_NORMAL
    });
    body.push(0);
    body.extend_from_slice(&6u16.to_be_bytes());
    body.extend_from_slice(&6u16.to_be_bytes());
    body.extend_from_slice(&nlen.to_be_bytes());
    body.extend_from_slice(name);
    body.extend_from_slice(&0u16.to_be_bytes());
    s.write_all(&request(&body)).await?;
    let tag = s.read_u8().await?;
    let result = s.read_u8().await?;
    let creation = match tag {
        op::ALIVE2_X_RESP => s.read_u32().await?,
        op::ALIVE2_RESP => u32::from(s.read_u16().await?),
        _ => return Err(EpmdError::Protocol("not an ALIVE2 reply")),
    };
    if result != 0 {
        return Err(EpmdError::Refused {
            name: alive.to_owned(),
            result,
        });
    }
    Ok(Registration {
        creation,
        _socket: s,
    })
}

/// Looks up `alive` at the epmd on `epmd`: `None` if it is not registered.
pub async fn port_please(epmd: SocketAddr, alive: &str) -> Result<Option<NodeEntry>, EpmdError> {
    let mut s = TcpStream::connect(epmd).await?;
    let mut body = vec![op::PORT_PLEASE2_REQ];
    body.extend_from_slice(alive.as_bytes());
    s.write_all(&request(&body)).await?;
    if s.read_u8().await? != op::PORT2_RESP {
        return Err(EpmdError::Protocol("not a PORT2 reply"));
    }
    if s.read_u8().await? != 0 {
        return Ok(None);
    }
    let port = s.read_u16().await?;
    let node_type = s.read_u8().await?;
    let protocol = s.read_u8().await?;
    let high = s.read_u16().await?;
    let low = s.read_u16().await?;
    let nlen = s.read_u16().await?;
    let mut name = vec![0; usize::from(nlen)];
    s.read_exact(&mut name).await?;
    Ok(Some(NodeEntry {
        port,
        node_type,
        protocol,
        high,
        low,
        name: String::from_utf8_lossy(&name).into_owned(),
    }))
}

/// The names registered at the epmd on `epmd`, with their ports.
pub async fn names(epmd: SocketAddr) -> Result<Vec<(String, u16)>, EpmdError> {
    let mut s = TcpStream::connect(epmd).await?;
    s.write_all(&request(&[op::NAMES_REQ])).await?;
    let _epmd_port = s.read_u32().await?;
    let mut text = Vec::new();
    // Bounded: a names list larger than 1 MiB is not from a sane epmd.
    (&mut s).take(1 << 20).read_to_end(&mut text).await?;
    let text = String::from_utf8_lossy(&text);
    Ok(text
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("name ")?;
            let (name, port) = rest.rsplit_once(" at port ")?;
            Some((name.to_owned(), port.trim().parse().ok()?))
        })
        .collect())
}
