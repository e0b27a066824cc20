//! [`Traffic`]: when each community request arrived and how many ran at once, so tests and
//! benchmarks can check a client's request budget where it matters: at the server.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::faults::Endpoint;

/// Arrivals kept at most (a long benchmark keeps counting, but forgets the oldest times).
const MAX_ARRIVALS: usize = 1_000_000;

/// Request arrivals (in order) and concurrency, since the last counter reset.
#[derive(Debug, Clone, Default)]
pub struct Traffic {
    arrivals: Vec<(Instant, Endpoint)>,
    in_flight: usize,
    peak_in_flight: usize,
    /// When each profile's stats were last served (staleness in benchmarks).
    stats_served: HashMap<i64, Instant>,
    /// Stats and history requests that named each profile id (what a poller asks about whom).
    profile_requests: HashMap<i64, usize>,
}

impl Traffic {
    pub(crate) fn arrive(&mut self, endpoint: Endpoint) {
        if self.arrivals.len() >= MAX_ARRIVALS {
            self.arrivals.drain(..MAX_ARRIVALS / 2);
        }
        self.arrivals.push((Instant::now(), endpoint));
        self.in_flight += 1;
        self.peak_in_flight = self.peak_in_flight.max(self.in_flight);
    }

    pub(crate) fn served_stats(&mut self, ids: &[i64]) {
        let now = Instant::now();
        for &id in ids {
            self.stats_served.insert(id, now);
        }
    }

    pub(crate) fn asked_for(&mut self, ids: &[i64]) {
        for &id in ids {
            *self.profile_requests.entry(id).or_default() += 1;
        }
    }

    /// How many stats and history requests named any of `ids` (one per id named).
    pub fn requests_for(&self, ids: &[i64]) -> usize {
        ids.iter()
            .filter_map(|id| self.profile_requests.get(id))
            .sum()
    }

    /// The oldest of the last times `ids` had their stats served; `None` if one never had.
    pub fn oldest_stats(&self, ids: &[i64]) -> Option<Instant> {
        ids.iter()
            .map(|id| self.stats_served.get(id).copied())
            .try_fold(None, |oldest: Option<Instant>, at| {
                at.map(|at| Some(oldest.map_or(at, |o| o.min(at))))
            })
            .flatten()
    }

    pub(crate) fn leave(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Arrival times, oldest first.
    pub fn arrivals(&self) -> impl Iterator<Item = Instant> + '_ {
        self.arrivals.iter().map(|(at, _)| *at)
    }

    /// Endpoint of each request, in arrival order.
    pub fn sequence(&self) -> Vec<Endpoint> {
        self.arrivals.iter().map(|(_, e)| *e).collect()
    }

    /// Requests per endpoint name.
    pub fn by_endpoint(&self) -> BTreeMap<&'static str, usize> {
        let mut out = BTreeMap::new();
        for (_, e) in &self.arrivals {
            *out.entry(e.name()).or_insert(0) += 1;
        }
        out
    }

    /// Most requests that arrived within any span of `window` (both ends included).
    pub fn max_in_window(&self, window: Duration) -> usize {
        let times: Vec<Instant> = self.arrivals().collect();
        let mut best = 0;
        let mut start = 0;
        for end in 0..times.len() {
            while times[end].duration_since(times[start]) > window {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    }

    /// Requests that arrived in `[from, from + window)`.
    pub fn count_between(&self, from: Instant, window: Duration) -> usize {
        self.arrivals()
            .filter(|&at| at >= from && at < from + window)
            .count()
    }

    /// Most requests in flight at once at the server.
    pub fn peak_in_flight(&self) -> usize {
        self.peak_in_flight
    }

    /// Requests so far.
    pub fn len(&self) -> usize {
        self.arrivals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.arrivals.is_empty()
    }

    /// Forget arrivals and the peak; requests still in flight stay counted.
    pub(crate) fn reset(&mut self) {
        self.arrivals.clear();
        self.stats_served.clear();
        self.profile_requests.clear();
        self.peak_in_flight = self.in_flight;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_arrivals_and_peaks() {
        let mut t = Traffic::default();
        let t0 = Instant::now();
        for ms in [0u64, 100, 200, 1500, 1600] {
            t.arrivals
                .push((t0 + Duration::from_millis(ms), Endpoint::PersonalStat));
        }
        assert_eq!(t.max_in_window(Duration::from_secs(1)), 3);
        assert_eq!(t.max_in_window(Duration::from_millis(150)), 2);
        assert_eq!(
            t.count_between(t0 + Duration::from_millis(150), Duration::from_secs(2)),
            3
        );
        t.arrive(Endpoint::Advertisements);
        t.arrive(Endpoint::Advertisements);
        t.leave();
        assert_eq!(t.peak_in_flight(), 2);
        assert_eq!(t.by_endpoint()["findAdvertisements"], 2);
        assert_eq!(t.oldest_stats(&[1]), None);
        t.served_stats(&[1, 2]);
        let first = t.oldest_stats(&[1, 2]).expect("both served");
        t.served_stats(&[2]);
        assert_eq!(t.oldest_stats(&[1, 2]), Some(first));
        assert_eq!(t.oldest_stats(&[1, 3]), None);
    }
}
