//! MQTT over WebSocket for the async client: async-tungstenite frames the byte stream of a
//! plain or TLS stream, and [`WsIo`] turns its binary messages back into `AsyncRead` /
//! `AsyncWrite` for the driver (which only ever sees bytes: an MQTT packet may span messages
//! and a message may hold several packets).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use async_tungstenite::tungstenite::{self, Message};
use async_tungstenite::WebSocketStream;
use bytes::Bytes;
use futures_util::Sink;
use smol::stream::Stream as _;

use crate::client::BoxStream;
use transport_core::{websocket, BrokerAddress, Error};

/// Upgrades `stream` (opened to `address`) to a WebSocket carrying MQTT.
pub(crate) async fn upgrade(
    stream: BoxStream,
    address: &BrokerAddress,
    headers: &[(String, String)],
) -> Result<BoxStream, Error> {
    let request = websocket::upgrade_request(address, headers)?;
    let (ws, _response) = async_tungstenite::client_async(request, stream)
        .await
        .map_err(websocket::error)?;
    Ok(Box::new(WsIo {
        ws,
        pending: Bytes::new(),
        closed: false,
    }))
}

/// A WebSocket as a byte stream: reads return binary payloads, writes send binary messages.
struct WsIo {
    ws: WebSocketStream<BoxStream>,
    /// Payload of a binary message not yet handed to the reader.
    pending: Bytes,
    closed: bool,
}

impl smol::io::AsyncRead for WsIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            if !this.pending.is_empty() {
                let n = buf.len().min(this.pending.len());
                buf[..n].copy_from_slice(&this.pending.split_to(n));
                return Poll::Ready(Ok(n));
            }
            if this.closed {
                return Poll::Ready(Ok(0));
            }
            match ready!(Pin::new(&mut this.ws).poll_next(cx)) {
                Some(Ok(Message::Binary(data))) => this.pending = data,
                Some(Ok(Message::Text(_))) => return Poll::Ready(Err(websocket::text_frame())),
                Some(
                    Ok(Message::Close(_))
                    | Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed),
                )
                | None => {
                    this.closed = true;
                    return Poll::Ready(Ok(0));
                }
                // Pings are answered by tungstenite on the next write or flush.
                Some(Ok(_)) => {}
                Some(Err(e)) => return Poll::Ready(Err(websocket::io_error(e))),
            }
        }
    }
}

impl smol::io::AsyncWrite for WsIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(Pin::new(&mut this.ws).poll_ready(cx)).map_err(websocket::io_error)?;
        Pin::new(&mut this.ws)
            .start_send(Message::Binary(Bytes::copy_from_slice(buf)))
            .map_err(websocket::io_error)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().ws)
            .poll_flush(cx)
            .map_err(websocket::io_error)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().ws)
            .poll_close(cx)
            .map_err(websocket::io_error)
    }
}
