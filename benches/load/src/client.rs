//! The load generators' side of the wire: the client opening handshake,
//! pre-built masked frames, whole-message reads, and the server's CPU time
//! and memory from `/proc`.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpSocket, TcpStream};

/// Any masking key will do; a fixed one keeps the bytes reproducible.
pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// The payload: deterministic and not all zeroes.
pub fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 31 + 7) as u8).collect()
}

/// Length of the header of a masked frame carrying `len` payload bytes
/// (masking key included).
pub fn masked_header_len(len: usize) -> usize {
    match len {
        n if n < 126 => 6,
        n if n <= 0xffff => 8,
        _ => 14,
    }
}

/// One masked binary frame carrying `payload` (FIN set), built once.
pub fn masked_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 14);
    frame.push(0x82);
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= 0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&MASK);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    frame
}

pub fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// Connects and (unless `raw`) performs the client opening handshake for
/// `path`.
pub async fn connect(addr: &str, path: &str, raw: bool) -> io::Result<TcpStream> {
    connect_with(addr, path, raw, None).await
}

/// As [`connect`], with the socket's receive buffer set to `rcvbuf` bytes
/// before connecting (which also turns off the kernel's receive buffer
/// autotuning for it).
pub async fn connect_with(
    addr: &str,
    path: &str,
    raw: bool,
    rcvbuf: Option<u32>,
) -> io::Result<TcpStream> {
    let open = || async {
        let Some(bytes) = rcvbuf else {
            return TcpStream::connect(addr).await;
        };
        let to: SocketAddr = addr.parse().map_err(|_| invalid("ADDR must be IP:PORT"))?;
        let socket = if to.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_recv_buffer_size(bytes)?;
        socket.connect(to).await
    };
    // A server that has just printed its banner may still refuse for a moment.
    let mut tries = 0;
    let mut tcp = loop {
        match open().await {
            Ok(tcp) => break tcp,
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused && tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(e),
        }
    };
    tcp.set_nodelay(true)?;
    if raw {
        return Ok(tcp);
    }
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await?;
    // The server says nothing after its 101 until we send (or, in fan-out,
    // until the producer sends, which happens only once every receiver is
    // connected), so reading byte by byte up to the blank line leaves
    // nothing of the stream behind.
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte).await? == 0 || head.len() > 8192 {
            return Err(invalid("handshake response truncated"));
        }
        head.push(byte[0]);
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        return Err(invalid(format!(
            "handshake refused: {}",
            String::from_utf8_lossy(&head)
        )));
    }
    Ok(tcp)
}

/// Reads one whole message (all its frames; control frames skipped) into
/// `buf`, returning the payload length.
pub async fn read_message(
    r: &mut BufReader<OwnedReadHalf>,
    buf: &mut Vec<u8>,
) -> io::Result<usize> {
    let mut total = 0;
    loop {
        let mut head = [0u8; 2];
        r.read_exact(&mut head).await?;
        if head[1] & 0x80 != 0 {
            return Err(invalid("masked frame from a server"));
        }
        let len = match head[1] & 0x7f {
            126 => r.read_u16().await? as usize,
            127 => r.read_u64().await? as usize,
            n => n as usize,
        };
        let opcode = head[0] & 0x0f;
        if opcode >= 8 {
            let mut control = [0u8; 125];
            r.read_exact(&mut control[..len.min(125)]).await?;
            if opcode == 8 {
                return Err(invalid("server closed"));
            }
            continue;
        }
        if buf.len() < total + len {
            buf.resize(total + len, 0);
        }
        r.read_exact(&mut buf[total..total + len]).await?;
        total += len;
        if head[0] & 0x80 != 0 {
            return Ok(total);
        }
    }
}

/// User + system CPU time of a whole process (all its threads, live and
/// exited), in microseconds, from /proc/PID/stat.
pub fn cpu_us(pid: u32) -> io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| invalid("bad stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().map_err(|_| invalid("utime"))?
        + fields[12].parse::<f64>().map_err(|_| invalid("stime"))?;
    // CLK_TCK is 100 on Linux (x86_64, aarch64).
    Ok(ticks * 10_000.0)
}

/// The process's resident set, KiB, from /proc/PID/status.
pub fn vm_rss_kib(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| invalid("no VmRSS"))
}

/// One masked frame from a client: `opcode` (0 continuation, 1 text,
/// 2 binary, 8 close, 9 ping, 10 pong), FIN as given, masked with `MASK`.
pub fn masked_frame_op(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 14);
    frame.push(if fin { 0x80 } else { 0 } | opcode);
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= 0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&MASK);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    frame
}

/// A frame from a server, located in a buffer by [`server_frame`].
#[derive(Clone, Copy, Debug)]
pub struct ServerFrame {
    pub fin: bool,
    pub opcode: u8,
    /// Where the payload starts in the buffer, and its length.
    pub start: usize,
    pub len: usize,
}

impl ServerFrame {
    /// The bytes the whole frame takes in the buffer.
    pub fn end(&self) -> usize {
        self.start + self.len
    }
}

/// The first whole frame at the start of `buf`, if it is all there. A masked
/// frame (servers never mask) or reserved bits are an error.
pub fn server_frame(buf: &[u8]) -> io::Result<Option<ServerFrame>> {
    if buf.len() < 2 {
        return Ok(None);
    }
    if buf[0] & 0x70 != 0 {
        return Err(invalid("reserved bits set by the server"));
    }
    if buf[1] & 0x80 != 0 {
        return Err(invalid("masked frame from a server"));
    }
    let (start, len) = match buf[1] & 0x7f {
        126 if buf.len() >= 4 => (4, u16::from_be_bytes([buf[2], buf[3]]) as usize),
        127 if buf.len() >= 10 => (
            10,
            u64::from_be_bytes(buf[2..10].try_into().unwrap()) as usize,
        ),
        126 | 127 => return Ok(None),
        n => (2, n as usize),
    };
    if buf.len() < start + len {
        return Ok(None);
    }
    Ok(Some(ServerFrame {
        fin: buf[0] & 0x80 != 0,
        opcode: buf[0] & 0x0f,
        start,
        len,
    }))
}

/// The opening handshake's request with the given `Sec-WebSocket-Version`
/// (13 is the one servers accept; anything else must be refused).
pub fn handshake_request(addr: &str, path: &str, version: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: {version}\r\n\r\n"
    )
}

/// `Sec-WebSocket-Accept` for the key of [`handshake_request`] (RFC 6455 §1.3).
pub const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// Number of open file descriptors of a process (entries of /proc/PID/fd).
pub fn open_fds(pid: u32) -> io::Result<usize> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count())
}

/// A socket for connecting to `to`, bound to source address `from` if given.
/// The source port is left to `connect` (`IP_BIND_ADDRESS_NO_PORT`): a port
/// chosen at `bind` time must be unused for every destination, which gets
/// slow, then impossible, with tens of thousands of connections.
pub fn socket_from(to: SocketAddr, from: Option<std::net::IpAddr>) -> io::Result<TcpSocket> {
    let socket = if to.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(ip) = from {
        if ip.is_ipv4() {
            use std::os::fd::AsRawFd;
            let on: libc::c_int = 1;
            // SAFETY: a valid socket descriptor, and an option value of the
            // size given that lives across the call.
            let rc = unsafe {
                libc::setsockopt(
                    socket.as_raw_fd(),
                    libc::IPPROTO_IP,
                    libc::IP_BIND_ADDRESS_NO_PORT,
                    (&on as *const libc::c_int).cast(),
                    size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    Ok(socket)
}

/// Time the process's main thread spent waiting for a CPU while runnable, in
/// microseconds (/proc/PID/schedstat, second field): how much other
/// processes on the machine held it back.
pub fn run_wait_us(pid: u32) -> io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/schedstat"))?;
    let ns: f64 = stat
        .split_whitespace()
        .nth(1)
        .and_then(|w| w.parse().ok())
        .ok_or_else(|| invalid("bad schedstat"))?;
    Ok(ns / 1e3)
}
