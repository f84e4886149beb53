//! Per-pool free-address structures shared by the DHCPv4 and DHCPv6 allocators (Kea ARM
//! 8.2.7 and 9.2.10 "Allocators"; design.md "allocators over per-pool free structures").
//!
//! A pool is a range of offsets `0..len` (addresses for v4 and IA_NA pools, delegated prefixes
//! for pd-pools). Each pool keeps a bitmap with one bit per offset, set while the offset is
//! occupied: a lease in state default or declined, or an offer hold. A second level has one
//! bit per bitmap word, set when the word is full, so finding the next clear bit touches a
//! bounded number of words whatever the utilisation: at most `len / 4096 + 2` (18 for a /16).
//!
//! Time does not clear bits: a lease that expired but is not reclaimed yet, or an offer that
//! lapsed, stays marked. Those are found by a bounded sweep when no clear bit is usable, and
//! reclamation and the offer purge clear them for good.
//!
//! Pools larger than [`BITMAP_MAX`] offsets (v6 pools, mostly) cannot be 95% full in practice
//! and keep no bitmap: they are probed from the cursor, at most [`SPARSE_PROBES`] offsets per
//! allocation.

use std::collections::BTreeSet;

/// Largest pool (in offsets) that gets a bitmap: 2^24, 2 MiB of bits, any IPv4 pool up to a /8.
pub const BITMAP_MAX: u128 = 1 << 24;

/// Candidates a pool without a bitmap looks at per allocation.
pub const SPARSE_PROBES: u32 = 256;

/// Marked offsets the expiry sweep looks at per allocation when no clear bit is usable.
pub const SWEEP_LIMIT: u32 = 128;

/// Clear offsets skipped (reserved for another host) before the fast path gives up.
const SKIP_LIMIT: u32 = 64;

/// Holds looked at when the oldest one is given up to another client.
const STEAL_LIMIT: usize = 16;

/// Which picking strategy runs over the free structure (Kea ARM 8.2.7 `allocator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Next free offset from the pool's cursor.
    Iterative,
    /// Next free offset from a random start.
    Random(u64),
}

/// One pool's occupancy bitmap and its full-word summary.
#[derive(Debug)]
struct Bits {
    words: Vec<u64>,
    full: Vec<u64>,
}

impl Bits {
    fn new(len: usize) -> Bits {
        let nw = len.div_ceil(64).max(1);
        let mut b = Bits { words: vec![0; nw], full: vec![0; nw.div_ceil(64)] };
        // Offsets past the end look occupied, so a search never returns them.
        for i in len..nw * 64 {
            b.words[i / 64] |= 1 << (i % 64);
        }
        for w in 0..nw {
            b.sync_full(w);
        }
        // Summary bits of words that do not exist look full too.
        for w in nw..b.full.len() * 64 {
            b.full[w / 64] |= 1 << (w % 64);
        }
        b
    }

    fn sync_full(&mut self, w: usize) {
        if self.words[w] == u64::MAX {
            self.full[w / 64] |= 1 << (w % 64);
        } else {
            self.full[w / 64] &= !(1 << (w % 64));
        }
    }

    fn get(&self, i: usize) -> bool {
        self.words.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn put(&mut self, i: usize, on: bool) {
        let w = i / 64;
        let Some(word) = self.words.get_mut(w) else { return };
        if on {
            *word |= 1 << (i % 64);
        } else {
            *word &= !(1 << (i % 64));
        }
        self.sync_full(w);
    }

    /// The first clear offset at or after `from`, counting the words read in `touched`.
    fn clear_from(&self, from: usize, touched: &mut u32) -> Option<usize> {
        let w = from / 64;
        let word = *self.words.get(w)?;
        *touched += 1;
        let m = !word & (u64::MAX << (from % 64));
        if m != 0 {
            return Some(w * 64 + m.trailing_zeros() as usize);
        }
        let next = w + 1;
        let (mut s, mut mask) = (next / 64, u64::MAX << (next % 64));
        while let Some(sum) = self.full.get(s) {
            *touched += 1;
            let nf = !sum & mask;
            if nf != 0 {
                let w2 = s * 64 + nf.trailing_zeros() as usize;
                *touched += 1;
                let m = !self.words[w2];
                return Some(w2 * 64 + m.trailing_zeros() as usize);
            }
            s += 1;
            mask = u64::MAX;
        }
        None
    }

    /// The first clear offset at or after `from`, wrapping to the start once.
    fn clear_wrapping(&self, from: usize, touched: &mut u32) -> Option<usize> {
        self.clear_from(from, touched).or_else(|| self.clear_from(0, touched))
    }
}

/// The free structure of one pool: occupancy bitmap (when small enough), cursors and the
/// offer holds in the order they lapse.
#[derive(Debug)]
pub struct PoolSpace {
    len: u128,
    bits: Option<Bits>,
    cursor: u128,
    sweep: u128,
    /// (lapse time, offset) of every offer hold in this pool, oldest first.
    holds: BTreeSet<(u64, u128)>,
    /// Words (or, without a bitmap, candidates) the last search read: what an allocation
    /// cost, for tests and debugging.
    last_cost: u32,
}

impl PoolSpace {
    /// A pool of `len` offsets, all free.
    pub fn new(len: u128) -> PoolSpace {
        let bits = (len <= BITMAP_MAX).then(|| Bits::new(len as usize));
        PoolSpace { len, bits, cursor: 0, sweep: 0, holds: BTreeSet::new(), last_cost: 0 }
    }

    /// Number of offsets.
    pub fn len(&self) -> u128 {
        self.len
    }

    /// True for a pool without offsets.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Marks `off` occupied or free (a no-op for pools without a bitmap).
    pub fn mark(&mut self, off: u128, occupied: bool) {
        if let Some(b) = self.bits.as_mut().filter(|_| off < self.len) {
            b.put(off as usize, occupied);
        }
    }

    /// True when `off` is marked occupied (pools without a bitmap: never).
    pub fn is_marked(&self, off: u128) -> bool {
        self.bits.as_ref().is_some_and(|b| off < self.len && b.get(off as usize))
    }

    /// Records an offer hold on `off` lapsing at `until`.
    pub fn add_hold(&mut self, off: u128, until: u64) {
        self.holds.insert((until, off));
    }

    /// Forgets the offer hold on `off` that lapsed at `until`.
    pub fn remove_hold(&mut self, off: u128, until: u64) {
        self.holds.remove(&(until, off));
    }

    /// The oldest holds (up to a few), oldest first, for giving one up to another client.
    pub fn oldest_holds(&self) -> impl Iterator<Item = (u64, u128)> + '_ {
        self.holds.iter().copied().take(STEAL_LIMIT)
    }

    /// What the last [`PoolSpace::find`] read: bitmap words, or candidates without a bitmap.
    pub fn last_cost(&self) -> u32 {
        self.last_cost
    }

    /// Finds an offset `usable` accepts: the next clear bit from the cursor (or a random
    /// start), then a bounded sweep over marked offsets whose lease or hold may have lapsed.
    /// The cost is bounded whatever the pool size and utilisation.
    pub fn find(&mut self, how: Strategy, usable: &mut dyn FnMut(u128) -> bool) -> Option<u128> {
        self.last_cost = 0;
        if self.len == 0 {
            return None;
        }
        let start = match how {
            Strategy::Iterative => self.cursor % self.len,
            Strategy::Random(r) => u128::from(r) % self.len,
        };
        let Some(bits) = self.bits.as_ref() else {
            // No bitmap: probe a bounded run of candidates and continue there next time.
            let mut off = start;
            for _ in 0..SPARSE_PROBES {
                self.last_cost += 1;
                let next = if off + 1 >= self.len { 0 } else { off + 1 };
                if usable(off) {
                    if how == Strategy::Iterative {
                        self.cursor = next;
                    }
                    return Some(off);
                }
                off = next;
            }
            if how == Strategy::Iterative {
                self.cursor = off;
            }
            return None;
        };
        let mut touched = 0u32;
        let mut from = start as usize;
        let mut found = None;
        for _ in 0..SKIP_LIMIT {
            let Some(off) = bits.clear_wrapping(from, &mut touched) else { break };
            if usable(off as u128) {
                found = Some(off as u128);
                break;
            }
            from = if off as u128 + 1 >= self.len { 0 } else { off + 1 };
        }
        if found.is_none() {
            // Every clear offset is taken or excluded: look for a lapsed lease or hold among
            // the marked ones, resuming where the last sweep stopped.
            let mut off = self.sweep % self.len;
            for _ in 0..SWEEP_LIMIT {
                let next = if off + 1 >= self.len { 0 } else { off + 1 };
                if bits.get(off as usize) && usable(off) {
                    found = Some(off);
                    self.sweep = next;
                    break;
                }
                off = next;
            }
            if found.is_none() {
                self.sweep = off;
            }
            touched += SWEEP_LIMIT.div_ceil(64);
        }
        self.last_cost = touched;
        if let (Some(off), Strategy::Iterative) = (found, how) {
            self.cursor = if off + 1 >= self.len { 0 } else { off + 1 };
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_bits_are_found_across_full_words_and_wrap() {
        let mut p = PoolSpace::new(200);
        for i in 0..200 {
            p.mark(i, i != 150 && i != 3);
        }
        assert_eq!(p.find(Strategy::Iterative, &mut |_| true), Some(3));
        assert_eq!(p.find(Strategy::Iterative, &mut |_| true), Some(150));
        // Wraps back to 3: nothing marks it, the caller does on hold.
        assert_eq!(p.find(Strategy::Iterative, &mut |_| true), Some(3));
        p.mark(3, true);
        p.mark(150, true);
        // All marked: the sweep offers a marked offset the caller finds lapsed.
        assert_eq!(p.find(Strategy::Iterative, &mut |o| o == 7), Some(7));
        assert_eq!(p.find(Strategy::Iterative, &mut |_| false), None);
    }

    #[test]
    fn pool_of_one_and_empty_pool() {
        let mut p = PoolSpace::new(1);
        assert_eq!(p.find(Strategy::Random(99), &mut |_| true), Some(0));
        p.mark(0, true);
        assert_eq!(p.find(Strategy::Random(99), &mut |_| false), None);
        let mut e = PoolSpace::new(0);
        assert_eq!(e.find(Strategy::Iterative, &mut |_| true), None);
    }

    #[test]
    fn sparse_pool_probes_a_bounded_run() {
        let mut p = PoolSpace::new(1 << 64);
        let mut seen = 0;
        assert_eq!(
            p.find(Strategy::Iterative, &mut |_| {
                seen += 1;
                false
            }),
            None
        );
        assert_eq!(seen, SPARSE_PROBES);
        assert_eq!(p.find(Strategy::Iterative, &mut |o| o == 300), Some(300), "resumes where it stopped");
    }
}
