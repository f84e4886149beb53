//! Kea's statistics registry (Kea ARM 8.9 "Statistics"): named integer statistics such as
//! `pkt4-received` and `subnet[1].assigned-addresses`, each keeping a short history of
//! samples, newest first, bounded either by a sample count or by a sample age (Kea ARM 8.9.1
//! "Statistics Lifecycle", `statistic-default-sample-count` / `statistic-default-sample-age`).
//!
//! The semantics follow Kea's `Observation` / `StatsMgr` (libkea-stats):
//! - every `add`/`set` pushes a new sample; `add` adds to the newest value;
//! - a statistic is limited either by count (keep the newest N samples) or by age (keep the
//!   samples within the duration of the newest one — the span is measured between samples,
//!   not against the current time, as Kea does); setting one limit disables the other;
//! - new statistics take the registry's default limit (count 20 unless configured otherwise);
//! - `reset` clears the history and records a single 0 sample;
//! - `remove` deletes a statistic; a later add or set creates it afresh, as in Kea.
//!
//! How it is built for the packet path (design.md "statistics (lock-free counters)"): the
//! name-keyed map is touched only by commands, `/metrics` and configuration changes. Engines
//! resolve [`Counter`] handles once per configuration, and the pipeline's statistics stage
//! counts through them ([`Tally`]). Counting takes no lock and allocates nothing: the value is
//! an atomic, and the history is a ring of preallocated slots, each a small seqlock (a stamp
//! that is odd while the slot is written), so readers skip a slot caught mid-write. The ring
//! is replaced whole (an `ArcSwap`) only by the control path: a new limit, a reset, a removal.
//!
//! What that costs in fidelity, stated: two threads adding to one statistic in the same
//! instant may list their two samples in either order; a sample pushed while a command
//! replaces the ring can be missing from the history (never from the value); and an age
//! limit keeps at most [`AGE_RING`] samples within its span, where Kea keeps every one.
//!
//! A removed statistic that handles still point at stays in the map, hidden: every read
//! treats it as absent, and the next add through any handle or by name brings it back with a
//! fresh history (Kea's remove-then-add). [`Stats::sweep`] drops hidden statistics nothing
//! points at any more.

use std::collections::BTreeMap;
use std::sync::atomic::{fence, AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use arc_swap::ArcSwap;

/// Kea's default number of samples kept per statistic (Kea ARM 8.9, `statistic-default-sample-count`).
pub const DEFAULT_MAX_SAMPLES: u32 = 20;

/// Most samples a count limit keeps (a larger limit keeps this many): the ring is allocated
/// when the limit is set, so a huge `statistic-sample-count-set-all` cannot exhaust memory.
pub const MAX_RING: usize = 1024;

/// Most samples an age limit keeps within its span (Kea ARM 8.9.1 `statistic-sample-age-set`).
pub const AGE_RING: usize = 256;

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

impl SampleLimit {
    fn normal(self) -> SampleLimit {
        match self {
            SampleLimit::Count(n) => SampleLimit::Count(n.max(1)),
            age => age,
        }
    }
}

/// One sample's place in the ring: a seqlock stamp (0: never written; odd: being written;
/// even: `2 * sequence + 2` of the sample it holds).
#[derive(Debug, Default)]
struct Slot {
    stamp: AtomicU64,
    value: AtomicI64,
    at_us: AtomicU64,
}

/// A statistic's sample history: a fixed ring written without locks.
#[derive(Debug)]
struct Ring {
    slots: Box<[Slot]>,
    next: AtomicU64,
    limit: SampleLimit,
}

impl Ring {
    /// A ring for `limit` holding `newest_first` (as many as fit).
    fn new(limit: SampleLimit, newest_first: &[Sample]) -> Ring {
        let limit = limit.normal();
        let cap = match limit {
            SampleLimit::Count(n) => (n as usize).min(MAX_RING),
            SampleLimit::Age(_) => AGE_RING,
        };
        let ring = Ring { slots: (0..cap).map(|_| Slot::default()).collect(), next: AtomicU64::new(0), limit };
        for s in newest_first.iter().take(cap).rev() {
            ring.push(s.value, s.at_us());
        }
        ring
    }

    fn push(&self, value: i64, at_us: u64) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let Some(slot) = self.slots.get((n % self.slots.len().max(1) as u64) as usize) else { return };
        slot.stamp.store(2 * n + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        slot.value.store(value, Ordering::Relaxed);
        slot.at_us.store(at_us, Ordering::Relaxed);
        slot.stamp.store(2 * n + 2, Ordering::Release);
    }

    /// The samples the limit keeps, newest first.
    fn samples(&self) -> Vec<Sample> {
        let mut got: Vec<(u64, Sample)> = Vec::with_capacity(self.slots.len());
        for slot in self.slots.iter() {
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == 0 || stamp % 2 == 1 {
                continue;
            }
            let (value, at) = (slot.value.load(Ordering::Relaxed), slot.at_us.load(Ordering::Relaxed));
            fence(Ordering::Acquire);
            // Rewritten meanwhile: the slot now holds a newer sample, read on the next look.
            if slot.stamp.load(Ordering::Relaxed) == stamp {
                got.push((stamp, Sample::new_us(value, at)));
            }
        }
        got.sort_unstable_by_key(|(seq, _)| std::cmp::Reverse(*seq));
        let mut out: Vec<Sample> = got.into_iter().map(|(_, s)| s).collect();
        if let SampleLimit::Age(secs) = self.limit {
            let newest = out.first().map_or(0, Sample::at_us);
            let max = secs.saturating_mul(1_000_000);
            let keep = out.iter().take_while(|s| newest.saturating_sub(s.at_us()) <= max).count();
            out.truncate(keep.max(1));
        }
        out
    }
}

/// The limits new statistics get; atomics so a revived statistic reads them without a lock.
#[derive(Debug)]
struct Defaults {
    /// Default count limit; 0 selects the age limit (Kea semantics).
    count: AtomicU32,
    /// Default age limit, seconds.
    age: AtomicU64,
}

impl Defaults {
    fn limit(&self) -> SampleLimit {
        match self.count.load(Ordering::Relaxed) {
            0 => SampleLimit::Age(self.age.load(Ordering::Relaxed)),
            n => SampleLimit::Count(n),
        }
    }
}

#[derive(Debug)]
struct Entry {
    value: AtomicI64,
    /// Removed (or never yet counted): invisible to every read until the next add or set.
    removed: AtomicBool,
    ring: ArcSwap<Ring>,
    /// Serialises the control path's edits (revive, reset, remove, limits); counting never
    /// takes it except to bring a removed statistic back.
    control: Mutex<()>,
    defaults: Arc<Defaults>,
}

impl Entry {
    fn new(defaults: Arc<Defaults>) -> Entry {
        Entry {
            value: AtomicI64::new(0),
            removed: AtomicBool::new(true),
            ring: ArcSwap::from_pointee(Ring::new(defaults.limit(), &[])),
            control: Mutex::new(()),
            defaults,
        }
    }

    fn control(&self) -> MutexGuard<'_, ()> {
        // The guard protects no data of its own.
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn removed(&self) -> bool {
        self.removed.load(Ordering::Acquire)
    }

    /// Brings a removed statistic back as a new one: value 0, empty history, the default
    /// limit; with `zero_at`, a first 0 sample. True when it was removed.
    fn revive(&self, zero_at: Option<u64>) -> bool {
        let _c = self.control();
        if !self.removed() {
            return false;
        }
        self.value.store(0, Ordering::Relaxed);
        let first: Vec<Sample> = zero_at.map(|at| Sample::new_us(0, at)).into_iter().collect();
        self.ring.store(Arc::new(Ring::new(self.defaults.limit(), &first)));
        self.removed.store(false, Ordering::Release);
        true
    }

    fn add(&self, delta: i64, at_us: u64) {
        if self.removed() {
            self.revive(None);
        }
        let old = self.value.fetch_add(delta, Ordering::Relaxed);
        self.ring.load().push(old.wrapping_add(delta), at_us);
    }

    fn set(&self, value: i64, at_us: u64) {
        if self.removed() {
            self.revive(None);
        }
        self.value.store(value, Ordering::Relaxed);
        self.ring.load().push(value, at_us);
    }

    /// Replaces the ring (control path); false when the statistic is removed.
    fn rebuild(&self, f: impl FnOnce(&Ring) -> Ring) -> bool {
        let _c = self.control();
        if self.removed() {
            return false;
        }
        let next = f(&self.ring.load());
        self.ring.store(Arc::new(next));
        true
    }

    fn set_limit(&self, limit: SampleLimit) -> bool {
        self.rebuild(|r| Ring::new(limit, &r.samples()))
    }

    fn reset(&self, at_us: u64) -> bool {
        self.rebuild(|r| {
            self.value.store(0, Ordering::Relaxed);
            Ring::new(r.limit, &[Sample::new_us(0, at_us)])
        })
    }

    /// Hides the statistic; true when it was visible.
    fn remove(&self) -> bool {
        let _c = self.control();
        let found = !self.removed.swap(true, Ordering::AcqRel);
        self.value.store(0, Ordering::Relaxed);
        let limit = self.ring.load().limit;
        self.ring.store(Arc::new(Ring::new(limit, &[])));
        found
    }

    /// The history when the statistic is visible.
    fn samples(&self) -> Option<Vec<Sample>> {
        (!self.removed()).then(|| self.ring.load().samples())
    }

    fn newest(&self) -> Option<Sample> {
        self.samples().and_then(|s| s.first().copied())
    }

    fn limit(&self) -> Option<SampleLimit> {
        (!self.removed()).then(|| self.ring.load().limit)
    }
}

/// A handle on one statistic, resolved by name once and then counted through without touching
/// the registry or any lock (Kea ARM 8.9 "Statistics"); cheap to clone.
#[derive(Debug, Clone)]
pub struct Counter(Arc<Entry>);

impl Counter {
    /// Adds `delta` as a new sample at `now` (Unix seconds), as Kea's StatsMgr::addValue
    /// (Kea ARM 8.9).
    pub fn add(&self, delta: i64, now: u64) {
        self.add_us(delta, now.saturating_mul(1_000_000));
    }

    /// [`Counter::add`] with a microsecond timestamp (Kea ARM 8.9 sample timestamps).
    pub fn add_us(&self, delta: i64, now_us: u64) {
        self.0.add(delta, now_us);
    }

    /// Sets `value` as a new sample at `now` (Unix seconds), as Kea's StatsMgr::setValue
    /// (Kea ARM 8.9).
    pub fn set(&self, value: i64, now: u64) {
        self.set_us(value, now.saturating_mul(1_000_000));
    }

    /// [`Counter::set`] with a microsecond timestamp (Kea ARM 8.9 sample timestamps).
    pub fn set_us(&self, value: i64, now_us: u64) {
        self.0.set(value, now_us);
    }

    /// The newest value; None while the statistic is removed (Kea ARM 8.9, `statistic-get`).
    pub fn value(&self) -> Option<i64> {
        (!self.0.removed()).then(|| self.0.value.load(Ordering::Relaxed))
    }

    fn same(&self, other: &Counter) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Statistic changes decided for one packet or one command, counted by the pipeline's
/// statistics stage once its fate is known (design.md "How a packet flows"): the engine
/// records into it and never counts itself, so a batch decided again after a conflicting
/// commit counts its packets once, and a change that never became durable counts nothing.
///
/// Up to [`Tally::INLINE`] distinct statistics are held without allocating; adds to a
/// statistic already held merge into one sample.
#[derive(Debug, Default)]
pub struct Tally {
    inline: [Option<Pending>; Tally::INLINE],
    more: Vec<Pending>,
}

#[derive(Debug)]
struct Pending {
    counter: Counter,
    delta: i64,
    /// Counted only when the lease changes it depends on are durable.
    leased: bool,
}

impl Tally {
    /// Statistics one tally holds without allocating.
    pub const INLINE: usize = 12;

    /// Counts `delta` whatever the packet's changes become: what was received, dropped or
    /// refused (Kea ARM 8.8 `pkt4-*` statistics).
    pub fn seen(&mut self, counter: &Counter, delta: i64) {
        self.record(counter, delta, false);
    }

    /// Counts `delta` only once the packet's lease changes are durable (cumulative
    /// assignments, reclamations, reuses; Kea counts them after the lease is stored).
    pub fn leased(&mut self, counter: &Counter, delta: i64) {
        self.record(counter, delta, true);
    }

    fn record(&mut self, counter: &Counter, delta: i64, leased: bool) {
        if delta == 0 {
            return;
        }
        let held = self.inline.iter_mut().flatten().chain(self.more.iter_mut());
        if let Some(p) = held.into_iter().find(|p| p.leased == leased && p.counter.same(counter)) {
            p.delta = p.delta.saturating_add(delta);
            return;
        }
        let p = Pending { counter: counter.clone(), delta, leased };
        match self.inline.iter_mut().find(|s| s.is_none()) {
            Some(free) => *free = Some(p),
            None => self.more.push(p),
        }
    }

    /// Moves what `other` holds into this tally.
    pub fn absorb(&mut self, mut other: Tally) {
        for p in other.inline.iter_mut().filter_map(Option::take).chain(std::mem::take(&mut other.more)) {
            self.record(&p.counter, p.delta, p.leased);
        }
    }

    /// The lease changes never became durable: forgets what depended on them.
    pub fn not_durable(&mut self) {
        for s in self.inline.iter_mut() {
            if s.as_ref().is_some_and(|p| p.leased) {
                *s = None;
            }
        }
        self.more.retain(|p| !p.leased);
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.inline.iter().all(Option::is_none) && self.more.is_empty()
    }

    /// The statistics stage: counts what is held as samples at `now_us` and empties the tally
    /// (Kea ARM 8.9).
    pub fn count(&mut self, now_us: u64) {
        for p in self.inline.iter_mut().filter_map(Option::take).chain(std::mem::take(&mut self.more)) {
            p.counter.add_us(p.delta, now_us);
        }
    }

    /// What is held for `counter` (tests and diagnostics).
    pub fn held(&self, counter: &Counter) -> i64 {
        let held = self.inline.iter().flatten().chain(self.more.iter());
        held.filter(|p| p.counter.same(counter)).map(|p| p.delta).sum()
    }
}

/// The statistics of one daemon, shared by every packet task (Kea ARM 8.9 "Statistics").
#[derive(Debug)]
pub struct Stats {
    map: RwLock<BTreeMap<Box<str>, Counter>>,
    defaults: Arc<Defaults>,
}

impl Default for Stats {
    fn default() -> Stats {
        let defaults = Defaults { count: AtomicU32::new(DEFAULT_MAX_SAMPLES), age: AtomicU64::new(0) };
        Stats { map: RwLock::new(BTreeMap::new()), defaults: Arc::new(defaults) }
    }
}

impl Stats {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<Box<str>, Counter>> {
        // A poisoned map still holds valid entries.
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<Box<str>, Counter>> {
        self.map.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The entry of `name`, created hidden (no sample yet) when unknown.
    fn entry(&self, name: &str) -> Counter {
        if let Some(c) = self.read().get(name) {
            return c.clone();
        }
        let mut map = self.write();
        // Only a new statistic allocates its key and ring.
        map.entry(name.into()).or_insert_with(|| Counter(Arc::new(Entry::new(self.defaults.clone())))).clone()
    }

    /// The handle of `name`, which exists from now on: created (or brought back after a
    /// removal) with a 0 sample at `now`, left as it is when it already exists, as Kea's
    /// start-up statistics (Kea ARM 8.8 / 9.13 "Statistics in the DHCPv4/DHCPv6 Server").
    pub fn counter(&self, name: &str, now: u64) -> Counter {
        let c = self.entry(name);
        c.0.revive(Some(now.saturating_mul(1_000_000)));
        c
    }

    /// The handle of `name` without creating the statistic: it appears at its first add or set,
    /// for the statistics Kea creates only when the event first happens (Kea ARM 8.9).
    pub fn lazy_counter(&self, name: &str) -> Counter {
        self.entry(name)
    }

    /// Adds `delta` to `name` (created at 0 when new) as a new sample at `now` (Unix seconds),
    /// as Kea's StatsMgr::addValue (Kea ARM 8.9).
    pub fn add(&self, name: &str, delta: i64, now: u64) {
        self.add_us(name, delta, now.saturating_mul(1_000_000));
    }

    /// [`Stats::add`] with a microsecond timestamp `now_us` (Kea ARM 8.9 sample timestamps).
    pub fn add_us(&self, name: &str, delta: i64, now_us: u64) {
        self.entry(name).add_us(delta, now_us);
    }

    /// Sets `name` to `value` as a new sample at `now` (Unix seconds), as Kea's
    /// StatsMgr::setValue (Kea ARM 8.9).
    pub fn set(&self, name: &str, value: i64, now: u64) {
        self.set_us(name, value, now.saturating_mul(1_000_000));
    }

    /// [`Stats::set`] with a microsecond timestamp `now_us` (Kea ARM 8.9 sample timestamps).
    pub fn set_us(&self, name: &str, value: i64, now_us: u64) {
        self.entry(name).set_us(value, now_us);
    }

    fn with_entry<R>(&self, name: &str, f: impl FnOnce(&Entry) -> Option<R>) -> Option<R> {
        self.read().get(name).and_then(|c| f(&c.0))
    }

    /// The newest sample of `name` (Kea ARM 8.9, `statistic-get`).
    pub fn get(&self, name: &str) -> Option<Sample> {
        self.with_entry(name, Entry::newest)
    }

    /// Every sample kept for `name`, newest first (Kea ARM 8.9, `statistic-get`).
    pub fn samples(&self, name: &str) -> Option<Vec<Sample>> {
        self.with_entry(name, Entry::samples)
    }

    /// Every statistic's newest sample, sorted by name (Kea ARM 8.9, `statistic-get-all`).
    pub fn all(&self) -> Vec<(String, Sample)> {
        let map = self.read();
        map.iter().filter_map(|(k, c)| c.0.newest().map(|s| (k.to_string(), s))).collect()
    }

    /// Every statistic with all its samples, newest first, sorted by name (Kea ARM 8.9,
    /// `statistic-get-all`).
    pub fn all_samples(&self) -> Vec<(String, Vec<Sample>)> {
        let map = self.read();
        map.iter().filter_map(|(k, c)| c.0.samples().map(|s| (k.to_string(), s))).collect()
    }

    /// The number of statistics (Kea ARM 8.9).
    pub fn len(&self) -> usize {
        self.read().values().filter(|c| !c.0.removed()).count()
    }

    /// Whether no statistic exists (Kea ARM 8.9).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Clears `name`'s history and records 0 at `now`; false when unknown (Kea ARM 8.9,
    /// `statistic-reset`).
    pub fn reset(&self, name: &str, now: u64) -> bool {
        let at = now.saturating_mul(1_000_000);
        self.with_entry(name, |e| e.reset(at).then_some(())).is_some()
    }

    /// [`Stats::reset`] for every statistic (Kea ARM 8.9, `statistic-reset-all`).
    pub fn reset_all(&self, now: u64) {
        let at = now.saturating_mul(1_000_000);
        self.read().values().for_each(|c| {
            c.0.reset(at);
        });
    }

    /// Deletes `name`; false when unknown (Kea ARM 8.9, `statistic-remove`).
    pub fn remove(&self, name: &str) -> bool {
        let mut map = self.write();
        let Some(c) = map.get(name) else { return false };
        let found = c.0.remove();
        // Only the map holds it (the map lock keeps anyone from taking a new handle).
        if Arc::strong_count(&c.0) == 1 {
            map.remove(name);
        }
        found
    }

    /// Deletes every statistic (Kea ARM 8.9, `statistic-remove-all`).
    pub fn remove_all(&self) {
        self.write().retain(|_, c| {
            c.0.remove();
            Arc::strong_count(&c.0) > 1
        });
    }

    /// Forgets removed statistics that no handle points at any more, e.g. those of the subnets
    /// an older configuration had, once its engine is gone (Kea ARM 8.9).
    pub fn sweep(&self) {
        self.write().retain(|_, c| Arc::strong_count(&c.0) > 1 || !c.0.removed());
    }

    /// The limit bounding `name`'s history (Kea ARM 8.9.1).
    pub fn limit(&self, name: &str) -> Option<SampleLimit> {
        self.with_entry(name, Entry::limit)
    }

    /// The limit new statistics get (Kea ARM 8.9.1, `statistic-default-sample-count` / `-age`).
    pub fn default_limit(&self) -> SampleLimit {
        self.defaults.limit()
    }

    /// Limits `name` to `max` samples (0 is taken as 1), disabling its age limit and dropping
    /// older samples now; false when unknown (Kea ARM 8.9.1, `statistic-sample-count-set`).
    pub fn set_max_samples(&self, name: &str, max: u32) -> bool {
        self.with_entry(name, |e| e.set_limit(SampleLimit::Count(max)).then_some(())).is_some()
    }

    /// Limits `name` to samples spanning `secs` seconds, disabling its count limit and dropping
    /// older samples now; false when unknown (Kea ARM 8.9.1, `statistic-sample-age-set`).
    pub fn set_max_age(&self, name: &str, secs: u64) -> bool {
        self.with_entry(name, |e| e.set_limit(SampleLimit::Age(secs)).then_some(())).is_some()
    }

    fn set_all(&self, count: u32, age: u64) {
        self.defaults.age.store(age, Ordering::Relaxed);
        self.defaults.count.store(count, Ordering::Relaxed);
        let limit = self.defaults.limit();
        // A removed statistic takes the default limit when it comes back.
        self.read().values().for_each(|c| {
            c.0.set_limit(limit);
        });
    }
    /// Count limit `max` (0 is taken as 1) for every statistic and as the default for new ones,
    /// as Kea's `statistic-sample-count-set-all` handler (Kea ARM 8.9.1).
    pub fn set_max_samples_all(&self, max: u32) {
        let age = self.defaults.age.load(Ordering::Relaxed);
        self.set_all(max.max(1), age);
    }

    /// Age limit `secs` for every statistic and as the default for new ones (disabling the
    /// default count limit), as Kea's `statistic-sample-age-set-all` handler (Kea ARM 8.9.1).
    pub fn set_max_age_all(&self, secs: u64) {
        self.set_all(0, secs);
    }

    /// Applies `statistic-default-sample-count` (`count`, 0 = use the age limit) and
    /// `statistic-default-sample-age` (`age`, seconds) from the configuration: both become the
    /// defaults, and the active one is applied to every existing statistic, as Kea's
    /// SrvConfig::updateStatistics (Kea ARM 8.9.1).
    pub fn set_default_limits(&self, count: u32, age: u64) {
        self.set_all(count, age);
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

    #[test]
    fn concurrent_adds_through_handles_sum_up() {
        let s = Arc::new(Stats::default());
        let c = s.counter("pkt4-received", 1);
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let c = c.clone();
                let by_name = s.clone();
                std::thread::spawn(move || {
                    for i in 0..10_000u64 {
                        // Handles and name-based adds land on the same statistic.
                        if i % 100 == 0 {
                            by_name.add("pkt4-received", 1, 2);
                        } else {
                            c.add(1, 2);
                        }
                    }
                    t
                })
            })
            .collect();
        for t in threads {
            assert!(t.join().is_ok());
        }
        assert_eq!(s.get("pkt4-received").map(|x| x.value), Some(40_000));
        assert_eq!(c.value(), Some(40_000));
        // The history is still bounded by the default count and holds the last values
        // counted (two threads' samples of one instant may be listed in either order).
        let mut v = values(&s, "pkt4-received");
        assert_eq!(v.len(), DEFAULT_MAX_SAMPLES as usize);
        v.sort_unstable();
        v.dedup();
        assert_eq!(v.len(), DEFAULT_MAX_SAMPLES as usize, "{v:?}");
        assert_eq!(v.last(), Some(&40_000));
        assert!(v[0] > 40_000 - 200, "{v:?}");
    }

    #[test]
    fn readers_never_see_a_torn_sample_while_threads_count() {
        // Each writer sets value == timestamp, so a sample mixing two writes would show.
        let s = Arc::new(Stats::default());
        let c = s.counter("x", 0);
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..2u64)
            .map(|t| {
                let (c, stop) = (c.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut i = t;
                    while !stop.load(Ordering::Relaxed) && i < 2_000_000 {
                        c.set_us(i as i64, i);
                        i += 2;
                    }
                })
            })
            .collect();
        for _ in 0..2_000 {
            for smp in s.samples("x").unwrap() {
                assert_eq!(smp.value as u64, smp.at_us(), "{smp:?}");
            }
        }
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            assert!(w.join().is_ok());
        }
    }

    #[test]
    fn a_tally_counts_once_and_only_what_its_fate_allows() {
        let s = Stats::default();
        let (rx, assigned) = (s.counter("pkt4-received", 1), s.counter("cumulative-assigned-addresses", 1));
        let mut t = Tally::default();
        t.seen(&rx, 1);
        t.leased(&assigned, 1);
        t.seen(&rx, 1);
        t.seen(&rx, 0);
        // Nothing is counted until the statistics stage runs.
        assert_eq!(rx.value(), Some(0));
        assert_eq!(t.held(&rx), 2);
        let mut failed = Tally::default();
        failed.seen(&rx, 1);
        failed.leased(&assigned, 5);
        failed.not_durable();
        t.absorb(failed);
        t.count(2_000_000);
        assert!(t.is_empty());
        assert_eq!(rx.value(), Some(3));
        assert_eq!(assigned.value(), Some(1));
        // Merged adds are one sample each.
        assert_eq!(values(&s, "pkt4-received"), vec![3, 0]);
        // Beyond the inline slots it still counts everything.
        let many: Vec<Counter> = (0..Tally::INLINE + 5).map(|i| s.counter(&format!("c{i}"), 1)).collect();
        let mut t = Tally::default();
        for c in &many {
            t.seen(c, 2);
        }
        t.count(3_000_000);
        assert!(many.iter().all(|c| c.value() == Some(2)));
    }

    #[test]
    fn counter_creates_with_a_zero_sample_once() {
        let s = Stats::default();
        let c = s.counter("pkt4-sent", 5);
        assert_eq!(s.samples("pkt4-sent").unwrap(), vec![Sample { value: 0, at: 5, micros: 0 }]);
        c.add(2, 6);
        // Resolving it again (a reconfiguration) keeps the value and the history.
        let again = s.counter("pkt4-sent", 7);
        assert_eq!(values(&s, "pkt4-sent"), vec![2, 0]);
        again.add(1, 8);
        assert_eq!(c.value(), Some(3));
    }

    #[test]
    fn lazy_counter_appears_at_first_add() {
        let s = Stats::default();
        let c = s.lazy_counter("subnet[1].v4-allocation-fail");
        assert_eq!(s.get("subnet[1].v4-allocation-fail"), None);
        assert!(s.all().is_empty());
        assert!(s.is_empty());
        assert_eq!(c.value(), None);
        assert!(!s.reset("subnet[1].v4-allocation-fail", 1));
        assert!(!s.remove("subnet[1].v4-allocation-fail"));
        c.add(1, 3);
        assert_eq!(s.samples("subnet[1].v4-allocation-fail").unwrap(), vec![Sample { value: 1, at: 3, micros: 0 }]);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn handle_limits_reset_and_remove_behave_as_by_name() {
        let s = Stats::default();
        let c = s.counter("x", 0);
        for t in 1..10 {
            c.set(t, t as u64);
        }
        assert!(s.set_max_samples("x", 3));
        c.add(1, 10);
        assert_eq!(values(&s, "x"), vec![10, 9, 8]);
        assert!(s.set_max_age("x", 1));
        c.add(1, 11);
        assert_eq!(values(&s, "x"), vec![11, 10]);
        assert!(s.reset("x", 12));
        assert_eq!(s.samples("x").unwrap(), vec![Sample { value: 0, at: 12, micros: 0 }]);
        c.add(4, 13);
        assert_eq!(s.get("x").map(|x| x.value), Some(4));

        // Removed while a handle holds it: gone for every read, back afresh at the next add
        // with the default limit, as Kea's remove-then-add.
        assert!(s.remove("x"));
        assert_eq!(s.get("x"), None);
        assert_eq!(s.samples("x"), None);
        assert_eq!(s.limit("x"), None);
        assert!(!s.set_max_samples("x", 2));
        assert!(s.all_samples().is_empty());
        assert!(!s.remove("x"));
        c.add(2, 14);
        assert_eq!(s.samples("x").unwrap(), vec![Sample { value: 2, at: 14, micros: 0 }]);
        assert_eq!(s.limit("x"), Some(SampleLimit::Count(DEFAULT_MAX_SAMPLES)));

        // remove-all hides it too; by name it comes back as well.
        s.remove_all();
        assert!(s.is_empty());
        s.add("x", 5, 15);
        assert_eq!(c.value(), Some(5));
    }

    #[test]
    fn sweep_forgets_removed_statistics_without_handles() {
        let s = Stats::default();
        let c = s.counter("subnet[9].total-addresses", 1);
        s.set("plain", 1, 1);
        assert!(s.remove("subnet[9].total-addresses"));
        assert!(s.remove("plain"));
        // Only the handle keeps the hidden entry; dropping it lets sweep forget it.
        assert_eq!(s.read().len(), 1);
        s.sweep();
        assert_eq!(s.read().len(), 1);
        drop(c);
        s.sweep();
        assert_eq!(s.read().len(), 0);
    }
}
