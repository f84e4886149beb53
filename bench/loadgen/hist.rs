//! A fixed log-linear latency histogram in microseconds: exact below 1024 us, then 512
//! buckets per power of two (under 0.2 % relative error), allocated once.

const BITS: u32 = 10;
const HALF: u64 = 1 << (BITS - 1);
/// Buckets for values up to 2^40 us (12 days).
const BUCKETS: usize = ((40 - BITS as usize + 2) * HALF as usize) + HALF as usize;

/// Counts of latencies; `record` never allocates.
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    n: u64,
    max: u64,
    sum: u64,
}

fn index(v: u64) -> usize {
    if v < (1 << BITS) {
        return v as usize;
    }
    let msb = 63 - u64::from(v.leading_zeros());
    let shift = msb - u64::from(BITS) + 1;
    ((shift * HALF) + (v >> shift)) as usize
}

fn value(idx: usize) -> u64 {
    let idx = idx as u64;
    if idx < (1 << BITS) {
        return idx;
    }
    let shift = idx / HALF - 1;
    let m = idx - shift * HALF;
    // The middle of the bucket.
    (m << shift) + ((1 << shift) >> 1)
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        Histogram { counts: vec![0; BUCKETS], n: 0, max: 0, sum: 0 }
    }

    /// Adds one latency.
    pub fn record(&mut self, us: u64) {
        let i = index(us).min(BUCKETS - 1);
        self.counts[i] += 1;
        self.n += 1;
        self.sum += us;
        self.max = self.max.max(us);
    }

    /// Number of latencies recorded.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// The largest latency recorded (exact).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The mean, rounded down; 0 when empty.
    pub fn mean(&self) -> u64 {
        self.sum.checked_div(self.n).unwrap_or(0)
    }

    /// The smallest recorded value v such that at least `q` (0..=1) of them are <= v; 0
    /// when empty; never above the maximum.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.n == 0 {
            return 0;
        }
        let rank = ((q * self.n as f64).ceil() as u64).clamp(1, self.n);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return value(i).min(self.max);
            }
        }
        self.max
    }

    /// Empties the histogram, keeping its memory.
    pub fn clear(&mut self) {
        self.counts.iter_mut().for_each(|c| *c = 0);
        self.n = 0;
        self.max = 0;
        self.sum = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_close() {
        let mut last = 0;
        for v in (0..5_000_000u64).step_by(7) {
            let i = index(v);
            assert!(i >= last, "{v}");
            last = i;
            let back = value(i);
            assert!(back.abs_diff(v) * 500 <= v.max(500), "{v} -> {i} -> {back}");
        }
    }

    #[test]
    fn quantiles() {
        let mut h = Histogram::new();
        for v in 1..=1000 {
            h.record(v);
        }
        assert_eq!(h.quantile(0.5), 500);
        assert_eq!(h.quantile(0.99), 990);
        assert_eq!(h.quantile(1.0), 1000);
        h.record(1_000_000);
        assert_eq!(h.max(), 1_000_000);
        assert!(h.quantile(1.0).abs_diff(1_000_000) < 2000);
    }
}
