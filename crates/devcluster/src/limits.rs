//! Connection limits: what keeps one slow or hostile client from starving the others.
//!
//! ```text
//!  accept ──▶ ConnectionGate::admit ──no──▶ close at once (max.connections reached)
//!                   │ yes: a permit lives as long as the connection
//!                   ▼
//!  serve: read ─(idle > connections.max.idle.ms)─▶ close
//!         decode ─(frame > socket.request.max.bytes)─▶ close
//!         answer ─(max in-flight answers buffered)─▶ write them, read nothing meanwhile
//!         write ─(client takes nothing for connections.max.idle.ms)─▶ close
//! ```
//!
//! Kafka has the same knobs under the same names (`max.connections`,
//! `connections.max.idle.ms`, `socket.request.max.bytes`); Kafka mutes a connection while a
//! request is in flight, which is what the in-flight limit generalises: a client that
//! pipelines requests and never reads the answers stops being read from, so it holds at most
//! that many answers of broker memory.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The limits a broker applies to client connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// `max.connections`: connections a broker keeps open at once (clients' and followers');
    /// one more is closed as soon as it is accepted.
    pub max_connections: usize,
    /// `connections.max.idle.ms`: a connection that sends nothing for this long while no
    /// request is being served, or takes none of its answers for this long, is closed.
    pub connections_max_idle: Duration,
    /// Requests read from one connection whose answers are not yet written: at the limit the
    /// broker writes the answers and reads nothing more from that connection until they are
    /// taken.
    pub max_in_flight_requests_per_connection: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            // Kafka's default is unlimited; a dev cluster on a laptop is better served by a
            // bound that a runaway test loop hits long before the file descriptor limit.
            max_connections: 1000,
            // Kafka's default (10 minutes).
            connections_max_idle: Duration::from_secs(600),
            max_in_flight_requests_per_connection: 100,
        }
    }
}

/// Counts a broker's open connections against `max.connections`.
#[derive(Debug, Default)]
pub struct ConnectionGate {
    open: Arc<AtomicUsize>,
}

/// Holds one connection's place until dropped.
#[derive(Debug)]
pub struct ConnectionPermit {
    open: Arc<AtomicUsize>,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ConnectionGate {
    /// A place for a new connection, or `None` when `max` are open.
    pub fn admit(&self, max: usize) -> Option<ConnectionPermit> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| ConnectionPermit {
                open: self.open.clone(),
            })
    }

    /// Connections open now.
    #[cfg(test)]
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }
}

/// Why a connection was closed by a limit, for the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitClose {
    /// Nothing arrived for `connections.max.idle.ms`.
    Idle,
    /// The client took none of its answers for `connections.max.idle.ms`.
    NotReading,
}

impl std::fmt::Display for LimitClose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LimitClose::Idle => "idle for connections.max.idle.ms",
            LimitClose::NotReading => "client took no answers for connections.max.idle.ms",
        })
    }
}

/// Runs `io`, or gives up with `why` after `limit`.
pub async fn within<T>(
    limit: Duration,
    why: LimitClose,
    io: impl std::future::Future<Output = T>,
) -> Result<T, LimitClose> {
    tokio::time::timeout(limit, io).await.map_err(|_| why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_admits_up_to_max_and_frees_places_on_drop() {
        let gate = ConnectionGate::default();
        let a = gate.admit(2).unwrap();
        let _b = gate.admit(2).unwrap();
        assert!(gate.admit(2).is_none());
        assert_eq!(gate.open(), 2);
        drop(a);
        assert!(gate.admit(2).is_some());
        assert_eq!(gate.open(), 1);
    }
}
