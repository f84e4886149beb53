//! Kea's statistics registry (Kea ARM 8.9 "Statistics"): named integer statistics such as
//! `pkt4-received` and `subnet[1].assigned-addresses`, each keeping a short history of
//! samples, newest first, bounded either by a sample count or by a sample age (Kea ARM 8.9.1
//! "Statistics Lifecycle", `statistic-default-sample-count` / `statistic-default-sample-age`).
//!
//! The semantics follow Kea's `Observation` / `StatsMgr` (libkea-stats):
//! - every `add`/`set` pushes a new sample; `add` adds to the newest value;
//! - a statistic is limited either by count (keep the newest N samples) or by age (drop the
//!   oldest samples while the newest and the oldest are more than the duration apart — the
//!   span is measured between samples, not against the current time, as Kea does); setting
//!   one limit disables the other;
//! - new statistics take the registry's default limit (count 20 unless configured otherwise);
//! - `reset` clears the history and records a single 0 sample.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// Kea's default number of samples kept per statistic (Kea ARM 8.9, `statistic-default-sample-count`).
pub const DEFAULT_MAX_SAMPLES: u32 = 20;

/// One sample of a statistic: its value and when it was recorded (Kea ARM 8.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// The value recorded.
    pub value: i64,
    /// Unix time (seconds) the value was recorded.
    pub at: u64,
    /// Microseconds within `at` (0 when the caller gave whole seconds).
    pub micros: u32,
}

impl Sample {
    /// The sample time in microseconds since the Unix epoch (Kea ARM 8.9 sample timestamps).
    pub fn at_us(&self) -> u64 {
        self.at.saturating_mul(1_000_000).saturating_add(u64::from(self.micros))
    }

    fn new_us(value: i64, at_us: u64) -> Sample {
        // The remainder is below 1_000_000, so it always fits.
        Sample { value, at: at_us / 1_000_000, micros: (at_us % 1_000_000) as u32 }
    }
}

/// How a statistic's sample history is bounded (Kea ARM 8.9.1, `statistic-sample-count-set` /
/// `statistic-sample-age-set`); the two limits are exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleLimit {
    /// Keep at most this many samples (never less than 1).
    Count(u32),
    /// Keep samples spanning at most this many seconds from the newest one.
    Age(u64),
}

#[derive(Debug)]
struct Stat {
    /// Newest first; never empty.
    samples: VecDeque<Sample>,
    limit: SampleLimit,
}

impl Stat {
    fn new(limit: SampleLimit) -> Stat {
        let cap = match limit {
            SampleLimit::Count(n) => (n as usize).min(DEFAULT_MAX_SAMPLES as usize),
            SampleLimit::Age(_) => 1,
        };
        Stat { samples: VecDeque::with_capacity(cap.max(1)), limit }
    }

    fn newest(&self) -> i64 {
        self.samples.front().map_or(0, |s| s.value)
    }

    fn push(&mut self, value: i64, at_us: u64) {
        if let SampleLimit::Count(n) = self.limit {
            // Make room first so a full ring never grows (no allocation on the packet path).
            let n = n.max(1) as usize;
            while self.samples.len() >= n {
                self.samples.pop_back();
            }
        }
        self.samples.push_front(Sample::new_us(value, at_us));
        self.prune();
    }

    fn prune(&mut self) {
        match self.limit {
            SampleLimit::Count(n) => self.samples.truncate(n.max(1) as usize),
            SampleLimit::Age(secs) => {
                let max = secs.saturating_mul(1_000_000);
                let newest = self.samples.front().map_or(0, Sample::at_us);
                while self.samples.len() > 1
                    && self.samples.back().is_some_and(|s| newest.saturating_sub(s.at_us()) > max)
                {
                    self.samples.pop_back();
                }
            }
        }
    }

    fn set_limit(&mut self, limit: SampleLimit) {
        self.limit = match limit {
            SampleLimit::Count(n) => SampleLimit::Count(n.max(1)),
            age => age,
        };
        self.prune();
    }

    fn reset(&mut self, at_us: u64) {
        self.samples.clear();
        self.samples.push_front(Sample::new_us(0, at_us));
    }
}

#[derive(Debug)]
struct Inner {
    map: BTreeMap<String, Stat>,
    /// Default count limit for new statistics; 0 selects the age limit (Kea semantics).
    default_count: u32,
    /// Default age limit for new statistics, seconds.
    default_age: u64,
}

impl Inner {
    fn default_limit(&self) -> SampleLimit {
        if self.default_count == 0 {
            SampleLimit::Age(self.default_age)
        } else {
            SampleLimit::Count(self.default_count)
        }
    }

    fn push(&mut self, name: &str, at_us: u64, f: impl FnOnce(i64) -> i64) {
        // Only a new statistic allocates its key.
        if let Some(s) = self.map.get_mut(name) {
            let v = f(s.newest());
            s.push(v, at_us);
        } else {
            let mut s = Stat::new(self.default_limit());
            s.push(f(0), at_us);
            self.map.insert(name.to_string(), s);
        }
    }
}

/// The statistics of one daemon, shared by every packet task (Kea ARM 8.9 "Statistics").
#[derive(Debug)]
pub struct Stats {
    inner: Mutex<Inner>,
}

impl Default for Stats {
    fn default() -> Stats {
        Stats { inner: Mutex::new(Inner { map: BTreeMap::new(), default_count: DEFAULT_MAX_SAMPLES, default_age: 0 }) }
    }
}

impl Stats {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        // A poisoned registry still holds valid counters.
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    /// Adds `delta` to `name` (created at 0 when new) as a new sample at `now` (Unix seconds),
    /// as Kea's StatsMgr::addValue (Kea ARM 8.9).
    pub fn add(&self, name: &str, delta: i64, now: u64) {
        self.add_us(name, delta, now.saturating_mul(1_000_000));
    }

    /// [`Stats::add`] with a microsecond timestamp `now_us` (Kea ARM 8.9 sample timestamps).
    pub fn add_us(&self, name: &str, delta: i64, now_us: u64) {
        self.with(|m| m.push(name, now_us, |v| v.saturating_add(delta)));
    }

    /// Sets `name` to `value` as a new sample at `now` (Unix seconds), as Kea's
    /// StatsMgr::setValue (Kea ARM 8.9).
    pub fn set(&self, name: &str, value: i64, now: u64) {
        self.set_us(name, value, now.saturating_mul(1_000_000));
    }

    /// [`Stats::set`] with a microsecond timestamp `now_us` (Kea ARM 8.9 sample timestamps).
    pub fn set_us(&self, name: &str, value: i64, now_us: u64) {
        self.with(|m| m.push(name, now_us, |_| value));
    }

    /// The newest sample of `name` (Kea ARM 8.9, `statistic-get`).
    pub fn get(&self, name: &str) -> Option<Sample> {
        self.with(|m| m.map.get(name).and_then(|s| s.samples.front().copied()))
    }

    /// Every sample kept for `name`, newest first (Kea ARM 8.9, `statistic-get`).
    pub fn samples(&self, name: &str) -> Option<Vec<Sample>> {
        self.with(|m| m.map.get(name).map(|s| s.samples.iter().copied().collect()))
    }

    /// Every statistic's newest sample, sorted by name (Kea ARM 8.9, `statistic-get-all`).
    pub fn all(&self) -> Vec<(String, Sample)> {
        self.with(|m| m.map.iter().filter_map(|(k, s)| s.samples.front().map(|f| (k.clone(), *f))).collect())
    }

    /// Every statistic with all its samples, newest first, sorted by name (Kea ARM 8.9,
    /// `statistic-get-all`).
    pub fn all_samples(&self) -> Vec<(String, Vec<Sample>)> {
        self.with(|m| m.map.iter().map(|(k, s)| (k.clone(), s.samples.iter().copied().collect())).collect())
    }

    /// The number of statistics (Kea ARM 8.9).
    pub fn len(&self) -> usize {
        self.with(|m| m.map.len())
    }

    /// Whether no statistic exists (Kea ARM 8.9).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Clears `name`'s history and records 0 at `now`; false when unknown (Kea ARM 8.9,
    /// `statistic-reset`).
    pub fn reset(&self, name: &str, now: u64) -> bool {
        let at = now.saturating_mul(1_000_000);
        self.with(|m| m.map.get_mut(name).map(|s| s.reset(at)).is_some())
    }

    /// [`Stats::reset`] for every statistic (Kea ARM 8.9, `statistic-reset-all`).
    pub fn reset_all(&self, now: u64) {
        let at = now.saturating_mul(1_000_000);
        self.with(|m| m.map.values_mut().for_each(|s| s.reset(at)));
    }

    /// Deletes `name`; false when unknown (Kea ARM 8.9, `statistic-remove`).
    pub fn remove(&self, name: &str) -> bool {
        self.with(|m| m.map.remove(name).is_some())
    }

    /// Deletes every statistic (Kea ARM 8.9, `statistic-remove-all`).
    pub fn remove_all(&self) {
        self.with(|m| m.map.clear());
    }

    /// The limit bounding `name`'s history (Kea ARM 8.9.1).
    pub fn limit(&self, name: &str) -> Option<SampleLimit> {
        self.with(|m| m.map.get(name).map(|s| s.limit))
    }

    /// The limit new statistics get (Kea ARM 8.9.1, `statistic-default-sample-count` / `-age`).
    pub fn default_limit(&self) -> SampleLimit {
        self.with(|m| m.default_limit())
    }

    /// Limits `name` to `max` samples (0 is taken as 1), disabling its age limit and dropping
    /// older samples now; false when unknown (Kea ARM 8.9.1, `statistic-sample-count-set`).
    pub fn set_max_samples(&self, name: &str, max: u32) -> bool {
        self.with(|m| m.map.get_mut(name).map(|s| s.set_limit(SampleLimit::Count(max))).is_some())
    }

    /// Limits `name` to samples spanning `secs` seconds, disabling its count limit and dropping
    /// older samples now; false when unknown (Kea ARM 8.9.1, `statistic-sample-age-set`).
    pub fn set_max_age(&self, name: &str, secs: u64) -> bool {
        self.with(|m| m.map.get_mut(name).map(|s| s.set_limit(SampleLimit::Age(secs))).is_some())
    }

    /// Count limit `max` (0 is taken as 1) for every statistic and as the default for new ones,
    /// as Kea's `statistic-sample-count-set-all` handler (Kea ARM 8.9.1).
    pub fn set_max_samples_all(&self, max: u32) {
        let max = max.max(1);
        self.with(|m| {
            m.default_count = max;
            m.map.values_mut().for_each(|s| s.set_limit(SampleLimit::Count(max)));
        });
    }

    /// Age limit `secs` for every statistic and as the default for new ones (disabling the
    /// default count limit), as Kea's `statistic-sample-age-set-all` handler (Kea ARM 8.9.1).
    pub fn set_max_age_all(&self, secs: u64) {
        self.with(|m| {
            m.default_count = 0;
            m.default_age = secs;
            m.map.values_mut().for_each(|s| s.set_limit(SampleLimit::Age(secs)));
        });
    }

    /// Applies `statistic-default-sample-count` (`count`, 0 = use the age limit) and
    /// `statistic-default-sample-age` (`age`, seconds) from the configuration: both become the
    /// defaults, and the active one is applied to every existing statistic, as Kea's
    /// SrvConfig::updateStatistics (Kea ARM 8.9.1).
    pub fn set_default_limits(&self, count: u32, age: u64) {
        self.with(|m| {
            m.default_count = count;
            m.default_age = age;
            let limit = m.default_limit();
            m.map.values_mut().for_each(|s| s.set_limit(limit));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(s: &Stats, name: &str) -> Vec<i64> {
        s.samples(name).unwrap().iter().map(|x| x.value).collect()
    }

    #[test]
    fn add_and_set() {
        let s = Stats::default();
        s.add("pkt4-received", 1, 10);
        s.add("pkt4-received", 2, 11);
        s.set("subnet[1].total-addresses", 256, 12);
        assert_eq!(s.get("pkt4-received"), Some(Sample { value: 3, at: 11, micros: 0 }));
        assert_eq!(s.get("subnet[1].total-addresses").unwrap().value, 256);
        assert_eq!(s.all().len(), 2);
        assert_eq!(s.len(), 2);
        assert!(!s.is_empty());
        assert_eq!(s.get("nope"), None);
        assert_eq!(s.samples("nope"), None);
    }

    #[test]
    fn history_is_newest_first_and_capped_at_default_count() {
        let s = Stats::default();
        assert_eq!(s.default_limit(), SampleLimit::Count(DEFAULT_MAX_SAMPLES));
        for i in 0..30 {
            s.add("x", 1, 100 + i);
        }
        let v = values(&s, "x");
        assert_eq!(v.len(), 20);
        assert_eq!(v[0], 30);
        assert_eq!(v[19], 11);
        let samples = s.samples("x").unwrap();
        assert_eq!(samples[0].at, 129);
        assert_eq!(s.limit("x"), Some(SampleLimit::Count(20)));
    }

    #[test]
    fn microsecond_timestamps() {
        let s = Stats::default();
        s.set_us("x", 5, 1_700_000_000_123_456);
        let got = s.get("x").unwrap();
        assert_eq!(got, Sample { value: 5, at: 1_700_000_000, micros: 123_456 });
        assert_eq!(got.at_us(), 1_700_000_000_123_456);
        s.add_us("x", 2, 1_700_000_001_000_001);
        assert_eq!(s.get("x").unwrap().value, 7);
        assert_eq!(s.get("x").unwrap().micros, 1);
    }

    #[test]
    fn count_limit_per_stat() {
        let s = Stats::default();
        for i in 0..10 {
            s.set("x", i, i as u64);
        }
        assert!(s.set_max_samples("x", 3));
        assert_eq!(values(&s, "x"), vec![9, 8, 7]);
        s.set("x", 10, 10);
        assert_eq!(values(&s, "x"), vec![10, 9, 8]);
        assert!(!s.set_max_samples("nope", 3));
        // 0 keeps the newest sample rather than emptying the history.
        assert!(s.set_max_samples("x", 0));
        assert_eq!(values(&s, "x"), vec![10]);
        assert_eq!(s.limit("x"), Some(SampleLimit::Count(1)));
    }

    #[test]
    fn age_limit_is_span_from_newest() {
        let s = Stats::default();
        for t in 0..10u64 {
            s.set("x", t as i64, 1000 + t);
        }
        assert!(s.set_max_age("x", 3));
        // Newest at 1009; samples at 1006..=1009 are within 3 s of it.
        assert_eq!(values(&s, "x"), vec![9, 8, 7, 6]);
        assert_eq!(s.limit("x"), Some(SampleLimit::Age(3)));
        // The age limit disables the count limit: 50 samples in one second all stay.
        for i in 0..50 {
            s.add_us("x", 1, 1010 * 1_000_000 + i);
        }
        // Each push drops what is more than 3 s older than the newest: 1006 and 1007 go.
        assert_eq!(s.samples("x").unwrap().len(), 50 + 2);
        s.set("x", 0, 1020);
        assert_eq!(values(&s, "x"), vec![0]);
        assert!(!s.set_max_age("nope", 3));
    }

    #[test]
    fn limits_are_exclusive() {
        let s = Stats::default();
        s.set("x", 1, 1);
        s.set_max_age("x", 100);
        s.set_max_samples("x", 2);
        for t in 2..10 {
            s.set("x", t, t as u64);
        }
        assert_eq!(values(&s, "x"), vec![9, 8]);
    }

    #[test]
    fn reset_and_remove() {
        let s = Stats::default();
        s.add("a", 5, 1);
        s.add("a", 5, 2);
        s.add("b", 7, 1);
        assert!(s.reset("a", 3));
        assert_eq!(s.samples("a").unwrap(), vec![Sample { value: 0, at: 3, micros: 0 }]);
        assert!(!s.reset("nope", 3));
        s.reset_all(4);
        assert_eq!(s.get("b"), Some(Sample { value: 0, at: 4, micros: 0 }));
        assert!(s.remove("a"));
        assert!(!s.remove("a"));
        assert_eq!(s.len(), 1);
        s.remove_all();
        assert!(s.is_empty());
        assert!(s.all().is_empty());
    }

    #[test]
    fn all_variants_set_defaults_for_new_stats() {
        let s = Stats::default();
        s.set("a", 1, 1);
        s.set_max_samples_all(5);
        assert_eq!(s.limit("a"), Some(SampleLimit::Count(5)));
        s.set("b", 1, 1);
        assert_eq!(s.limit("b"), Some(SampleLimit::Count(5)));
        s.set_max_age_all(60);
        assert_eq!(s.limit("a"), Some(SampleLimit::Age(60)));
        s.set("c", 1, 1);
        assert_eq!(s.limit("c"), Some(SampleLimit::Age(60)));
        assert_eq!(s.default_limit(), SampleLimit::Age(60));
    }

    #[test]
    fn config_default_limits() {
        let s = Stats::default();
        for t in 0..30 {
            s.set("a", t, t as u64);
        }
        s.set_default_limits(4, 0);
        assert_eq!(values(&s, "a"), vec![29, 28, 27, 26]);
        s.set_default_limits(0, 1);
        assert_eq!(s.limit("a"), Some(SampleLimit::Age(1)));
        assert_eq!(values(&s, "a"), vec![29, 28]);
        s.set("new", 1, 1);
        assert_eq!(s.limit("new"), Some(SampleLimit::Age(1)));
    }

    #[test]
    fn all_samples_sorted() {
        let s = Stats::default();
        s.set("b", 1, 1);
        s.set("a", 1, 1);
        s.set("a", 2, 2);
        let all = s.all_samples();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].0, "a");
        assert_eq!(all[0].1.len(), 2);
        assert_eq!(all[0].1[0].value, 2);
    }
}
