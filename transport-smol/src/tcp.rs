//! The plain TCP connection under MQTT (and under TLS or WebSocket when they are used).
//!
//! smol's reactor (async-io) reads a socket first and waits for readiness only after the read
//! failed with `EAGAIN`: every wake-up of a busy connection cost one or two reads that return
//! nothing. A read that returned fewer bytes than the buffer holds has drained the socket, so
//! the next read here waits for readiness first: one `recvfrom` a wake-up (counted with
//! `perf stat`, see the README's Performance section).

use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use smol::io::{AsyncRead, AsyncWrite};
use smol::Async;

/// A TCP stream that remembers whether its last read drained the socket.
pub(crate) struct TcpLink {
    io: Arc<Async<std::net::TcpStream>>,
    /// The last read returned fewer bytes than asked for: the socket had no more then.
    drained: bool,
}

impl TcpLink {
    pub(crate) fn new(stream: smol::net::TcpStream) -> Self {
        Self {
            io: stream.into(),
            drained: false,
        }
    }
}

impl AsyncRead for TcpLink {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.drained {
            // Ready once the reactor has seen new bytes (or an error, or the end) since.
            ready!(this.io.poll_readable(cx))?;
        }
        let result = ready!(Pin::new(&mut &*this.io).poll_read(cx, buf));
        this.drained = matches!(result, Ok(n) if n > 0 && n < buf.len());
        Poll::Ready(result)
    }
}

impl AsyncWrite for TcpLink {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.io).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self.io).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // As `smol::net::TcpStream` closes: the write side, so the broker sees the end.
        Poll::Ready(self.io.get_ref().shutdown(Shutdown::Write))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use smol::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// One read, failing instead of hanging when it waits for bytes that are there.
    async fn read(link: &mut TcpLink, buf: &mut [u8; 8]) -> usize {
        smol::future::or(async { link.read(buf).await.expect("read") }, async {
            smol::Timer::after(Duration::from_secs(10)).await;
            panic!("a read waited for bytes that were there");
        })
        .await
    }

    /// Reads through a drained socket never miss bytes that come later, nor the end: short
    /// reads, a full buffer, more bytes after a drained read, and the peer closing.
    #[test]
    fn reads_after_a_drained_socket_see_new_bytes_and_the_end() {
        smol::block_on(async {
            let listener = smol::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("address");
            let (client, server) = smol::future::zip(smol::net::TcpStream::connect(addr), async {
                listener.accept().await.map(|(s, _)| s)
            })
            .await;
            let mut link = TcpLink::new(client.expect("connect"));
            let mut server = server.expect("accept");
            let mut buf = [0u8; 8];
            server.write_all(b"abc").await.expect("write");
            assert_eq!(read(&mut link, &mut buf).await, 3);
            assert!(link.drained);
            // New bytes after a drained read: the read waits for readiness, then reads them.
            server.write_all(b"defg").await.expect("write");
            assert_eq!(read(&mut link, &mut buf).await, 4);
            assert_eq!(&buf[..4], b"defg");
            // More than the buffer: a full read, then the rest at once.
            server.write_all(&[7u8; 20]).await.expect("write");
            let mut got = 0;
            while got < 20 {
                let n = read(&mut link, &mut buf).await;
                assert_eq!(link.drained, n < 8, "{n}");
                got += n;
            }
            assert_eq!(got, 20);
            // The end of the stream after a drained read.
            drop(server);
            assert_eq!(read(&mut link, &mut buf).await, 0);
        });
    }
}
