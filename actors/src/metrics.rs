//! Lock-free instruments for `/metrics`: a fixed-bucket `Histogram` and a `Gauge` whose units are held
//! by guards. The HTTP crate renders them in the Prometheus text format.
//! Invariant: recording is a few relaxed atomic adds and never takes a lock, so any path may record;
//! nothing here formats or allocates per observation.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Bucket bounds for flush latency, in seconds: an upload to a nearby bucket takes milliseconds, a
/// struggling one up to the S3 request timeout.
pub const FLUSH_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// A histogram of durations with fixed upper bounds (seconds), counted with atomics.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// One count per bound, plus one for observations above the last bound (`+Inf`). Not cumulative.
    counts: Box<[AtomicU64]>,
    sum_micros: AtomicU64,
}

/// A point-in-time copy of a [`Histogram`], cumulative as Prometheus wants it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// `(upper bound in seconds, observations <= bound)`, ascending; `+Inf` is `count`.
    pub buckets: Vec<(f64, u64)>,
    /// All observations.
    pub count: u64,
    /// Sum of all observations, in seconds.
    pub sum_seconds: f64,
}

impl Histogram {
    /// An empty histogram with these ascending upper bounds in seconds.
    pub fn new(bounds: &'static [f64]) -> Self {
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Self { bounds, counts, sum_micros: AtomicU64::new(0) }
    }

    /// Records one duration.
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let index = self.bounds.iter().position(|bound| seconds <= *bound).unwrap_or(self.bounds.len());
        if let Some(count) = self.counts.get(index) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Reads every bucket. Buckets are read one by one, so a snapshot taken during observations may be
    /// off by the observations in flight, which Prometheus tolerates.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut cumulative = 0;
        let mut buckets = Vec::with_capacity(self.bounds.len());
        for (bound, count) in self.bounds.iter().zip(self.counts.iter()) {
            cumulative += count.load(Ordering::Relaxed);
            buckets.push((*bound, cumulative));
        }
        let above = self.counts.last().map_or(0, |c| c.load(Ordering::Relaxed));
        HistogramSnapshot {
            buckets,
            count: cumulative + above,
            sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

/// A level that goes up and down: each unit is a [`Held`] guard, so a unit cannot leak when its owner
/// drops, restarts or panics.
#[derive(Debug, Clone, Default)]
pub struct Gauge(Arc<AtomicI64>);

/// One unit of a [`Gauge`], released on drop.
#[derive(Debug)]
pub struct Held(Arc<AtomicI64>);

impl Gauge {
    /// Adds one until the returned guard drops.
    pub fn hold(&self) -> Held {
        self.0.fetch_add(1, Ordering::Relaxed);
        Held(Arc::clone(&self.0))
    }

    /// The current level (never negative: every decrement follows its increment).
    pub fn get(&self) -> u64 {
        u64::try_from(self.0.load(Ordering::Relaxed)).unwrap_or(0)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them_and_buckets_are_cumulative() {
        static BOUNDS: &[f64] = &[0.1, 1.0];
        let histogram = Histogram::new(BOUNDS);
        histogram.observe(Duration::from_millis(100));
        histogram.observe(Duration::from_millis(500));
        histogram.observe(Duration::from_secs(3));
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.buckets, vec![(0.1, 1), (1.0, 2)]);
        assert_eq!(snapshot.count, 3);
        assert!((snapshot.sum_seconds - 3.6).abs() < 1e-9);
    }

    #[test]
    fn a_gauge_unit_is_released_when_its_guard_drops() {
        let gauge = Gauge::default();
        let first = gauge.hold();
        let second = gauge.hold();
        assert_eq!(gauge.get(), 2);
        drop(first);
        assert_eq!(gauge.get(), 1);
        drop(second);
        assert_eq!(gauge.get(), 0);
    }
}
