//! Decode then handle: no packet may panic the DHCPv4 engine, whatever its bytes, and a
//! client that gets an answer is taken through the rest of its lease's life.
//!
//! Input: `[clock step][session flags][packet...]` (seeds: fuzz/seeds/v4_engine/, real
//! packets captured by fuzz/seeds/capture.sh behind these two bytes). Each input runs against
//! a fresh engine, so runs do not depend on each other. The packet's BOOTP op and magic
//! cookie are forced right (the v4_decode target covers wrong ones) so mutations spend their
//! time on the options the engine reads. Session flags:
//! - bit 0: answer an OFFER with the REQUEST a client would send (requested address and
//!   server identifier from the OFFER, everything else from the fuzzed packet);
//! - bits 1-3, once bound: 1 RENEW, 2 REBIND, 3 RELEASE, 4 DECLINE, 5 INFORM, 6 the same
//!   packet again, 7 let the lease expire, reclaim, and DISCOVER again;
//! - bit 4: afterwards reclaim at a much later time and replay the packet;
//! - bit 5: flip where the first packet seems to come from (unicast vs broadcast);
//! - bit 6: keep the op byte as fuzzed.
#![no_main]

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, OnceLock};

use kakapo::config::model::Dhcp4;
use kakapo::config::{load_str, LoadOptions};
use kakapo::engine::v4::{Engine4, Outcome4, RecvMeta4};
use kakapo::lease::alloc::LeaseMap4;
use kakapo::stats::{Stats, Tally};
use kakapo::wire::v4::{code, MessageType, Pkt4};

const CFG: &str = r#"{"Dhcp4": {"valid-lifetime": 600, "renew-timer": 150, "rebind-timer": 300,
  "decline-probation-period": 120,
  "option-data": [{"name": "domain-name-servers", "data": "192.0.2.1"}, {"name": "domain-name", "data": "example.org"}],
  "client-classes": [{"name": "pxe", "test": "substring(option[60].hex,0,9) == 'PXEClient'",
                      "option-data": [{"name": "boot-file-name", "data": "pxelinux.0"}]}],
  "subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10 - 192.0.2.40"}],
               "relay": {"ip-addresses": ["198.51.100.1"]},
               "option-data": [{"name": "routers", "data": "192.0.2.1"}],
               "reservations": [{"hw-address": "02:00:00:00:00:01", "ip-address": "192.0.2.200"},
                                {"client-id": "01:02:00:00:00:00:01", "ip-address": "192.0.2.201", "hostname": "res1"}]},
              {"id": 2, "subnet": "203.0.113.0/24", "pools": [{"pool": "203.0.113.10 - 203.0.113.12"}]}]}}"#;

const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const BASE: u64 = 1_800_000_000;

fn config() -> &'static Arc<Dhcp4> {
    static C: OnceLock<Arc<Dhcp4>> = OnceLock::new();
    C.get_or_init(|| {
        Arc::new(load_str("fuzz", CFG, &LoadOptions::default()).expect("fuzz config").config.dhcp4.expect("Dhcp4"))
    })
}

fn engine() -> Engine4 {
    let d4 = config().clone();
    let pools: Vec<(u32, Vec<(Ipv4Addr, Ipv4Addr)>)> =
        d4.subnets.iter().map(|s| (s.id, s.pools.iter().map(|p| (p.first, p.last)).collect())).collect();
    let map = LeaseMap4::new(pools.iter().map(|(id, p)| (*id, p.as_slice())));
    Engine4::new(d4, Arc::new(map), Arc::new(Stats::default()), BASE)
}

/// Where a packet like this one arrives from: a relay, a bound client, or a broadcast.
fn meta_for(pkt: &[u8], flip: bool) -> RecvMeta4 {
    let addr = |at: usize| pkt.get(at..at + 4).map_or(Ipv4Addr::UNSPECIFIED, |b| Ipv4Addr::new(b[0], b[1], b[2], b[3]));
    let (ciaddr, giaddr) = (addr(12), addr(24));
    let (src, mut dst) = if !giaddr.is_unspecified() {
        (SocketAddrV4::new(giaddr, 67), SERVER)
    } else if !ciaddr.is_unspecified() {
        (SocketAddrV4::new(ciaddr, 68), SERVER)
    } else {
        (SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68), Ipv4Addr::BROADCAST)
    };
    if flip {
        dst = if dst == SERVER { Ipv4Addr::BROADCAST } else { SERVER };
    }
    RecvMeta4 { ifindex: 1, ifname: "eth0".into(), iface_addrs: vec![SERVER], src, dst }
}

fn run(e: &Engine4, p: &Pkt4, now: u64) -> Outcome4 {
    let mut bytes = Vec::with_capacity(p.encoded_len());
    p.encode(&mut bytes);
    e.handle(&bytes, &meta_for(&bytes, false), now, now ^ u64::from(p.xid))
}

fn reply(o: &Outcome4) -> Option<&Pkt4> {
    match o {
        Outcome4::Reply(r) => Some(&r.pkt),
        _ => None,
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // Built before looking at the input, so the one-time configuration load happens in
    // libFuzzer's warm-up run on the empty input and is not counted as coverage.
    let e = engine();
    let (clock, flags, packet) = match data {
        [c, f, rest @ ..] => (*c, *f, rest),
        _ => return,
    };
    let mut bytes = packet.to_vec();
    if bytes.len() >= 240 {
        if flags & 0x40 == 0 {
            bytes[0] = 1;
        }
        bytes[236..240].copy_from_slice(&[0x63, 0x82, 0x53, 0x63]);
    }
    let now = BASE + u64::from(clock) * 60;
    let first = e.handle(&bytes, &meta_for(&bytes, flags & 0x20 != 0), now, u64::from(clock));
    let Ok(client) = Pkt4::decode(&bytes) else { return };
    let mut bound = reply(&first).filter(|r| r.message_type() == Some(MessageType::Ack)).cloned();
    if let Some(offer) = reply(&first).filter(|r| r.message_type() == Some(MessageType::Offer)) {
        if flags & 1 != 0 {
            let mut req = client.clone();
            req.set_message_type(MessageType::Request);
            req.ciaddr = Ipv4Addr::UNSPECIFIED;
            req.options.insert(code::REQUESTED_IP, offer.yiaddr.octets().to_vec());
            if let Some(sid) = offer.options.get(code::SERVER_ID) {
                req.options.insert(code::SERVER_ID, sid.to_vec());
            }
            bound = reply(&run(&e, &req, now + 1)).filter(|r| r.message_type() == Some(MessageType::Ack)).cloned();
        }
    }
    if let Some(ack) = bound {
        let mut next = client.clone();
        next.options.remove(code::REQUESTED_IP);
        next.options.remove(code::SERVER_ID);
        let sid = ack.options.get(code::SERVER_ID).map(<[u8]>::to_vec);
        let at = match (flags >> 1) & 7 {
            1 => {
                next.set_message_type(MessageType::Request);
                next.ciaddr = ack.yiaddr;
                now + 200
            }
            2 => {
                next.set_message_type(MessageType::Request);
                next.ciaddr = ack.yiaddr;
                next.giaddr = Ipv4Addr::UNSPECIFIED;
                now + 400
            }
            3 | 4 => {
                let release = (flags >> 1) & 7 == 3;
                next.set_message_type(if release { MessageType::Release } else { MessageType::Decline });
                if release {
                    next.ciaddr = ack.yiaddr;
                } else {
                    next.options.insert(code::REQUESTED_IP, ack.yiaddr.octets().to_vec());
                }
                if let Some(sid) = sid {
                    next.options.insert(code::SERVER_ID, sid);
                }
                now + 10
            }
            5 => {
                next.set_message_type(MessageType::Inform);
                next.ciaddr = ack.yiaddr;
                now + 10
            }
            6 => now + 5,
            7 => {
                reclaim(&e, now + 700);
                next.set_message_type(MessageType::Discover);
                now + 700
            }
            _ => now,
        };
        if at != now {
            let _ = run(&e, &next, at);
        }
    }
    if flags & 0x10 != 0 {
        let later = now + 100_000;
        reclaim(&e, later);
        let _ = e.handle(&bytes, &meta_for(&bytes, false), later, 7);
    }
});

/// One reclamation run and one flush whose changes are durable at once, counted as the
/// pipeline counts them.
fn reclaim(e: &Engine4, now: u64) {
    let mut tally = Tally::default();
    let changes = e.reclaim(now, &mut tally, &mut || false);
    e.synced(&changes, &mut tally);
    tally.count(now * 1_000_000);
    // The flush of reclaimed leases past their hold time, durable at once.
    let flushed = e.flush_reclaimed(now);
    e.synced(&flushed, &mut tally);
}
