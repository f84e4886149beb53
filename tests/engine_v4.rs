//! Engine scenarios with an in-memory lease map and a virtual clock (design.md test tier 2):
//! RFC 2131 exchanges against Kea's behaviour, no sockets.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use kakapo::config::{load_str, LoadOptions};
use kakapo::engine::v4::{Dest4, DropReason, Engine4, Outcome4, RecvMeta4, Reply4};
use kakapo::lease::alloc::LeaseMap4;
use kakapo::lease::{LeaseChange4, LeaseState};
use kakapo::stats::{Stats, Tally};
use kakapo::wire::v4::{code, MessageType, Pkt4};

const CFG: &str = r#"{"Dhcp4": {
  "interfaces-config": {"interfaces": ["lo"]},
  "valid-lifetime": 3600, "renew-timer": 900, "rebind-timer": 1800,
  "option-data": [{"name": "domain-name-servers", "data": "192.0.2.53, 192.0.2.54"}],
  "subnet4": [
    {"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10 - 192.0.2.12"}],
     "option-data": [{"name": "routers", "data": "192.0.2.1"}],
     "reservations": [{"hw-address": "02:00:00:00:00:99", "ip-address": "192.0.2.200", "hostname": "printer"}]},
    {"id": 2, "subnet": "198.51.100.0/24", "pools": [{"pool": "198.51.100.10 - 198.51.100.20"}],
     "option-data": [{"name": "routers", "data": "198.51.100.1"}]}
  ]}}"#;

struct Lab {
    engine: Engine4,
    stats: Arc<Stats>,
    now: u64,
}

fn lab(cfg: &str) -> Lab {
    let loaded = load_str("t", cfg, &LoadOptions::default()).unwrap();
    let d4 = Arc::new(loaded.config.dhcp4.unwrap());
    let pools: Vec<(u32, Vec<(Ipv4Addr, Ipv4Addr)>)> =
        d4.subnets.iter().map(|s| (s.id, s.pools.iter().map(|p| (p.first, p.last)).collect())).collect();
    let map = Arc::new(LeaseMap4::new(pools.iter().map(|(id, p)| (*id, p.as_slice()))));
    let stats = Arc::new(Stats::default());
    let now = 1_800_000_000;
    Lab { engine: Engine4::new(d4, map, stats.clone(), now), stats, now }
}

fn meta() -> RecvMeta4 {
    RecvMeta4 {
        ifindex: 1,
        ifname: "eth0".into(),
        iface_addrs: vec![Ipv4Addr::new(192, 0, 2, 1)],
        src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
        dst: Ipv4Addr::BROADCAST,
    }
}

fn client(mac_last: u8, mt: MessageType) -> Pkt4 {
    let mut buf = Vec::new();
    // Build through the codec so the test exercises decode as well.
    let mut p = Pkt4::decode(&discover_bytes(mac_last)).unwrap();
    p.options.insert(code::MESSAGE_TYPE, vec![mt as u8]);
    p.encode(&mut buf);
    Pkt4::decode(&buf).unwrap()
}

/// A DHCPDISCOVER as dhclient sends it: BOOTP header, magic cookie, options 53, 55, end.
fn discover_bytes(mac_last: u8) -> Vec<u8> {
    let mut b = vec![0u8; 236];
    b[0] = 1; // BOOTREQUEST
    b[1] = 1; // Ethernet
    b[2] = 6;
    b[4..8].copy_from_slice(&0x1234_5600u32.wrapping_add(u32::from(mac_last)).to_be_bytes());
    b[28..34].copy_from_slice(&[2, 0, 0, 0, 0, mac_last]);
    b.extend_from_slice(&[99, 130, 83, 99]);
    b.extend_from_slice(&[53, 1, 1]);
    b.extend_from_slice(&[55, 4, 1, 3, 6, 15]);
    b.push(255);
    b
}

fn bytes(p: &Pkt4) -> Vec<u8> {
    let mut v = Vec::new();
    p.encode(&mut v);
    v
}

impl Lab {
    fn send(&self, p: &Pkt4) -> Outcome4 {
        self.engine.handle(&bytes(p), &meta(), self.now, 7)
    }
    /// What the pipeline does once changes are durable: settle them and count the tally.
    fn settle(&self, changes: &[LeaseChange4], mut tally: Tally) {
        self.engine.synced(changes, &mut tally);
        tally.count(self.now * 1_000_000);
    }
    /// One reclamation run whose changes are durable at once.
    fn reclaim(&self) -> Vec<LeaseChange4> {
        let mut tally = Tally::default();
        let changes = self.engine.reclaim(self.now, &mut tally, &mut || false);
        self.settle(&changes, tally);
        changes
    }
    fn reply(&self, p: &Pkt4) -> Reply4 {
        match self.send(p) {
            Outcome4::Reply(r) => r,
            other => panic!("expected a reply, got {other:?}"),
        }
    }
    fn stat(&self, name: &str) -> i64 {
        self.stats.get(name).map_or(0, |s| s.value)
    }
    fn dora(&self, mac: u8) -> Reply4 {
        let offer = self.reply(&client(mac, MessageType::Discover));
        let mut req = client(mac, MessageType::Request);
        req.options.insert(code::REQUESTED_IP, offer.pkt.yiaddr.octets().to_vec());
        req.options.insert(code::SERVER_ID, offer.pkt.server_id().unwrap().octets().to_vec());
        self.reply(&req)
    }
}

#[test]
fn dora_gives_a_pool_address_with_options_and_durable_row() {
    let lab = lab(CFG);
    let offer = lab.reply(&client(1, MessageType::Discover));
    assert_eq!(offer.pkt.message_type(), Some(MessageType::Offer));
    assert_eq!(offer.pkt.yiaddr, Ipv4Addr::new(192, 0, 2, 10));
    assert!(offer.changes.is_empty(), "an offer is not persisted");
    assert_eq!(offer.dest, Dest4::LinkUnicast { mac: [2, 0, 0, 0, 0, 1], ip: Ipv4Addr::new(192, 0, 2, 10) });
    assert_eq!(offer.pkt.server_id(), Some(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(offer.pkt.options.get(code::ROUTERS), Some(&[192, 0, 2, 1][..]));
    assert_eq!(offer.pkt.options.get(code::DNS), Some(&[192, 0, 2, 53, 192, 0, 2, 54][..]));
    assert_eq!(offer.pkt.options.get(code::SUBNET_MASK), Some(&[255, 255, 255, 0][..]));
    assert_eq!(offer.pkt.options.get(code::LEASE_TIME), Some(&3600u32.to_be_bytes()[..]));
    assert_eq!(offer.pkt.options.get(code::RENEWAL), Some(&900u32.to_be_bytes()[..]));
    assert_eq!(offer.pkt.options.get(code::REBINDING), Some(&1800u32.to_be_bytes()[..]));

    let ack = lab.dora(1);
    assert_eq!(ack.pkt.message_type(), Some(MessageType::Ack));
    assert_eq!(ack.pkt.yiaddr, Ipv4Addr::new(192, 0, 2, 10));
    match &ack.changes[..] {
        [LeaseChange4::Upsert(l, _)] => {
            assert_eq!(l.address, Ipv4Addr::new(192, 0, 2, 10));
            assert_eq!(l.hwaddr, vec![2, 0, 0, 0, 0, 1]);
            assert_eq!((l.valid_lifetime, l.cltt, l.subnet_id), (3600, lab.now, 1));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(lab.stat("subnet[1].assigned-addresses"), 1);
    assert_eq!(lab.stat("pkt4-discover-received"), 2);
    assert_eq!(lab.stat("pkt4-request-received"), 1);
}

#[test]
fn second_client_gets_another_address_and_renewal_keeps_it() {
    let lab = lab(CFG);
    let a = lab.dora(1).pkt.yiaddr;
    let b = lab.dora(2).pkt.yiaddr;
    assert_ne!(a, b);
    // RENEWING: ciaddr set, no server id, no requested address; unicast reply.
    let mut renew = client(1, MessageType::Request);
    renew.ciaddr = a;
    let r = lab.reply(&renew);
    assert_eq!(r.pkt.message_type(), Some(MessageType::Ack));
    assert_eq!(r.pkt.yiaddr, a);
    assert_eq!(r.dest, Dest4::Unicast(SocketAddrV4::new(a, 68)));
    assert_eq!(lab.stat("subnet[1].assigned-addresses"), 2);
    // Rediscover: same client, same address.
    assert_eq!(lab.reply(&client(1, MessageType::Discover)).pkt.yiaddr, a);
}

#[test]
fn request_for_someone_elses_address_is_naked() {
    let lab = lab(CFG);
    let a = lab.dora(1).pkt.yiaddr;
    // SELECTING (server id present) for another client's address: NAK, broadcast.
    let mut req = client(2, MessageType::Request);
    req.options.insert(code::REQUESTED_IP, a.octets().to_vec());
    req.options.insert(code::SERVER_ID, vec![192, 0, 2, 1]);
    let r = lab.reply(&req);
    assert_eq!(r.pkt.message_type(), Some(MessageType::Nak));
    assert_eq!(r.dest, Dest4::Broadcast);
    // INIT-REBOOT for it: the client is unknown, and a non-authoritative server stays silent.
    let mut req = client(2, MessageType::Request);
    req.options.insert(code::REQUESTED_IP, a.octets().to_vec());
    assert!(matches!(lab.send(&req), Outcome4::Drop(DropReason::UnknownClientInitReboot)));
}

#[test]
fn init_reboot_on_the_wrong_network_is_naked() {
    // Only an authoritative server answers a client it has no lease for (Kea's assignLease).
    let lab = lab(&CFG.replace(r#""valid-lifetime": 3600,"#, r#""valid-lifetime": 3600, "authoritative": true,"#));
    let mut req = client(3, MessageType::Request);
    req.options.insert(code::REQUESTED_IP, vec![203, 0, 113, 5]);
    assert_eq!(lab.reply(&req).pkt.message_type(), Some(MessageType::Nak));
}

#[test]
fn unknown_client_init_reboot_is_ignored_when_not_authoritative() {
    let lab = lab(CFG);
    let mut req = client(3, MessageType::Request);
    req.options.insert(code::REQUESTED_IP, vec![192, 0, 2, 11]);
    assert!(matches!(lab.send(&req), Outcome4::Drop(DropReason::UnknownClientInitReboot)));
}

#[test]
fn release_frees_and_decline_quarantines() {
    let lab = lab(CFG);
    let a = lab.dora(1).pkt.yiaddr;
    let mut rel = client(1, MessageType::Release);
    rel.ciaddr = a;
    rel.options.insert(code::SERVER_ID, vec![192, 0, 2, 1]);
    match lab.send(&rel) {
        Outcome4::Silent(c) => assert!(matches!(&c[..], [LeaseChange4::Delete(l)] if l.address == a)),
        o => panic!("{o:?}"),
    }
    assert_eq!(lab.stat("subnet[1].assigned-addresses"), 0);

    let b = lab.dora(2).pkt.yiaddr;
    let mut dec = client(2, MessageType::Decline);
    dec.options.insert(code::REQUESTED_IP, b.octets().to_vec());
    dec.options.insert(code::SERVER_ID, vec![192, 0, 2, 1]);
    match lab.send(&dec) {
        Outcome4::Silent(c) => match &c[..] {
            [LeaseChange4::Upsert(l, _)] => {
                assert_eq!(l.state, LeaseState::Declined);
                assert_eq!(l.valid_lifetime, 86400);
                assert!(l.hwaddr.is_empty());
            }
            other => panic!("{other:?}"),
        },
        o => panic!("{o:?}"),
    }
    assert_eq!(lab.stat("subnet[1].declined-addresses"), 1);
    // The declined address is not offered to anyone during probation.
    for mac in 3..6 {
        let o = lab.send(&client(mac, MessageType::Discover));
        if let Outcome4::Reply(r) = o {
            assert_ne!(r.pkt.yiaddr, b);
        }
    }
}

#[test]
fn exhausted_pool_gives_no_offer_and_counts_it() {
    let lab = lab(CFG);
    for mac in 1..=3 {
        lab.dora(mac);
    }
    assert!(matches!(lab.send(&client(4, MessageType::Discover)), Outcome4::Drop(DropReason::NoAddress)));
    assert_eq!(lab.stat("v4-allocation-fail"), 1);
}

#[test]
fn hw_address_reservation_is_honoured() {
    let lab = lab(CFG);
    let ack = lab.dora(0x99);
    assert_eq!(ack.pkt.yiaddr, Ipv4Addr::new(192, 0, 2, 200));
    match &ack.changes[..] {
        [LeaseChange4::Upsert(l, _)] => assert_eq!(l.hostname, "printer"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn inform_gets_options_and_no_lease() {
    let lab = lab(CFG);
    let mut inf = client(5, MessageType::Inform);
    inf.ciaddr = Ipv4Addr::new(192, 0, 2, 77);
    let r = lab.reply(&inf);
    assert_eq!(r.pkt.message_type(), Some(MessageType::Ack));
    assert_eq!(r.pkt.yiaddr, Ipv4Addr::UNSPECIFIED);
    assert!(r.pkt.options.get(code::LEASE_TIME).is_none());
    assert_eq!(r.pkt.options.get(code::ROUTERS), Some(&[192, 0, 2, 1][..]));
    assert!(r.changes.is_empty());
    assert_eq!(r.dest, Dest4::Unicast(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 77), 68)));
}

#[test]
fn relayed_discover_selects_by_giaddr_and_goes_back_to_the_relay() {
    let lab = lab(CFG);
    let mut d = client(6, MessageType::Discover);
    d.giaddr = Ipv4Addr::new(198, 51, 100, 1);
    d.hops = 1;
    let r = lab.reply(&d);
    assert_eq!(r.pkt.yiaddr, Ipv4Addr::new(198, 51, 100, 10));
    assert_eq!(r.dest, Dest4::Relay(SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 1), 67)));
    assert_eq!(r.pkt.options.get(code::ROUTERS), Some(&[198, 51, 100, 1][..]));
}

#[test]
fn malformed_packets_are_counted_not_fatal() {
    let lab = lab(CFG);
    let good = discover_bytes(1);
    for cut in [0, 10, 100, 235, 239, good.len() - 3] {
        let o = lab.engine.handle(&good[..cut], &meta(), lab.now, 1);
        assert!(matches!(o, Outcome4::Drop(DropReason::ParseFailed(_))), "cut at {cut}: {o:?}");
    }
    assert_eq!(lab.stat("pkt4-parse-failed"), 6);
    assert!(matches!(lab.send(&client(1, MessageType::Discover)), Outcome4::Reply(_)));
}

#[test]
fn expired_leases_are_reclaimed() {
    let mut lab = lab(CFG);
    let a = lab.dora(1).pkt.yiaddr;
    lab.now += 3601;
    let changes = lab.reclaim();
    assert!(
        matches!(&changes[..], [LeaseChange4::Upsert(l, _)] if l.address == a && l.state == LeaseState::ExpiredReclaimed)
    );
    assert_eq!(lab.stat("subnet[1].assigned-addresses"), 0);
    assert_eq!(lab.stat("reclaimed-leases"), 1);
    // hold-reclaimed-time later, the flush of reclaimed leases deletes it, not reclamation.
    lab.now += 3600;
    assert!(lab.reclaim().is_empty());
    let changes = lab.engine.flush_reclaimed(lab.now);
    assert!(matches!(&changes[..], [LeaseChange4::Delete(l)] if l.address == a));
}

/// `max-reclaim-time`: a run stops when its time is spent (the engine asks `out_of_time`
/// before each lease), leaving the rest to the next run.
#[test]
fn a_reclamation_run_stops_when_its_time_is_spent() {
    let mut lab = lab(CFG);
    for mac in 1..=3 {
        lab.dora(mac);
    }
    lab.now += 3601;
    let mut tally = Tally::default();
    let mut asked = 0;
    let changes = lab.engine.reclaim(lab.now, &mut tally, &mut || {
        asked += 1;
        asked > 2
    });
    assert_eq!(changes.len(), 1, "the second check of the run found its time spent");
    lab.settle(&changes, tally);
    assert_eq!(lab.reclaim().len(), 2, "the next run reclaims the rest");
}

#[test]
fn fqdn_name_is_recorded_and_cached_renewals_write_nothing() {
    let lab = lab(&CFG.replace(r#""valid-lifetime": 3600,"#, r#""valid-lifetime": 3600, "cache-threshold": 0.25,"#));
    let offer = lab.reply(&client(1, MessageType::Discover));
    let mut req = client(1, MessageType::Request);
    req.options.insert(code::REQUESTED_IP, offer.pkt.yiaddr.octets().to_vec());
    req.options.insert(code::SERVER_ID, offer.pkt.server_id().unwrap().octets().to_vec());
    // Option 81: flags S, rcodes, name in wire format (E flag).
    req.options.insert(code::CLIENT_FQDN, [&[0x05u8, 0, 0][..], b"\x04host\x07example\x03org\x00"].concat());
    let ack = lab.reply(&req);
    match &ack.changes[..] {
        // Fully qualified, as Kea 2.2 records an option 81 name.
        [LeaseChange4::Upsert(l, _)] => assert_eq!(l.hostname, "host.example.org."),
        other => panic!("{other:?}"),
    }
    // A renewal 100 s later is within 25% of 3600 s: same lease, remaining lifetime, no row.
    let mut lab = lab;
    lab.now += 100;
    let mut renew = client(1, MessageType::Request);
    renew.ciaddr = offer.pkt.yiaddr;
    renew.options.insert(code::CLIENT_FQDN, [&[0x05u8, 0, 0][..], b"\x04host\x07example\x03org\x00"].concat());
    let r = lab.reply(&renew);
    assert!(r.changes.is_empty(), "{:?}", r.changes);
    assert_eq!(r.pkt.options.get(code::LEASE_TIME), Some(&3500u32.to_be_bytes()[..]));
    assert_eq!(lab.stat("v4-lease-reuses"), 1);
    // Past the threshold the lease is extended and written again.
    lab.now += 1000;
    let r = lab.reply(&renew);
    assert_eq!(r.changes.len(), 1);
}

const CFG2: &str = r#"{"Dhcp4": {
  "valid-lifetime": 1000, "calculate-tee-times": true,
  "next-server": "192.0.2.5", "boot-file-name": "pxelinux.0",
  "host-reservation-identifiers": ["circuit-id", "hw-address"],
  "shared-networks": [{"name": "office", "subnet4": [
    {"id": 10, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10 - 192.0.2.10"}]},
    {"id": 11, "subnet": "198.51.100.0/24", "pools": [{"pool": "198.51.100.10 - 198.51.100.11"}],
     "server-hostname": "boot.example.org"}
  ]}],
  "subnet4": [
    {"id": 20, "subnet": "203.0.113.0/24",
     "pools": [{"pool": "203.0.113.10 - 203.0.113.19", "client-class": "KNOWN"},
               {"pool": "203.0.113.100 - 203.0.113.109", "client-classes": ["UNKNOWN"]}],
     "reservations": [{"circuit-id": "'port-7'", "hostname": "desk7", "boot-file-name": "desk.efi"},
                      {"hw-address": "02:00:00:00:00:42"}]}
  ]}}"#;

/// RAI with circuit-id `port-7` (RFC 3046 sub-option 1).
fn rai(circuit: &[u8]) -> Vec<u8> {
    let mut v = vec![1, circuit.len() as u8];
    v.extend_from_slice(circuit);
    v
}

#[test]
fn shared_network_spills_over_and_boot_fields_follow_the_subnet() {
    let lab = lab(CFG2);
    let first = lab.dora(1);
    assert_eq!(first.pkt.yiaddr, Ipv4Addr::new(192, 0, 2, 10));
    assert_eq!(first.pkt.siaddr, Ipv4Addr::new(192, 0, 2, 5));
    assert!(first.pkt.file.starts_with(b"pxelinux.0\0"));
    // T1/T2 computed from the lifetime: 50% and 87.5%.
    assert_eq!(first.pkt.options.get(code::RENEWAL), Some(&500u32.to_be_bytes()[..]));
    assert_eq!(first.pkt.options.get(code::REBINDING), Some(&875u32.to_be_bytes()[..]));
    // The first subnet is full: the shared network's second subnet serves the next client.
    let second = lab.dora(2);
    assert_eq!(second.pkt.yiaddr, Ipv4Addr::new(198, 51, 100, 10));
    assert!(second.pkt.sname.starts_with(b"boot.example.org\0"));
}

#[test]
fn subnet_selection_option_and_class_guarded_pools_and_circuit_id_reservation() {
    let lab = lab(CFG2);
    // Option 118 picks 203.0.113.0/24 although the packet arrived on 192.0.2.0/24's link.
    let mut d = client(3, MessageType::Discover);
    d.options.insert(code::SUBNET_SELECTION, vec![203, 0, 113, 1]);
    let r = lab.reply(&d);
    assert_eq!(r.pkt.yiaddr, Ipv4Addr::new(203, 0, 113, 100), "an unknown client gets the UNKNOWN pool");
    // A client with a reservation (no address) is KNOWN: the KNOWN pool.
    let mut d = client(0x42, MessageType::Discover);
    d.options.insert(code::SUBNET_SELECTION, vec![203, 0, 113, 1]);
    assert_eq!(lab.reply(&d).pkt.yiaddr, Ipv4Addr::new(203, 0, 113, 10));
    // Relayed with circuit-id port-7: reservation by circuit id, its boot file, KNOWN pool.
    let mut d = client(4, MessageType::Discover);
    d.giaddr = Ipv4Addr::new(203, 0, 113, 1);
    d.options.insert(code::RAI, rai(b"port-7"));
    let r = lab.reply(&d);
    assert_eq!(r.pkt.yiaddr, Ipv4Addr::new(203, 0, 113, 11));
    assert!(r.pkt.file.starts_with(b"desk.efi\0"));
    assert_eq!(r.pkt.options.get(code::RAI), Some(&rai(b"port-7")[..]), "RFC 3046: option 82 echoed to the relay");
}

const CFG3: &str = r#"{"Dhcp4": {
  "authoritative": true, "match-client-id": false,
  "valid-lifetime": 1000, "min-valid-lifetime": 500, "max-valid-lifetime": 2000,
  "reservations-global": true, "reservations-in-subnet": true,
  "option-data": [{"name": "domain-name", "data": "global.example"},
                  {"name": "ntp-servers", "data": "192.0.2.123", "always-send": true},
                  {"name": "time-offset", "data": "3600", "never-send": true}],
  "client-classes": [{"name": "VENDOR_CLASS_docsis3.0", "option-data": [{"name": "domain-name", "data": "cable.example"}]}],
  "reservations": [{"hw-address": "02:00:00:00:00:99", "ip-address": "192.0.2.250", "hostname": "global-host",
                    "option-data": [{"name": "domain-name", "data": "host.example"}]}],
  "subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10 - 192.0.2.20"}],
               "reservations-out-of-pool": true,
               "option-data": [{"name": "routers", "data": "192.0.2.1"}]}]}}"#;

#[test]
fn authoritative_match_client_id_lifetimes_global_reservations_and_option_rules() {
    let lab = lab(CFG3);
    // authoritative: an unknown INIT-REBOOT client is NAKed instead of ignored (Kea's
    // assignLease), even for a free pool address: it must start over with DISCOVER.
    for ip in [[192, 0, 2, 200], [192, 0, 2, 15]] {
        let mut req = client(3, MessageType::Request);
        req.options.insert(code::REQUESTED_IP, ip.to_vec());
        assert_eq!(lab.reply(&req).pkt.message_type(), Some(MessageType::Nak));
    }

    // match-client-id false: the same MAC with a new client id keeps its lease.
    let mut d = client(1, MessageType::Discover);
    d.options.insert(code::CLIENT_ID, vec![1, 2, 3]);
    let first = lab.reply(&d).pkt.yiaddr;
    let mut r = client(1, MessageType::Request);
    r.options.insert(code::CLIENT_ID, vec![1, 2, 3]);
    r.options.insert(code::REQUESTED_IP, first.octets().to_vec());
    r.options.insert(code::SERVER_ID, vec![192, 0, 2, 1]);
    assert_eq!(lab.reply(&r).pkt.yiaddr, first);
    let mut d2 = client(1, MessageType::Discover);
    d2.options.insert(code::CLIENT_ID, vec![9, 9, 9]);
    assert_eq!(lab.reply(&d2).pkt.yiaddr, first);

    // A lease-time hint is clamped to [min, max].
    let mut d = client(2, MessageType::Discover);
    d.options.insert(code::LEASE_TIME, 10u32.to_be_bytes().to_vec());
    assert_eq!(lab.reply(&d).pkt.options.get(code::LEASE_TIME), Some(&500u32.to_be_bytes()[..]));
    let mut d = client(2, MessageType::Discover);
    d.options.insert(code::LEASE_TIME, 99_999u32.to_be_bytes().to_vec());
    assert_eq!(lab.reply(&d).pkt.options.get(code::LEASE_TIME), Some(&2000u32.to_be_bytes()[..]));

    // A global reservation: its address (outside the pool), its host-level option wins.
    let mut d = client(0x99, MessageType::Discover);
    d.options.insert(code::PRL, vec![1, 3, 15]);
    let r = lab.reply(&d);
    assert_eq!(r.pkt.yiaddr, Ipv4Addr::new(192, 0, 2, 250));
    assert_eq!(r.pkt.options.get(code::DOMAIN_NAME), Some(&b"host.example"[..]));

    // Class options beat global ones; always-send appears unrequested; never-send never does.
    let mut d = client(5, MessageType::Discover);
    d.options.insert(code::VENDOR_CLASS, b"docsis3.0".to_vec());
    d.options.insert(code::PRL, vec![2, 15]);
    let r = lab.reply(&d);
    assert_eq!(r.pkt.options.get(code::DOMAIN_NAME), Some(&b"cable.example"[..]));
    assert_eq!(r.pkt.options.get(code::NTP_SERVERS), Some(&[192, 0, 2, 123][..]));
    assert!(r.pkt.options.get(code::TIME_OFFSET).is_none());
    let r = lab.reply(&client(6, MessageType::Discover));
    assert_eq!(r.pkt.options.get(code::DOMAIN_NAME), Some(&b"global.example"[..]));
}

#[test]
fn review_regressions() {
    // A class that only caps the lifetime, a client asking for one: no panic, the cap applies.
    let cfg = CFG.replace(
        r#""option-data": [{"name": "domain-name-servers""#,
        r#""client-classes": [{"name": "VENDOR_CLASS_short", "max-valid-lifetime": 300}],
  "option-data": [{"name": "domain-name-servers""#,
    );
    let lab = lab(&cfg);
    let mut d = client(1, MessageType::Discover);
    d.options.insert(code::VENDOR_CLASS, b"short".to_vec());
    d.options.insert(code::LEASE_TIME, 99_999u32.to_be_bytes().to_vec());
    assert_eq!(lab.reply(&d).pkt.options.get(code::LEASE_TIME), Some(&300u32.to_be_bytes()[..]));

    // A one-octet client identifier is one Kea cannot build, dropped before touching any lease.
    let mut d = client(2, MessageType::Discover);
    d.options.insert(code::CLIENT_ID, vec![7]);
    assert!(matches!(lab.send(&d), Outcome4::Drop(DropReason::BadIdentifier(_))));

    // A REQUEST naming another address of the receiving interface as server id is ours.
    let offer = lab.reply(&client(3, MessageType::Discover));
    let mut r = client(3, MessageType::Request);
    r.options.insert(code::REQUESTED_IP, offer.pkt.yiaddr.octets().to_vec());
    r.options.insert(code::SERVER_ID, vec![192, 0, 2, 2]);
    let mut m = meta();
    m.iface_addrs.push(Ipv4Addr::new(192, 0, 2, 2));
    assert!(matches!(lab.engine.handle(&bytes(&r), &m, lab.now, 1), Outcome4::Reply(_)));

    // Declined then reclaimed: assigned-addresses goes back to zero once both leases (the
    // declined one and client 3's, expired by then) are reclaimed.
    let mut lab = lab;
    let a = lab.dora(4).pkt.yiaddr;
    assert_eq!(lab.stat("subnet[1].assigned-addresses"), 2);
    let mut dec = client(4, MessageType::Decline);
    dec.options.insert(code::REQUESTED_IP, a.octets().to_vec());
    dec.options.insert(code::SERVER_ID, vec![192, 0, 2, 1]);
    lab.send(&dec);
    lab.now += 86_401;
    lab.reclaim();
    assert_eq!(lab.stat("subnet[1].assigned-addresses"), 0);
    assert_eq!(lab.stat("subnet[1].declined-addresses"), 0);
    assert_eq!(lab.stat("reclaimed-declined-addresses"), 1);
}

#[test]
fn global_reservation_outside_the_subnet_does_not_loop_naks() {
    let cfg = r#"{"Dhcp4": {"reservations-global": true,
      "reservations": [{"hw-address": "02:00:00:00:00:09", "ip-address": "203.0.113.9"}],
      "subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10 - 192.0.2.20"}]}]}}"#;
    let lab = lab(cfg);
    let ack = lab.dora(9);
    assert_eq!(ack.pkt.message_type(), Some(MessageType::Ack));
    assert_eq!(ack.pkt.yiaddr, Ipv4Addr::new(192, 0, 2, 10));
}

#[test]
fn server_identifier_rules_of_rfc_2131_table_5() {
    let lab = lab(CFG);
    let mut d = client(1, MessageType::Discover);
    d.options.insert(code::SERVER_ID, vec![192, 0, 2, 1]);
    assert!(matches!(lab.send(&d), Outcome4::Drop(DropReason::RfcViolation(_))));
    let a = lab.dora(1).pkt.yiaddr;
    let mut rel = client(1, MessageType::Release);
    rel.ciaddr = a;
    rel.options.insert(code::SERVER_ID, vec![203, 0, 113, 1]);
    assert!(matches!(lab.send(&rel), Outcome4::Drop(DropReason::NotForUs)), "another server's");
    assert_eq!(lab.stat("subnet[1].assigned-addresses"), 1, "the lease survived");
    // Without a server identifier the release is taken: RFC 2131 asks for one, Kea 2.2 does
    // not insist (its sanity check for RELEASE and DECLINE is commented out).
    rel.options.remove(code::SERVER_ID);
    assert!(matches!(lab.send(&rel), Outcome4::Silent(c) if c.len() == 1), "no server id");
}

#[test]
fn a_lease_not_yet_durable_is_not_served_from_cache() {
    let loaded = load_str(
        "t",
        &CFG.replace(r#""valid-lifetime": 3600,"#, r#""valid-lifetime": 3600, "cache-threshold": 0.5,"#),
        &LoadOptions::default(),
    )
    .unwrap();
    let d4 = Arc::new(loaded.config.dhcp4.unwrap());
    let pools: Vec<(u32, Vec<(Ipv4Addr, Ipv4Addr)>)> =
        d4.subnets.iter().map(|s| (s.id, s.pools.iter().map(|p| (p.first, p.last)).collect())).collect();
    let map = Arc::new(LeaseMap4::new(pools.iter().map(|(id, p)| (*id, p.as_slice()))));
    // As a server runs it: every change stays pending until reported durable.
    let engine = Engine4::new(d4, map, Arc::new(Stats::default()), 1_800_000_000).track_durability();
    let lab = Lab { engine, stats: Arc::new(Stats::default()), now: 1_800_000_000 };
    let ack = lab.dora(1);
    assert_eq!(ack.changes.len(), 1);
    // The duplicate REQUEST a second later would be a cache hit, but the first row is not
    // durable yet: it is written again instead of being acknowledged from memory.
    let mut again = client(1, MessageType::Request);
    again.ciaddr = ack.pkt.yiaddr;
    let r = lab.reply(&again);
    assert_eq!(r.changes.len(), 1, "written again, not served from memory");
    // Once the shell reports the rows durable, caching applies.
    lab.settle(&r.changes, Tally::default());
    let r = lab.reply(&again);
    assert!(r.changes.is_empty());
}

#[test]
fn a_hold_never_refuses_a_client_the_oldest_hold_is_given_up() {
    let mut lab = lab(CFG);
    // Three clients hold the three pool addresses of subnet 1, one second apart.
    let mut held = Vec::new();
    for mac in 1..=3u8 {
        held.push(lab.reply(&client(mac, MessageType::Discover)).pkt.yiaddr);
        lab.now += 1;
    }
    // A fourth client is offered the oldest hold (client 1's), not refused.
    let offer = lab.reply(&client(4, MessageType::Discover));
    assert_eq!(offer.pkt.yiaddr, held[0]);
    // Client 1 lost its hold: its REQUEST for the address is NAKed, client 4's is served.
    let mut req = client(1, MessageType::Request);
    req.options.insert(code::REQUESTED_IP, held[0].octets().to_vec());
    req.options.insert(code::SERVER_ID, vec![192, 0, 2, 1]);
    assert_eq!(lab.reply(&req).pkt.message_type(), Some(MessageType::Nak));
    assert_eq!(lab.dora(4).pkt.yiaddr, held[0]);
    // Leases are never given up: with the pool leased, a DISCOVER gets no address.
    lab.dora(2);
    lab.dora(3);
    assert!(matches!(lab.send(&client(5, MessageType::Discover)), Outcome4::Drop(DropReason::NoAddress)));
}

#[test]
fn client_identifier_outside_kea_limits_is_dropped_as_unparsable() {
    let lab = lab(CFG);
    for (len, ok) in [(1usize, false), (2, true), (255, true)] {
        let mut p = client(1, MessageType::Discover);
        p.options.insert(code::CLIENT_ID, vec![1; len]);
        let out = lab.send(&p);
        assert_eq!(matches!(out, Outcome4::Reply(_)), ok, "client id of {len} octets: {out:?}");
        if !ok {
            assert!(matches!(out, Outcome4::Drop(DropReason::BadIdentifier(_))), "{out:?}");
        }
    }
    assert_eq!(lab.stat("pkt4-parse-failed"), 1);
    assert_eq!(lab.stat("pkt4-receive-drop"), 1);
}

#[test]
fn a_pending_change_reserves_its_address_is_invisible_to_reads_and_a_failed_one_leaves_no_trace() {
    let loaded = load_str("t", CFG, &LoadOptions::default()).unwrap();
    let d4 = Arc::new(loaded.config.dhcp4.unwrap());
    let pools: Vec<(u32, Vec<(Ipv4Addr, Ipv4Addr)>)> =
        d4.subnets.iter().map(|s| (s.id, s.pools.iter().map(|p| (p.first, p.last)).collect())).collect();
    let map = Arc::new(LeaseMap4::new(pools.iter().map(|(id, p)| (*id, p.as_slice()))));
    let stats = Arc::new(Stats::default());
    let now = 1_800_000_000;
    let engine = Engine4::new(d4, map, stats.clone(), now).track_durability();
    let mut lab = Lab { engine, stats, now };
    let durable = |lab: &Lab, a: Ipv4Addr| lab.engine.leases().subnet(1).unwrap().durable_get(a);
    let decided = |lab: &Lab, a: Ipv4Addr| lab.engine.leases().subnet(1).unwrap().get(a);

    // A new lease waiting for the disk: reserved, but not yet visible to reads.
    let ack = lab.dora(1);
    let a = ack.pkt.yiaddr;
    assert!(decided(&lab, a).is_some());
    assert_eq!(durable(&lab, a), None, "lease4-get must not see a lease that is not durable");
    let other = lab.reply(&client(2, MessageType::Discover));
    assert_ne!(other.pkt.yiaddr, a, "another client is never offered a pending address");
    // The statistics count what was received, and durable leases only.
    assert_eq!(lab.stat("pkt4-received"), 3);
    assert_eq!(lab.stat("subnet[1].assigned-addresses"), 0);
    assert_eq!(lab.stat("cumulative-assigned-addresses"), 0);

    // Its commit fails: nothing of it remains, statistics included.
    lab.engine.roll_back(&ack.changes);
    assert_eq!(decided(&lab, a), None);
    assert_eq!(durable(&lab, a), None);
    assert_eq!(lab.stat("subnet[1].assigned-addresses"), 0);

    // A durable lease whose renewal fails keeps its durable version.
    let ack = lab.dora(3);
    let a = ack.pkt.yiaddr;
    lab.settle(&ack.changes, Tally::default());
    let before = durable(&lab, a).expect("durable after settling");
    assert_eq!(lab.stat("subnet[1].assigned-addresses"), 1);
    lab.now += 100;
    let mut renew = client(3, MessageType::Request);
    renew.ciaddr = a;
    let renewed = lab.reply(&renew);
    assert_eq!(renewed.changes.len(), 1);
    assert_eq!(decided(&lab, a).map(|l| l.cltt), Some(lab.now));
    assert_eq!(durable(&lab, a), Some(before.clone()), "reads still see the durable lease");
    lab.engine.roll_back(&renewed.changes);
    assert_eq!(decided(&lab, a), Some(before.clone()));
    assert_eq!(lab.stat("subnet[1].assigned-addresses"), 1);

    // A failed release gives the lease back too.
    let mut release = client(3, MessageType::Release);
    release.ciaddr = a;
    release.options.insert(code::SERVER_ID, vec![192, 0, 2, 1]);
    let Outcome4::Silent(changes) = lab.send(&release) else { panic!("a release is silent") };
    assert_eq!(changes.len(), 1, "a release writes a row");
    assert_eq!(decided(&lab, a), None);
    assert_eq!(durable(&lab, a), Some(before.clone()));
    lab.engine.roll_back(&changes);
    assert_eq!(decided(&lab, a), Some(before));
    assert_eq!(lab.stat("subnet[1].assigned-addresses"), 1);

    // Two changes stacked on one address: the first fails under the second, which then
    // settles. The statistic follows the durable state: one more lease.
    let first = lab.dora(4);
    let b = first.pkt.yiaddr;
    lab.now += 1;
    let mut renew = client(4, MessageType::Request);
    renew.ciaddr = b;
    let second = lab.reply(&renew);
    assert_eq!(second.changes.len(), 1, "a pending lease is written again, not served from cache");
    lab.engine.roll_back(&first.changes);
    lab.settle(&second.changes, Tally::default());
    assert_eq!(durable(&lab, b).map(|l| l.cltt), Some(lab.now));
    assert_eq!(lab.stat("subnet[1].assigned-addresses"), 2);
    assert_eq!(lab.stat("assigned-addresses"), 2);
}

/// The engine decides over the leases it is handed (a view a store prefetched) and leaves its
/// own map alone: the seam an asynchronous store (PostgreSQL) plugs into.
#[test]
fn the_engine_decides_over_the_view_it_is_given() {
    let lab = lab(CFG);
    let own = lab.dora(1).pkt.yiaddr;
    let view = LeaseMap4::new([(1u32, &[(Ipv4Addr::new(192, 0, 2, 10), Ipv4Addr::new(192, 0, 2, 12))][..])]);
    let theirs = Ipv4Addr::new(192, 0, 2, 12);
    // A lease another server wrote, as a Kea CSV row: renewed 100 s ago, valid 3600 s.
    let row = format!("{theirs},02:00:00:00:00:02,,3600,{},1,0,0,,0,", lab.now + 3500);
    let header = kakapo::lease::memfile::header4(false);
    let lease = kakapo::lease::memfile::parse_row4(&row, &header.split(',').collect::<Vec<_>>()).unwrap();
    assert_eq!(lease.cltt, lab.now - 100);
    view.load(vec![lease]);
    let over = |p: &Pkt4| match lab.engine.decide(&view, &bytes(p), &meta(), lab.now, 7, &mut Tally::default()) {
        Outcome4::Reply(r) => r,
        other => panic!("expected a reply, got {other:?}"),
    };
    // Client 2 is known only to the view: it gets its lease back from there.
    let offer = over(&client(2, MessageType::Discover));
    assert_eq!(offer.pkt.yiaddr, theirs);
    let mut req = client(2, MessageType::Request);
    req.options.insert(code::REQUESTED_IP, theirs.octets().to_vec());
    req.options.insert(code::SERVER_ID, offer.pkt.server_id().unwrap().octets().to_vec());
    let ack = over(&req);
    assert_eq!(ack.pkt.message_type(), Some(MessageType::Ack));
    assert!(matches!(&ack.changes[..], [LeaseChange4::Upsert(l, _)] if l.address == theirs));
    // The view holds the new lease; the engine's own map never saw client 2.
    assert_eq!(view.subnet(1).unwrap().get(theirs).map(|l| l.cltt), Some(lab.now));
    assert!(lab.engine.leases().subnet(1).unwrap().get(theirs).is_none());
    // Nor does the view know the engine's own lease: what it holds is all the engine goes by
    // (a shared store's commit is what catches a clash).
    assert!(view.subnet(1).unwrap().get(own).is_none());
}

/// Each change carries the lease it replaces (what DNS removal, an HA partner and a shared
/// database's conflict check need): none for a new lease, the old one for a renewal.
#[test]
fn changes_carry_the_lease_they_replace() {
    let mut lab = lab(CFG);
    let first = lab.dora(4);
    let LeaseChange4::Upsert(new, None) = &first.changes[0] else { panic!("{:?}", first.changes) };
    let addr = new.address;
    lab.now += 600;
    let mut renew = client(4, MessageType::Request);
    renew.ciaddr = addr;
    let again = lab.reply(&renew);
    match &again.changes[..] {
        [LeaseChange4::Upsert(l, Some(prev))] => {
            assert_eq!((l.address, l.cltt), (addr, lab.now));
            assert_eq!((prev.address, prev.cltt), (addr, lab.now - 600), "the lease before the renewal");
            assert_eq!(again.changes[0].previous(), Some(prev));
        }
        other => panic!("{other:?}"),
    }
}

/// The engine counts nothing itself: what a decision counts waits in its tally for the
/// pipeline's statistics stage, and lease statistics wait for the changes to be durable.
#[test]
fn deciding_counts_nothing_until_the_statistics_stage() {
    let lab = lab(CFG);
    let before = lab.stats.all();
    let decide = |p: &[u8], t: &mut Tally| lab.engine.decide(lab.engine.leases(), p, &meta(), lab.now, 7, t);
    let (mut offered, mut broken, mut acked) = (Tally::default(), Tally::default(), Tally::default());
    let Outcome4::Reply(offer) = decide(&bytes(&client(1, MessageType::Discover)), &mut offered) else {
        panic!("an offer")
    };
    assert!(matches!(decide(&[1, 2, 3], &mut broken), Outcome4::Drop(DropReason::ParseFailed(_))));
    let mut req = client(1, MessageType::Request);
    req.options.insert(code::REQUESTED_IP, offer.pkt.yiaddr.octets().to_vec());
    req.options.insert(code::SERVER_ID, vec![192, 0, 2, 1]);
    let Outcome4::Reply(ack) = decide(&bytes(&req), &mut acked) else { panic!("an ack") };
    assert_eq!(ack.changes.len(), 1);
    assert_eq!(lab.stats.all(), before, "deciding changed no statistic");
    assert!(!offered.is_empty() && !broken.is_empty() && !acked.is_empty());

    offered.count(1);
    broken.count(1);
    assert_eq!(lab.stat("pkt4-received"), 2);
    assert_eq!(lab.stat("pkt4-discover-received"), 1);
    assert_eq!(lab.stat("pkt4-parse-failed"), 1);
    // The ACK's commit is durable: its lease statistics come with the settled change.
    lab.settle(&ack.changes, acked);
    assert_eq!(lab.stat("pkt4-received"), 3);
    assert_eq!(lab.stat("pkt4-request-received"), 1);
    assert_eq!(lab.stat("subnet[1].assigned-addresses"), 1);
    assert_eq!(lab.stat("cumulative-assigned-addresses"), 1);
}

// ---- Kea 2.2 conformance (issue "Kea, exactly"): each behaviour as Kea 2.2 showed it live ----

impl Lab {
    fn send_as(&self, p: &Pkt4, m: &RecvMeta4) -> Outcome4 {
        self.engine.handle(&bytes(p), m, self.now, 7)
    }
}

fn init_reboot(mac: u8, addr: Ipv4Addr) -> Pkt4 {
    let mut p = client(mac, MessageType::Request);
    p.options.insert(code::REQUESTED_IP, addr.octets().to_vec());
    p
}

/// RFC 2131 4.3.2 as Kea's assignLease: a client with a lease that reboots asking for an
/// address of another network is NAKed; one the server knows nothing about is not answered
/// (not authoritative); one asking for its own lease is ACKed.
#[test]
fn init_reboot_for_another_network_is_naked_and_an_unknown_client_is_ignored() {
    let lab = lab(CFG);
    let own = lab.dora(1).pkt.yiaddr;
    let nak = lab.reply(&init_reboot(1, Ipv4Addr::new(198, 51, 100, 10)));
    assert_eq!(nak.pkt.message_type(), Some(MessageType::Nak));
    assert_eq!(nak.pkt.yiaddr, Ipv4Addr::UNSPECIFIED);
    assert_eq!(nak.pkt.server_id(), Some(Ipv4Addr::new(192, 0, 2, 1)));
    assert!(matches!(nak.dest, Dest4::Broadcast));
    // The same through a relay: the NAK goes back to it.
    let mut relayed = init_reboot(1, Ipv4Addr::new(198, 51, 100, 10));
    relayed.giaddr = Ipv4Addr::new(192, 0, 2, 254);
    let nak = lab.reply(&relayed);
    assert_eq!(nak.pkt.message_type(), Some(MessageType::Nak));
    assert!(matches!(nak.dest, Dest4::Relay(a) if *a.ip() == Ipv4Addr::new(192, 0, 2, 254)));
    // Asking for another address of its own network is NAKed too; for its lease, ACKed.
    assert_eq!(lab.reply(&init_reboot(1, Ipv4Addr::new(192, 0, 2, 12))).pkt.message_type(), Some(MessageType::Nak));
    assert_eq!(lab.reply(&init_reboot(1, own)).pkt.message_type(), Some(MessageType::Ack));
    // A client without a lease is not answered (authoritative is off by default).
    assert!(matches!(lab.send(&init_reboot(7, own)), Outcome4::Drop(DropReason::UnknownClientInitReboot)));
}

/// Kea 2.2 deletes a released lease, so another client may take the address at once; a
/// RELEASE from another client (other chaddr, or another client identifier) changes nothing.
#[test]
fn release_frees_the_address_at_once_and_a_foreign_release_is_ignored() {
    let lab = lab(CFG);
    let a = lab.dora(1).pkt.yiaddr;
    let mut foreign = client(2, MessageType::Release);
    foreign.ciaddr = a;
    assert!(matches!(lab.send(&foreign), Outcome4::Silent(c) if c.is_empty()), "another chaddr");
    let mut own = client(1, MessageType::Release);
    own.ciaddr = a;
    own.options.insert(code::CLIENT_ID, vec![1, 9, 9, 9, 9, 9, 9]);
    // The lease has no client identifier: chaddr decides, and it matches.
    let Outcome4::Silent(changes) = lab.send(&own) else { panic!("a release is silent") };
    assert!(matches!(&changes[..], [LeaseChange4::Delete(l)] if l.address == a));
    // Another client asks for that address right away and gets it.
    let mut req = client(2, MessageType::Request);
    req.options.insert(code::REQUESTED_IP, a.octets().to_vec());
    req.options.insert(code::SERVER_ID, vec![192, 0, 2, 1]);
    let ack = lab.reply(&req);
    assert_eq!((ack.pkt.message_type(), ack.pkt.yiaddr), (Some(MessageType::Ack), a));

    // Leases with a client identifier: a different identifier does not release, even from
    // the same chaddr.
    let mut with_cid = client(3, MessageType::Discover);
    with_cid.options.insert(code::CLIENT_ID, vec![1, 2, 0, 0, 0, 0, 3]);
    let offer = lab.reply(&with_cid);
    let mut req = with_cid.clone();
    req.options.insert(code::MESSAGE_TYPE, vec![MessageType::Request as u8]);
    req.options.insert(code::REQUESTED_IP, offer.pkt.yiaddr.octets().to_vec());
    req.options.insert(code::SERVER_ID, vec![192, 0, 2, 1]);
    let b = lab.reply(&req).pkt.yiaddr;
    let mut rel = client(3, MessageType::Release);
    rel.ciaddr = b;
    rel.options.insert(code::CLIENT_ID, vec![1, 2, 0, 0, 0, 0, 4]);
    assert!(matches!(lab.send(&rel), Outcome4::Silent(c) if c.is_empty()), "another client identifier");
    assert_eq!(lab.stat("subnet[1].assigned-addresses"), 2);
}

/// A DISCOVER with ciaddr set is offered like any other, at ciaddr, with ciaddr as the hint.
#[test]
fn a_discover_with_ciaddr_is_offered_at_ciaddr() {
    let lab = lab(CFG);
    let mut d = client(1, MessageType::Discover);
    d.ciaddr = Ipv4Addr::new(192, 0, 2, 11);
    let offer = lab.reply(&d);
    assert_eq!(offer.pkt.message_type(), Some(MessageType::Offer));
    assert_eq!(offer.pkt.yiaddr, Ipv4Addr::new(192, 0, 2, 11), "ciaddr is the hint");
    assert_eq!(offer.pkt.ciaddr, Ipv4Addr::UNSPECIFIED);
    assert!(matches!(offer.dest, Dest4::Unicast(a) if a == SocketAddrV4::new(d.ciaddr, 68)));
    // Outside every pool and subnet, it is still offered a pool address.
    d.ciaddr = Ipv4Addr::new(203, 0, 113, 9);
    let offer = lab.reply(&d);
    assert!((10..=12).contains(&offer.pkt.yiaddr.octets()[3]), "{}", offer.pkt.yiaddr);
}

/// Kea's acceptDirectRequest: an INFORM straight from 0.0.0.0 without ciaddr is dropped and
/// counted; with ciaddr, or from an address, it is answered there.
#[test]
fn a_direct_inform_from_nowhere_is_dropped() {
    let lab = lab(CFG);
    let inform = client(1, MessageType::Inform);
    assert!(matches!(lab.send(&inform), Outcome4::Drop(DropReason::NoSubnet)));
    assert_eq!(lab.stat("pkt4-inform-received"), 1);
    assert_eq!(lab.stat("pkt4-receive-drop"), 1);
    let mut from_addr = meta();
    from_addr.src = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 77), 68);
    from_addr.dst = Ipv4Addr::new(192, 0, 2, 1);
    let ack = match lab.send_as(&inform, &from_addr) {
        Outcome4::Reply(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(ack.pkt.message_type(), Some(MessageType::Ack));
    assert!(matches!(ack.dest, Dest4::Unicast(a) if *a.ip() == Ipv4Addr::new(192, 0, 2, 77)));
    let mut with_ciaddr = inform.clone();
    with_ciaddr.ciaddr = Ipv4Addr::new(192, 0, 2, 78);
    let ack = lab.reply(&with_ciaddr);
    assert_eq!(ack.pkt.ciaddr, with_ciaddr.ciaddr);
    assert!(matches!(ack.dest, Dest4::Unicast(a) if *a.ip() == with_ciaddr.ciaddr));
}

/// DECLINE without a requested address is dropped as a failed packet; one from a client that
/// does not hold the lease changes nothing.
#[test]
fn a_decline_without_address_or_from_another_client_changes_nothing() {
    let lab = lab(CFG);
    let a = lab.dora(1).pkt.yiaddr;
    let mut bare = client(1, MessageType::Decline);
    bare.options.insert(code::SERVER_ID, vec![192, 0, 2, 1]);
    assert!(matches!(lab.send(&bare), Outcome4::Drop(DropReason::RfcViolation(_))));
    assert_eq!(lab.stat("pkt4-decline-received"), 1);
    assert_eq!(lab.stat("pkt4-receive-drop"), 1);
    let mut foreign = bare.clone();
    foreign.chaddr[5] = 2;
    foreign.options.insert(code::REQUESTED_IP, a.octets().to_vec());
    assert!(matches!(lab.send(&foreign), Outcome4::Silent(c) if c.is_empty()));
    assert_eq!(lab.stat("declined-addresses"), 0);
    // Without a server identifier (Kea does not insist), from the owner: declined.
    let mut own = client(1, MessageType::Decline);
    own.options.insert(code::REQUESTED_IP, a.octets().to_vec());
    assert!(matches!(lab.send(&own), Outcome4::Silent(c) if c.len() == 1));
    assert_eq!(lab.stat("declined-addresses"), 1);
}

/// RFC 5107: a relay's server identifier override is accepted as this server's identifier;
/// the reply still carries the server's own identifier and echoes the relay's option.
#[test]
fn a_relay_server_identifier_override_is_accepted() {
    let lab = lab(CFG);
    let over = Ipv4Addr::new(198, 51, 100, 1);
    // RAI: circuit-id "c1", server-identifier-override (11).
    let mut rai = vec![1, 2, b'c', b'1', 11, 4];
    rai.extend_from_slice(&over.octets());
    let mut d = client(5, MessageType::Discover);
    d.giaddr = Ipv4Addr::new(198, 51, 100, 1);
    d.options.insert(code::RAI, rai.clone());
    let offer = lab.reply(&d);
    let mut req = d.clone();
    req.options.insert(code::MESSAGE_TYPE, vec![MessageType::Request as u8]);
    req.options.insert(code::REQUESTED_IP, offer.pkt.yiaddr.octets().to_vec());
    req.options.insert(code::SERVER_ID, over.octets().to_vec());
    let mut relay_meta = meta();
    relay_meta.src = SocketAddrV4::new(d.giaddr, 67);
    relay_meta.dst = Ipv4Addr::new(192, 0, 2, 1);
    let ack = match lab.send_as(&req, &relay_meta) {
        Outcome4::Reply(r) => r,
        other => panic!("the override must be accepted: {other:?}"),
    };
    assert_eq!(ack.pkt.message_type(), Some(MessageType::Ack));
    assert_eq!(ack.pkt.options.get(code::RAI), Some(&rai[..]));
    // Without the override, that identifier is another server's.
    let mut plain = req.clone();
    plain.options.insert(code::RAI, vec![1, 2, b'c', b'1']);
    plain.xid += 1;
    assert!(matches!(lab.send_as(&plain, &relay_meta), Outcome4::Drop(DropReason::NotForUs)));
}

/// Standard options configured in option-data go out when the client asks for them, option
/// 52 included (Kea 2.2 treats it as an ordinary uint8 and never overloads).
#[test]
fn configured_standard_options_are_sent_when_requested() {
    let cfg = CFG.replace(
        r#""option-data": [{"name": "domain-name-servers", "data": "192.0.2.53, 192.0.2.54"}],"#,
        r#""option-data": [{"name": "domain-name-servers", "data": "192.0.2.53, 192.0.2.54"},
                          {"name": "dhcp-option-overload", "data": "1"},
                          {"name": "ntp-servers", "data": "192.0.2.123"}],"#,
    );
    let lab = lab(&cfg);
    let mut d = client(1, MessageType::Discover);
    d.options.insert(code::PRL, vec![1, 3, 6, 42, 52]);
    let offer = lab.reply(&d);
    assert_eq!(offer.pkt.options.get(52), Some(&[1u8][..]));
    assert_eq!(offer.pkt.options.get(42), Some(&[192u8, 0, 2, 123][..]));
    // Not asked for: not sent.
    let offer = lab.reply(&client(2, MessageType::Discover));
    assert_eq!(offer.pkt.options.get(52), None);
}

/// `vendor-encapsulated-options` (43) configured without data carries the sub-options of
/// `vendor-encapsulated-options-space` of its scope (Kea's CfgOption::encapsulate), as does
/// an option defined to encapsulate a space of its own; sent when asked for.
#[test]
fn option_43_and_other_encapsulating_options_carry_their_sub_options() {
    let cfg = r#"{"Dhcp4": {
      "option-def": [{"name": "tftp", "code": 1, "space": "vendor-encapsulated-options-space", "type": "string"},
                     {"name": "boot", "code": 224, "space": "dhcp4", "type": "empty", "encapsulate": "boot-space"},
                     {"name": "path", "code": 7, "space": "boot-space", "type": "string"}],
      "option-data": [{"name": "vendor-encapsulated-options"},
                      {"name": "tftp", "space": "vendor-encapsulated-options-space", "data": "hello"},
                      {"name": "boot"},
                      {"name": "path", "space": "boot-space", "data": "/pxe"}],
      "subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10 - 192.0.2.12"}],
                   "option-data": [{"name": "vendor-encapsulated-options"},
                                   {"name": "tftp", "space": "vendor-encapsulated-options-space", "data": "subnet"}]}]}}"#;
    let lab = lab(cfg);
    let mut d = client(1, MessageType::Discover);
    d.options.insert(code::PRL, vec![1, 3, 43, 224]);
    let offer = lab.reply(&d);
    // The subnet's 43 wins, with the subnet's sub-option.
    assert_eq!(offer.pkt.options.get(43), Some(&b"\x01\x06subnet"[..]));
    assert_eq!(offer.pkt.options.get(224), Some(&b"\x07\x04/pxe"[..]));
    // Not asked for: not sent.
    assert_eq!(lab.reply(&client(2, MessageType::Discover)).pkt.options.get(43), None);
}

/// Vendor-identifying options (RFC 3925) as Kea 2.2 sends them: option 125 for the client's
/// enterprise carries the always-send sub-options of `vendor-<enterprise>`; a configured 125
/// asked for in the PRL names the vendor; without anything to send there is no 125.
#[test]
fn option_125_carries_the_vendor_space_sub_options() {
    let cfg = r#"{"Dhcp4": {
      "option-def": [{"name": "tftp-server", "code": 2, "space": "vendor-1234", "type": "string"}],
      "option-data": [{"name": "tftp-server", "space": "vendor-1234", "data": "tftp.example.org", "always-send": true}],
      "subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10 - 192.0.2.12"}]}]}}"#;
    let one = lab(cfg);
    let mut d = client(1, MessageType::Discover);
    // The client's 125: enterprise 1234, no data.
    d.options.insert(code::VIVSO, vec![0, 0, 4, 0xd2, 0]);
    let offer = one.reply(&d);
    let mut want = vec![0, 0, 4, 0xd2, 18, 2, 16];
    want.extend_from_slice(b"tftp.example.org");
    assert_eq!(offer.pkt.options.get(code::VIVSO), Some(&want[..]));
    // Another vendor's client gets none.
    let mut other = client(2, MessageType::Discover);
    other.options.insert(code::VIVSO, vec![0, 0, 0, 9, 0]);
    assert_eq!(one.reply(&other).pkt.options.get(code::VIVSO), None);
    // A configured 125 asked for in the PRL names the vendor and gets its wire form.
    let cfg = cfg.replace(r#""option-data": ["#, r#""option-data": [{"name": "vivso-suboptions", "data": "1234"},"#);
    let two = lab(&cfg);
    let mut asks = client(3, MessageType::Discover);
    asks.options.insert(code::PRL, vec![1, 3, 125]);
    assert_eq!(two.reply(&asks).pkt.options.get(code::VIVSO), Some(&want[..]));
}

/// `store-extended-info` (Kea ARM 8.2.23): the relay agent information of the query is kept
/// in the lease's user context as Kea 3.0 keeps it; off, nothing is added.
#[test]
fn store_extended_info_keeps_the_relay_agent_information() {
    let cfg = CFG.replace(r#""valid-lifetime": 3600,"#, r#""valid-lifetime": 3600, "store-extended-info": true,"#);
    let relayed = |lab: &Lab| {
        let mut d = client(1, MessageType::Discover);
        d.giaddr = Ipv4Addr::new(192, 0, 2, 254);
        // circuit-id "c1", remote-id 01:02:03
        d.options.insert(code::RAI, vec![1, 2, b'c', b'1', 2, 3, 1, 2, 3]);
        let offer = lab.reply(&d);
        let mut req = d.clone();
        req.options.insert(code::MESSAGE_TYPE, vec![MessageType::Request as u8]);
        req.options.insert(code::REQUESTED_IP, offer.pkt.yiaddr.octets().to_vec());
        req.options.insert(code::SERVER_ID, vec![192, 0, 2, 1]);
        lab.reply(&req)
    };
    let ack = relayed(&lab(&cfg));
    let LeaseChange4::Upsert(l, _) = &ack.changes[0] else { panic!("{:?}", ack.changes) };
    let ctx: serde_json::Value = serde_json::from_str(l.user_context.as_deref().expect("a user context")).unwrap();
    assert_eq!(
        ctx,
        serde_json::json!({"ISC": {"relay-agent-info": {"sub-options": "0x010263310203010203", "remote-id": "010203"}}})
    );
    let ack = relayed(&lab(CFG));
    let LeaseChange4::Upsert(l, _) = &ack.changes[0] else { panic!() };
    assert_eq!(l.user_context, None, "off by default");
}

/// Kea 3.1's `adaptive-lease-time-threshold` with the flq allocator: once the pools the client
/// may use are fuller than the threshold (counting the address being given), a new lease gets
/// `min-valid-lifetime`, and a renewing client keeps at least what its lease had left. With
/// another allocator the key has no effect, as in Kea, and loading the configuration warns.
#[test]
fn adaptive_lease_time_shortens_new_leases_in_a_full_pool() {
    let cfg = |alloc: &str| {
        CFG.replace(
            r#""valid-lifetime": 3600,"#,
            &format!(
                r#""valid-lifetime": 3600, "min-valid-lifetime": 600, "allocator": "{alloc}", "adaptive-lease-time-threshold": 0.5,"#
            ),
        )
    };
    let valid = |r: &Reply4| r.pkt.options.get(code::LEASE_TIME).map(|b| u32::from_be_bytes(b.try_into().unwrap()));
    let lab_of = lab;
    let mut lab = lab_of(&cfg("flq"));
    // 1 of 3 addresses, counting its own: not above one half.
    assert_eq!(valid(&lab.dora(1)), Some(3600));
    // 2 of 3: above; the OFFER and the ACK both carry the minimum.
    assert_eq!(valid(&lab.reply(&client(2, MessageType::Discover))), Some(600));
    let ack = lab.dora(2);
    assert_eq!(valid(&ack), Some(600));
    assert!(matches!(&ack.changes[..], [LeaseChange4::Upsert(l, _)] if l.valid_lifetime == 600));
    // A renewal 100 s on keeps the 3500 s its lease still had, never more than the default.
    lab.now += 100;
    let mut renew = client(1, MessageType::Request);
    renew.ciaddr = Ipv4Addr::new(192, 0, 2, 10);
    assert_eq!(valid(&lab.reply(&renew)), Some(3500));
    // The other subnet's pool is nearly empty: its clients are not affected.
    let mut relayed = client(3, MessageType::Discover);
    relayed.giaddr = Ipv4Addr::new(198, 51, 100, 1);
    assert_eq!(valid(&lab.reply(&relayed)), Some(3600));

    let other = lab_of(&cfg("iterative"));
    other.dora(1);
    assert_eq!(valid(&other.dora(2)), Some(3600), "no effect without flq");
    let warned = load_str("t", &cfg("iterative"), &LoadOptions::default()).unwrap().warnings;
    assert!(
        warned.iter().any(|w| w.to_string().contains("'adaptive-lease-time-threshold' has effect only")),
        "{warned:?}"
    );
    let quiet = load_str("t", &cfg("flq"), &LoadOptions::default()).unwrap().warnings;
    assert!(quiet.is_empty(), "{quiet:?}");
}

/// Kea 3.0's `stash-agent-options`: a client that got its lease through a relay (circuit-id
/// `port-7`, which has a reservation with its own boot file) renews straight to the server
/// without option 82. With the relay's options stashed in the lease (`store-extended-info`)
/// the renewal still matches the circuit-id reservation and the recovered option is not sent
/// back; without stashing the reservation is not found and the subnet's boot file is given.
#[test]
fn stashed_agent_options_serve_a_direct_renewal_like_the_relayed_request() {
    let renew_file = |stash: bool| {
        let lab = lab(&CFG2.replace(
            r#""valid-lifetime": 1000,"#,
            &format!(r#""valid-lifetime": 1000, "store-extended-info": true, "stash-agent-options": {stash},"#),
        ));
        let mut d = client(4, MessageType::Discover);
        d.giaddr = Ipv4Addr::new(203, 0, 113, 1);
        d.options.insert(code::RAI, rai(b"port-7"));
        let offer = lab.reply(&d);
        let mut req = client(4, MessageType::Request);
        req.giaddr = d.giaddr;
        req.options.insert(code::RAI, rai(b"port-7"));
        req.options.insert(code::REQUESTED_IP, offer.pkt.yiaddr.octets().to_vec());
        req.options.insert(code::SERVER_ID, offer.pkt.server_id().unwrap().octets().to_vec());
        let ack = lab.reply(&req);
        assert!(ack.pkt.file.starts_with(b"desk.efi\0"));
        // RENEWING: unicast from the client's address, no relay.
        let mut renew = client(4, MessageType::Request);
        renew.ciaddr = ack.pkt.yiaddr;
        let m = RecvMeta4 { src: SocketAddrV4::new(ack.pkt.yiaddr, 68), dst: Ipv4Addr::new(192, 0, 2, 1), ..meta() };
        let r = match lab.engine.handle(&bytes(&renew), &m, lab.now + 10, 7) {
            Outcome4::Reply(r) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(r.pkt.options.get(code::RAI), None, "no option 82 goes back to a client");
        let file = r.pkt.file.split(|b| *b == 0).next().unwrap().to_vec();
        (r.pkt.message_type(), r.pkt.yiaddr, String::from_utf8(file).unwrap())
    };
    assert_eq!(renew_file(true), (Some(MessageType::Ack), Ipv4Addr::new(203, 0, 113, 10), "desk.efi".to_string()));
    let (_, _, file) = renew_file(false);
    assert_eq!(file, "pxelinux.0", "without stashing the circuit-id reservation is not found");
}

/// `early-global-reservations-lookup` (Kea ARM 14.1 step 6): two subnets behind one relay,
/// the first guarded by class `gold`. A client whose global reservation puts it in `gold` is
/// placed in the guarded subnet only when global reservations are looked up before subnet
/// selection; other clients, and every client without the early lookup, get the other one.
#[test]
fn an_early_global_reservation_lookup_lets_its_classes_select_the_subnet() {
    let cfg = |early: bool| {
        format!(
            r#"{{"Dhcp4": {{
              "early-global-reservations-lookup": {early},
              "reservations": [{{"hw-address": "02:00:00:00:00:07", "client-classes": ["gold"]}}],
              "client-classes": [{{"name": "gold"}}],
              "subnet4": [
                {{"id": 1, "subnet": "198.51.100.0/24", "client-class": "gold", "relay": {{"ip-addresses": ["192.0.2.2"]}},
                  "pools": [{{"pool": "198.51.100.10 - 198.51.100.20"}}]}},
                {{"id": 2, "subnet": "203.0.113.0/24", "relay": {{"ip-addresses": ["192.0.2.2"]}},
                  "pools": [{{"pool": "203.0.113.10 - 203.0.113.20"}}]}}]}}}}"#
        )
    };
    let offered = |lab: &Lab, mac: u8| {
        let mut d = client(mac, MessageType::Discover);
        d.giaddr = Ipv4Addr::new(192, 0, 2, 2);
        lab.reply(&d).pkt.yiaddr
    };
    let early = lab(&cfg(true));
    assert_eq!(offered(&early, 7), Ipv4Addr::new(198, 51, 100, 10));
    assert_eq!(offered(&early, 8), Ipv4Addr::new(203, 0, 113, 10));
    assert!(load_str("t", &cfg(true), &LoadOptions::default()).unwrap().warnings.is_empty());
    let late = lab(&cfg(false));
    assert_eq!(offered(&late, 7), Ipv4Addr::new(203, 0, 113, 10));
}

/// Host names as Debian's Kea 2.2 records and answers them with DNS updates off (observed on
/// kea-dhcp4 2.2 with the same packets): option 12 is sanitized with the default
/// `hostname-char-set` ([^A-Za-z0-9.-]), lower-cased and its final dot dropped, and echoed;
/// option 81 is sanitized per label, lower-cased and fully qualified (an empty name becomes
/// `myhost-<address>`), and answered with N set, O when the client asked for S, the client's
/// E, and zero RCODEs.
#[test]
fn host_names_are_sanitized_and_answered_as_kea_does() {
    let big = CFG.replace("192.0.2.10 - 192.0.2.12", "192.0.2.10 - 192.0.2.50");
    let srv = lab(&big);
    let ack_with = |mac: u8, opt: u8, payload: &[u8]| {
        let offer = {
            let mut d = client(mac, MessageType::Discover);
            d.options.insert(opt, payload.to_vec());
            srv.reply(&d)
        };
        let mut req = client(mac, MessageType::Request);
        req.options.insert(opt, payload.to_vec());
        req.options.insert(code::REQUESTED_IP, offer.pkt.yiaddr.octets().to_vec());
        req.options.insert(code::SERVER_ID, offer.pkt.server_id().unwrap().octets().to_vec());
        let ack = srv.reply(&req);
        let hostname = match &ack.changes[..] {
            [LeaseChange4::Upsert(l, _)] => l.hostname.clone(),
            other => panic!("{other:?}"),
        };
        (hostname, offer.pkt.options.get(opt).map(<[u8]>::to_vec), ack.pkt.options.get(opt).map(<[u8]>::to_vec))
    };
    for (sent, kept) in
        [("my_host!x", "myhostx"), ("MyHost", "myhost"), ("a_b.example.org", "ab.example.org"), ("host.", "host")]
    {
        let (h, offered, acked) = ack_with(10, code::HOST_NAME, sent.as_bytes());
        assert_eq!(h, kept, "{sent}");
        assert_eq!(acked.as_deref(), Some(kept.as_bytes()), "{sent}");
        assert_eq!(offered, acked, "{sent}");
    }
    let wire = |name: &str| -> Vec<u8> {
        let mut w: Vec<u8> = Vec::new();
        for l in name.split('.').filter(|l| !l.is_empty()) {
            w.push(l.len() as u8);
            w.extend_from_slice(l.as_bytes());
        }
        w
    };
    // S and E set, a fully qualified name: flags E|O|N (0x0e), RCODEs 0.
    let fq = [&[0x05u8, 0, 0][..], &wire("My_Host.Example.org"), &[0]].concat();
    let (h, _, acked) = ack_with(11, code::CLIENT_FQDN, &fq);
    assert_eq!(h, "myhost.example.org.");
    assert_eq!(acked.unwrap(), [&[0x0eu8, 0, 0][..], &wire("myhost.example.org"), &[0]].concat());
    // A partial name is made fully qualified; S unset: E|N (0x0c).
    let (h, _, acked) = ack_with(12, code::CLIENT_FQDN, &[&[0x04u8, 0, 0][..], &wire("host")].concat());
    assert_eq!(h, "host.");
    assert_eq!(acked.unwrap(), [&[0x0cu8, 0, 0][..], &wire("host"), &[0]].concat());
    // No name: Kea makes one from the address.
    let (h, _, _) = ack_with(13, code::CLIENT_FQDN, &[0x05, 0, 0]);
    assert!(h.starts_with("myhost-192-0-2-") && h.ends_with('.'), "{h}");
    // Deprecated ASCII form, S unset: N only, the name as text with its final dot.
    let (h, _, acked) = ack_with(14, code::CLIENT_FQDN, &[&[0x00u8, 0, 0][..], b"Asc.Example.com"].concat());
    assert_eq!(h, "asc.example.com.");
    assert_eq!(acked.unwrap(), [&[0x08u8, 0, 0][..], b"asc.example.com."].concat());
    // An empty hostname-char-set turns sanitizing off.
    let raw = lab(&big.replace(r#""valid-lifetime": 3600,"#, r#""valid-lifetime": 3600, "hostname-char-set": "","#));
    let mut d = client(15, MessageType::Discover);
    d.options.insert(code::HOST_NAME, b"my_host".to_vec());
    assert_eq!(raw.reply(&d).pkt.options.get(code::HOST_NAME), Some(&b"my_host"[..]));
}

/// Kea 3.0's `client-classes` on option-data: a guarded option goes only to members of one of
/// its classes; others get the option from the next scope that has one.
#[test]
fn class_guarded_option_data_goes_to_members_only() {
    let cfg = CFG
        .replace(
            r#""option-data": [{"name": "domain-name-servers", "data": "192.0.2.53, 192.0.2.54"}],"#,
            r#""option-data": [{"name": "domain-name-servers", "data": "192.0.2.53, 192.0.2.54"},
                              {"name": "domain-name", "data": "all.example"}],"#,
        )
        .replace(
            r#""option-data": [{"name": "routers", "data": "192.0.2.1"}],"#,
            r#""option-data": [{"name": "routers", "data": "192.0.2.1"},
                              {"name": "domain-name", "data": "known.example", "client-classes": ["KNOWN"]}],"#,
        );
    let lab = lab(&cfg);
    let domain = |mac: u8| {
        let r = lab.reply(&client(mac, MessageType::Discover));
        String::from_utf8(r.pkt.options.get(code::DOMAIN_NAME).unwrap_or_default().to_vec()).unwrap()
    };
    assert_eq!(domain(0x99), "known.example", "the reserved host is KNOWN");
    assert_eq!(domain(1), "all.example");
}

/// Kea 3.0's `compatibility` switches: `exclude-first-last-24` keeps .0 and .255 out of pool
/// allocation; `ignore-rai-link-selection` stops the RAI link-selection sub-option (RFC 3527)
/// from picking the subnet, so the relay's address does.
#[test]
fn compatibility_switches_take_effect() {
    let cfg = |compat: &str| {
        CFG.replace("192.0.2.10 - 192.0.2.12", "192.0.2.0 - 192.0.2.12").replace(
            r#""valid-lifetime": 3600,"#,
            &format!(r#""valid-lifetime": 3600, "compatibility": {{{compat}}},"#),
        )
    };
    let offered = |lab: &Lab, mac: u8| lab.reply(&client(mac, MessageType::Discover)).pkt.yiaddr;
    assert_eq!(offered(&lab(&cfg("")), 1), Ipv4Addr::new(192, 0, 2, 0));
    assert_eq!(offered(&lab(&cfg(r#""exclude-first-last-24": true"#)), 1), Ipv4Addr::new(192, 0, 2, 1));

    let relayed = |lab: &Lab| {
        let mut d = client(2, MessageType::Discover);
        d.giaddr = Ipv4Addr::new(192, 0, 2, 1);
        d.options.insert(code::RAI, vec![5, 4, 198, 51, 100, 1]);
        lab.reply(&d).pkt.yiaddr
    };
    assert!(relayed(&lab(&cfg(""))).octets().starts_with(&[198, 51, 100]), "link-selection picks 198.51.100.0/24");
    assert!(relayed(&lab(&cfg(r#""ignore-rai-link-selection": true"#))).octets().starts_with(&[192, 0, 2]));
}
