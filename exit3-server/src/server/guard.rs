//! The listener's guards: at most `max_connections` connections at once (the rest wait
//! in the kernel's backlog), and a connection whose request head has not arrived within
//! `head_timeout` of its first byte (or of the accept) is cut — the slowloris defence
//! hyper would give if poem set it a timer, which it does not.

use std::{
    future::Future,
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use poem::{
    http::uri::Scheme,
    listener::{Acceptor, TcpAcceptor},
    web::{LocalAddr, RemoteAddr},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    sync::{OwnedSemaphorePermit, Semaphore},
    time::{Instant, Sleep},
};

/// The end of an HTTP/1 request head.
const HEAD_END: u32 = u32::from_be_bytes(*b"\r\n\r\n");

/// A connection with a deadline on each request head and a slot of the connection cap.
///
/// The deadline runs from the accept for the first request, and from the first byte of
/// each later one (a keep-alive connection waiting between requests is the idle
/// timeout's business); it stops at the head's blank line. Answers the server writes end
/// the head they answer, except interim ones (`100 Continue`), which come while a body
/// is still to arrive. A prior-knowledge HTTP/2 connection (`PRI ` preface) frames its
/// own way and is left alone.
pub struct Guarded<T> {
    inner: T,
    limit: Duration,
    sleep: Pin<Box<Sleep>>,
    /// A head is being read: the deadline runs.
    armed: bool,
    /// An answer went out: the next byte read starts a new head.
    next: bool,
    /// The last four bytes read while armed.
    window: u32,
    /// Whether anything was read yet (to spot the HTTP/2 preface).
    started: bool,
    /// Held for the connection's life: its slot of the cap.
    _permit: OwnedSemaphorePermit,
}

impl<T> Guarded<T> {
    fn new(inner: T, limit: Duration, permit: OwnedSemaphorePermit) -> Self {
        Self {
            inner,
            limit,
            sleep: Box::pin(tokio::time::sleep(limit)),
            armed: true,
            next: false,
            window: 0,
            started: false,
            _permit: permit,
        }
    }

    fn saw(&mut self, bytes: &[u8]) {
        if !self.started && !bytes.is_empty() {
            self.started = true;
            if bytes.starts_with(b"PRI ") {
                self.armed = false;
                return;
            }
        }
        if self.next && !bytes.is_empty() {
            self.next = false;
            self.armed = true;
            self.window = 0;
            self.sleep.as_mut().reset(Instant::now() + self.limit);
        }
        if self.armed {
            // Only a line feed can end the head: each one is looked at with the three
            // bytes before it (from an earlier read, when the chunk starts with it).
            let window = self.window;
            let four_to = |i: usize| {
                bytes[i.saturating_sub(3)..=i]
                    .iter()
                    .fold(window, |w, &b| (w << 8) | u32::from(b))
            };
            if memchr::memchr_iter(b'\n', bytes).any(|i| four_to(i) == HEAD_END) {
                self.armed = false;
            } else if let Some(last) = bytes.len().checked_sub(1) {
                self.window = four_to(last);
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        // Polling the timer also registers the waker, so a silent client is cut on time.
        if this.armed && this.sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request head did not arrive in time",
            )));
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &read {
            this.saw(&buf.filled()[before..]);
        }
        read
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        let interim = buf.starts_with(b"HTTP/1.1 1") || buf.starts_with(b"HTTP/1.0 1");
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) && !interim && this.started {
            this.armed = false;
            this.next = true;
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A TCP acceptor whose connections are [`Guarded`].
pub struct GuardedAcceptor {
    inner: TcpAcceptor,
    slots: Arc<Semaphore>,
    head_timeout: Duration,
}

impl GuardedAcceptor {
    /// Guards `inner`'s connections.
    pub fn new(inner: TcpAcceptor, max_connections: usize, head_timeout: Duration) -> Self {
        Self {
            inner,
            slots: Arc::new(Semaphore::new(
                max_connections.clamp(1, Semaphore::MAX_PERMITS),
            )),
            head_timeout,
        }
    }
}

impl Acceptor for GuardedAcceptor {
    type Io = Guarded<TcpStream>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        // A slot first: beyond the cap, clients wait in the kernel's backlog, not in the
        // server. (The semaphore is never closed, so this never fails in a loop.)
        let permit = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(io::Error::other)?;
        let (stream, local, remote, scheme) = self.inner.accept().await?;
        Ok((
            Guarded::new(stream, self.head_timeout, permit),
            local,
            remote,
            scheme,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guarded() -> Guarded<()> {
        let permit = Arc::new(Semaphore::new(1))
            .try_acquire_owned()
            .unwrap_or_else(|e| panic!("{e}"));
        Guarded::new((), Duration::from_secs(5), permit)
    }

    #[tokio::test]
    async fn a_head_ends_at_its_blank_line_however_the_reads_split_it() {
        let head = b"GET /backend/health/ HTTP/1.1\r\nHost: a\r\nX: b\r\n\r\n";
        for cut in 0..=head.len() {
            for second in cut..=head.len() {
                let mut g = guarded();
                g.saw(&head[..cut]);
                g.saw(&head[cut..second]);
                let whole = second == head.len();
                assert_eq!(!g.armed, whole, "reads {cut} and {second}");
                if !whole {
                    g.saw(&head[second..]);
                    assert!(!g.armed, "then the rest, from {second}");
                }
            }
        }
        // A line feed alone, or `\n\r\n`, is not the end.
        let mut g = guarded();
        g.saw(b"GET / HTTP/1.1\n\r\nHost: a\r\n");
        assert!(g.armed);
    }
}
