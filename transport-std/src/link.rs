//! One network connection to the broker, plain TCP, TLS or WebSocket (over either), shared by
//! the reading driver thread and the writing threads. TLS state sits behind a mutex held only to encrypt or decrypt, never
//! during socket I/O; a second mutex keeps encrypted records in order on the wire.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rustls::{ClientConfig, ClientConnection};
use rustls_pki_types::ServerName;

use crate::ws::WsLink;
use transport_core::BrokerAddress;
use transport_core::Error;

#[allow(clippy::large_enum_variant)] // one per connection
pub(crate) enum Link {
    Plain(TcpStream, AtomicU64),
    Tls {
        sock: TcpStream,
        conn: Mutex<ClientConnection>,
        /// Serializes raw writes so TLS records keep their order.
        write_order: Mutex<()>,
        /// The read timeout last set, in milliseconds.
        read_timeout_ms: AtomicU64,
    },
    /// MQTT over WebSocket, over a plain or TLS link.
    Ws(Box<WsLink>),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn tls_io(e: rustls::Error) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, e)
}

impl Link {
    /// Connects (and completes the TLS handshake and, for `ws://` / `wss://`, the WebSocket
    /// upgrade with `ws_headers`) within `timeout`.
    pub(crate) fn open(
        addr: &BrokerAddress,
        tls: Option<&Arc<ClientConfig>>,
        timeout: Duration,
        ws_headers: &[(String, String)],
    ) -> Result<Self, Error> {
        let raw = Self::open_raw(addr, tls, timeout)?;
        if addr.websocket.is_none() {
            return Ok(raw);
        }
        raw.socket().set_read_timeout(Some(timeout))?;
        let ws = WsLink::upgrade(raw, addr, ws_headers)?;
        ws.raw().socket().set_read_timeout(None)?;
        Ok(Self::Ws(Box::new(ws)))
    }

    fn open_raw(
        addr: &BrokerAddress,
        tls: Option<&Arc<ClientConfig>>,
        timeout: Duration,
    ) -> Result<Self, Error> {
        let mut last = io::Error::new(
            ErrorKind::NotFound,
            format!("{}: no address resolved", addr.host),
        );
        let mut sock = None;
        for sa in (addr.host.as_str(), addr.port).to_socket_addrs()? {
            let connected = TcpStream::connect_timeout(&sa, timeout).and_then(|s| {
                transport_core::refuse_self_connection(s.local_addr(), s.peer_addr()).map(|()| s)
            });
            match connected {
                Ok(s) => {
                    sock = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let sock = sock.ok_or(last)?;
        sock.set_nodelay(true)?;
        let Some(config) = tls else {
            return Ok(Self::Plain(sock, AtomicU64::new(0)));
        };
        let name = ServerName::try_from(addr.host.clone())
            .map_err(|_| Error::Certificate(format!("invalid TLS server name {:?}", addr.host)))?;
        let mut conn = ClientConnection::new(config.clone(), name)?;
        sock.set_read_timeout(Some(timeout))?;
        sock.set_write_timeout(Some(timeout))?;
        while conn.is_handshaking() {
            while conn.wants_write() {
                conn.write_tls(&mut &sock)?;
            }
            if conn.is_handshaking() && conn.wants_read() {
                match conn.read_tls(&mut &sock) {
                    Ok(0) => return Err(Error::Io(ErrorKind::UnexpectedEof.into())),
                    Ok(_) => {}
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                        return Err(Error::Timeout)
                    }
                    Err(e) => return Err(e.into()),
                }
                if let Err(e) = conn.process_new_packets() {
                    // Send the alert that says why, then report the error.
                    let _ = conn.write_tls(&mut &sock);
                    return Err(Error::Tls(e));
                }
            }
        }
        while conn.wants_write() {
            conn.write_tls(&mut &sock)?;
        }
        sock.set_write_timeout(None)?;
        Ok(Self::Tls {
            sock,
            conn: Mutex::new(conn),
            write_order: Mutex::new(()),
            read_timeout_ms: AtomicU64::new(0),
        })
    }

    fn socket(&self) -> &TcpStream {
        match self {
            Self::Plain(s, _) | Self::Tls { sock: s, .. } => s,
            Self::Ws(ws) => ws.raw().socket(),
        }
    }

    fn read_timeout_ms(&self) -> &AtomicU64 {
        match self {
            Self::Plain(_, t)
            | Self::Tls {
                read_timeout_ms: t, ..
            } => t,
            Self::Ws(ws) => ws.raw().read_timeout_ms(),
        }
    }

    /// Sets the read timeout (whole milliseconds), skipping the system call when it is the
    /// one already set: on a busy connection it is the same second every time.
    pub(crate) fn set_read_timeout(&self, timeout: Duration) -> io::Result<()> {
        let ms = u64::try_from(timeout.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        if self
            .read_timeout_ms()
            .swap(ms, std::sync::atomic::Ordering::Relaxed)
            == ms
        {
            return Ok(());
        }
        self.socket()
            .set_read_timeout(Some(Duration::from_millis(ms)))
    }

    /// Reads application bytes. `Ok(0)` at the end of the stream; `WouldBlock`/`TimedOut` when
    /// the read timeout passed.
    pub(crate) fn read(&self, out: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(s, _) => (&*s).read(out),
            Self::Ws(ws) => ws.read(out),
            Self::Tls {
                sock,
                conn,
                write_order,
                ..
            } => loop {
                {
                    let mut c = lock(conn);
                    match c.reader().read(out) {
                        Ok(n) => return Ok(n),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e),
                    }
                }
                let mut raw = [0u8; 16 * 1024];
                let n = (&*sock).read(&mut raw)?;
                if n == 0 {
                    return Ok(0);
                }
                let mut c = lock(conn);
                let mut input = &raw[..n];
                while !input.is_empty() {
                    c.read_tls(&mut input)?;
                    c.process_new_packets().map_err(tls_io)?;
                }
                // Alerts or key updates produced while reading.
                let mut reply = Vec::new();
                while c.wants_write() {
                    c.write_tls(&mut reply)?;
                }
                if !reply.is_empty() {
                    let _order = lock(write_order);
                    drop(c);
                    (&*sock).write_all(&reply)?;
                }
            },
        }
    }

    /// Writes application bytes.
    pub(crate) fn write_all(&self, data: &[u8]) -> io::Result<()> {
        match self {
            Self::Plain(s, _) => (&*s).write_all(data),
            Self::Ws(ws) => ws.write_all(data),
            Self::Tls {
                sock,
                conn,
                write_order,
                ..
            } => {
                let mut c = lock(conn);
                c.writer().write_all(data)?;
                let mut raw = Vec::with_capacity(data.len() + 64);
                while c.wants_write() {
                    c.write_tls(&mut raw)?;
                }
                let _order = lock(write_order);
                drop(c);
                (&*sock).write_all(&raw)
            }
        }
    }

    /// True when [`Self::try_write`] can write without blocking: plain TCP on Linux/Android
    /// (a TLS or WebSocket link frames its bytes first, and a frame once started must be
    /// finished; those links hand their bytes to the writer thread instead).
    pub(crate) fn writes_without_blocking(&self) -> bool {
        cfg!(any(target_os = "linux", target_os = "android")) && matches!(self, Self::Plain(..))
    }

    /// Waits at most `timeout` (to the microsecond, unlike a socket's read timeout, which
    /// counts in kernel ticks of up to 10 ms) for bytes from the broker: false when none came.
    /// Plain TCP on Linux (the links that [`Self::writes_without_blocking`]); elsewhere true
    /// at once, the read then waiting with the socket's timeout.
    pub(crate) fn wait_readable(&self, timeout: Duration) -> bool {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Self::Plain(s, _) = self {
            use rustix::event::{poll, PollFd, PollFlags, Timespec};
            let mut fds = [PollFd::new(s, PollFlags::IN)];
            let timeout = Timespec {
                tv_sec: 0,
                tv_nsec: i64::from(timeout.min(Duration::from_millis(999)).subsec_nanos()),
            };
            // An error (EINTR included) is left to the read that follows.
            return !matches!(poll(&mut fds, Some(&timeout)), Ok(0));
        }
        let _ = timeout;
        true
    }

    /// Writes as much of `data` as the socket takes at once, without blocking: the count,
    /// 0 when the socket's buffer is full (or the link cannot write without blocking, see
    /// [`Self::writes_without_blocking`]).
    pub(crate) fn try_write(&self, data: &[u8]) -> io::Result<usize> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Self::Plain(s, _) = self {
            // MSG_NOSIGNAL: a closed peer is an error here, never SIGPIPE (as std's writes).
            let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
            loop {
                return match socket2::SockRef::from(s).send_with_flags(data, flags) {
                    Ok(n) => Ok(n),
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(0),
                    Err(e) => Err(e),
                };
            }
        }
        let _ = data;
        Ok(0)
    }

    /// Closes both directions, which also wakes a blocked reader.
    pub(crate) fn shutdown(&self) {
        if let Self::Ws(ws) = self {
            ws.shutdown();
            return;
        }
        if let Self::Tls {
            sock,
            conn,
            write_order,
            ..
        } = self
        {
            let mut c = lock(conn);
            c.send_close_notify();
            let mut raw = Vec::new();
            while c.wants_write() {
                if c.write_tls(&mut raw).is_err() {
                    break;
                }
            }
            let _order = lock(write_order);
            drop(c);
            let _ = (&*sock).write_all(&raw);
        }
        let _ = self.socket().shutdown(Shutdown::Both);
    }

    /// Closes abruptly, without TLS close_notify (as a crash would).
    pub(crate) fn abort(&self) {
        let _ = self.socket().shutdown(Shutdown::Both);
    }
}
