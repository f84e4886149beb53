//! The packet pipeline both services run, generic over the address family (design.md "How a
//! packet flows"): receive a batch -> admission -> engine decisions -> the batch's commit ->
//! post-commit stages in a fixed order: replication to an HA partner (awaited before the reply
//! where the mode requires it), DNS update intents, reply transmission (one batch), statistics.
//! The engine counts nothing itself: each decision carries a [`Tally`] that the statistics
//! stage counts once the packet's fate is known, so a batch decided again after a conflict
//! counts once, and lease statistics follow only changes that became durable.
//!
//! Run to completion: the task that received a batch decides it, waits once for the batch's
//! durability and answers it; there is no task per packet. While a batch waits, the task keeps
//! receiving and deciding later batches, up to `parked-packet-limit` packets waiting at once
//! (Kea ARM 16.12.16); beyond it new packets are dropped and counted. Batches complete in the
//! order they were received.
//!
//! With a packet queue configured (`dhcp-queue-control`, or `packet-queue-size` under
//! multi-threading), a readable socket is drained into a ring of that many packets that
//! keeps the newest, as Kea's `kea-ring4`/`kea-ring6` does, and the ring is decided batch by
//! batch: under a flood the server answers recent queries, not ones their clients gave up on.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::os::fd::BorrowedFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use crate::lease::store::{CommitFuture, StoreError};
use crate::stats::Tally;

/// Most datagrams read and decided as one batch (one recvmmsg, one commit wait, one send round).
pub const MAX_BATCH: usize = 64;

/// Most times a batch whose commit conflicts (another server sharing the store changed one of
/// its leases) is read and decided again before it is given up unanswered.
pub const MAX_RERUNS: usize = 3;

/// Most receive calls one drain of a readable socket into the packet queue makes, so a
/// socket that never runs dry still lets the ring be decided.
const QUEUE_DRAIN_ROUNDS: usize = 16;

/// Kea's ring packet queue (Kea ARM 18.2): at most `capacity` received packets wait for the
/// engine; a packet arriving at a full ring pushes the oldest out. Buffers move between the
/// receive buffers and the ring by swapping, never copying.
struct RecvQueue<R> {
    ring: VecDeque<(Vec<u8>, R)>,
    spare: Vec<Vec<u8>>,
}

impl<R: Clone> RecvQueue<R> {
    fn new() -> Self {
        RecvQueue { ring: VecDeque::new(), spare: Vec::new() }
    }

    /// Moves the datagrams `recvd` describes from `bufs` into the ring; `full` sees each
    /// packet pushed out (its bytes).
    fn absorb(
        &mut self,
        bufs: &mut [Vec<u8>],
        recvd: &[R],
        len: impl Fn(&R) -> usize,
        capacity: usize,
        full: impl Fn(&[u8]),
    ) {
        for (buf, r) in bufs.iter_mut().zip(recvd) {
            let fresh = self.spare.pop().unwrap_or_else(|| vec![0u8; buf.len()]);
            let got = std::mem::replace(buf, fresh);
            while self.ring.len() >= capacity.max(1) {
                if let Some((old, r)) = self.ring.pop_front() {
                    full(&old[..len(&r)]);
                    self.spare.push(old);
                }
            }
            self.ring.push_back((got, r.clone()));
        }
    }

    /// Moves the oldest waiting packets, as many as `bufs` holds, back into `bufs`/`recvd`.
    fn take_into(&mut self, bufs: &mut [Vec<u8>], recvd: &mut Vec<R>) {
        recvd.clear();
        for buf in bufs.iter_mut() {
            let Some((b, r)) = self.ring.pop_front() else { break };
            self.spare.push(std::mem::replace(buf, b));
            recvd.push(r);
        }
    }

    fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }
}

/// A future the pipeline awaits, boxed so stages of any backend fit.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What the engine decided for one packet, in the pipeline's terms.
pub struct Decision<F: Family> {
    /// The reply to send once the changes are durable (and replicated where required).
    pub reply: Option<F::Reply>,
    /// The lease changes the reply depends on (made durable with the rest of its batch).
    pub changes: Vec<F::Change>,
    /// What the packet counts, counted by the statistics stage.
    pub tally: Tally,
}

/// One address family's side of the pipeline: its sockets, its engine and its replies.
pub trait Family: Sized + Send + Sync + 'static {
    /// The shared service state (engine slot, store, counters).
    type Service: Send + Sync + 'static;
    /// One listening socket with what the engine needs to know about its interface.
    type Endpoint: Send + Sync + 'static;
    /// What the socket layer reports for one received datagram.
    type Recv: Clone + Send + Sync + 'static;
    /// An encoded reply with its destination.
    type Reply: Send + 'static;
    /// One lease change (the store's row).
    type Change: Send + Sync + 'static;

    /// Size of one receive buffer.
    const BUFFER: usize;
    /// 4 or 6: selects loggers and message IDs.
    const FAMILY: u8;

    /// The socket to wait on.
    fn fd(ep: &Self::Endpoint) -> BorrowedFd<'_>;
    /// Reads up to `bufs.len()` ready datagrams into `bufs` and describes them in `out`
    /// (cleared first); `WouldBlock` when none is ready.
    fn receive(
        svc: &Self::Service,
        ep: &Self::Endpoint,
        bufs: &mut [Vec<u8>],
        out: &mut Vec<Self::Recv>,
    ) -> io::Result<()>;
    /// Length of a received datagram.
    fn len(r: &Self::Recv) -> usize;
    /// Admission before the engine (`dhcp-disable`; later the HA scope filter): false drops the
    /// packet, counted by the family.
    fn admit(svc: &Self::Service, now: u64) -> bool;
    /// Counts a packet (`bytes`) dropped because `parked-packet-limit` packets are already
    /// waiting.
    fn parking_full(svc: &Self::Service, limit: usize, bytes: &[u8], now: u64);
    /// The current `parked-packet-limit` (0: none).
    fn parked_limit(svc: &Self::Service) -> usize;
    /// The current packet queue capacity (0: no queue; see [`RecvQueue`]).
    fn queue_capacity(svc: &Self::Service) -> usize {
        let _ = svc;
        0
    }
    /// Logs a packet (`bytes`) dropped from a full packet queue to make room for a newer one
    /// (not counted: Kea counts a packet when its processing starts).
    fn queue_full(svc: &Self::Service, bytes: &[u8]) {
        let _ = (svc, bytes);
    }
    /// Decides a batch in arrival order under one hold of the engine and submits the batch's
    /// lease changes to the store as one commit (None when nothing changed).
    fn decide(
        svc: &Self::Service,
        ep: &Self::Endpoint,
        batch: &[(&[u8], &Self::Recv)],
        now: u64,
        rand: &mut dyn FnMut() -> u64,
        out: &mut Vec<Decision<Self>>,
    ) -> Option<CommitFuture>;
    /// Reads what a batch's decisions need from a store other servers also write (their
    /// clients' leases, the addresses they ask for) into the view the engine decides over.
    /// None when the engine's view is the store's own index (memfile): nothing to read, and
    /// commits never conflict.
    fn prefetch(svc: &Self::Service, batch: &[(&[u8], &Self::Recv)]) -> Option<BoxFuture<()>> {
        let _ = (svc, batch);
        None
    }
    /// These changes are durable; their lease statistics go to `tally`.
    fn durable(svc: &Self::Service, changes: &[Self::Change], tally: &mut Tally);
    /// The commit of these changes failed: they are undone in memory.
    fn roll_back(svc: &Self::Service, changes: &[Self::Change]);
    /// Sends the replies of one batch and counts them.
    fn transmit(svc: &Self::Service, ep: &Self::Endpoint, replies: Vec<Self::Reply>);
}

/// Post-commit stage: lease updates to an HA partner (Kea ARM 16.1 "lease updates"). The HA
/// service implements it; without HA there is no such stage.
pub trait Replicate<C>: Send + Sync {
    /// Sends durable changes to the partner; the future resolves with the partner's answer.
    fn replicate(&self, changes: &[&C]) -> BoxFuture<Result<(), String>>;
    /// Whether replies wait for the partner's acknowledgement (hot-standby, load-balancing).
    fn awaited(&self) -> bool;
}

/// Post-commit stage: DNS update intents for durable changes (Kea ARM 14 "DDNS"); queued,
/// never delaying a reply. The DDNS service implements it.
pub trait DnsIntents<C>: Send + Sync {
    /// Queues the name changes these lease changes imply.
    fn queue(&self, changes: &[&C]);
}

/// The optional post-commit stages of one service.
pub struct Stages<C> {
    /// HA lease updates.
    pub replicate: Option<Arc<dyn Replicate<C>>>,
    /// DNS update intents.
    pub dns: Option<Arc<dyn DnsIntents<C>>>,
}

impl<C> Default for Stages<C> {
    fn default() -> Self {
        Stages { replicate: None, dns: None }
    }
}

impl<C> Clone for Stages<C> {
    fn clone(&self) -> Self {
        Stages { replicate: self.replicate.clone(), dns: self.dns.clone() }
    }
}

/// A settled batch: the replies that may be sent, then what it counts.
struct Settled<F: Family> {
    replies: Vec<F::Reply>,
    tally: Tally,
}

impl<F: Family> Settled<F> {
    /// The last two stages: transmission, then statistics.
    fn finish(mut self, svc: &F::Service, ep: &F::Endpoint, now_us: u64) {
        if !self.replies.is_empty() {
            F::transmit(svc, ep, self.replies);
        }
        self.tally.count(now_us);
    }
}

/// Settles a batch whose commit completed: undo its changes if the commit failed (nothing is
/// then answered but replies that changed nothing), else run the post-commit stages over the
/// durable changes. Returns the replies that may be sent with what the batch counts.
async fn post_commit<F: Family>(
    svc: &F::Service,
    stages: &Stages<F::Change>,
    decided: Vec<Decision<F>>,
    durable: bool,
) -> Settled<F> {
    let mut replies = Vec::with_capacity(decided.len());
    let mut kept = Vec::with_capacity(decided.len());
    let mut tally = Tally::default();
    for mut d in decided {
        if d.changes.is_empty() {
            kept.push(d);
        } else if durable {
            F::durable(svc, &d.changes, &mut d.tally);
            kept.push(d);
        } else {
            // Not durable, not acknowledged: the client retransmits. What the packet counts
            // on receipt still counts; what depended on its changes does not.
            F::roll_back(svc, &d.changes);
            d.tally.not_durable();
            tally.absorb(d.tally);
        }
    }
    let changes: Vec<&F::Change> = kept.iter().flat_map(|d| d.changes.iter()).collect();
    let mut replicated = true;
    if let (Some(r), false) = (&stages.replicate, changes.is_empty()) {
        let sent = r.replicate(&changes);
        if r.awaited() {
            // The partner must hold the leases before the client does; without its
            // acknowledgement the replies are withheld.
            replicated = sent.await.is_ok();
        } else {
            tokio::spawn(sent);
        }
    }
    if let (Some(q), false) = (&stages.dns, changes.is_empty()) {
        q.queue(&changes);
    }
    drop(changes);
    for d in kept {
        tally.absorb(d.tally);
        if let Some(r) = d.reply {
            // Replies that changed nothing never wait for the partner.
            if replicated || d.changes.is_empty() {
                replies.push(r);
            }
        }
    }
    Settled { replies, tally }
}

/// A batch waiting for its commit and post-commit stages.
struct Parked<F: Family> {
    /// Packets of the batch that wait for a commit (Kea parks only those).
    packets: usize,
    done: BoxFuture<Settled<F>>,
}

/// What a batch needs to be decided again when its commit conflicts: its packets (copied,
/// since the receive buffers are reused) and the socket they came from.
struct Rerun<F: Family> {
    ep: Arc<F::Endpoint>,
    packets: Vec<(Vec<u8>, F::Recv)>,
    seed: u64,
}

/// Waits for a batch's commit and runs its post-commit stages. A commit that conflicts is
/// undone, and the batch read and decided again, at most [`MAX_RERUNS`] times.
fn park<F: Family>(
    svc: Arc<F::Service>,
    stages: Stages<F::Change>,
    clock: Arc<dyn crate::clock::Clock>,
    commit: Option<CommitFuture>,
    decided: Vec<Decision<F>>,
    rerun: Option<Rerun<F>>,
) -> Parked<F> {
    let packets = decided.iter().filter(|d| !d.changes.is_empty()).count();
    let done = Box::pin(async move {
        let (mut commit, mut decided, mut reruns) = (commit, decided, 0);
        let durable = loop {
            let Some(f) = commit.take() else { break true };
            match f.await {
                Ok(()) => break true,
                Err(StoreError::Conflict(why)) if reruns < MAX_RERUNS && rerun.is_some() => {
                    reruns += 1;
                    tracing::debug!(target: "kakapo.server", "commit conflicted ({why}), deciding the batch again ({reruns})");
                    let now = clock.unix_now();
                    // The decisions are dropped uncounted; the batch counts as decided again.
                    for d in decided.iter().filter(|d| !d.changes.is_empty()) {
                        F::roll_back(&svc, &d.changes);
                    }
                    if let Some(r) = &rerun {
                        (commit, decided) = decide_again::<F>(&svc, r, reruns, now).await;
                    }
                }
                Err(e) => {
                    // The store logs the failure once; per packet it is debug, so a full disk
                    // does not also flood the logs (which may share that disk).
                    tracing::debug!(target: "kakapo.server", "lease changes not durable, replies withheld: {e}");
                    break false;
                }
            }
        };
        post_commit::<F>(&svc, &stages, decided, durable).await
    });
    Parked { packets, done }
}

/// Reads the batch of `r` again and decides it again: a new commit and new decisions.
async fn decide_again<F: Family>(
    svc: &F::Service,
    r: &Rerun<F>,
    round: usize,
    now: u64,
) -> (Option<CommitFuture>, Vec<Decision<F>>) {
    let batch: Vec<(&[u8], &F::Recv)> = r.packets.iter().map(|(b, m)| (&b[..], m)).collect();
    if let Some(read) = F::prefetch(svc, &batch) {
        read.await;
    }
    let mut seed = (r.seed ^ round as u64) | 1;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut decided = Vec::with_capacity(batch.len());
    let commit = F::decide(svc, &r.ep, &batch, now, &mut rand, &mut decided);
    (commit, decided)
}

/// Serves one socket until an I/O error ends it: the pipeline above, run to completion.
pub async fn serve<F: Family>(
    svc: Arc<F::Service>,
    ep: Arc<F::Endpoint>,
    stages: Stages<F::Change>,
    clock: Arc<dyn crate::clock::Clock>,
    seed: u64,
) -> io::Result<()> {
    let afd = crate::net::register(F::fd(&ep))?;
    let mut bufs: Vec<Vec<u8>> = (0..MAX_BATCH).map(|_| vec![0u8; F::BUFFER]).collect();
    let mut recvd: Vec<F::Recv> = Vec::with_capacity(MAX_BATCH);
    let mut decided: Vec<Decision<F>> = Vec::with_capacity(MAX_BATCH);
    let mut parked: VecDeque<Parked<F>> = VecDeque::new();
    let mut waiting = 0usize;
    let mut seed = seed | 1;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut queue = RecvQueue::new();
    loop {
        let limit = F::parked_limit(&svc);
        let capacity = F::queue_capacity(&svc);
        if queue.is_empty() {
            let event = {
                let head = std::future::poll_fn(|cx| match parked.front_mut() {
                    Some(p) => p.done.as_mut().poll(cx),
                    None => Poll::Pending,
                });
                tokio::select! {
                    biased;
                    replies = head => Err(replies),
                    ready = afd.readable() => Ok(ready?),
                }
            };
            let mut guard = match event {
                Err(settled) => {
                    // The head resolved, so it is there to take off the queue.
                    if let Some(p) = parked.pop_front() {
                        waiting -= p.packets;
                    }
                    settled.finish(&svc, &ep, clock.unix_now_us());
                    continue;
                }
                Ok(g) => g,
            };
            match F::receive(&svc, &ep, &mut bufs, &mut recvd) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    guard.clear_ready();
                    continue;
                }
                Err(e) => return Err(e),
                Ok(()) => {}
            }
            if capacity > 0 {
                queue.absorb(&mut bufs, &recvd, F::len, capacity, |b| F::queue_full(&svc, b));
                for _ in 1..QUEUE_DRAIN_ROUNDS {
                    match F::receive(&svc, &ep, &mut bufs, &mut recvd) {
                        Ok(()) => queue.absorb(&mut bufs, &recvd, F::len, capacity, |b| F::queue_full(&svc, b)),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            guard.clear_ready();
                            break;
                        }
                        Err(e) => return Err(e),
                    }
                }
                queue.take_into(&mut bufs, &mut recvd);
            }
        } else {
            queue.take_into(&mut bufs, &mut recvd);
        }
        let now = clock.unix_now();
        let mut batch: Vec<(&[u8], &F::Recv)> = Vec::with_capacity(recvd.len());
        for (buf, r) in bufs.iter().zip(recvd.iter()) {
            if !F::admit(&svc, now) {
                continue;
            }
            if limit > 0 && waiting + batch.len() >= limit {
                F::parking_full(&svc, limit, &buf[..F::len(r)], now);
                continue;
            }
            batch.push((&buf[..F::len(r)], r));
        }
        if batch.is_empty() {
            continue;
        }
        // A store shared with other servers is read first; its batches keep their packets in
        // case the commit conflicts and they must be decided again.
        let mut rerun = None;
        if let Some(read) = F::prefetch(&svc, &batch) {
            read.await;
            let packets = batch.iter().map(|(b, m)| (b.to_vec(), (*m).clone())).collect();
            rerun = Some(Rerun { ep: ep.clone(), packets, seed: rand() });
        }
        let commit = F::decide(&svc, &ep, &batch, now, &mut rand, &mut decided);
        drop(batch);
        // Nothing to wait for (OFFERs, ADVERTISEs, NAKs) and nothing parked ahead: answered at
        // once. Behind a parked batch a reply waits its turn, so one client's replies keep
        // their order.
        if parked.is_empty() && commit.is_none() && stages_idle(&stages) {
            let settled = post_commit::<F>(&svc, &stages, std::mem::take(&mut decided), true).await;
            settled.finish(&svc, &ep, clock.unix_now_us());
            continue;
        }
        let batch = std::mem::take(&mut decided);
        let p = park::<F>(svc.clone(), stages.clone(), clock.clone(), commit, batch, rerun);
        waiting += p.packets;
        parked.push_back(p);
        decided.reserve(MAX_BATCH);
    }
}

fn stages_idle<C>(s: &Stages<C>) -> bool {
    s.replicate.is_none() && s.dns.is_none()
}

#[cfg(test)]
mod tests {
    //! The pipeline over a fake family: datagrams on a Unix socket pair, commits and the HA
    //! partner as futures the test completes, so the order of the stages is observable.
    use super::*;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixDatagram;
    use std::sync::Mutex;
    use std::time::Duration;

    use tokio::sync::oneshot;

    use crate::lease::memfile::MemfileError;
    use crate::lease::store::StoreError;

    /// What happened, in order.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Ev {
        Durable(u8),
        RolledBack(u8),
        Replicated(Vec<u8>),
        Dns(Vec<u8>),
        Sent(Vec<u8>),
        ParkingFull,
        QueueFull(u8),
        Prefetched(Vec<u8>),
    }

    #[derive(Default)]
    struct Svc {
        log: Mutex<Vec<Ev>>,
        /// The commits the test completes, by packet byte.
        commits: Mutex<Vec<(u8, oneshot::Sender<bool>)>>,
        limit: usize,
        /// The packet queue's capacity (0: none).
        queue: usize,
        /// A store shared with other servers: batches are read first.
        shared: bool,
        /// How many of the next commits that would succeed conflict instead.
        conflicts: Arc<std::sync::atomic::AtomicUsize>,
        /// What the statistics stage counted: `received` per packet decided, `leased` per
        /// lease change decided, `assigned` per change made durable.
        stats: crate::stats::Stats,
    }

    impl Svc {
        fn push(&self, e: Ev) {
            self.log.lock().unwrap().push(e);
        }
        fn log(&self) -> Vec<Ev> {
            self.log.lock().unwrap().clone()
        }
        fn counter(&self, name: &str) -> crate::stats::Counter {
            self.stats.lazy_counter(name)
        }
        /// (received, leased, assigned) as counted.
        fn counted(&self) -> (i64, i64, i64) {
            let v = |n: &str| self.counter(n).value().unwrap_or(0);
            (v("received"), v("leased"), v("assigned"))
        }
        fn pos(&self, e: &Ev) -> usize {
            self.log().iter().position(|x| x == e).unwrap_or_else(|| panic!("{e:?} missing from {:?}", self.log()))
        }
        /// Completes the held commit of packet `b`.
        fn complete(&self, b: u8, ok: bool) {
            let mut held = self.commits.lock().unwrap();
            let i = held.iter().position(|(x, _)| *x == b).expect("commit held");
            let _ = held.remove(i).1.send(ok);
        }
    }

    struct Fake;

    impl Family for Fake {
        type Service = Svc;
        type Endpoint = UnixDatagram;
        type Recv = usize;
        type Reply = u8;
        type Change = u8;
        const BUFFER: usize = 16;
        const FAMILY: u8 = 4;

        fn fd(ep: &UnixDatagram) -> BorrowedFd<'_> {
            ep.as_fd()
        }
        fn receive(_: &Svc, ep: &UnixDatagram, bufs: &mut [Vec<u8>], out: &mut Vec<usize>) -> io::Result<()> {
            out.clear();
            while out.len() < bufs.len() {
                match ep.recv(&mut bufs[out.len()]) {
                    Ok(n) => out.push(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock && !out.is_empty() => break,
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }
        fn len(r: &usize) -> usize {
            *r
        }
        fn admit(_: &Svc, _: u64) -> bool {
            true
        }
        fn parking_full(svc: &Svc, _: usize, _: &[u8], _: u64) {
            svc.push(Ev::ParkingFull);
        }
        fn parked_limit(svc: &Svc) -> usize {
            svc.limit
        }
        fn queue_capacity(svc: &Svc) -> usize {
            svc.queue
        }
        fn queue_full(svc: &Svc, bytes: &[u8]) {
            svc.push(Ev::QueueFull(bytes[0]));
        }
        fn decide(
            svc: &Svc,
            _: &UnixDatagram,
            batch: &[(&[u8], &usize)],
            _: u64,
            _: &mut dyn FnMut() -> u64,
            out: &mut Vec<Decision<Fake>>,
        ) -> Option<CommitFuture> {
            let mut commits = Vec::new();
            for (bytes, _) in batch {
                let b = bytes[0];
                let mut tally = Tally::default();
                tally.seen(&svc.counter("received"), 1);
                // Even bytes change a lease (a REQUEST), odd ones do not (a DISCOVER).
                if b % 2 == 1 {
                    out.push(Decision { reply: Some(b), changes: Vec::new(), tally });
                    continue;
                }
                tally.leased(&svc.counter("leased"), 1);
                let (tx, rx) = oneshot::channel();
                svc.commits.lock().unwrap().push((b, tx));
                commits.push(rx);
                out.push(Decision { reply: Some(b), changes: vec![b], tally });
            }
            // One commit for the batch: durable only if every packet's row is.
            let conflicts = svc.conflicts.clone();
            (!commits.is_empty()).then(|| -> CommitFuture {
                Box::pin(async move {
                    let mut ok = true;
                    for rx in commits {
                        ok &= rx.await == Ok(true);
                    }
                    let dec = |n: usize| n.checked_sub(1);
                    let ordering = std::sync::atomic::Ordering::SeqCst;
                    if ok && conflicts.fetch_update(ordering, ordering, dec).is_ok() {
                        return Err(StoreError::Conflict("another server wrote it".into()));
                    }
                    if ok {
                        Ok(())
                    } else {
                        Err(StoreError::from(MemfileError::Closed))
                    }
                })
            })
        }
        fn prefetch(svc: &Svc, batch: &[(&[u8], &usize)]) -> Option<BoxFuture<()>> {
            svc.shared.then(|| -> BoxFuture<()> {
                svc.push(Ev::Prefetched(batch.iter().map(|(b, _)| b[0]).collect()));
                Box::pin(async {})
            })
        }
        fn durable(svc: &Svc, changes: &[u8], tally: &mut Tally) {
            changes.iter().for_each(|c| svc.push(Ev::Durable(*c)));
            tally.leased(&svc.counter("assigned"), changes.len() as i64);
        }
        fn roll_back(svc: &Svc, changes: &[u8]) {
            changes.iter().for_each(|c| svc.push(Ev::RolledBack(*c)));
        }
        fn transmit(svc: &Svc, ep: &UnixDatagram, replies: Vec<u8>) {
            for r in &replies {
                let _ = ep.send(&[*r]);
            }
            svc.push(Ev::Sent(replies));
        }
    }

    struct Partner {
        svc: Arc<Svc>,
        ok: bool,
        gate: Mutex<Option<oneshot::Receiver<()>>>,
    }

    impl Replicate<u8> for Partner {
        fn replicate(&self, changes: &[&u8]) -> BoxFuture<Result<(), String>> {
            self.svc.push(Ev::Replicated(changes.iter().map(|c| **c).collect()));
            let gate = self.gate.lock().unwrap().take();
            let ok = self.ok;
            Box::pin(async move {
                if let Some(g) = gate {
                    let _ = g.await;
                }
                if ok {
                    Ok(())
                } else {
                    Err("partner down".into())
                }
            })
        }
        fn awaited(&self) -> bool {
            true
        }
    }

    struct Dns(Arc<Svc>);

    impl DnsIntents<u8> for Dns {
        fn queue(&self, changes: &[&u8]) {
            self.0.push(Ev::Dns(changes.iter().map(|c| **c).collect()));
        }
    }

    struct Lab {
        svc: Arc<Svc>,
        client: UnixDatagram,
        task: tokio::task::JoinHandle<io::Result<()>>,
    }

    impl Drop for Lab {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    fn lab(limit: usize, stages: impl FnOnce(&Arc<Svc>) -> Stages<u8>) -> Lab {
        lab_with(Svc { limit, ..Svc::default() }, stages)
    }

    fn lab_with(svc: Svc, stages: impl FnOnce(&Arc<Svc>) -> Stages<u8>) -> Lab {
        let (server, client) = UnixDatagram::pair().unwrap();
        server.set_nonblocking(true).unwrap();
        client.set_nonblocking(true).unwrap();
        let svc = Arc::new(svc);
        let st = stages(&svc);
        let clock: Arc<dyn crate::clock::Clock> = Arc::new(crate::clock::SystemClock);
        let task = tokio::spawn(serve::<Fake>(svc.clone(), Arc::new(server), st, clock, 7));
        Lab { svc, client, task }
    }

    async fn pause() {
        tokio::time::sleep(Duration::from_millis(150)).await;
    }

    /// Every reply waiting on the client side.
    fn replies(c: &UnixDatagram) -> Vec<u8> {
        let mut out = Vec::new();
        let mut b = [0u8; 4];
        while c.recv(&mut b).is_ok() {
            out.push(b[0]);
        }
        out
    }

    #[tokio::test]
    async fn a_reply_waits_for_its_commit_and_a_failed_commit_is_undone_unanswered() {
        let lab = lab(256, |_| Stages::default());
        // Two batches (a batch is one group commit: it is durable or not as a whole).
        lab.client.send(&[10]).unwrap();
        pause().await;
        lab.client.send(&[12]).unwrap();
        pause().await;
        assert_eq!(replies(&lab.client), Vec::<u8>::new(), "no reply before the commit is durable");
        lab.svc.complete(10, true);
        lab.svc.complete(12, false);
        pause().await;
        assert_eq!(replies(&lab.client), vec![10], "the failed commit is not answered");
        assert!(lab.svc.log().contains(&Ev::RolledBack(12)));
        assert!(!lab.svc.log().contains(&Ev::Durable(12)));
        assert!(lab.svc.pos(&Ev::Durable(10)) < lab.svc.pos(&Ev::Sent(vec![10])));
        // Both packets count as received; only the durable one's lease statistics count.
        assert_eq!(lab.svc.counted(), (2, 1, 1));
    }

    #[tokio::test]
    async fn replies_that_change_nothing_are_sent_at_once_but_keep_their_place_behind_a_parked_batch() {
        let lab = lab(256, |_| Stages::default());
        lab.client.send(&[1]).unwrap();
        pause().await;
        assert_eq!(replies(&lab.client), vec![1], "an OFFER needs no commit");
        lab.client.send(&[20]).unwrap();
        pause().await;
        lab.client.send(&[3]).unwrap();
        pause().await;
        assert_eq!(replies(&lab.client), Vec::<u8>::new(), "the OFFER queues behind the parked ACK");
        lab.svc.complete(20, true);
        pause().await;
        assert_eq!(replies(&lab.client), vec![20, 3]);
    }

    #[tokio::test]
    async fn the_partner_gets_durable_changes_before_the_client_and_dns_follows() {
        let (open, gate) = oneshot::channel();
        let lab = lab(256, |svc| Stages {
            replicate: Some(Arc::new(Partner { svc: svc.clone(), ok: true, gate: Mutex::new(Some(gate)) })),
            dns: Some(Arc::new(Dns(svc.clone()))),
        });
        lab.client.send(&[30]).unwrap();
        pause().await;
        assert!(lab.svc.log().is_empty(), "nothing before the commit: {:?}", lab.svc.log());
        lab.svc.complete(30, true);
        pause().await;
        assert_eq!(replies(&lab.client), Vec::<u8>::new(), "the reply waits for the partner");
        assert_eq!(lab.svc.log(), vec![Ev::Durable(30), Ev::Replicated(vec![30])]);
        open.send(()).unwrap();
        pause().await;
        assert_eq!(replies(&lab.client), vec![30]);
        assert_eq!(
            lab.svc.log(),
            vec![Ev::Durable(30), Ev::Replicated(vec![30]), Ev::Dns(vec![30]), Ev::Sent(vec![30])]
        );
    }

    #[tokio::test]
    async fn without_the_partner_acknowledgement_the_client_gets_no_reply() {
        let lab = lab(256, |svc| Stages {
            replicate: Some(Arc::new(Partner { svc: svc.clone(), ok: false, gate: Mutex::new(None) })),
            dns: None,
        });
        lab.client.send(&[41]).unwrap();
        pause().await;
        assert_eq!(replies(&lab.client), vec![41], "a reply without lease changes does not wait");
        lab.client.send(&[40]).unwrap();
        pause().await;
        lab.svc.complete(40, true);
        pause().await;
        assert_eq!(replies(&lab.client), Vec::<u8>::new());
        assert!(lab.svc.log().contains(&Ev::Replicated(vec![40])));
    }

    #[tokio::test]
    async fn beyond_the_parked_packet_limit_new_packets_are_dropped_and_counted() {
        let lab = lab(2, |_| Stages::default());
        for b in [50, 52, 54] {
            lab.client.send(&[b]).unwrap();
            pause().await;
        }
        assert_eq!(lab.svc.log(), vec![Ev::ParkingFull]);
        assert_eq!(lab.svc.commits.lock().unwrap().len(), 2, "the third packet was never decided");
        lab.svc.complete(50, true);
        lab.svc.complete(52, true);
        pause().await;
        assert_eq!(replies(&lab.client), vec![50, 52]);
        lab.client.send(&[56]).unwrap();
        pause().await;
        assert_eq!(lab.svc.commits.lock().unwrap().len(), 1, "room again once the parked batches left");
    }

    /// 100 queries wait when the server gets to them: with a queue of 3 the newest 3 are
    /// answered and the 97 before them pushed out in arrival order; without one all are.
    #[tokio::test]
    async fn a_full_packet_queue_pushes_out_the_oldest_packets() {
        let sent: Vec<u8> = (0..100).map(|i| 2 * i + 1).collect();
        let lab = lab_with(Svc { limit: 256, queue: 3, ..Svc::default() }, |_| Stages::default());
        for b in &sent {
            lab.client.send(&[*b]).unwrap();
        }
        pause().await;
        assert_eq!(replies(&lab.client), vec![195, 197, 199]);
        let pushed_out: Vec<Ev> = sent[..97].iter().map(|b| Ev::QueueFull(*b)).collect();
        let log = lab.svc.log();
        assert_eq!(log.iter().filter(|e| matches!(e, Ev::QueueFull(_))).cloned().collect::<Vec<_>>(), pushed_out);
        // A later query finds an empty ring and is answered.
        lab.client.send(&[201]).unwrap();
        pause().await;
        assert_eq!(replies(&lab.client), vec![201]);

        let lab = lab_with(Svc { limit: 256, ..Svc::default() }, |_| Stages::default());
        for b in &sent {
            lab.client.send(&[*b]).unwrap();
        }
        pause().await;
        assert_eq!(replies(&lab.client), sent);
        assert!(!lab.svc.log().iter().any(|e| matches!(e, Ev::QueueFull(_))));
    }

    #[tokio::test]
    async fn a_conflicting_commit_is_read_and_decided_again_then_answered() {
        let conflicts = Arc::new(std::sync::atomic::AtomicUsize::new(1));
        let lab = lab_with(Svc { limit: 256, shared: true, conflicts, ..Svc::default() }, |_| Stages::default());
        lab.client.send(&[20]).unwrap();
        pause().await;
        lab.svc.complete(20, true);
        pause().await;
        assert_eq!(replies(&lab.client), Vec::<u8>::new(), "no reply while the batch is decided again");
        // The second decision holds a new commit; it goes through.
        lab.svc.complete(20, true);
        pause().await;
        assert_eq!(replies(&lab.client), vec![20]);
        assert_eq!(
            lab.svc.log(),
            vec![
                Ev::Prefetched(vec![20]),
                Ev::RolledBack(20),
                Ev::Prefetched(vec![20]),
                Ev::Durable(20),
                Ev::Sent(vec![20])
            ]
        );
        // Decided twice, counted once: the first decision's tally went with its commit.
        assert_eq!(lab.svc.counted(), (1, 1, 1));
    }

    #[tokio::test]
    async fn a_batch_that_keeps_conflicting_is_given_up_unanswered() {
        let conflicts = Arc::new(std::sync::atomic::AtomicUsize::new(usize::MAX));
        let lab = lab_with(Svc { limit: 256, shared: true, conflicts, ..Svc::default() }, |_| Stages::default());
        lab.client.send(&[22]).unwrap();
        for _ in 0..=MAX_RERUNS {
            pause().await;
            lab.svc.complete(22, true);
        }
        pause().await;
        assert!(lab.svc.commits.lock().unwrap().is_empty(), "no further attempt");
        assert_eq!(replies(&lab.client), Vec::<u8>::new());
        let log = lab.svc.log();
        let reads = log.iter().filter(|e| **e == Ev::Prefetched(vec![22])).count();
        let undone = log.iter().filter(|e| **e == Ev::RolledBack(22)).count();
        assert_eq!((reads, undone), (MAX_RERUNS + 1, MAX_RERUNS + 1), "{log:?}");
        assert!(!log.iter().any(|e| matches!(e, Ev::Durable(_) | Ev::Sent(_))), "{log:?}");
        assert_eq!(lab.svc.counted(), (1, 0, 0), "received once, nothing leased");
    }

    #[tokio::test]
    async fn a_store_of_its_own_is_not_read_before_deciding() {
        let lab = lab(256, |_| Stages::default());
        lab.client.send(&[24]).unwrap();
        pause().await;
        lab.svc.complete(24, true);
        pause().await;
        assert_eq!(replies(&lab.client), vec![24]);
        assert!(!lab.svc.log().iter().any(|e| matches!(e, Ev::Prefetched(_))));
    }
}
