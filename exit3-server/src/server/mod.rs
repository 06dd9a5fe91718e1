//! Running the application: binding (port 0 works), serving until a shutdown signal, and
//! letting in-flight requests finish within a bound; at most so many connections at
//! once, and none that takes too long to send its request head ([`guard`]).

pub mod guard;

use std::{future::Future, io, net::SocketAddr, time::Duration};

use poem::{
    Endpoint, Response, Server,
    listener::{Acceptor, Listener, TcpListener},
};

use self::guard::GuardedAcceptor;

/// What a listener allows its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most connections open at once (`MAX_CONNECTIONS`, default 10,000); more
    /// wait to be accepted.
    pub max_connections: usize,
    /// How long a client may take to send a request head (15 s).
    pub head_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            head_timeout: Duration::from_secs(15),
        }
    }
}

/// A listening socket, not yet serving.
pub struct Bound {
    acceptor: GuardedAcceptor,
    addr: SocketAddr,
}

impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound").field("addr", &self.addr).finish()
    }
}

/// Binds `addr` (port 0 picks a free port) with `limits`.
pub async fn bind(addr: SocketAddr, limits: Limits) -> io::Result<Bound> {
    let acceptor = TcpListener::bind(addr).into_acceptor().await?;
    let addr = acceptor
        .local_addr()
        .into_iter()
        .find_map(|a| a.as_socket_addr().copied())
        .ok_or_else(|| io::Error::other("the listener has no socket address"))?;
    Ok(Bound {
        acceptor: GuardedAcceptor::new(acceptor, limits.max_connections, limits.head_timeout),
        addr,
    })
}

impl Bound {
    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves `app` until `shutdown` completes, then waits up to `grace` for in-flight
    /// requests.
    pub async fn serve(
        self,
        app: impl Endpoint<Output = Response> + 'static,
        shutdown: impl Future<Output = ()>,
        grace: Duration,
    ) -> io::Result<()> {
        Server::new_with_acceptor(self.acceptor)
            .name("exit3-server")
            .idle_timeout(Duration::from_secs(75))
            .run_with_graceful_shutdown(app, shutdown, Some(grace))
            .await
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received: shutting down"),
        () = term => tracing::info!("SIGTERM received: shutting down"),
    }
}
