//! Closes connections whose writes make no progress for a while.
//!
//! A client that stops reading (a frozen tab, a dead peer behind a proxy that still ACKs)
//! fills the socket buffers; hyper then stops polling the response body, so nothing inside the
//! stream can notice, not even the lifetime cap. [`StallGuard`] wraps the listener's sockets: a
//! write (or flush) that stays blocked for `timeout` fails with `TimedOut`, and hyper drops the
//! connection and its subscription. Idle connections (nothing to write) are never affected,
//! and the timer exists only while a write is blocked.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;

use crate::limits::Permit;

/// An [`axum::serve::Listener`] over a [`TcpListener`] whose connections fail after `timeout`
/// without write progress. Sets `TCP_NODELAY` (SSE frames are small and latency matters).
///
/// `axum::serve(StallGuard::new(listener, Duration::from_secs(30)), app)`. For
/// `ConnectInfo<SocketAddr>`, wrap it as `.tap_io(|_| ())` (axum implements `Connected` for
/// `TapIo` over any listener whose address is a `SocketAddr`).
pub struct StallGuard {
    listener: TcpListener,
    timeout: Duration,
}

impl StallGuard {
    pub fn new(listener: TcpListener, timeout: Duration) -> Self {
        StallGuard { listener, timeout }
    }
}

impl axum::serve::Listener for StallGuard {
    type Io = GuardedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = axum::serve::Listener::accept(&mut self.listener).await;
        let _ = stream.set_nodelay(true);
        (GuardedStream::new(stream, self.timeout), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

/// A [`TcpStream`] whose blocked writes time out.
pub struct GuardedStream {
    inner: TcpStream,
    timeout: Duration,
    /// Armed when a write first returns `Pending`, disarmed by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
    /// Counts this connection against the caps while it is open.
    _permit: Option<Permit>,
}

impl GuardedStream {
    pub(crate) fn new(inner: TcpStream, timeout: Duration) -> Self {
        GuardedStream {
            inner,
            timeout,
            stalled: None,
            _permit: None,
        }
    }

    /// Keeps `permit` (a counted connection) until this stream is dropped.
    pub(crate) fn holding(mut self, permit: Permit) -> Self {
        self._permit = Some(permit);
        self
    }

    pub fn get_ref(&self) -> &TcpStream {
        &self.inner
    }

    fn progress<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(result) => {
                self.stalled = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let timeout = self.timeout;
                let timer = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                ready!(timer.as_mut().poll(cx));
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no write progress: client stopped reading",
                )))
            }
        }
    }
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.progress(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.progress(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.progress(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.progress(cx, poll)
    }
}
