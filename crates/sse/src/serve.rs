//! Serves an axum app over a [`LeanListener`] with hyper's HTTP/1.1 connection builder, which
//! `axum::serve` does not let us configure: a connection must deliver each request head within
//! `header_read_timeout` (counted from the connection's start and, on keep-alive, from the end
//! of its previous response), so silent sockets, slowly trickled heads and idle keep-alive
//! connections are closed instead of holding a descriptor for good.
//!
//! Graceful shutdown: stop accepting, ask every connection to finish its current request, and
//! wait for them (at most `shutdown_grace`).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::watch;
use tower::ServiceExt;

use crate::LeanListener;

/// Options of [`serve`].
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Time allowed for each request head (first bytes included, and idle keep-alive time
    /// before the next one).
    pub header_read_timeout: Duration,
    /// How long a graceful shutdown waits for open connections.
    pub shutdown_grace: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Serves `app` on the connections `listener` hands over (everything but lean streams) until
/// `shutdown` resolves; handlers get `ConnectInfo<SocketAddr>`.
pub async fn serve<F>(mut listener: LeanListener, app: Router, options: ServeOptions, shutdown: F)
where
    F: Future<Output = ()> + Send,
{
    // Every connection task holds a receiver: "closed" on the sender side means all are done.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (io, peer) = tokio::select! {
            accepted = axum::serve::Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let mut stop_rx = stop_rx.clone();
        let header_read_timeout = options.header_read_timeout;
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    request
                        .extensions_mut()
                        .insert(ConnectInfo::<SocketAddr>(peer));
                    app.clone().oneshot(request.map(axum::body::Body::new))
                });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            let connection = builder.serve_connection(TokioIo::new(io), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::trace!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                _ = stop_rx.wait_for(|stop| *stop) => {}
            }
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        });
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(true);
    if tokio::time::timeout(options.shutdown_grace, stop_tx.closed())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period; closing");
    }
}
