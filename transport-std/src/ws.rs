//! MQTT over WebSocket for the blocking client: tungstenite frames the byte stream of a plain
//! or TLS [`Link`] underneath.
//!
//! As with TLS, the WebSocket state sits behind a mutex held only to frame or unframe bytes,
//! never during socket I/O: the reader reads raw bytes, then unframes them under the lock; a
//! writer frames under the lock and writes outside it (a second mutex keeps frames in order).

use std::io::{self, ErrorKind, Read, Write};
use std::sync::{Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use tungstenite::protocol::{Role, WebSocketContext};
use tungstenite::Message;

use crate::link::Link;
use transport_core::{websocket, BrokerAddress, Error};

/// Bytes between tungstenite and the socket: what was read and not yet unframed, what was
/// framed and not yet written. Reading an empty inbox is `WouldBlock`: more must be read.
#[derive(Default)]
struct Pipe {
    inbox: Vec<u8>,
    outbox: Vec<u8>,
}

impl Read for Pipe {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.inbox.is_empty() {
            return Err(ErrorKind::WouldBlock.into());
        }
        let n = out.len().min(self.inbox.len());
        out[..n].copy_from_slice(&self.inbox[..n]);
        self.inbox.drain(..n);
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.outbox.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct State {
    ctx: WebSocketContext,
    pipe: Pipe,
    /// Payload of a binary message not yet handed to the reader.
    pending: Bytes,
    closed: bool,
}

/// A WebSocket connection over a plain or TLS link.
pub(crate) struct WsLink {
    raw: Link,
    state: Mutex<State>,
    write_order: Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The link during the upgrade: plain blocking reads and writes.
struct Handshaking<'a>(&'a Link);

impl Read for Handshaking<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.0.read(out)
    }
}

impl Write for Handshaking<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0.write_all(data)?;
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl WsLink {
    /// Upgrades `raw` (opened to `address`) to a WebSocket carrying MQTT.
    pub(crate) fn upgrade(
        raw: Link,
        address: &BrokerAddress,
        headers: &[(String, String)],
    ) -> Result<Self, Error> {
        let request = websocket::upgrade_request(address, headers)?;
        // The broker sends nothing before our CONNECT, so nothing is left unread after the
        // HTTP answer: the steady state starts with an empty inbox.
        match tungstenite::client::client(request, Handshaking(&raw)) {
            Ok(_) => {}
            Err(tungstenite::HandshakeError::Failure(e)) => return Err(websocket::error(e)),
            Err(tungstenite::HandshakeError::Interrupted(_)) => {
                return Err(Error::Io(ErrorKind::TimedOut.into()))
            }
        }
        Ok(Self {
            raw,
            state: Mutex::new(State {
                ctx: WebSocketContext::new(Role::Client, None),
                pipe: Pipe::default(),
                pending: Bytes::new(),
                closed: false,
            }),
            write_order: Mutex::new(()),
        })
    }

    pub(crate) fn raw(&self) -> &Link {
        &self.raw
    }

    /// Writes what tungstenite framed (replies to pings and closes included), in order.
    fn send_framed(&self, mut state: MutexGuard<'_, State>) -> io::Result<()> {
        if state.pipe.outbox.is_empty() {
            return Ok(());
        }
        let framed = std::mem::take(&mut state.pipe.outbox);
        let _order = lock(&self.write_order);
        drop(state);
        self.raw.write_all(&framed)
    }

    /// Reads MQTT bytes: `Ok(0)` when the WebSocket or the link closed; a text or invalid frame
    /// is an `InvalidData` error.
    pub(crate) fn read(&self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            {
                let mut state = lock(&self.state);
                loop {
                    if !state.pending.is_empty() {
                        let n = out.len().min(state.pending.len());
                        out[..n].copy_from_slice(&state.pending.split_to(n));
                        return Ok(n);
                    }
                    if state.closed {
                        return Ok(0);
                    }
                    let s = &mut *state;
                    match s.ctx.read(&mut s.pipe) {
                        Ok(Message::Binary(data)) => s.pending = data,
                        Ok(Message::Text(_)) => return Err(websocket::text_frame()),
                        Ok(Message::Close(_)) => {
                            s.closed = true;
                            // tungstenite queued the answering close frame.
                            let _ = s.ctx.flush(&mut s.pipe);
                            self.send_framed(state)?;
                            return Ok(0);
                        }
                        Ok(_) => {
                            // Ping (its pong is queued) or pong.
                            let _ = s.ctx.flush(&mut s.pipe);
                        }
                        Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                            break;
                        }
                        Err(
                            tungstenite::Error::ConnectionClosed
                            | tungstenite::Error::AlreadyClosed,
                        ) => return Ok(0),
                        Err(e) => return Err(websocket::io_error(e)),
                    }
                }
                self.send_framed(state)?;
            }
            let mut raw = [0u8; 16 * 1024];
            let n = self.raw.read(&mut raw)?;
            if n == 0 {
                return Ok(0);
            }
            lock(&self.state).pipe.inbox.extend_from_slice(&raw[..n]);
        }
    }

    /// Writes MQTT bytes as one binary message.
    pub(crate) fn write_all(&self, data: &[u8]) -> io::Result<()> {
        let mut state = lock(&self.state);
        let s = &mut *state;
        s.ctx
            .write(&mut s.pipe, Message::Binary(Bytes::copy_from_slice(data)))
            .and_then(|()| s.ctx.flush(&mut s.pipe))
            .map_err(websocket::io_error)?;
        self.send_framed(state)
    }

    /// Sends a close frame, then closes the link underneath.
    pub(crate) fn shutdown(&self) {
        let mut state = lock(&self.state);
        let s = &mut *state;
        if s.ctx.close(&mut s.pipe, None).is_ok() {
            let _ = s.ctx.flush(&mut s.pipe);
        }
        let _ = self.send_framed(state);
        self.raw.shutdown();
    }
}
