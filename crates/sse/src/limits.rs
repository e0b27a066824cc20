//! Bounds on open connections: one cap per process (kept below the open-file limit, so a flood
//! of sockets can never take the descriptors the database pool, the log files and `/health`
//! need) and one per client address (so one client cannot take the whole process cap).
//!
//! A connection over a cap is answered at once with a canned `503` (`Retry-After`, the
//! contract's `{"detail": …}`) written without waiting, then closed: no task, no timer, no
//! descriptor held. Addresses the caller calls exempt (trusted reverse proxies, which carry
//! many clients on their own address) count against the process cap only.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::TcpStream;

/// Which client addresses have no per-address cap (e.g. trusted reverse proxies).
pub type ExemptFn = Arc<dyn Fn(IpAddr) -> bool + Send + Sync>;

/// Caps of [`Connections`]. `0` means no cap.
#[derive(Clone)]
pub struct ConnectionLimits {
    /// Open connections of the whole process.
    pub max_connections: usize,
    /// Open connections of one client address (exempt addresses excepted).
    pub max_per_address: usize,
    /// Addresses without a per-address cap.
    pub exempt: Option<ExemptFn>,
}

impl std::fmt::Debug for ConnectionLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionLimits")
            .field("max_connections", &self.max_connections)
            .field("max_per_address", &self.max_per_address)
            .field("exempt", &self.exempt.is_some())
            .finish()
    }
}

impl Default for ConnectionLimits {
    /// No caps (tests, benchmarks); the binary sets them from its settings.
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 0,
            max_per_address: 0,
            exempt: None,
        }
    }
}

/// Why a connection was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    ProcessFull,
    AddressFull,
}

/// Counts open connections, process-wide and per client address.
#[derive(Debug, Default)]
pub struct Connections {
    limits: ConnectionLimits,
    open: AtomicUsize,
    per_address: Mutex<HashMap<IpAddr, usize>>,
    refused: AtomicUsize,
}

impl Connections {
    pub fn new(limits: ConnectionLimits) -> Arc<Connections> {
        Arc::new(Connections {
            limits,
            ..Connections::default()
        })
    }

    /// Open connections now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Connections refused by a cap since start.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::Relaxed)
    }

    /// Counts a new connection from `address`, or says which cap it is over. The permit
    /// uncounts it when dropped (with the connection).
    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Result<Permit, Refused> {
        let address = address.to_canonical();
        let max = self.limits.max_connections;
        let admitted = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (max == 0 || open < max).then_some(open + 1)
            });
        if admitted.is_err() {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Refused::ProcessFull);
        }
        let per_address = self.limits.max_per_address;
        let exempt = per_address == 0 || self.limits.exempt.as_ref().is_some_and(|f| f(address));
        if !exempt {
            let mut map = self.per_address.lock().unwrap_or_else(|p| p.into_inner());
            let count = map.entry(address).or_default();
            if *count >= per_address {
                drop(map);
                self.open.fetch_sub(1, Ordering::AcqRel);
                self.refused.fetch_add(1, Ordering::Relaxed);
                return Err(Refused::AddressFull);
            }
            *count += 1;
        }
        Ok(Permit {
            connections: self.clone(),
            address: (!exempt).then_some(address),
        })
    }
}

/// One counted connection; dropping it uncounts it.
#[derive(Debug)]
pub struct Permit {
    connections: Arc<Connections>,
    /// Set when the connection counts against its address's cap.
    address: Option<IpAddr>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.connections.open.fetch_sub(1, Ordering::AcqRel);
        if let Some(address) = self.address {
            let mut map = self
                .connections
                .per_address
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some(count) = map.get_mut(&address) {
                *count -= 1;
                if *count == 0 {
                    map.remove(&address);
                }
            }
        }
    }
}

/// Answers a refused connection with a canned 503 if the socket takes it at once, then closes
/// it (dropping `tcp`). Never waits: a refusal must cost no task and no timer.
pub fn refuse(tcp: TcpStream, why: Refused) {
    let detail = match why {
        Refused::ProcessFull => "Too many open connections; retry shortly",
        Refused::AddressFull => "Too many open connections from this address; retry shortly",
    };
    let body = format!("{{\"detail\":\"{detail}\"}}");
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 5\r\ncache-control: no-store\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tcp.try_write(response.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn caps_count_and_release() {
        let connections = Connections::new(ConnectionLimits {
            max_connections: 3,
            max_per_address: 2,
            exempt: Some(Arc::new(|ip: IpAddr| ip.is_loopback())),
        });
        let a1 = connections.admit(ip("10.0.0.1")).unwrap();
        let _a2 = connections.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(
            connections.admit(ip("10.0.0.1")).unwrap_err(),
            Refused::AddressFull
        );
        // The refused one is not counted.
        assert_eq!(connections.open(), 2);
        let _local = connections.admit(ip("127.0.0.1")).unwrap();
        assert_eq!(
            connections.admit(ip("10.0.0.2")).unwrap_err(),
            Refused::ProcessFull
        );
        drop(a1);
        assert_eq!(connections.open(), 2);
        let _again = connections.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(connections.refused(), 2);
        // An IPv4-mapped IPv6 peer is the same client as its IPv4 address.
        assert_eq!(
            connections.admit(ip("::ffff:10.0.0.1")).unwrap_err(),
            Refused::ProcessFull
        );
    }

    #[test]
    fn exempt_addresses_have_only_the_process_cap() {
        let connections = Connections::new(ConnectionLimits {
            max_connections: 0,
            max_per_address: 1,
            exempt: Some(Arc::new(|ip: IpAddr| ip.is_loopback())),
        });
        let held: Vec<_> = (0..100)
            .map(|_| connections.admit(ip("127.0.0.1")).unwrap())
            .collect();
        assert_eq!(connections.open(), 100);
        drop(held);
        assert_eq!(connections.open(), 0);
        let _one = connections.admit(ip("192.0.2.1")).unwrap();
        assert!(connections.admit(ip("192.0.2.1")).is_err());
    }
}
