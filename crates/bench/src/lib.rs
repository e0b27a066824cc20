//! Benchmarks on synthetic workloads (run with `--release`; see `docs/performance.md`).
//!
//! - [`synth`]: a fast generator of a realistic event log (real domain events, serialised the
//!   way the event store stores them), loaded straight into `events` with `COPY`.
//! - [`procstat`]: CPU time and peak RSS of this process and of the PostgreSQL server.
//! - the `rebuild` binary: times a full rebuild of the `core` projector from position 0 and
//!   checks its tables against the one-event-at-a-time reference.
//! - [`tournament`]: a tournament of simulator players, for the pipeline benchmarks.
//! - [`rig`]: a data directory for the throwaway cluster and the service's read side.

pub mod procstat;
pub mod rig;
pub mod synth;
pub mod tournament;
