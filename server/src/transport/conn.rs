//! What the accept loop knows about one connection: requests in flight, when it last
//! finished one, and since when the client has been sending the head of the next one.
//! The connection's watcher ([`Watch::verdict`]) turns that into "keep going", "close it
//! politely" (idle keep-alive) or "drop it" (headers too slow).
//!
//! hyper's own header-read timer is not used: it starts as soon as hyper waits for a
//! request, so it would also cut idle keep-alive connections at the header timeout and
//! the two limits could not be set apart.

use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// The connection limits (see `Config`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

#[derive(Debug)]
struct Times {
    /// The end of the last request, or the accept time.
    idle_since: Instant,
    /// The first byte of a request head that has not reached the service yet.
    head_since: Option<Instant>,
    /// An HTTP/2 connection: frames (pings, settings) are not request heads.
    h2: bool,
    first_read: bool,
}

/// Shared by the connection's IO wrapper, its service and its watcher.
#[derive(Debug)]
pub(crate) struct Watch {
    active: AtomicUsize,
    times: Mutex<Times>,
}

/// What the watcher should do now.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing yet; look again at this instant.
    Wait(Instant),
    /// No request for the idle timeout: close after the current exchange.
    Idle,
    /// A request head has been arriving for longer than the header timeout.
    SlowHead,
}

impl Watch {
    pub(crate) fn new() -> Self {
        Watch {
            active: AtomicUsize::new(0),
            times: Mutex::new(Times {
                idle_since: Instant::now(),
                head_since: None,
                h2: false,
                first_read: true,
            }),
        }
    }

    fn times(&self) -> std::sync::MutexGuard<'_, Times> {
        self.times.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A request reached the service: its head is complete.
    pub(crate) fn request_started(&self) {
        self.active.fetch_add(1, Ordering::SeqCst);
        self.times().head_since = None;
    }

    /// The service answered (the body may still be streaming; closing politely waits
    /// for it).
    pub(crate) fn request_finished(&self) {
        let mut t = self.times();
        t.idle_since = Instant::now();
        self.active.fetch_sub(1, Ordering::SeqCst);
    }

    fn bytes_read(&self, bytes: &[u8]) {
        let mut t = self.times();
        if t.first_read {
            t.first_read = false;
            // The HTTP/2 connection preface ("PRI * HTTP/2.0").
            t.h2 = bytes.starts_with(b"PRI ");
        }
        if !t.h2 && t.head_since.is_none() && self.active.load(Ordering::SeqCst) == 0 {
            t.head_since = Some(Instant::now());
        }
    }

    pub(crate) fn verdict(&self, limits: &Limits) -> Verdict {
        let now = Instant::now();
        // Look at least this often: a head may start arriving while we sleep.
        let soon = now + limits.header_timeout.min(limits.idle_timeout) / 2;
        if self.active.load(Ordering::SeqCst) > 0 {
            return Verdict::Wait(soon);
        }
        let t = self.times();
        if let Some(head) = t.head_since {
            let deadline = head + limits.header_timeout;
            return if now >= deadline {
                Verdict::SlowHead
            } else {
                Verdict::Wait(deadline.min(soon))
            };
        }
        let deadline = t.idle_since + limits.idle_timeout;
        if now >= deadline {
            Verdict::Idle
        } else {
            Verdict::Wait(deadline.min(soon))
        }
    }
}

/// The TCP stream, reporting what it reads to the connection's [`Watch`].
pub(crate) struct WatchedIo<T> {
    pub io: T,
    pub watch: std::sync::Arc<Watch>,
}

impl<T: AsyncRead + Unpin> AsyncRead for WatchedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = res
            && buf.filled().len() > before
        {
            self.watch.bytes_read(&buf.filled()[before..]);
        }
        res
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WatchedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
