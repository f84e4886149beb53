//! Decode then handle: no packet may panic the DHCPv6 engine, whatever its bytes (including
//! deep relay nesting), and a client that gets an answer is taken through the rest of its
//! lease's life.
//!
//! Input: `[clock step][session flags][datagram...]` (seeds: fuzz/seeds/v6_engine/, real
//! packets captured by fuzz/seeds/capture.sh behind these two bytes). Each input runs against
//! a fresh engine, so runs do not depend on each other. Session flags:
//! - bit 0: answer an ADVERTISE with the REQUEST a client would send (server identifier and
//!   IAs from the ADVERTISE, everything else from the fuzzed message, inside the same relays);
//! - bits 1-3, once bound: 1 RENEW, 2 REBIND, 3 RELEASE, 4 DECLINE, 5 CONFIRM, 6 the same
//!   datagram again, 7 let the leases expire, reclaim, and SOLICIT again;
//! - bit 4: afterwards reclaim at a much later time and replay the datagram;
//! - bit 5: a direct message arrives by unicast instead of multicast.
#![no_main]

use std::net::{Ipv6Addr, SocketAddrV6};
use std::sync::{Arc, OnceLock};

use kakapo::config::model::Dhcp6;
use kakapo::config::{load_str, LoadOptions};
use kakapo::engine::v6::{Engine6, Outcome6, RecvMeta6};
use kakapo::lease::alloc6::LeaseMap6;
use kakapo::stats::{Stats, Tally};
use kakapo::wire::v6::{code, decode, encode, Decoded6, MessageType, Pkt6};

const CFG: &str = r#"{"Dhcp6": {"preferred-lifetime": 300, "valid-lifetime": 600, "renew-timer": 100, "rebind-timer": 200,
  "decline-probation-period": 120,
  "option-data": [{"name": "dns-servers", "data": "2001:db8:1::1"}, {"name": "domain-search", "data": "example.org"}],
  "client-classes": [{"name": "cls", "test": "option[16].exists",
                      "option-data": [{"name": "sntp-servers", "data": "2001:db8:1::2"}]}],
  "subnet6": [{"id": 1, "subnet": "2001:db8:1::/64", "rapid-commit": true,
               "pools": [{"pool": "2001:db8:1::10 - 2001:db8:1::40"}],
               "pd-pools": [{"prefix": "2001:db8:8::", "prefix-len": 48, "delegated-len": 56}],
               "reservations": [{"duid": "00:03:00:01:02:00:00:00:00:01", "ip-addresses": ["2001:db8:1::200"]},
                                {"hw-address": "02:00:00:00:00:02", "prefixes": ["2001:db8:7::/56"], "hostname": "res6"}]},
              {"id": 2, "subnet": "2001:db8:2::/64", "pools": [{"pool": "2001:db8:2::10 - 2001:db8:2::12"}],
               "pd-pools": [{"prefix": "2001:db8:9::", "prefix-len": 48, "delegated-len": 56}]}]}}"#;

const SERVER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
const BASE: u64 = 1_800_000_000;

fn config() -> &'static Arc<Dhcp6> {
    static C: OnceLock<Arc<Dhcp6>> = OnceLock::new();
    C.get_or_init(|| {
        Arc::new(load_str("fuzz", CFG, &LoadOptions::default()).expect("fuzz config").config.dhcp6.expect("Dhcp6"))
    })
}

fn engine() -> Engine6 {
    let d6 = config().clone();
    let map = Arc::new(LeaseMap6::for_config(&d6));
    Engine6::new(d6, map, Arc::new(Stats::default()), vec![0, 2, 0, 0, 9, 191, 1, 2], BASE)
}

/// Where a datagram like this one arrives from: a relay by unicast, or a client on the link.
fn meta_for(datagram: &[u8], unicast: bool) -> RecvMeta6 {
    let link_local = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    let (src, dst) = if datagram.first() == Some(&12) {
        (SocketAddrV6::new(Ipv6Addr::new(0x2001, 0xdb8, 3, 0, 0, 0, 0, 2), 547, 0, 1), SERVER)
    } else {
        let dst = if unicast { SERVER } else { Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2) };
        (SocketAddrV6::new(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2), 546, 0, 1), dst)
    };
    RecvMeta6 { ifindex: 1, ifname: "eth0".into(), iface_addrs: vec![SERVER, link_local], src, dst }
}

fn run(e: &Engine6, d: &Decoded6, pkt: &Pkt6, now: u64) -> Outcome6 {
    let mut bytes = Vec::new();
    encode(pkt, &d.relays, &mut bytes);
    e.handle(&bytes, &meta_for(&bytes, false), now, now ^ u64::from(pkt.xid))
}

fn reply(o: &Outcome6) -> Option<&Pkt6> {
    match o {
        Outcome6::Reply(r) => Some(&r.pkt),
        Outcome6::Drop(_) => None,
    }
}

/// The client message with the reply's IAs (and, when `sid`, its server identifier).
fn follow(client: &Pkt6, answer: &Pkt6, msg: MessageType, sid: bool) -> Pkt6 {
    let mut p = client.clone();
    p.msg_type = msg;
    p.options.remove_all(code::IA_NA);
    p.options.remove_all(code::IA_PD);
    p.options.remove_all(code::SERVERID);
    p.options.remove_all(code::RAPID_COMMIT);
    for c in [code::IA_NA, code::IA_PD] {
        for ia in answer.options.get_all(c) {
            p.options.push_slice(c, ia);
        }
    }
    if sid {
        if let Some(s) = answer.options.get(code::SERVERID) {
            p.options.set(code::SERVERID, s);
        }
    }
    p
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // Built before looking at the input, so the one-time configuration load happens in
    // libFuzzer's warm-up run on the empty input and is not counted as coverage.
    let e = engine();
    let (clock, flags, datagram) = match data {
        [c, f, rest @ ..] => (*c, *f, rest),
        _ => return,
    };
    let now = BASE + u64::from(clock) * 60;
    let first = e.handle(datagram, &meta_for(datagram, flags & 0x20 != 0), now, u64::from(clock));
    let Ok(d) = decode(datagram) else { return };
    let mut bound = reply(&first).filter(|r| r.msg_type == MessageType::Reply).cloned();
    if let Some(adv) = reply(&first).filter(|r| r.msg_type == MessageType::Advertise) {
        if flags & 1 != 0 {
            let req = follow(&d.inner, adv, MessageType::Request, true);
            bound = reply(&run(&e, &d, &req, now + 1)).filter(|r| r.msg_type == MessageType::Reply).cloned();
        }
    }
    if let Some(ack) = bound {
        let (msg, sid, at) = match (flags >> 1) & 7 {
            1 => (MessageType::Renew, true, now + 150),
            2 => (MessageType::Rebind, false, now + 250),
            3 => (MessageType::Release, true, now + 10),
            4 => (MessageType::Decline, true, now + 10),
            5 => (MessageType::Confirm, false, now + 10),
            6 => (d.inner.msg_type, false, now + 5),
            7 => {
                reclaim(&e, now + 700);
                (MessageType::Solicit, false, now + 700)
            }
            _ => (MessageType::Renew, true, now),
        };
        if at != now {
            let next = if (flags >> 1) & 7 == 6 { d.inner.clone() } else { follow(&d.inner, &ack, msg, sid) };
            let _ = run(&e, &d, &next, at);
        }
    }
    if flags & 0x10 != 0 {
        let later = now + 100_000;
        reclaim(&e, later);
        let _ = e.handle(datagram, &meta_for(datagram, false), later, 7);
    }
});

/// One reclamation run and one flush whose changes are durable at once, counted as the
/// pipeline counts them.
fn reclaim(e: &Engine6, now: u64) {
    let mut tally = Tally::default();
    let changes = e.reclaim(now, &mut tally, &mut || false);
    e.synced(&changes, &mut tally);
    tally.count(now * 1_000_000);
    // The flush of reclaimed leases past their hold time, durable at once.
    let flushed = e.flush_reclaimed(now);
    e.synced(&flushed, &mut tally);
}
