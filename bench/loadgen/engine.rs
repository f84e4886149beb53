//! The exchange engine: a fixed array of simulated clients, a fixed ring of outgoing
//! messages, batched sends and receives on one non-blocking socket, a fixed-rate (or
//! fixed-window) start schedule, a timeout queue and latency histograms. One thread; the
//! hot path (start, send, receive, match, answer, expire) allocates nothing.

use std::collections::VecDeque;
use std::time::Instant;

use socket2::{SockAddr, Socket};

use crate::hist::Histogram;
use crate::net::{self, RxRing, BATCH};

/// What a reply is: the step it answers (1: OFFER/ADVERTISE, 2: ACK/NAK/REPLY), its
/// transaction id, and whether it grants what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// The transaction id as received.
    pub xid: u32,
    /// 1 or 2.
    pub step: u8,
    /// False for a NAK, or a reply without the address (and prefix) asked for.
    pub ok: bool,
}

/// One protocol's two-step exchange.
pub trait Proto {
    /// Transaction-id bits naming the client.
    fn idx_bits(&self) -> u32;
    /// Transaction-id bits above those, counting the client's exchanges (stale replies
    /// carry an old count).
    fn gen_bits(&self) -> u32;
    /// The second step's transaction id.
    fn second_xid(&self, first: u32) -> u32;
    /// Writes the first message of `client`'s exchange into `out`; its length.
    fn first(&self, client: u32, xid: u32, out: &mut [u8]) -> usize;
    /// Reads a received datagram; None when it is no reply of ours.
    fn classify(&self, pkt: &[u8]) -> Option<Reply>;
    /// True when the reply names `client` (chaddr, client DUID).
    fn is_for(&self, client: u32, pkt: &[u8]) -> bool;
    /// Writes the second message from the first reply; 0 when the reply lacks what it needs.
    fn second(&self, client: u32, xid: u32, reply: &[u8], out: &mut [u8]) -> usize;
}

const IDLE: u8 = 0;

#[derive(Clone, Copy, Default)]
struct Slot {
    /// The first step's transaction id of the current (or last) exchange.
    xid: u32,
    /// IDLE, or the step whose reply is awaited.
    state: u8,
    /// When the first and the second message were queued, ns since the engine started.
    t0: u64,
    t1: u64,
}

/// Counts of one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    /// Exchanges started (first messages sent).
    pub sent: u64,
    /// Second messages sent (first step answered with an offer).
    pub second_sent: u64,
    /// Exchanges whose second reply granted the lease(s).
    pub completed: u64,
    /// Exchanges answered with a refusal (NAK, no address or prefix in the reply).
    pub rejected: u64,
    /// First steps unanswered within the timeout.
    pub drops_first: u64,
    /// Second steps unanswered within the timeout.
    pub drops_second: u64,
    /// Replies matching no waiting exchange (late after a timeout, duplicated, foreign).
    pub unmatched: u64,
    /// Datagrams that were not replies of this protocol.
    pub invalid: u64,
    /// Messages the kernel refused to send (the exchange then times out).
    pub send_errors: u64,
    /// Starts postponed because every simulated client was busy.
    pub clients_busy: u64,
}

/// Latencies in microseconds.
pub struct Latencies {
    /// First message to second reply.
    pub exchange: Histogram,
    /// First message to first reply.
    pub first: Histogram,
    /// Second message to second reply.
    pub second: Histogram,
}

/// The outcome of one run at one rate.
pub struct RunResult {
    /// Offered exchanges per second (0: as fast as the window allows).
    pub rate: u64,
    /// Seconds of load.
    pub duration: f64,
    /// Counts.
    pub counters: Counters,
    /// Latencies.
    pub latency: Latencies,
}

impl RunResult {
    /// Completed exchanges per second of load.
    pub fn achieved(&self) -> f64 {
        self.counters.completed as f64 / self.duration
    }

    /// Exchanges started but not completed (dropped or refused), as a fraction of started.
    pub fn loss(&self) -> f64 {
        let c = &self.counters;
        if c.sent == 0 {
            return 1.0;
        }
        (c.sent - c.completed) as f64 / c.sent as f64
    }
}

const FRAME: usize = 1536;
const FRAMES: usize = 4096;

/// A fixed ring of outgoing datagrams.
struct TxQueue {
    buf: Vec<u8>,
    lens: Vec<usize>,
    head: usize,
    len: usize,
}

impl TxQueue {
    fn new() -> TxQueue {
        TxQueue { buf: vec![0; FRAME * FRAMES], lens: vec![0; FRAMES], head: 0, len: 0 }
    }

    fn free(&self) -> usize {
        FRAMES - self.len
    }

    /// Writes one datagram with `f` (returning its length; 0 writes nothing). False when full.
    fn push(&mut self, f: impl FnOnce(&mut [u8]) -> usize) -> Option<usize> {
        if self.len == FRAMES {
            return None;
        }
        let i = (self.head + self.len) % FRAMES;
        let n = f(&mut self.buf[i * FRAME..(i + 1) * FRAME]);
        if n > 0 {
            self.lens[i] = n;
            self.len += 1;
        }
        Some(n)
    }

    /// Sends what the socket takes; the number of datagrams the kernel refused outright.
    fn flush(&mut self, sock: &Socket, dest: Option<&SockAddr>) -> u64 {
        let mut refused = 0;
        while self.len > 0 {
            let run = self.len.min(FRAMES - self.head).min(BATCH);
            let mut msgs: [&[u8]; BATCH] = [&[]; BATCH];
            for (k, m) in msgs.iter_mut().enumerate().take(run) {
                let i = self.head + k;
                *m = &self.buf[i * FRAME..i * FRAME + self.lens[i]];
            }
            let sent = match net::send_batch(sock, &msgs[..run], dest) {
                Ok(0) => return refused,
                Ok(n) => n,
                // ECONNREFUSED (no server yet) and the like: this datagram is lost.
                Err(_) => {
                    refused += 1;
                    1
                }
            };
            self.head = (self.head + sent) % FRAMES;
            self.len -= sent;
        }
        refused
    }
}

/// The generator: clients, socket, queues, counters.
pub struct Engine<P: Proto> {
    proto: P,
    sock: Socket,
    dest: Option<SockAddr>,
    slots: Vec<Slot>,
    cursor: u32,
    outstanding: usize,
    tx: TxQueue,
    rx: RxRing,
    timeouts: VecDeque<(u32, u32, u8, u64)>,
    timeout_ns: u64,
    tick_ns: u64,
    base: Instant,
    c: Counters,
    lat: Latencies,
}

impl<P: Proto> Engine<P> {
    /// `clients` simulated clients (capped by the transaction-id layout), replies awaited
    /// `timeout_ms`; datagrams go to `dest`, or to the connected peer when None.
    pub fn new(proto: P, sock: Socket, dest: Option<SockAddr>, clients: u32, timeout_ms: u64) -> Engine<P> {
        let clients = clients.clamp(1, 1 << proto.idx_bits());
        Engine {
            proto,
            sock,
            dest,
            slots: vec![Slot::default(); clients as usize],
            cursor: 0,
            outstanding: 0,
            tx: TxQueue::new(),
            rx: RxRing::new(),
            timeouts: VecDeque::with_capacity(1 << 18),
            timeout_ns: timeout_ms.max(1) * 1_000_000,
            tick_ns: 0,
            base: kakapo::clock::monotonic_now(),
            c: Counters::default(),
            lat: Latencies { exchange: Histogram::new(), first: Histogram::new(), second: Histogram::new() },
        }
    }

    /// Lets starts due within `us` microseconds wait and leave in one batch.
    pub fn set_tick(&mut self, us: u64) {
        self.tick_ns = us.min(100_000) * 1000;
    }

    /// Number of simulated clients.
    pub fn clients(&self) -> u32 {
        self.slots.len() as u32
    }

    fn now(&self) -> u64 {
        kakapo::clock::monotonic_now().duration_since(self.base).as_nanos() as u64
    }

    /// Starts the next idle client's exchange; false when the next 64 are all busy.
    fn start_one(&mut self, now: u64) -> bool {
        let n = self.slots.len() as u32;
        let (bits, gmask) = (self.proto.idx_bits(), (1u32 << self.proto.gen_bits()) - 1);
        for _ in 0..64.min(n) {
            let idx = self.cursor;
            self.cursor = (self.cursor + 1) % n;
            let slot = self.slots[idx as usize];
            if slot.state != IDLE {
                continue;
            }
            let gen = ((slot.xid >> bits) + 1) & gmask;
            let xid = (gen << bits) | idx;
            let proto = &self.proto;
            if self.tx.push(|out| proto.first(idx, xid, out)).is_none() {
                return false;
            }
            self.slots[idx as usize] = Slot { xid, state: 1, t0: now, t1: 0 };
            self.timeouts.push_back((idx, xid, 1, now + self.timeout_ns));
            self.outstanding += 1;
            self.c.sent += 1;
            return true;
        }
        false
    }

    fn finish(&mut self, idx: u32) {
        self.slots[idx as usize].state = IDLE;
        self.outstanding -= 1;
    }

    fn expire(&mut self, now: u64) {
        while let Some(&(idx, xid, step, deadline)) = self.timeouts.front() {
            if deadline > now {
                break;
            }
            self.timeouts.pop_front();
            let s = self.slots[idx as usize];
            if s.state == step && s.xid == xid {
                if step == 1 {
                    self.c.drops_first += 1;
                } else {
                    self.c.drops_second += 1;
                }
                self.finish(idx);
            }
        }
    }

    /// Reads what has arrived (bounded), answering first replies; true when anything came.
    fn receive(&mut self) -> bool {
        let mut any = false;
        for _ in 0..16 {
            // An error (ECONNREFUSED from an ICMP port unreachable) means nothing to read.
            let n = net::recv_batch(&self.sock, &mut self.rx).unwrap_or_default();
            if n == 0 {
                break;
            }
            any = true;
            let now = self.now();
            for i in 0..n {
                self.on_datagram(i, now);
            }
            self.c.send_errors += self.tx.flush(&self.sock, self.dest.as_ref());
            if n < BATCH {
                break;
            }
        }
        any
    }

    fn on_datagram(&mut self, i: usize, now: u64) {
        let pkt = self.rx.get(i);
        let Some(r) = self.proto.classify(pkt) else {
            self.c.invalid += 1;
            return;
        };
        let idx = r.xid & ((1 << self.proto.idx_bits()) - 1);
        let Some(&s) = self.slots.get(idx as usize) else {
            self.c.unmatched += 1;
            return;
        };
        let expected = if r.step == 1 { s.xid } else { self.proto.second_xid(s.xid) };
        if s.state != r.step || r.xid != expected || !self.proto.is_for(idx, pkt) {
            self.c.unmatched += 1;
            return;
        }
        if r.step == 2 {
            self.lat.second.record((now - s.t1) / 1000);
            self.lat.exchange.record((now - s.t0) / 1000);
            if r.ok {
                self.c.completed += 1;
            } else {
                self.c.rejected += 1;
            }
            self.finish(idx);
            return;
        }
        self.lat.first.record((now - s.t0) / 1000);
        if !r.ok {
            self.c.rejected += 1;
            self.finish(idx);
            return;
        }
        let xid2 = self.proto.second_xid(s.xid);
        let (proto, pkt) = (&self.proto, self.rx.get(i));
        match self.tx.push(|out| proto.second(idx, xid2, pkt, out)) {
            Some(n) if n > 0 => {
                let slot = &mut self.slots[idx as usize];
                slot.state = 2;
                slot.t1 = now;
                self.timeouts.push_back((idx, s.xid, 2, now + self.timeout_ns));
                self.c.second_sent += 1;
            }
            Some(_) => {
                self.c.rejected += 1;
                self.finish(idx);
            }
            None => {
                self.c.send_errors += 1;
                self.c.drops_second += 1;
                self.finish(idx);
            }
        }
    }

    /// Offers `rate` exchanges/s (0: keep `window` exchanges in flight) for `secs`, then
    /// waits up to the timeout for the last replies.
    pub fn run(&mut self, rate: u64, secs: f64, window: usize) -> RunResult {
        self.c = Counters::default();
        self.lat.exchange.clear();
        self.lat.first.clear();
        self.lat.second.clear();
        let start = self.now();
        let end = start + (secs * 1e9) as u64;
        let total = (rate as f64 * secs).round() as u64;
        // Never start so many that answers to first steps find the queue full.
        let reserve = 4 * BATCH;
        loop {
            let now = self.now();
            self.expire(now);
            let mut started_now = 0;
            if now < end {
                let due = if rate > 0 {
                    // The first exchange starts at once, the last one before `end`: exactly
                    // rate x secs in all.
                    let target = ((now - start) as u128 * u128::from(rate) / 1_000_000_000) as u64 + 1;
                    target.min(total).saturating_sub(self.c.sent) as usize
                } else {
                    window.saturating_sub(self.outstanding)
                };
                let room = self.tx.free().saturating_sub(reserve).min(4 * BATCH);
                for _ in 0..due.min(room) {
                    if !self.start_one(now) {
                        self.c.clients_busy += 1;
                        break;
                    }
                    started_now += 1;
                }
            } else if self.outstanding == 0 || now >= end + 2 * self.timeout_ns {
                break;
            }
            self.c.send_errors += self.tx.flush(&self.sock, self.dest.as_ref());
            let got = self.receive();
            if got || started_now > 0 {
                continue;
            }
            // Idle: sleep until the next start is due, a reply arrives, or 1 ms.
            let now = self.now();
            let mut wait_ns: u64 = 1_000_000;
            if now < end && rate > 0 {
                let next = start + ((u128::from(self.c.sent) + 1) * 1_000_000_000 / u128::from(rate)) as u64;
                wait_ns = wait_ns.min(next.saturating_sub(now));
            }
            if let Some(&(_, _, _, d)) = self.timeouts.front() {
                wait_ns = wait_ns.min(d.saturating_sub(now));
            }
            // Starts due sooner than a tick wait for it and leave together: fewer wakeups
            // of the generator (which shares the machine with the server), bursts of
            // rate x tick exchanges.
            wait_ns = wait_ns.max(self.tick_ns);
            if wait_ns >= 20_000 {
                net::wait(&self.sock, self.tx.len > 0, wait_ns / 1000);
            }
        }
        self.expire(u64::MAX);
        RunResult {
            rate,
            duration: secs,
            counters: self.c,
            latency: Latencies {
                exchange: self.lat.exchange.clone(),
                first: self.lat.first.clone(),
                second: self.lat.second.clone(),
            },
        }
    }

    /// Reads and discards whatever is still arriving for `ms` (late replies between runs).
    pub fn drain(&mut self, ms: u64) {
        let until = self.now() + ms * 1_000_000;
        while self.now() < until {
            if net::recv_batch(&self.sock, &mut self.rx).unwrap_or(0) == 0 {
                net::wait(&self.sock, false, 10_000);
            }
        }
    }
}
