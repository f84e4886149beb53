//! Kea's statistics registry (Kea ARM 8.9 "Statistics"): named integer counters such as
//! `pkt4-received` and `subnet[1].assigned-addresses`, each with the time it last changed.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// One statistic's current value and when it was last set (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Current value.
    pub value: i64,
    /// Unix time of the last change.
    pub at: u64,
}

/// The statistics of one daemon, shared by every packet task.
#[derive(Debug, Default)]
pub struct Stats {
    inner: Mutex<BTreeMap<String, Sample>>,
}

impl Stats {
    fn with<R>(&self, f: impl FnOnce(&mut BTreeMap<String, Sample>) -> R) -> R {
        // A poisoned registry still holds valid counters.
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    /// Adds `delta` to `name` (created at 0 when new), as Kea's StatsMgr::addValue.
    pub fn add(&self, name: &str, delta: i64, now: u64) {
        self.with(|m| match m.get_mut(name) {
            Some(s) => {
                s.value += delta;
                s.at = now;
            }
            None => {
                m.insert(name.to_string(), Sample { value: delta, at: now });
            }
        });
    }

    /// Sets `name` to `value`, as Kea's StatsMgr::setValue.
    pub fn set(&self, name: &str, value: i64, now: u64) {
        self.with(|m| {
            m.insert(name.to_string(), Sample { value, at: now });
        });
    }

    /// The current sample of `name`.
    pub fn get(&self, name: &str) -> Option<Sample> {
        self.with(|m| m.get(name).copied())
    }

    /// Every statistic, sorted by name.
    pub fn all(&self) -> Vec<(String, Sample)> {
        self.with(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_set() {
        let s = Stats::default();
        s.add("pkt4-received", 1, 10);
        s.add("pkt4-received", 2, 11);
        s.set("subnet[1].total-addresses", 256, 12);
        assert_eq!(s.get("pkt4-received"), Some(Sample { value: 3, at: 11 }));
        assert_eq!(s.get("subnet[1].total-addresses").unwrap().value, 256);
        assert_eq!(s.all().len(), 2);
    }
}
