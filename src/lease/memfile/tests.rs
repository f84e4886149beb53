//! Store-level tests: load order, row errors, torn rows, group commit, cleanup, and a
//! SIGKILL crash test against a child process.

use std::collections::HashSet;
use std::fs;
use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use super::*;
use crate::lease::LeaseState;

const H22: &str =
    "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context";

fn cfg(path: &Path) -> MemfileConfig {
    MemfileConfig { path: path.to_path_buf(), persist: true, lfc_interval: 0, max_row_errors: 0, pool_id_column: false }
}

/// A deterministic lease per number; some have hostnames and contexts that need escaping.
fn lease(n: u32) -> Lease4 {
    Lease4 {
        address: Ipv4Addr::from(0x0a00_0000 + n),
        hwaddr: vec![0x02, 0, (n >> 24) as u8, (n >> 16) as u8, (n >> 8) as u8, n as u8],
        client_id: (n % 3 == 0).then(|| vec![1, (n >> 8) as u8, n as u8]),
        valid_lifetime: 3600 + n % 7,
        cltt: 1_800_000_000 + u64::from(n),
        subnet_id: 1 + n % 4,
        pool_id: 0,
        fqdn_fwd: n % 2 == 0,
        fqdn_rev: n % 5 == 0,
        hostname: if n % 4 == 0 { format!("host-{n},a&b\u{e9}") } else { String::new() },
        state: if n % 11 == 0 { LeaseState::Declined } else { LeaseState::Default },
        user_context: (n % 6 == 0).then(|| format!("{{ \"n\": {n}, \"s\": \"x,y\" }}")),
    }
}

fn rows(leases: &[Lease4]) -> String {
    leases.iter().map(|l| format!("{}\n", format_row4(l, false))).collect()
}

fn tombstone(l: &Lease4) -> String {
    let mut out = String::new();
    csv::write_row(&mut out, l, 0, false);
    out + "\n"
}

fn write(path: &Path, body: &str) {
    fs::write(path, format!("{H22}\n{body}")).expect("write test file");
}

fn addrs(leases: &[Lease4]) -> Vec<Ipv4Addr> {
    leases.iter().map(|l| l.address).collect()
}

fn open(path: &Path) -> (Memfile4, Vec<Lease4>) {
    Memfile4::open(cfg(path)).expect("open")
}

#[test]
fn store_and_ticket_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send + Unpin>() {}
    send_sync::<Memfile4>();
    send::<CommitTicket>();
}

#[test]
fn load_order_previous_input_then_journal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("l4.csv");
    let ps = Paths::new(&p);
    let mut newer = lease(1);
    newer.hostname = "newer".into();
    write(&ps.previous, &rows(&[lease(1), lease(2), lease(3)]));
    write(&ps.input, &(rows(&[newer.clone()]) + &tombstone(&lease(2))));
    write(&p, &(rows(&[lease(4)]) + &tombstone(&lease(3)) + &tombstone(&lease(9))));
    let (_m, leases) = open(&p);
    assert_eq!(leases, vec![newer, lease(4)]);
}

#[test]
fn load_order_completed_hides_previous_and_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("l4.csv");
    let ps = Paths::new(&p);
    write(&ps.completed, &rows(&[lease(1)]));
    write(&ps.previous, &rows(&[lease(2)]));
    write(&ps.input, &rows(&[lease(3)]));
    write(&p, &rows(&[lease(4)]));
    let (_m, leases) = open(&p);
    assert_eq!(addrs(&leases), addrs(&[lease(1), lease(4)]));
}

#[test]
fn missing_journal_is_created_with_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("l4.csv");
    write(&Paths::new(&p).input, &rows(&[lease(5)]));
    let (m, leases) = open(&p);
    assert_eq!(leases, vec![lease(5)]);
    m.close();
    assert_eq!(fs::read_to_string(&p).expect("journal"), format!("{H22}\n"));
    let mut c = cfg(&dir.path().join("l4b.csv"));
    c.pool_id_column = true;
    drop(Memfile4::open(c).expect("open 2.4"));
    assert_eq!(fs::read_to_string(dir.path().join("l4b.csv")).expect("journal"), format!("{H22},pool_id\n"));
}

#[test]
fn max_row_errors_counts_bad_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("l4.csv");
    let bad = "garbage\n192.0.2.1,zz,,1,2,1,0,0,,0,\n\n192.0.2.2,01:02,,1,2,1,0,0,,0,{x\n";
    write(&p, &(rows(&[lease(1)]) + bad + &rows(&[lease(2)])));
    let with_max = |max| Memfile4::open(MemfileConfig { max_row_errors: max, ..cfg(&p) });
    match with_max(2) {
        Err(MemfileError::TooManyRowErrors { max: 2, .. }) => {}
        other => panic!("expected TooManyRowErrors, got {other:?}"),
    }
    let (m, leases) = with_max(3).expect("3 errors allowed");
    assert_eq!(addrs(&leases), addrs(&[lease(1), lease(2)]));
    drop(m);
    let (_m, leases) = with_max(0).expect("unlimited");
    assert_eq!(leases.len(), 2);
}

#[test]
fn invalid_header_fails_the_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("l4.csv");
    fs::write(&p, "address,duid,valid_lifetime\n").expect("write");
    assert!(matches!(Memfile4::open(cfg(&p)), Err(MemfileError::InvalidHeader { .. })));
}

#[test]
fn torn_last_row_is_cut_before_appending() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("l4.csv");
    let full = format_row4(&lease(2), false);
    write(&p, &(rows(&[lease(1)]) + &full[..full.len() - 9]));
    let (m, leases) = open(&p);
    assert_eq!(leases, vec![lease(1)]);
    m.commit(vec![Change4::Upsert(lease(3))]).wait().expect("commit");
    m.close();
    assert_eq!(fs::read_to_string(&p).expect("read"), format!("{H22}\n{}", rows(&[lease(1), lease(3)])));
    // A torn header is cut too, and the header rewritten.
    fs::write(&p, "address,hwad").expect("write");
    let (m, leases) = open(&p);
    assert!(leases.is_empty());
    m.close();
    assert_eq!(fs::read_to_string(&p).expect("read"), format!("{H22}\n"));
}

#[test]
fn other_header_is_converted_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("l4.csv");
    let ps = Paths::new(&p);
    write(&ps.previous, &rows(&[lease(1), lease(2)]));
    let mut with_pool = lease(3);
    with_pool.pool_id = 4;
    let mut gone = String::new();
    csv::write_row(&mut gone, &lease(2), 0, true);
    fs::write(&p, format!("{H22},pool_id\n{}\n{gone}\n", format_row4(&with_pool, true))).expect("write");
    let (m, leases) = open(&p);
    with_pool.pool_id = 0;
    let expected = vec![lease(1), with_pool.clone()];
    let mut expected_in_memory = expected.clone();
    expected_in_memory[1].pool_id = 4;
    assert_eq!(leases, expected_in_memory);
    m.close();
    assert_eq!(fs::read_to_string(&p).expect("journal"), format!("{H22}\n"));
    assert_eq!(fs::read_to_string(&ps.previous).expect(".2"), format!("{H22}\n{}", rows(&expected)));
    assert!(!ps.input.exists() && !ps.completed.exists() && !ps.output.exists());
    let (_m, again) = open(&p);
    assert_eq!(again, expected);
}

#[test]
fn commit_writes_kea_rows_and_tombstones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("l4.csv");
    let (m, leases) = open(&p);
    assert!(leases.is_empty());
    let mut renewed = lease(1);
    renewed.cltt += 100;
    m.commit(vec![Change4::Upsert(lease(1)), Change4::Upsert(lease(2))]).wait().expect("commit");
    m.commit(vec![Change4::Upsert(renewed.clone()), Change4::Delete(lease(2))]).wait().expect("commit");
    m.close();
    assert!(matches!(m.commit(vec![Change4::Upsert(lease(3))]).wait(), Err(MemfileError::Closed)));
    let text = fs::read_to_string(&p).expect("read");
    assert_eq!(text, format!("{H22}\n{}{}", rows(&[lease(1), lease(2), renewed.clone()]), tombstone(&lease(2))));
    let (_m, leases) = open(&p);
    assert_eq!(leases, vec![renewed]);
}

#[test]
fn unloadable_leases_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (m, _) = open(&dir.path().join("l4.csv"));
    let mut l = lease(1);
    l.hwaddr.clear();
    l.client_id = None;
    assert!(matches!(m.commit(vec![Change4::Upsert(l)]).wait(), Err(MemfileError::InvalidLease { .. })));
    let mut l = lease(1);
    l.client_id = Some(vec![1]);
    assert!(matches!(m.commit(vec![Change4::Upsert(l)]).wait(), Err(MemfileError::InvalidLease { .. })));
    let mut l = lease(1);
    l.user_context = Some("[1]".into());
    assert!(matches!(m.commit(vec![Change4::Upsert(l)]).wait(), Err(MemfileError::InvalidLease { .. })));
}

#[test]
fn no_persistence_touches_no_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("l4.csv");
    let (m, leases) = Memfile4::open(MemfileConfig { persist: false, ..cfg(&p) }).expect("open");
    assert!(leases.is_empty());
    m.commit(vec![Change4::Upsert(lease(1))]).wait().expect("commit");
    assert!(matches!(m.start_lfc(), Err(MemfileError::NotPersistent)));
    assert!(!p.exists());
}

#[test]
fn group_commit_many_threads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("l4.csv");
    let (m, _) = open(&p);
    let m = Arc::new(m);
    let start = crate::clock::monotonic_now();
    let threads: Vec<_> = (0..8u32)
        .map(|t| {
            let m = Arc::clone(&m);
            std::thread::spawn(move || {
                for i in 0..300 {
                    m.commit(vec![Change4::Upsert(lease(t * 1000 + i))]).wait().expect("commit");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("committer");
    }
    let (batches, rows) = m.write_stats();
    let secs = start.elapsed().as_secs_f64();
    eprintln!("8 blocking committers: {rows} rows in {batches} batches, {:.0} rows/s", rows as f64 / secs);
    assert_eq!(rows, 2400);
    assert!(batches < rows, "no batching: {batches} syncs for {rows} rows");
    m.close();
    let (_m, leases) = open(&p);
    let expected: Vec<Lease4> = (0..8u32).flat_map(|t| (0..300).map(move |i| lease(t * 1000 + i))).collect();
    let mut expected = expected;
    expected.sort_by_key(|l| l.address);
    assert_eq!(leases, expected);
}

#[test]
fn group_commit_throughput() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("l4.csv");
    let (m, _) = open(&p);
    let m = Arc::new(m);
    const THREADS: u32 = 4;
    const PER_THREAD: u32 = 50_000;
    const WINDOW: usize = 256;
    let start = crate::clock::monotonic_now();
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let m = Arc::clone(&m);
            std::thread::spawn(move || {
                // Like many engine tasks each waiting for its own lease: a window of commits in flight.
                let mut inflight = std::collections::VecDeque::with_capacity(WINDOW);
                for i in 0..PER_THREAD {
                    inflight.push_back(m.commit(vec![Change4::Upsert(lease(t * 100_000 + i))]));
                    if inflight.len() == WINDOW {
                        if let Some(tk) = inflight.pop_front() {
                            tk.wait().expect("commit");
                        }
                    }
                }
                for tk in inflight {
                    tk.wait().expect("commit");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("committer");
    }
    let secs = start.elapsed().as_secs_f64();
    let (batches, rows) = m.write_stats();
    let rate = rows as f64 / secs;
    eprintln!("group commit: {rows} rows in {batches} write+fdatasync batches, {secs:.2} s, {rate:.0} rows/s");
    assert_eq!(rows, u64::from(THREADS * PER_THREAD));
    assert!(batches * 8 < rows, "batches too small: {batches} for {rows} rows");
}

/// A minimal executor: the ticket's Future must work with any Waker, not only tokio's.
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

fn join_all<F: Future + Unpin>(mut futs: Vec<F>) -> Vec<F::Output> {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    loop {
        for (f, slot) in futs.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                if let Poll::Ready(v) = Pin::new(f).poll(&mut cx) {
                    *slot = Some(v);
                }
            }
        }
        if out.iter().all(Option::is_some) {
            return out.into_iter().flatten().collect();
        }
        std::thread::park_timeout(Duration::from_millis(100));
    }
}

#[test]
fn tickets_are_futures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("l4.csv");
    let (m, _) = open(&p);
    let tickets: Vec<CommitTicket> = (0..500).map(|i| m.commit(vec![Change4::Upsert(lease(i))])).collect();
    for r in join_all(tickets) {
        r.expect("commit");
    }
    let mut done = m.commit(vec![Change4::Upsert(lease(9999))]);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match Pin::new(&mut done).poll(&mut cx) {
            Poll::Ready(r) => break r.expect("commit"),
            Poll::Pending => std::thread::park_timeout(Duration::from_millis(100)),
        }
    }
    assert!(matches!(Pin::new(&mut done).poll(&mut cx), Poll::Ready(Err(MemfileError::TicketReused))));
}

fn expected_set(ns: impl IntoIterator<Item = u32>) -> Vec<Lease4> {
    let mut v: Vec<Lease4> = ns.into_iter().map(lease).collect();
    v.sort_by_key(|l| l.address);
    v
}

fn load_file_set(path: &Path) -> Vec<Lease4> {
    let mut map = LeaseMap::default();
    files::load_file(path, &mut map, 1, Tail::Parse).expect("loads without errors");
    let mut v: Vec<Lease4> = map.into_values().collect();
    v.sort_by_key(|l| l.address);
    v
}

#[test]
fn lfc_result_is_the_live_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("l4.csv");
    let ps = Paths::new(&p);
    let (m, _) = open(&p);
    let ups = |ns: std::ops::Range<u32>| ns.map(|n| Change4::Upsert(lease(n))).collect::<Vec<_>>();
    m.commit(ups(0..50)).wait().expect("commit");
    m.commit((10..20).map(|n| Change4::Delete(lease(n))).collect()).wait().expect("delete");
    m.start_lfc().expect("start").join().expect("lfc thread").expect("lfc");
    let live1 = expected_set((0..10).chain(20..50));
    assert_eq!(load_file_set(&ps.previous), live1);
    assert!(!ps.input.exists() && !ps.completed.exists() && !ps.output.exists() && !ps.pid.exists());
    assert_eq!(fs::read_to_string(&p).expect("journal"), format!("{H22}\n"));
    // Second round merges .2 with the new journal.
    m.commit(ups(50..60)).wait().expect("commit");
    m.commit((0..5).map(|n| Change4::Delete(lease(n))).collect()).wait().expect("delete");
    m.start_lfc().expect("start").join().expect("lfc thread").expect("lfc");
    let live2 = expected_set((5..10).chain(20..60));
    assert_eq!(load_file_set(&ps.previous), live2);
    m.close();
    let (_m, leases) = open(&p);
    assert_eq!(leases, live2);
}

#[test]
fn journal_accepts_commits_during_lfc() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("l4.csv");
    let ps = Paths::new(&p);
    let (m, _) = open(&p);
    m.commit((0..1000).map(|n| Change4::Upsert(lease(n))).collect()).wait().expect("commit");
    let (reached, release) = m.pause_next_lfc();
    let handle = m.start_lfc().expect("start");
    reached.recv_timeout(Duration::from_secs(30)).expect("cleanup rotated");
    // A second cleanup is refused while this one runs.
    assert!(matches!(m.start_lfc(), Err(MemfileError::LfcInProgress { .. })));
    assert_eq!(files::pid_file_owner(&ps.pid), Some(std::process::id()));
    assert!(ps.input.exists(), "journal rotated to .1");
    for n in 1000..1100 {
        m.commit(vec![Change4::Upsert(lease(n)), Change4::Delete(lease(n - 1000))]).wait().expect("commit during lfc");
    }
    assert!(!handle.is_finished(), "cleanup still paused while commits were acknowledged");
    // Crash here: Kea's loader order over .1 + <file> already gives the full live set.
    let live = expected_set(100..1100);
    {
        let mut map = LeaseMap::default();
        files::load_file(&ps.input, &mut map, 0, Tail::Parse).expect(".1");
        files::load_file(&p, &mut map, 0, Tail::Parse).expect("journal");
        let mut v: Vec<Lease4> = map.into_values().collect();
        v.sort_by_key(|l| l.address);
        assert_eq!(v, live);
    }
    release.send(()).expect("release");
    handle.join().expect("lfc thread").expect("lfc");
    assert_eq!(load_file_set(&ps.previous), expected_set(0..1000));
    assert!(!ps.pid.exists());
    m.close();
    let (_m, leases) = open(&p);
    assert_eq!(leases, live);
}

#[test]
fn lfc_finishes_an_interrupted_cleanup_without_rotating() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("l4.csv");
    let ps = Paths::new(&p);
    // A crash after .completed was written: .2 and .1 are stale and must be ignored.
    write(&ps.completed, &rows(&[lease(1), lease(2)]));
    write(&ps.previous, &rows(&[lease(7)]));
    write(&ps.input, &rows(&[lease(8)]));
    write(&p, &rows(&[lease(3)]));
    let (m, leases) = open(&p);
    assert_eq!(leases, expected_set([1, 2, 3]));
    m.start_lfc().expect("start").join().expect("thread").expect("lfc");
    assert_eq!(load_file_set(&ps.previous), expected_set([1, 2]));
    assert!(!ps.input.exists() && !ps.completed.exists());
    assert_eq!(load_file_set(&p), expected_set([3]), "journal not rotated");
    m.close();
    assert_eq!(open(&p).1, expected_set([1, 2, 3]));
}

#[test]
fn foreign_live_pid_file_blocks_load_and_lfc() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("l4.csv");
    let ps = Paths::new(&p);
    let (m, _) = open(&p);
    // pid 1 is alive and not us: someone else's kea-lfc.
    fs::write(&ps.pid, "1\n").expect("pid");
    assert!(matches!(m.start_lfc(), Err(MemfileError::LfcInProgress { pid: 1 })));
    m.close();
    assert!(matches!(Memfile4::open(cfg(&p)), Err(MemfileError::LfcInProgress { pid: 1 })));
    assert_eq!(files::pid_file_owner(&ps.pid), Some(1), "a foreign pid file is left alone");
    // A stale pid file (dead process) is ignored.
    fs::write(&ps.pid, format!("{}\n", u32::MAX - 1)).expect("pid");
    let (m, _) = open(&p);
    m.start_lfc().expect("start").join().expect("thread").expect("lfc");
    assert!(!ps.pid.exists());
}

const CRASH_ENV: &str = "KAKAPO_MEMFILE_CRASH_DIR";

/// The child side of `sigkill_loses_no_acknowledged_lease`; a no-op in a normal test run.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CRASH_ENV) else { return };
    let p = PathBuf::from(dir).join("l4.csv");
    let (m, _) = open(&p);
    let m = Arc::new(m);
    let lfc = {
        let m = Arc::clone(&m);
        std::thread::spawn(move || loop {
            m.start_lfc().expect("start").join().expect("thread").expect("lfc");
            writeln!(std::io::stdout().lock(), "LFC").expect("stdout");
            std::thread::sleep(Duration::from_millis(5));
        })
    };
    let committers: Vec<_> = (0..4u32)
        .map(|t| {
            let m = Arc::clone(&m);
            std::thread::spawn(move || {
                let mut i = 0;
                // Bounded in case the parent never kills us.
                while i < 400_000 {
                    let n: Vec<u32> = (0..1 + i % 4).map(|k| t * 1_000_000 + i + k).collect();
                    i += n.len() as u32;
                    m.commit(n.iter().map(|&n| Change4::Upsert(lease(n))).collect()).wait().expect("commit");
                    let mut out = std::io::stdout().lock();
                    for n in n {
                        writeln!(out, "ACK {n}").expect("stdout");
                    }
                }
            })
        })
        .collect();
    for c in committers {
        c.join().expect("committer");
    }
    drop(lfc);
}

#[test]
fn sigkill_loses_no_acknowledged_lease() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args(["--exact", "lease::memfile::tests::crash_child", "--nocapture", "--test-threads=1"])
        .env(CRASH_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut acked = HashSet::new();
    let mut lfcs = 0;
    let mut line = Vec::new();
    let mut killed = false;
    loop {
        line.clear();
        let n = out.read_until(b'\n', &mut line).expect("read");
        // A line cut by the kill (no newline) proves nothing; skip it.
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if let Some(n) = text.strip_prefix("ACK ") {
            acked.insert(n.parse::<u32>().expect("number"));
        } else if text == "LFC" {
            lfcs += 1;
        }
        if !killed && acked.len() >= 20_000 && lfcs >= 3 {
            // SIGKILL, mid-stream: commits and a cleanup are in flight.
            child.kill().expect("kill");
            killed = true;
        }
    }
    let status = child.wait().expect("wait");
    assert!(killed, "child ended on its own ({status}) after {} acks, {lfcs} cleanups", acked.len());
    let (_m, leases) = open(&dir.path().join("l4.csv"));
    let loaded: std::collections::HashMap<Ipv4Addr, Lease4> = leases.into_iter().map(|l| (l.address, l)).collect();
    let mut missing = 0;
    for n in &acked {
        match loaded.get(&lease(*n).address) {
            Some(l) => assert_eq!(*l, lease(*n)),
            None => missing += 1,
        }
    }
    eprintln!("crash test: {} acknowledged, {} loaded, {lfcs} cleanups before SIGKILL", acked.len(), loaded.len());
    assert_eq!(missing, 0, "acknowledged leases lost");
}

/// The DHCPv6 store: the same machinery over v6 rows (load order, tombstones, headers, group
/// commit, cleanup), with the v4 helpers above.
mod v6 {
    use std::net::Ipv6Addr;

    use super::*;
    use crate::lease::memfile::MemfileStore;
    use crate::lease::store::LeaseStore;
    use crate::lease::{Lease6, LeaseChange6, LeaseType6};

    fn h6() -> String {
        header6(false)
    }

    /// A deterministic lease per number: every fifth a /56 prefix, some with escapes and hwaddrs.
    fn lease6(n: u32) -> Lease6 {
        let pd = n % 5 == 0;
        let address = if pd {
            Ipv6Addr::from((0x2001_0db8_0008_0000_u128 + (u128::from(n) << 8)) << 64)
        } else {
            Ipv6Addr::from(0x2001_0db8_0001_0000_0000_0000_0000_0000_u128 + u128::from(n))
        };
        let hw = n % 3 == 0;
        Lease6 {
            address,
            prefix_len: if pd { 56 } else { 128 },
            lease_type: if pd { LeaseType6::Pd } else { LeaseType6::Na },
            duid: vec![0, 3, 0, 1, 2, (n >> 24) as u8, (n >> 16) as u8, (n >> 8) as u8, n as u8],
            iaid: n.wrapping_mul(7),
            valid_lifetime: 7200 + n % 7,
            preferred_lifetime: 3600 + n % 5,
            cltt: 1_800_000_000 + u64::from(n),
            subnet_id: 1 + n % 4,
            pool_id: 0,
            fqdn_fwd: n % 2 == 0,
            fqdn_rev: n % 7 == 0,
            hostname: if n % 4 == 0 { format!("host-{n},a&b\u{e9}") } else { String::new() },
            hwaddr: if hw { vec![0x02, 0, 0, 0, (n >> 8) as u8, n as u8] } else { Vec::new() },
            hwtype: if hw { 1 } else { 0 },
            hwaddr_source: if hw { 4 } else { 0 },
            state: if n % 11 == 0 { LeaseState::Declined } else { LeaseState::Default },
            user_context: (n % 6 == 0).then(|| format!("{{ \"n\": {n}, \"s\": \"x,y\" }}")),
        }
    }

    fn rows6(leases: &[Lease6]) -> String {
        leases.iter().map(|l| format!("{}\n", format_row6(l, false))).collect()
    }

    fn tombstone6(l: &Lease6) -> String {
        let mut out = String::new();
        csv6::write_row6(&mut out, l, true, false);
        out + "\n"
    }

    fn write6(path: &Path, body: &str) {
        fs::write(path, format!("{}\n{body}", h6())).expect("write test file");
    }

    fn open6(path: &Path) -> (Memfile6, Vec<Lease6>) {
        Memfile6::open(cfg(path)).expect("open")
    }

    fn set6(ns: impl IntoIterator<Item = u32>) -> Vec<Lease6> {
        let mut v: Vec<Lease6> = ns.into_iter().map(lease6).collect();
        v.sort_by_key(|l| l.address);
        v
    }

    fn load_file_set6(path: &Path) -> Vec<Lease6> {
        let mut map = LeaseMap::<Lease6>::default();
        files::load_file(path, &mut map, 1, Tail::Parse).expect("loads without errors");
        let mut v: Vec<Lease6> = map.into_values().collect();
        v.sort_by_key(|l| l.address);
        v
    }

    #[test]
    fn store_crosses_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Memfile6>();
    }

    #[test]
    fn load_order_previous_input_then_journal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("kea-leases6.csv");
        let ps = Paths::new(&p);
        let mut newer = lease6(1);
        newer.hostname = "newer".into();
        write6(&ps.previous, &rows6(&[lease6(1), lease6(2), lease6(3), lease6(5)]));
        write6(&ps.input, &(rows6(&[newer.clone()]) + &tombstone6(&lease6(2))));
        write6(&p, &(rows6(&[lease6(4)]) + &tombstone6(&lease6(3)) + &tombstone6(&lease6(9))));
        let (_m, leases) = open6(&p);
        let mut want = vec![newer, lease6(4), lease6(5)];
        want.sort_by_key(|l| l.address);
        assert_eq!(leases, want);
        // `.completed` hides `.2` and `.1`.
        write6(&ps.completed, &rows6(&[lease6(7)]));
        drop(_m);
        let (_m, leases) = open6(&p);
        assert_eq!(leases, set6([4, 7]));
    }

    #[test]
    fn commit_writes_kea_rows_and_tombstones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("kea-leases6.csv");
        let (m, leases) = open6(&p);
        assert!(leases.is_empty());
        let mut renewed = lease6(1);
        renewed.cltt += 100;
        m.commit(vec![Change6::Upsert(lease6(1)), Change6::Upsert(lease6(5))]).wait().expect("commit");
        m.commit(vec![Change6::Upsert(renewed.clone()), Change6::Delete(lease6(5))]).wait().expect("commit");
        m.close();
        assert!(matches!(m.commit(vec![Change6::Upsert(lease6(3))]).wait(), Err(MemfileError::Closed)));
        let text = fs::read_to_string(&p).expect("read");
        let want = format!("{}\n{}{}", h6(), rows6(&[lease6(1), lease6(5), renewed.clone()]), tombstone6(&lease6(5)));
        assert_eq!(text, want);
        assert!(text.lines().last().is_some_and(|l| l.contains(",0,1800000005,2,0,2,")), "tombstone: {text}");
        let (_m, leases) = open6(&p);
        assert_eq!(leases, vec![renewed]);
    }

    #[test]
    fn both_headers_and_conversion() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("kea-leases6.csv");
        // A Kea 2.4+ journal (pool_id column) opened by a 2.2-style store is rewritten first.
        let mut with_pool = lease6(3);
        with_pool.pool_id = 4;
        let mut gone = String::new();
        csv6::write_row6(&mut gone, &lease6(2), true, true);
        let body = format!("{}\n{}\n{gone}\n", format_row6(&lease6(2), true), format_row6(&with_pool, true));
        fs::write(&p, format!("{}\n{body}", header6(true))).expect("write");
        let (m, leases) = open6(&p);
        assert_eq!(leases, vec![with_pool.clone()]);
        m.close();
        assert_eq!(fs::read_to_string(&p).expect("journal"), format!("{}\n", h6()));
        let ps = Paths::new(&p);
        assert_eq!(fs::read_to_string(&ps.previous).expect(".2"), format!("{}\n{}", h6(), rows6(&[lease6(3)])));
        // A store configured for 2.4 writes the pool_id header and column.
        let q = dir.path().join("l6-24.csv");
        let (m, _) = Memfile6::open(MemfileConfig { pool_id_column: true, ..cfg(&q) }).expect("open 2.4");
        m.commit(vec![Change6::Upsert(with_pool.clone())]).wait().expect("commit");
        m.close();
        assert_eq!(
            fs::read_to_string(&q).expect("journal"),
            format!("{}\n{}\n", header6(true), format_row6(&with_pool, true))
        );
        let (_m, back) = Memfile6::open(MemfileConfig { pool_id_column: true, ..cfg(&q) }).expect("reopen");
        assert_eq!(back, vec![with_pool]);
    }

    #[test]
    fn v4_file_is_not_a_v6_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("l.csv");
        fs::write(&p, format!("{H22}\n")).expect("write");
        assert!(matches!(Memfile6::open(cfg(&p)), Err(MemfileError::InvalidHeader { .. })));
        fs::write(&p, format!("{}\n", h6())).expect("write");
        assert!(matches!(Memfile4::open(cfg(&p)), Err(MemfileError::InvalidHeader { .. })));
    }

    #[test]
    fn torn_row_and_row_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("kea-leases6.csv");
        let full = format_row6(&lease6(2), false);
        let ta = "2001:db8::9,01:02,3600,1795676452,1,1800,1,1,128,0,0,,,0,,,\n";
        write6(&p, &(rows6(&[lease6(1)]) + ta + &full[..full.len() - 9]));
        // The IA_TA row is skipped as a row error, the torn row cut before appending.
        let (m, leases) = open6(&p);
        assert_eq!(leases, vec![lease6(1)]);
        m.commit(vec![Change6::Upsert(lease6(3))]).wait().expect("commit");
        m.close();
        assert_eq!(
            fs::read_to_string(&p).expect("read"),
            format!("{}\n{}{ta}{}", h6(), rows6(&[lease6(1)]), rows6(&[lease6(3)]))
        );
        assert!(Memfile6::open(MemfileConfig { max_row_errors: 1, ..cfg(&p) }).is_ok());
        write6(&p, &format!("{ta}{ta}"));
        assert!(matches!(
            Memfile6::open(MemfileConfig { max_row_errors: 1, ..cfg(&p) }),
            Err(MemfileError::TooManyRowErrors { max: 1, .. })
        ));
    }

    #[test]
    fn unloadable_leases_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (m, _) = open6(&dir.path().join("kea-leases6.csv"));
        for bad in [Lease6 { duid: vec![], ..lease6(1) }, Lease6 { duid: vec![0], ..lease6(1) }] {
            assert!(matches!(m.commit(vec![Change6::Upsert(bad)]).wait(), Err(MemfileError::InvalidLease6 { .. })));
        }
    }

    #[test]
    fn group_commit_through_the_store_trait() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("kea-leases6.csv");
        let (m, _) = open6(&p);
        let m = Arc::new(m);
        let store = Arc::new(MemfileStore::<Lease6>::new(m.clone()));
        let threads: Vec<_> = (0..4u32)
            .map(|t| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || {
                    // Each thread keeps many commits in flight through the trait's futures.
                    let futs: Vec<_> = (0..300)
                        .map(|i| store.commit(&mut [LeaseChange6::Upsert(lease6(t * 1000 + i), None)].iter()))
                        .collect();
                    for r in join_all(futs) {
                        r.expect("commit");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("committer");
        }
        let (batches, rows) = m.write_stats();
        assert_eq!(rows, 1200);
        assert!(batches < rows, "no batching: {batches} syncs for {rows} rows");
        drop(store.close());
        let (_m, leases) = open6(&p);
        assert_eq!(leases, set6((0..4u32).flat_map(|t| (0..300).map(move |i| t * 1000 + i))));
    }

    #[test]
    fn lfc_keeps_the_live_set_while_commits_flow() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("kea-leases6.csv");
        let ps = Paths::new(&p);
        let (m, _) = open6(&p);
        m.commit((0..200).map(|n| Change6::Upsert(lease6(n))).collect()).wait().expect("commit");
        m.commit((10..20).map(|n| Change6::Delete(lease6(n))).collect()).wait().expect("delete");
        let (reached, release) = m.pause_next_lfc();
        let handle = m.start_lfc().expect("start");
        reached.recv_timeout(Duration::from_secs(30)).expect("cleanup rotated");
        assert!(matches!(m.start_lfc(), Err(MemfileError::LfcInProgress { .. })));
        for n in 200..250 {
            m.commit(vec![Change6::Upsert(lease6(n)), Change6::Delete(lease6(n - 200))]).wait().expect("during lfc");
        }
        release.send(()).expect("release");
        handle.join().expect("lfc thread").expect("lfc");
        assert_eq!(load_file_set6(&ps.previous), set6((0..10).chain(20..200)));
        assert!(!ps.input.exists() && !ps.completed.exists() && !ps.output.exists() && !ps.pid.exists());
        m.close();
        let live = set6((50..250).filter(|n| !(10..20).contains(n)));
        assert_eq!(open6(&p).1, live);
        // A second round through the store trait merges `.2` with the new journal.
        let (m, _) = open6(&p);
        let m = Arc::new(m);
        MemfileStore::<Lease6>::new(m.clone()).start_maintenance().expect("maintenance");
        for _ in 0..300 {
            if !ps.pid.exists() && !ps.input.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        m.close();
        assert_eq!(load_file_set6(&ps.previous), live);
        assert_eq!(fs::read_to_string(&p).expect("journal"), format!("{}\n", h6()));
    }
}

/// Polls `f` for up to 10 s.
fn eventually(what: &str, f: impl Fn() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn failed_write_fails_the_batch_and_refuses_commits_until_rewritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kea-leases4.csv");
    // An older cleanup result holding lease 9, which memory no longer has (deleted while the
    // disk was bad): the rewritten journal must not let it come back.
    write(&PathBuf::from(format!("{}.2", path.display())), &rows(&[lease(9)]));
    let (store, loaded) = open(&path);
    assert_eq!(addrs(&loaded), addrs(&[lease(9)]));
    let events: Arc<std::sync::Mutex<Vec<StoreHealth>>> = Arc::default();
    let ev = events.clone();
    store.set_observer(move |h| ev.lock().unwrap().push(h.clone()));
    assert_eq!(
        store.commit((1..=3).map(|n| Change4::Upsert(lease(n))).collect()).wait().map_err(|e| e.to_string()),
        Ok(())
    );

    store.fail_next_write();
    let err = store.commit(vec![Change4::Upsert(lease(4))]).wait().expect_err("a failed write is not acknowledged");
    assert!(
        matches!(&err, MemfileError::Io(e) if e.raw_os_error().is_none() && e.kind() == std::io::ErrorKind::StorageFull),
        "{err}"
    );
    // Failed: later commits fail at once (nothing queues while the disk is bad).
    let health = store.health();
    assert_eq!(health.failures, 1);
    assert!(health.failure.as_ref().is_some_and(|f| f.error.contains("No space left")), "{health:?}");
    let err = store.commit(vec![Change4::Upsert(lease(5))]).wait().expect_err("refused while failed");
    assert!(matches!(err, MemfileError::Unavailable(_)), "{err}");
    assert!(matches!(store.start_lfc().expect("starts").join().expect("joins"), Err(MemfileError::Unavailable(_))));

    // Without a source of the current state it stays failed.
    std::thread::sleep(Duration::from_millis(700));
    assert!(store.health().failure.is_some());
    // Memory holds 1..=4 (4 was decided but never acknowledged), 9 was deleted.
    let memory: Arc<std::sync::Mutex<Vec<Lease4>>> = Arc::new(std::sync::Mutex::new((1..=4).map(lease).collect()));
    let m = memory.clone();
    store.set_snapshot(move || Some(m.lock().unwrap().clone()));
    eventually("recovery", || store.health().failure.is_none());
    assert_eq!(store.commit(vec![Change4::Upsert(lease(5))]).wait().map_err(|e| e.to_string()), Ok(()));
    store.close();

    let observed: Vec<bool> = events.lock().unwrap().iter().map(|h| h.failure.is_none()).collect();
    assert_eq!(observed, vec![true, false, true], "healthy at start, failed, recovered");
    assert!(!PathBuf::from(format!("{}.tmp-recover", path.display())).exists());
    // What a restart (Kea's loader order) sees: exactly memory plus the commit after recovery.
    let (_again, loaded) = open(&path);
    assert_eq!(loaded, expected_set(1..=5));
}

#[test]
fn rewrite_after_failure_keeps_journal_loadable_by_kea_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kea-leases4.csv");
    let paths = Paths::new(&path);
    // An interrupted cleanup: `.completed` wins over `.2` and `.1`.
    write(&paths.completed, &rows(&[lease(1), lease(2)]));
    write(&paths.previous, &rows(&[lease(7)]));
    write(&paths.input, &rows(&[lease(8)]));
    write(&path, &rows(&[lease(3)]));
    let (file, len) =
        files::rewrite_journal::<Lease4>(&paths, vec![lease(3), lease(2), lease(5)], false).expect("rewrites");
    assert_eq!(file.metadata().expect("metadata").len(), len);
    drop(file);
    let body = fs::read_to_string(&path).expect("read");
    assert!(body.starts_with(&format!("{H22}\n")), "{body}");
    assert!(body.contains(&tombstone(&lease(1))), "lease 1 is only in .completed: {body}");
    let (_s, loaded) = open(&path);
    assert_eq!(loaded, expected_set([2, 3, 5]));
}

#[test]
fn queued_rows_are_bounded() {
    let shared = writer::Shared::new();
    // No writer thread runs: this is a disk that never returns from write.
    let big = vec![b'x'; writer::MAX_QUEUED_BYTES - 10];
    let first = shared.enqueue(&big, 1);
    let refused = shared.enqueue(&[b'y'; 100], 1).wait();
    assert!(matches!(refused, Err(MemfileError::Backlog { .. })), "{refused:?}");
    drop(first);
}
