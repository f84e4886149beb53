//! DHCPv6 engine scenarios with an in-memory lease map and a virtual clock (design.md test
//! tier 2): RFC 8415 exchanges against Kea's behaviour, no sockets.

use std::net::{Ipv6Addr, SocketAddrV6};
use std::sync::Arc;

use kakapo::config::{load_str, LoadOptions};
use kakapo::engine::v6::{DropReason6, Engine6, Outcome6, RecvMeta6, Reply6};
use kakapo::lease::alloc6::LeaseMap6;
use kakapo::lease::{LeaseChange6, LeaseState, LeaseType6};
use kakapo::stats::{Stats, Tally};
use kakapo::wire::v6::{code, decode, encode, IaAddr, IaNa, IaPd, IaPrefix, MessageType, Pkt6, RelayMsg, StatusCode};

const SERVER_DUID: [u8; 10] = [0, 1, 0, 1, 0x2c, 0, 0, 1, 0xaa, 0xbb];

const CFG: &str = r#"{"Dhcp6": {
  "interfaces-config": {"interfaces": ["eth0"]},
  "preferred-lifetime": 3000, "valid-lifetime": 4000,
  "option-data": [{"name": "dns-servers", "data": "2001:db8::53"}],
  "subnet6": [
    {"id": 1, "subnet": "2001:db8:1::/64", "interface": "eth0",
     "pools": [{"pool": "2001:db8:1::10 - 2001:db8:1::12"}],
     "pd-pools": [{"prefix": "2001:db8:100::", "prefix-len": 48, "delegated-len": 56}],
     "reservations": [{"duid": "00:03:00:01:02:00:00:00:00:99", "ip-addresses": ["2001:db8:1::99"],
                       "prefixes": ["2001:db8:200::/56"]}]},
    {"id": 2, "subnet": "2001:db8:2::/64", "rapid-commit": true,
     "pools": [{"pool": "2001:db8:2::10 - 2001:db8:2::20"}],
     "option-data": [{"name": "domain-search", "data": "example.org"}]},
    {"id": 3, "subnet": "2001:db8:3::/64",
     "pools": [{"pool": "2001:db8:3::10 - 2001:db8:3::10"}]}
  ]}}"#;

struct Lab {
    engine: Engine6,
    stats: Arc<Stats>,
    now: u64,
}

fn lab(cfg: &str) -> Lab {
    let loaded = load_str("t", cfg, &LoadOptions::default()).unwrap();
    let d6 = Arc::new(loaded.config.dhcp6.unwrap());
    let map = Arc::new(LeaseMap6::for_config(&d6));
    let stats = Arc::new(Stats::default());
    let now = 1_800_000_000;
    Lab { engine: Engine6::new(d6, map, stats.clone(), SERVER_DUID.to_vec(), now), stats, now }
}

fn client_addr() -> SocketAddrV6 {
    SocketAddrV6::new("fe80::200:ff:fe00:1".parse().unwrap(), 546, 0, 2)
}

fn meta() -> RecvMeta6 {
    RecvMeta6 {
        ifindex: 2,
        ifname: "eth0".into(),
        iface_addrs: vec!["fe80::1".parse().unwrap(), "2001:db8:1::1".parse().unwrap()],
        src: client_addr(),
        dst: "ff02::1:2".parse().unwrap(),
    }
}

fn duid(n: u8) -> Vec<u8> {
    vec![0, 3, 0, 1, 2, 0, 0, 0, 0, n]
}

fn ia_na(iaid: u32, addrs: &[Ipv6Addr]) -> Vec<u8> {
    let mut ia = IaNa::new(iaid, 0, 0);
    ia.addrs = addrs.iter().map(|a| IaAddr { addr: *a, preferred: 0, valid: 0, status: None, other: vec![] }).collect();
    let mut b = Vec::new();
    ia.encode(&mut b);
    b
}

fn ia_pd(iaid: u32, prefixes: &[(Ipv6Addr, u8)]) -> Vec<u8> {
    let mut ia = IaPd::new(iaid, 0, 0);
    ia.prefixes = prefixes
        .iter()
        .map(|(p, l)| IaPrefix {
            preferred: 0,
            valid: 0,
            prefix_len: *l,
            prefix: *p,
            excluded: None,
            status: None,
            other: vec![],
        })
        .collect();
    let mut b = Vec::new();
    ia.encode(&mut b);
    b
}

/// A client message with CLIENTID, ORO (dns-servers, domain-search) and elapsed time.
fn msg(mt: MessageType, n: u8) -> Pkt6 {
    let mut p = Pkt6::new(mt, 0x00ab_cd00 + u32::from(n));
    p.options.push(code::CLIENTID, duid(n));
    p.options.push(code::ORO, vec![0, 23, 0, 24]);
    p.options.push(code::ELAPSED_TIME, vec![0, 0]);
    p
}

fn with_server(mut p: Pkt6) -> Pkt6 {
    p.options.push(code::SERVERID, SERVER_DUID.to_vec());
    p
}

fn bytes(p: &Pkt6, relays: &[RelayMsg]) -> Vec<u8> {
    let mut v = Vec::new();
    encode(p, relays, &mut v);
    v
}

fn nas(p: &Pkt6) -> Vec<IaNa> {
    p.options.get_all(code::IA_NA).map(|b| IaNa::parse(b).unwrap()).collect()
}

fn pds(p: &Pkt6) -> Vec<IaPd> {
    p.options.get_all(code::IA_PD).map(|b| IaPd::parse(b).unwrap()).collect()
}

impl Lab {
    fn send_with(&self, p: &Pkt6, relays: &[RelayMsg], m: &RecvMeta6) -> Outcome6 {
        self.engine.handle(&bytes(p, relays), m, self.now, 7)
    }
    fn reply(&self, p: &Pkt6) -> Reply6 {
        match self.send_with(p, &[], &meta()) {
            Outcome6::Reply(r) => r,
            other => panic!("expected a reply, got {other:?}"),
        }
    }
    fn stat(&self, name: &str) -> i64 {
        self.stats.get(name).map_or(0, |s| s.value)
    }
    /// One reclamation run at `now` whose changes are durable at once, counted as the
    /// pipeline counts them.
    fn reclaim_at(&self, now: u64) -> Vec<LeaseChange6> {
        let mut tally = Tally::default();
        let changes = self.engine.reclaim(now, &mut tally, &mut || false);
        self.engine.synced(&changes, &mut tally);
        tally.count(now * 1_000_000);
        changes
    }
    /// One flush of reclaimed leases at `now`, durable at once.
    fn flush_at(&self, now: u64) -> Vec<LeaseChange6> {
        let mut tally = Tally::default();
        let changes = self.engine.flush_reclaimed(now);
        self.engine.synced(&changes, &mut tally);
        changes
    }
    /// SOLICIT then REQUEST for one IA_NA (iaid 1) and one IA_PD (iaid 2).
    fn sarr(&self, n: u8) -> Reply6 {
        let mut sol = msg(MessageType::Solicit, n);
        sol.options.push(code::IA_NA, ia_na(1, &[]));
        sol.options.push(code::IA_PD, ia_pd(2, &[]));
        let adv = self.reply(&sol);
        let mut req = with_server(msg(MessageType::Request, n));
        let na = &nas(&adv.pkt)[0];
        let pd = &pds(&adv.pkt)[0];
        req.options.push(code::IA_NA, ia_na(1, &[na.addrs[0].addr]));
        req.options.push(code::IA_PD, ia_pd(2, &[(pd.prefixes[0].prefix, pd.prefixes[0].prefix_len)]));
        self.reply(&req)
    }
}

#[test]
fn solicit_advertise_request_reply_gives_address_and_prefix() {
    let lab = lab(CFG);
    let mut sol = msg(MessageType::Solicit, 1);
    sol.options.push(code::IA_NA, ia_na(1, &[]));
    sol.options.push(code::IA_PD, ia_pd(2, &[]));
    let adv = lab.reply(&sol);
    assert_eq!(adv.pkt.msg_type, MessageType::Advertise);
    assert_eq!(adv.pkt.xid, sol.xid);
    assert!(adv.changes.is_empty(), "an advertise is not persisted");
    assert!(adv.relays.is_empty());
    assert_eq!(adv.dest, client_addr());
    assert_eq!(adv.pkt.server_id(), Some(&SERVER_DUID[..]));
    assert_eq!(adv.pkt.client_id(), Some(&duid(1)[..]));
    let dns: Ipv6Addr = "2001:db8::53".parse().unwrap();
    assert_eq!(adv.pkt.options.get(code::DNS_SERVERS), Some(&dns.octets()[..]));
    let na = &nas(&adv.pkt)[0];
    assert_eq!(na.iaid, 1);
    assert_eq!(na.addrs[0].addr, "2001:db8:1::10".parse::<Ipv6Addr>().unwrap());
    assert_eq!((na.addrs[0].preferred, na.addrs[0].valid), (3000, 4000));
    assert_eq!((na.t1, na.t2), (1500, 2400), "calculate-tee-times: 0.5 and 0.8 of preferred");
    let pd = &pds(&adv.pkt)[0];
    assert_eq!((pd.prefixes[0].prefix, pd.prefixes[0].prefix_len), ("2001:db8:100::".parse().unwrap(), 56));

    let rep = lab.sarr(1);
    assert_eq!(rep.pkt.msg_type, MessageType::Reply);
    assert_eq!(nas(&rep.pkt)[0].addrs[0].addr, na.addrs[0].addr, "the advertised address is given");
    assert_eq!(pds(&rep.pkt)[0].prefixes[0].prefix, pd.prefixes[0].prefix);
    assert_eq!(rep.changes.len(), 2);
    for c in &rep.changes {
        let LeaseChange6::Upsert(l, _) = c else { panic!("expected upserts") };
        assert_eq!(l.duid, duid(1));
        assert_eq!(l.subnet_id, 1);
        assert_eq!(l.valid_lifetime, 4000);
        assert_eq!(l.cltt, lab.now);
        match l.lease_type {
            LeaseType6::Na => assert_eq!((l.iaid, l.prefix_len), (1, 128)),
            LeaseType6::Pd => assert_eq!((l.iaid, l.prefix_len), (2, 56)),
        }
    }
    assert_eq!(lab.stat("subnet[1].assigned-nas"), 1);
    assert_eq!(lab.stat("subnet[1].assigned-pds"), 1);
    assert_eq!(lab.stat("subnet[1].total-nas"), 3);
    assert_eq!(lab.stat("subnet[1].total-pds"), 256);
    assert_eq!(lab.stat("pkt6-solicit-received"), 2);
    assert_eq!(lab.stat("pkt6-request-received"), 1);

    // A second client gets the next address and the next /56.
    let rep2 = lab.sarr(2);
    assert_eq!(nas(&rep2.pkt)[0].addrs[0].addr, "2001:db8:1::11".parse::<Ipv6Addr>().unwrap());
    assert_eq!(pds(&rep2.pkt)[0].prefixes[0].prefix, "2001:db8:100:100::".parse::<Ipv6Addr>().unwrap());
}

/// A RENEW extends the client's binding; an IA the server has no binding for gets a new one,
/// as Kea's renewLeases6 allocates (ALLOC_ENGINE_V6_EXTEND_ALLOC_UNRESERVED).
#[test]
fn renew_keeps_the_binding_and_an_unknown_ia_gets_a_new_one() {
    let mut lab = lab(CFG);
    let rep = lab.sarr(1);
    let addr = nas(&rep.pkt)[0].addrs[0].addr;
    lab.now += 1000;
    let mut renew = with_server(msg(MessageType::Renew, 1));
    renew.options.push(code::IA_NA, ia_na(1, &[addr]));
    renew.options.push(code::IA_NA, ia_na(9, &[]));
    let r = lab.reply(&renew);
    let ias = nas(&r.pkt);
    assert_eq!(ias[0].addrs[0].addr, addr);
    assert_eq!(ias[0].addrs[0].valid, 4000);
    assert_eq!(ias[1].status, None);
    assert_eq!(ias[1].addrs.len(), 1, "a new binding for the unknown IA");
    assert_ne!(ias[1].addrs[0].addr, addr);
    let LeaseChange6::Upsert(l, _) = &r.changes[0] else { panic!() };
    assert_eq!(l.cltt, lab.now, "the lease is extended from now");
    assert_eq!(lab.stat("subnet[1].assigned-nas"), 2);
    assert_eq!(lab.stat("subnet[1].cumulative-assigned-nas"), 2, "the renewal itself is not a new assignment");
}

#[test]
fn release_frees_the_address_for_another_client() {
    let lab = lab(CFG);
    let rep = lab.sarr(1);
    let addr = nas(&rep.pkt)[0].addrs[0].addr;
    let pd = &pds(&rep.pkt)[0].prefixes[0];
    let mut rel = with_server(msg(MessageType::Release, 1));
    rel.options.push(code::IA_NA, ia_na(1, &[addr]));
    rel.options.push(code::IA_PD, ia_pd(2, &[(pd.prefix, pd.prefix_len)]));
    let r = lab.reply(&rel);
    assert_eq!(r.pkt.msg_type, MessageType::Reply);
    let st = StatusCode::parse(r.pkt.options.get(code::STATUS_CODE).unwrap()).unwrap();
    assert_eq!(st.code, StatusCode::SUCCESS);
    assert_eq!(r.changes.len(), 2);
    assert!(r.changes.iter().all(|c| matches!(c, LeaseChange6::Delete(_))));
    assert_eq!(lab.stat("subnet[1].assigned-nas"), 0);
    assert_eq!(lab.stat("subnet[1].assigned-pds"), 0);
    let mut sol = msg(MessageType::Solicit, 5);
    sol.options.push(code::IA_NA, ia_na(1, &[addr]));
    let adv = lab.reply(&sol);
    assert_eq!(nas(&adv.pkt)[0].addrs[0].addr, addr, "the released address is free again");
}

#[test]
fn rapid_commit_only_where_the_subnet_allows_it() {
    let lab = lab(CFG);
    // Subnet 1 (the receiving interface) has rapid-commit off: an ADVERTISE comes back.
    let mut sol = msg(MessageType::Solicit, 1);
    sol.options.push(code::RAPID_COMMIT, vec![]);
    sol.options.push(code::IA_NA, ia_na(1, &[]));
    let adv = lab.reply(&sol);
    assert_eq!(adv.pkt.msg_type, MessageType::Advertise);
    assert!(!adv.pkt.rapid_commit());
    assert!(adv.changes.is_empty());
    // Subnet 2, reached through a relay, allows it: a committed REPLY.
    let relay = relay_forw("2001:db8:2::1");
    let m = relay_meta();
    let Outcome6::Reply(r) = lab.send_with(&sol, std::slice::from_ref(&relay), &m) else { panic!() };
    assert_eq!(r.pkt.msg_type, MessageType::Reply);
    assert!(r.pkt.rapid_commit());
    assert_eq!(r.changes.len(), 1);
    assert_eq!(lab.stat("subnet[2].assigned-nas"), 1);
}

fn relay_forw(link: &str) -> RelayMsg {
    let mut options = kakapo::wire::v6::Options6::new();
    options.push(code::INTERFACE_ID, b"port7".to_vec());
    RelayMsg {
        msg_type: MessageType::RelayForw,
        hop_count: 0,
        link_addr: link.parse().unwrap(),
        peer_addr: "fe80::200:ff:fe00:1".parse().unwrap(),
        options,
    }
}

fn relay_meta() -> RecvMeta6 {
    RecvMeta6 {
        src: SocketAddrV6::new("2001:db8:2::1".parse().unwrap(), 547, 0, 0),
        dst: "2001:db8:1::1".parse().unwrap(),
        ..meta()
    }
}

#[test]
fn relayed_solicit_selects_by_link_address_and_replies_to_the_relay() {
    let lab = lab(CFG);
    let mut sol = msg(MessageType::Solicit, 3);
    sol.options.push(code::IA_NA, ia_na(1, &[]));
    let relay = relay_forw("2001:db8:2::1");
    let Outcome6::Reply(r) = lab.send_with(&sol, std::slice::from_ref(&relay), &relay_meta()) else { panic!() };
    assert_eq!(r.pkt.msg_type, MessageType::Advertise);
    assert_eq!(nas(&r.pkt)[0].addrs[0].addr, "2001:db8:2::10".parse::<Ipv6Addr>().unwrap());
    assert_eq!(r.dest, SocketAddrV6::new("2001:db8:2::1".parse().unwrap(), 547, 0, 0));
    assert_eq!(r.relays.len(), 1);
    assert_eq!(r.relays[0].msg_type, MessageType::RelayRepl);
    assert_eq!(r.relays[0].peer_addr, relay.peer_addr);
    assert_eq!(r.relays[0].interface_id(), Some(&b"port7"[..]), "RFC 8415 19.3: interface-id echoed");
    // The wire form is a RELAY-REPL around the ADVERTISE, with the subnet's own option.
    let d = decode(&r.bytes()).unwrap();
    assert_eq!(d.relays.len(), 1);
    assert_eq!(d.inner, r.pkt);
    assert!(d.inner.options.get(code::DOMAIN_LIST).is_some());
    // A link-address in no subnet is answered as Kea answers it: each IA empty, with a status.
    let stray = relay_forw("2001:db8:99::1");
    let Outcome6::Reply(r) = lab.send_with(&sol, std::slice::from_ref(&stray), &relay_meta()) else { panic!() };
    assert_eq!(r.pkt.msg_type, MessageType::Advertise);
    let ia = &nas(&r.pkt)[0];
    assert!(ia.addrs.is_empty());
    let st = ia.status.as_ref().expect("a status");
    assert_eq!(
        (st.code, st.message.as_str()),
        (StatusCode::NO_ADDRS_AVAIL, "Server could not select subnet for this client")
    );
    assert!(r.changes.is_empty());
}

#[test]
fn duid_reservation_is_honoured() {
    let lab = lab(CFG);
    let rep = lab.sarr(0x99);
    assert_eq!(nas(&rep.pkt)[0].addrs[0].addr, "2001:db8:1::99".parse::<Ipv6Addr>().unwrap());
    let p = &pds(&rep.pkt)[0].prefixes[0];
    assert_eq!((p.prefix, p.prefix_len), ("2001:db8:200::".parse().unwrap(), 56));
}

#[test]
fn empty_pool_gives_noaddrsavail_in_the_ia() {
    let lab = lab(CFG);
    let relay = relay_forw("2001:db8:3::1");
    let m = relay_meta();
    for (n, want) in [(1u8, None), (2, Some(StatusCode::NO_ADDRS_AVAIL))] {
        let mut req = with_server(msg(MessageType::Request, n));
        req.options.push(code::IA_NA, ia_na(1, &[]));
        let Outcome6::Reply(r) = lab.send_with(&req, std::slice::from_ref(&relay), &m) else { panic!() };
        let ia = &nas(&r.pkt)[0];
        assert_eq!(ia.status.as_ref().map(|s| s.code), want);
        if want.is_some() {
            assert!(ia.addrs.is_empty());
            assert!(r.changes.is_empty());
        }
    }
    // A subnet without pd-pools answers an IA_PD with NoPrefixAvail.
    let mut req = with_server(msg(MessageType::Request, 3));
    req.options.push(code::IA_PD, ia_pd(1, &[]));
    let Outcome6::Reply(r) = lab.send_with(&req, std::slice::from_ref(&relay), &m) else { panic!() };
    assert_eq!(pds(&r.pkt)[0].status.as_ref().map(|s| s.code), Some(StatusCode::NO_PREFIX_AVAIL));
}

#[test]
fn information_request_gets_options_only() {
    let lab = lab(CFG);
    let r = lab.reply(&msg(MessageType::InformationRequest, 1));
    assert_eq!(r.pkt.msg_type, MessageType::Reply);
    assert!(r.pkt.options.get(code::DNS_SERVERS).is_some());
    assert!(r.pkt.options.get(code::IA_NA).is_none());
    assert!(r.changes.is_empty());
    assert_eq!(r.pkt.server_id(), Some(&SERVER_DUID[..]));
}

#[test]
fn decline_puts_the_address_in_probation() {
    let lab = lab(CFG);
    let rep = lab.sarr(1);
    let addr = nas(&rep.pkt)[0].addrs[0].addr;
    let mut dec = with_server(msg(MessageType::Decline, 1));
    dec.options.push(code::IA_NA, ia_na(1, &[addr]));
    let r = lab.reply(&dec);
    let LeaseChange6::Upsert(l, _) = &r.changes[0] else { panic!() };
    assert_eq!(l.state, LeaseState::Declined);
    assert_eq!(l.duid, vec![0]);
    let mut sol = msg(MessageType::Solicit, 2);
    sol.options.push(code::IA_NA, ia_na(1, &[addr]));
    assert_ne!(nas(&lab.reply(&sol).pkt)[0].addrs[0].addr, addr);
}

#[test]
fn malformed_and_misaddressed_messages_are_dropped_and_counted() {
    let lab = lab(CFG);
    let full = bytes(&msg(MessageType::Solicit, 1), &[]);
    for cut in [0, 1, 3, 6] {
        let out = lab.engine.handle(&full[..cut], &meta(), lab.now, 0);
        assert!(matches!(out, Outcome6::Drop(DropReason6::ParseFailed(_))), "cut at {cut}");
    }
    assert_eq!(lab.stat("pkt6-parse-failed"), 4);
    // A REQUEST for another server is not ours.
    let mut req = msg(MessageType::Request, 1);
    req.options.push(code::SERVERID, vec![0, 2, 9, 9]);
    assert!(matches!(lab.send_with(&req, &[], &meta()), Outcome6::Drop(DropReason6::NotForUs)));
    assert_eq!(lab.stat("pkt6-not-for-us"), 1);
    // A SOLICIT without a client identifier breaks RFC 8415 16.2.
    let bare = Pkt6::new(MessageType::Solicit, 1);
    assert!(matches!(lab.send_with(&bare, &[], &meta()), Outcome6::Drop(DropReason6::RfcViolation(_))));
    assert_eq!(lab.stat("pkt6-received"), 6);
}

#[test]
fn confirm_says_whether_addresses_are_on_link() {
    let lab = lab(CFG);
    for (addr, want) in [("2001:db8:1::10", StatusCode::SUCCESS), ("2001:db8:7::10", StatusCode::NOT_ON_LINK)] {
        let mut c = msg(MessageType::Confirm, 1);
        c.options.push(code::IA_NA, ia_na(1, &[addr.parse().unwrap()]));
        let r = lab.reply(&c);
        let st = StatusCode::parse(r.pkt.options.get(code::STATUS_CODE).unwrap()).unwrap();
        assert_eq!(st.code, want, "{addr}");
    }
}

#[test]
fn mutated_packets_never_panic() {
    let lab = lab(CFG);
    let mut req = with_server(msg(MessageType::Request, 1));
    req.options.push(code::IA_NA, ia_na(1, &["2001:db8:2::10".parse().unwrap()]));
    req.options.push(code::IA_PD, ia_pd(2, &[("2001:db8:100::".parse().unwrap(), 56)]));
    let good = bytes(&req, &[relay_forw("2001:db8:2::1")]);
    for i in 0..good.len() {
        let _ = lab.engine.handle(&good[..i], &relay_meta(), lab.now, 0);
        for v in [0u8, 1, 0x7f, 0xff] {
            let mut b = good.clone();
            b[i] = v;
            let _ = lab.engine.handle(&b, &relay_meta(), lab.now, 0);
        }
    }
}

// ---- shared networks, relay selection, mac-sources, lifetimes, classes, reclamation ----

const CFG2: &str = r#"{"Dhcp6": {
  "interfaces-config": {"interfaces": ["eth0"]},
  "preferred-lifetime": 3000, "valid-lifetime": 4000,
  "min-valid-lifetime": 2000, "max-valid-lifetime": 8000,
  "min-preferred-lifetime": 1000, "max-preferred-lifetime": 6000,
  "decline-probation-period": 600,
  "mac-sources": ["ipv6-link-local", "duid"],
  "expired-leases-processing": {"hold-reclaimed-time": 100, "max-reclaim-leases": 0},
  "shared-networks": [{"name": "campus", "interface": "eth0", "subnet6": [
    {"id": 10, "subnet": "2001:db8:10::/64", "pools": [{"pool": "2001:db8:10::1 - 2001:db8:10::1"}]},
    {"id": 11, "subnet": "2001:db8:11::/64", "pools": [{"pool": "2001:db8:11::1 - 2001:db8:11::2"}]}
  ]}],
  "subnet6": [
    {"id": 20, "subnet": "2001:db8:20::/64", "interface-id": "port7",
     "pools": [{"pool": "2001:db8:20::5 - 2001:db8:20::5"}]},
    {"id": 21, "subnet": "2001:db8:21::/64", "relay": {"ip-addresses": ["2001:db8:ffff::1"]},
     "pools": [{"pool": "2001:db8:21::5 - 2001:db8:21::6", "client-class": "KNOWN",
                "option-data": [{"name": "dns-servers", "data": "2001:db8::1:53"}]},
               {"pool": "2001:db8:21::9 - 2001:db8:21::9"}],
     "pd-pools": [{"prefix": "2001:db8:2100::", "prefix-len": 40, "delegated-len": 48,
                   "excluded-prefix": "2001:db8:2100:ff00::", "excluded-prefix-len": 56}],
     "option-data": [{"name": "dns-servers", "data": "2001:db8::2:53"}],
     "reservations": [{"hw-address": "02:00:00:00:00:42", "hostname": "by-mac"}]}
  ]}}"#;

fn relayed(lab: &Lab, p: &Pkt6, r: RelayMsg) -> Reply6 {
    let m = RecvMeta6 { src: SocketAddrV6::new("2001:db8:ffff::1".parse().unwrap(), 547, 0, 0), ..meta() };
    match lab.send_with(p, &[r], &m) {
        Outcome6::Reply(r) => r,
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn request_na(lab: &Lab, n: u8) -> Reply6 {
    let mut req = with_server(msg(MessageType::Request, n));
    req.options.push(code::IA_NA, ia_na(1, &[]));
    lab.reply(&req)
}

#[test]
fn shared_network_overflows_into_its_next_subnet_and_renews_there() {
    let lab = lab(CFG2);
    let a1 = nas(&request_na(&lab, 1).pkt)[0].addrs[0].addr;
    let a2 = nas(&request_na(&lab, 2).pkt)[0].addrs[0].addr;
    let a3 = nas(&request_na(&lab, 3).pkt)[0].addrs[0].addr;
    assert_eq!(a1, "2001:db8:10::1".parse::<Ipv6Addr>().unwrap(), "the selected subnet first");
    assert_eq!(a2, "2001:db8:11::1".parse::<Ipv6Addr>().unwrap(), "then the network's other subnet");
    assert_eq!(a3, "2001:db8:11::2".parse::<Ipv6Addr>().unwrap());
    let full = request_na(&lab, 4);
    assert_eq!(nas(&full.pkt)[0].status.as_ref().map(|s| s.code), Some(StatusCode::NO_ADDRS_AVAIL));
    assert_eq!(lab.stat("subnet[10].assigned-nas"), 1);
    assert_eq!(lab.stat("subnet[11].assigned-nas"), 2);
    // RENEW of a lease that lives in the second subnet finds it.
    let mut renew = with_server(msg(MessageType::Renew, 2));
    renew.options.push(code::IA_NA, ia_na(1, &[a2]));
    let r = lab.reply(&renew);
    let na = &nas(&r.pkt)[0];
    assert_eq!(na.addrs[0].addr, a2);
    assert!(na.addrs[0].valid > 0);
    let LeaseChange6::Upsert(l, _) = &r.changes[0] else { panic!() };
    assert_eq!(l.subnet_id, 11);
}

#[test]
fn interface_id_and_relay_addresses_select_subnets() {
    let lab = lab(CFG2);
    let mut sol = msg(MessageType::Solicit, 5);
    sol.options.push(code::IA_NA, ia_na(1, &[]));
    // interface-id "port7" wins even though the link-address names no subnet.
    let adv = relayed(&lab, &sol, relay_forw("2001:db8:99::1"));
    assert_eq!(nas(&adv.pkt)[0].addrs[0].addr, "2001:db8:20::5".parse::<Ipv6Addr>().unwrap());
    // A relay listed in subnet 21's `relay.ip-addresses` (link-address of the relay).
    let mut r = relay_forw("2001:db8:ffff::1");
    r.options = kakapo::wire::v6::Options6::new();
    let adv = relayed(&lab, &sol, r);
    let na = &nas(&adv.pkt)[0];
    assert_eq!(na.addrs[0].addr, "2001:db8:21::9".parse::<Ipv6Addr>().unwrap(), "UNKNOWN client: not the KNOWN pool");
    let dns: Ipv6Addr = "2001:db8::2:53".parse().unwrap();
    assert_eq!(adv.pkt.options.get(code::DNS_SERVERS), Some(&dns.octets()[..]), "subnet option");
}

#[test]
fn hw_address_reservation_by_link_local_mac_makes_the_client_known() {
    let lab = lab(CFG2);
    let mut sol = msg(MessageType::Solicit, 6);
    sol.options.push(code::IA_NA, ia_na(1, &[]));
    let mut r = relay_forw("2001:db8:ffff::1");
    r.options = kakapo::wire::v6::Options6::new();
    // The relay's peer-address is the client's EUI-64 link-local address for 02:00:00:00:00:42.
    r.peer_addr = "fe80::ff:fe00:42".parse().unwrap();
    let adv = relayed(&lab, &sol, r.clone());
    let na = &nas(&adv.pkt)[0];
    assert_eq!(na.addrs[0].addr, "2001:db8:21::5".parse::<Ipv6Addr>().unwrap(), "KNOWN: the guarded pool");
    let dns: Ipv6Addr = "2001:db8::1:53".parse().unwrap();
    assert_eq!(adv.pkt.options.get(code::DNS_SERVERS), Some(&dns.octets()[..]), "pool option wins over subnet");
    let mut req = with_server(msg(MessageType::Request, 6));
    req.options.push(code::IA_NA, ia_na(1, &[na.addrs[0].addr]));
    let rep = relayed(&lab, &req, r);
    let LeaseChange6::Upsert(l, _) = &rep.changes[0] else { panic!() };
    assert_eq!(l.hwaddr, vec![2, 0, 0, 0, 0, 0x42]);
    assert_eq!((l.hwtype, l.hwaddr_source), (1, 4), "HWADDR_SOURCE_IPV6_LINK_LOCAL");
    assert_eq!(l.hostname, "by-mac");
}

#[test]
fn lifetime_hints_are_clamped_and_excluded_prefix_is_sent_when_asked() {
    let lab = lab(CFG2);
    let mut req = with_server(msg(MessageType::Request, 7));
    let mut ia = IaNa::new(1, 0, 0);
    ia.addrs.push(IaAddr { addr: Ipv6Addr::UNSPECIFIED, preferred: 500, valid: 90_000, status: None, other: vec![] });
    let mut b = Vec::new();
    ia.encode(&mut b);
    req.options.push(code::IA_NA, b);
    let na = &nas(&lab.reply(&req).pkt)[0];
    assert_eq!((na.addrs[0].preferred, na.addrs[0].valid), (1000, 8000), "raised to min, cut to max");
    let mut req = with_server(msg(MessageType::Request, 8));
    let mut ia = IaNa::new(1, 0, 0);
    ia.addrs.push(IaAddr { addr: Ipv6Addr::UNSPECIFIED, preferred: 1500, valid: 2500, status: None, other: vec![] });
    let mut b = Vec::new();
    ia.encode(&mut b);
    req.options.push(code::IA_NA, b);
    let na = &nas(&lab.reply(&req).pkt)[0];
    assert_eq!((na.addrs[0].preferred, na.addrs[0].valid), (1500, 2500), "a hint within bounds is honoured");

    // Two IA_PDs in one message through the relay of subnet 21; PD_EXCLUDE requested in ORO.
    let mut sol = msg(MessageType::Solicit, 9);
    sol.options.set(code::ORO, &[0, 23, 0, 67]);
    sol.options.push(code::IA_PD, ia_pd(1, &[]));
    sol.options.push(code::IA_PD, ia_pd(2, &[]));
    let mut r = relay_forw("2001:db8:ffff::1");
    r.options = kakapo::wire::v6::Options6::new();
    let adv = relayed(&lab, &sol, r);
    let p = pds(&adv.pkt);
    assert_eq!(p.len(), 2);
    assert_ne!(p[0].prefixes[0].prefix, p[1].prefixes[0].prefix, "each IA its own prefix");
    assert_eq!(p[0].prefixes[0].prefix_len, 48);
    let ex = p[0].prefixes[0].excluded.expect("PD_EXCLUDE in the IAPREFIX");
    assert_eq!(ex.1, 56);
}

#[test]
fn reclamation_expires_then_removes_and_decline_probation_follows_the_config() {
    let mut lab = lab(CFG2);
    let a = nas(&request_na(&lab, 1).pkt)[0].addrs[0].addr;
    assert_eq!(lab.stat("assigned-nas"), 1);
    // Decline another client's address: probation is decline-probation-period (600 s).
    let b = nas(&request_na(&lab, 2).pkt)[0].addrs[0].addr;
    let mut dec = with_server(msg(MessageType::Decline, 2));
    dec.options.push(code::IA_NA, ia_na(1, &[b]));
    let r = lab.reply(&dec);
    let LeaseChange6::Upsert(d, _) = &r.changes[0] else { panic!() };
    assert_eq!((d.state, d.valid_lifetime), (LeaseState::Declined, 600));

    let changes = lab.reclaim_at(lab.now + 601);
    assert_eq!(changes.len(), 1, "only the declined lease is due at +601 s");
    assert_eq!(lab.stat("reclaimed-declined-addresses"), 1);
    lab.now += 5000;
    let changes = lab.reclaim_at(lab.now);
    assert!(
        changes.iter().any(
            |c| matches!(c, LeaseChange6::Upsert(l, _) if l.address == a && l.state == LeaseState::ExpiredReclaimed)
        ),
        "the expired lease becomes expired-reclaimed: {changes:?}"
    );
    assert!(
        !changes.iter().any(|c| matches!(c, LeaseChange6::Delete(_))),
        "reclamation deletes nothing: the flush does: {changes:?}"
    );
    assert_eq!(lab.stat("assigned-nas"), 0);
    assert_eq!(lab.stat("reclaimed-leases"), 1);
    // The flush deletes reclaimed leases whose expiry is hold-reclaimed-time (100 s) past:
    // the declined one and the one that expired 1000 s ago, as Kea's flush does.
    let changes = lab.flush_at(lab.now);
    let deleted: Vec<Ipv6Addr> =
        changes.iter().filter_map(|c| if let LeaseChange6::Delete(l) = c { Some(l.address) } else { None }).collect();
    assert_eq!(deleted.len(), 2, "{changes:?}");
    assert!(deleted.contains(&a) && deleted.contains(&b), "{changes:?}");
    assert!(lab.flush_at(lab.now + 200).is_empty());
    // The client comes back and gets its old address again.
    assert_eq!(nas(&request_na(&lab, 1).pkt)[0].addrs[0].addr, a);
}

#[test]
fn unicast_solicit_from_a_client_is_dropped() {
    let lab = lab(CFG);
    let mut sol = msg(MessageType::Solicit, 1);
    sol.options.push(code::IA_NA, ia_na(1, &[]));
    let m = RecvMeta6 { dst: "2001:db8:1::1".parse().unwrap(), ..meta() };
    assert!(matches!(lab.send_with(&sol, &[], &m), Outcome6::Drop(DropReason6::Unicast)));
    assert_eq!(lab.stat("pkt6-receive-drop"), 1);
}

#[test]
fn advertise_hold_is_given_up_for_a_client_that_finds_nothing_else() {
    let mut lab = lab(CFG);
    // Subnet 3's pool is one address: client 1's advertise holds it.
    let meta3 = RecvMeta6 { iface_addrs: vec!["2001:db8:3::1".parse().unwrap()], ifname: "eth3".into(), ..meta() };
    let solicit = |n: u8| {
        let mut s = msg(MessageType::Solicit, n);
        s.options.push(code::IA_NA, ia_na(1, &[]));
        s
    };
    let adv = |lab: &Lab, n: u8| match lab.send_with(&solicit(n), &[], &meta3) {
        Outcome6::Reply(r) => nas(&r.pkt)[0].clone(),
        other => panic!("{other:?}"),
    };
    let first = adv(&lab, 1);
    assert_eq!(first.addrs[0].addr, "2001:db8:3::10".parse::<Ipv6Addr>().unwrap());
    lab.now += 1;
    let second = adv(&lab, 2);
    assert_eq!(second.addrs.first().map(|a| a.addr), Some(first.addrs[0].addr), "the hold goes to client 2");
}

#[test]
fn duid_outside_kea_limits_is_dropped_as_unparsable() {
    let lab = lab(CFG);
    for (d, ok) in [(vec![0, 1], false), (vec![0, 3, 1], true), (vec![7; 130], true), (vec![7; 131], false)] {
        let mut p = Pkt6::new(MessageType::Solicit, 0x42);
        p.options.push(code::CLIENTID, d.clone());
        p.options.push(code::IA_NA, ia_na(1, &[]));
        let out = lab.send_with(&p, &[], &meta());
        assert_eq!(matches!(out, Outcome6::Reply(_)), ok, "DUID of {} octets: {out:?}", d.len());
        if !ok {
            assert!(matches!(out, Outcome6::Drop(DropReason6::BadIdentifier(_))), "{out:?}");
        }
    }
    assert_eq!(lab.stat("pkt6-parse-failed"), 2);
    assert_eq!(lab.stat("pkt6-receive-drop"), 2);
}

#[test]
fn at_most_sixteen_ias_of_each_kind_are_served_per_message() {
    let lab = lab(CFG);
    let mut sol = msg(MessageType::Solicit, 1);
    for iaid in 0..256u32 {
        sol.options.push(code::IA_PD, ia_pd(iaid, &[]));
    }
    for iaid in 0..40u32 {
        sol.options.push(code::IA_NA, ia_na(iaid, &[]));
    }
    let adv = lab.reply(&sol);
    let pd = pds(&adv.pkt);
    assert_eq!(pd.len(), kakapo::engine::v6::MAX_IAS_PER_TYPE);
    assert!(pd.iter().all(|ia| ia.status.is_none() && ia.prefixes.len() == 1), "each served IA_PD has a prefix");
    assert_eq!(nas(&adv.pkt).len(), kakapo::engine::v6::MAX_IAS_PER_TYPE);
}

/// The engine decides over the leases it is handed (a view a store prefetched) and leaves its
/// own map alone (as in DHCPv4).
#[test]
fn the_engine_decides_over_the_view_it_is_given() {
    let lab = lab(CFG);
    let d6 = load_str("t", CFG, &LoadOptions::default()).unwrap().config.dhcp6.unwrap();
    let view = LeaseMap6::for_config(&d6);
    let theirs: Ipv6Addr = "2001:db8:1::12".parse().unwrap();
    // A lease another server wrote, as a Kea CSV row: renewed 100 s ago, valid 4000 s.
    let row = format!("{theirs},00:03:00:01:02:00:00:00:00:05,4000,{},1,3000,0,1,128,0,0,,,0,,0,0", lab.now + 3900);
    let header = kakapo::lease::memfile::header6(false);
    let lease = kakapo::lease::memfile::parse_row6(&row, &header.split(',').collect::<Vec<_>>()).unwrap();
    assert_eq!((lease.duid.clone(), lease.cltt), (duid(5), lab.now - 100));
    view.load(vec![lease]);
    let over = |p: &Pkt6| match lab.engine.decide(&view, &bytes(p, &[]), &meta(), lab.now, 7, &mut Tally::default()) {
        Outcome6::Reply(r) => r,
        other => panic!("expected a reply, got {other:?}"),
    };
    let mut req = with_server(msg(MessageType::Renew, 5));
    req.options.push(code::IA_NA, ia_na(1, &[theirs]));
    let reply = over(&req);
    assert_eq!(nas(&reply.pkt)[0].addrs[0].addr, theirs, "renewed from the view");
    assert!(matches!(&reply.changes[..], [LeaseChange6::Upsert(l, _)] if l.address == theirs && l.cltt == lab.now));
    assert_eq!(view.subnet(1).unwrap().get(LeaseType6::Na, theirs).map(|l| l.cltt), Some(lab.now));
    assert!(lab.engine.leases().subnet(1).unwrap().get(LeaseType6::Na, theirs).is_none(), "own map untouched");
}

/// The engine counts nothing itself (see the v4 test of the same name); a decision whose
/// changes never become durable counts what was received and nothing leased.
#[test]
fn deciding_counts_nothing_until_the_statistics_stage() {
    let lab = lab(CFG);
    let before = lab.stats.all();
    let mut sol = msg(MessageType::Solicit, 1);
    sol.options.push(code::IA_NA, ia_na(1, &[]));
    sol.options.push(code::RAPID_COMMIT, Vec::new());
    // Through a relay to subnet 2, which allows rapid commit: a REPLY with a lease.
    let relay = relay_forw("2001:db8:2::1");
    let mut t = Tally::default();
    let datagram = bytes(&sol, std::slice::from_ref(&relay));
    let out = lab.engine.decide(lab.engine.leases(), &datagram, &relay_meta(), lab.now, 7, &mut t);
    let Outcome6::Reply(r) = out else { panic!("a reply") };
    assert_eq!(lab.stats.all(), before, "deciding changed no statistic");
    // Its commit fails.
    assert_eq!(r.changes.len(), 1, "{:?}", r.pkt.msg_type);
    lab.engine.roll_back(&r.changes);
    t.not_durable();
    t.count(1);
    assert_eq!(lab.stat("pkt6-received"), 1);
    assert_eq!(lab.stat("pkt6-solicit-received"), 1);
    assert_eq!(lab.stat("assigned-nas"), 0);
    assert_eq!(lab.stat("cumulative-assigned-nas"), 0);
}

// ---- Kea 2.2 conformance (issue "Kea, exactly"): each behaviour as Kea 2.2 showed it live ----

fn status_of(st: Option<&StatusCode>) -> Option<(u16, &str)> {
    st.map(|s| (s.code, s.message.as_str()))
}

/// No subnet for the client's link: Kea answers rather than dropping. SOLICIT and REQUEST get
/// their IAs back empty with NoAddrsAvail / NoPrefixAvail; RENEW gets NoBinding; the global
/// options asked for are there.
#[test]
fn without_a_subnet_every_ia_is_answered_with_kea_s_status() {
    let lab = lab(CFG);
    let stray = relay_forw("2001:db8:99::1");
    let mut req = with_server(msg(MessageType::Request, 1));
    req.options.push(code::IA_NA, ia_na(1, &[]));
    req.options.push(code::IA_PD, ia_pd(2, &[]));
    let Outcome6::Reply(r) = lab.send_with(&req, std::slice::from_ref(&stray), &relay_meta()) else { panic!() };
    assert_eq!(r.pkt.msg_type, MessageType::Reply);
    let (na, pd) = (&nas(&r.pkt)[0], &pds(&r.pkt)[0]);
    assert_eq!(
        status_of(na.status.as_ref()),
        Some((StatusCode::NO_ADDRS_AVAIL, "Server could not select subnet for this client"))
    );
    assert_eq!(status_of(pd.status.as_ref()), Some((StatusCode::NO_PREFIX_AVAIL, "Sorry, no subnet available.")));
    assert_eq!((na.t1, na.t2), (0, 0));
    assert!(r.pkt.options.get(code::DNS_SERVERS).is_some(), "global options asked for in ORO");
    assert!(r.pkt.options.get(code::STATUS_CODE).is_none(), "no top-level status");
    let mut renew = with_server(msg(MessageType::Renew, 1));
    renew.options.push(code::IA_NA, ia_na(1, &["2001:db8:99::5".parse().unwrap()]));
    let Outcome6::Reply(r) = lab.send_with(&renew, std::slice::from_ref(&stray), &relay_meta()) else { panic!() };
    assert_eq!(
        status_of(nas(&r.pkt)[0].status.as_ref()),
        Some((StatusCode::NO_BINDING, "Sorry, no known leases for this duid/iaid."))
    );
}

/// RFC 8415 18.3.5: a REBIND listing an address not appropriate for the link gets it back with
/// zero lifetimes, beside the client's lease renewed.
#[test]
fn rebind_returns_an_address_of_another_link_with_zero_lifetimes() {
    let mut lab = lab(CFG);
    let addr = nas(&request_na(&lab, 1).pkt)[0].addrs[0].addr;
    lab.now += 2000;
    let off_link: Ipv6Addr = "2001:db8:99::5".parse().unwrap();
    let mut rebind = msg(MessageType::Rebind, 1);
    rebind.options.push(code::IA_NA, ia_na(1, &[addr, off_link]));
    let r = lab.reply(&rebind);
    let ia = &nas(&r.pkt)[0];
    assert_eq!(ia.status, None);
    let got: Vec<(Ipv6Addr, u32, u32)> = ia.addrs.iter().map(|a| (a.addr, a.preferred, a.valid)).collect();
    assert_eq!(got, vec![(addr, 3000, 4000), (off_link, 0, 0)]);
    // A client without a binding that rebinds with an address of another link gets a new
    // address, and the old one with zero lifetimes.
    let mut lost = msg(MessageType::Rebind, 7);
    lost.options.push(code::IA_NA, ia_na(1, &[off_link]));
    let r = lab.reply(&lost);
    let ia = &nas(&r.pkt)[0];
    assert_eq!(ia.addrs.len(), 2, "{ia:?}");
    assert!(ia.addrs[0].valid > 0 && ia.addrs[0].addr != off_link);
    assert_eq!((ia.addrs[1].addr, ia.addrs[1].valid), (off_link, 0));
}

/// RELEASE as Kea's releaseIA_NA answers it: NoBinding with Kea's text for an address the
/// client does not hold, and a summary status at the top.
#[test]
fn release_of_an_address_not_held_gets_nobinding_with_kea_s_texts() {
    let lab = lab(CFG);
    let a = nas(&request_na(&lab, 1).pkt)[0].addrs[0].addr;
    let release = |n: u8, iaid: u32, addrs: &[Ipv6Addr]| {
        let mut rel = with_server(msg(MessageType::Release, n));
        rel.options.push(code::IA_NA, ia_na(iaid, addrs));
        lab.reply(&rel)
    };
    let top = |r: &Reply6| StatusCode::parse(r.pkt.options.get(code::STATUS_CODE).unwrap()).unwrap();
    let cases: [(u8, u32, Vec<Ipv6Addr>, &str); 4] = [
        (1, 1, vec!["2001:db8:1::12".parse().unwrap()], "Sorry, no known leases for this duid/iaid, can't release."),
        (2, 1, vec![a], "This address does not belong to you, you can't release it"),
        (1, 5, vec![a], "This is your address, but you used wrong IAID"),
        (1, 1, vec![], "You did not include an address in your RELEASE"),
    ];
    for (n, iaid, addrs, text) in cases {
        let r = release(n, iaid, &addrs);
        assert_eq!(status_of(nas(&r.pkt)[0].status.as_ref()), Some((StatusCode::NO_BINDING, text)));
        assert!(r.changes.is_empty(), "{text}");
        let t = top(&r);
        assert_eq!((t.code, t.message.as_str()), (StatusCode::NO_BINDING, "Summary status for all processed IA_NAs"));
    }
    let r = release(1, 1, &[a]);
    assert_eq!(
        status_of(nas(&r.pkt)[0].status.as_ref()),
        Some((StatusCode::SUCCESS, "Lease released. Thank you, please come again."))
    );
    assert_eq!(r.changes.len(), 1);
    assert_eq!(top(&r).code, StatusCode::SUCCESS);
}

/// An INFORMATION-REQUEST from a link without a subnet still gets the global options.
#[test]
fn information_request_without_a_subnet_gets_the_global_options() {
    let lab = lab(CFG);
    let stray = relay_forw("2001:db8:99::1");
    let inf = msg(MessageType::InformationRequest, 1);
    let Outcome6::Reply(r) = lab.send_with(&inf, std::slice::from_ref(&stray), &relay_meta()) else { panic!() };
    assert_eq!(r.pkt.msg_type, MessageType::Reply);
    assert_eq!(r.pkt.options.get(code::DNS_SERVERS), Some(&"2001:db8::53".parse::<Ipv6Addr>().unwrap().octets()[..]));
    assert_eq!(r.pkt.client_id(), Some(&duid(1)[..]));
}

/// Vendor-specific information (RFC 8415 21.17) as Kea 2.2 sends it: option 17 for the
/// client's enterprise (from its 17, or its vendor class 16) carries the always-send
/// sub-options of `vendor-<enterprise>`.
#[test]
fn option_17_carries_the_vendor_space_sub_options() {
    let cfg = CFG.replace(
        r#""option-data": [{"name": "dns-servers", "data": "2001:db8::53"}],"#,
        r#""option-def": [{"name": "tftp-server", "code": 2, "space": "vendor-1234", "type": "string"}],
           "option-data": [{"name": "dns-servers", "data": "2001:db8::53"},
                           {"name": "tftp-server", "space": "vendor-1234", "data": "tftp.example.org", "always-send": true}],"#,
    );
    let lab = lab(&cfg);
    let mut want = vec![0, 0, 4, 0xd2, 0, 2, 0, 16];
    want.extend_from_slice(b"tftp.example.org");
    // From the client's vendor-opts.
    let mut sol = msg(MessageType::Solicit, 1);
    sol.options.push(code::IA_NA, ia_na(1, &[]));
    sol.options.push(code::VENDOR_OPTS, vec![0, 0, 4, 0xd2]);
    assert_eq!(lab.reply(&sol).pkt.options.get(code::VENDOR_OPTS), Some(&want[..]));
    // From its vendor class alone.
    let mut sol = msg(MessageType::Solicit, 2);
    sol.options.push(code::IA_NA, ia_na(1, &[]));
    sol.options.push(code::VENDOR_CLASS, vec![0, 0, 4, 0xd2, 0, 3, b'a', b'b', b'c']);
    assert_eq!(lab.reply(&sol).pkt.options.get(code::VENDOR_OPTS), Some(&want[..]));
    // Another vendor: nothing.
    let mut sol = msg(MessageType::Solicit, 3);
    sol.options.push(code::IA_NA, ia_na(1, &[]));
    sol.options.push(code::VENDOR_OPTS, vec![0, 0, 0, 9]);
    assert_eq!(lab.reply(&sol).pkt.options.get(code::VENDOR_OPTS), None);
}

/// Pool-level statistics (Kea 2.4+): `subnet[id].pool[pid].*` for address pools and
/// `subnet[id].pd-pool[pid].*` for prefix pools, from start-up and as leases come and go.
#[test]
fn pool_and_pd_pool_statistics_follow_the_leases() {
    let lab = lab(CFG);
    assert_eq!(lab.stat("subnet[1].pool[0].total-nas"), 3);
    assert_eq!(lab.stat("subnet[1].pd-pool[0].total-pds"), 256);
    assert_eq!(lab.stat("subnet[1].pool[0].assigned-nas"), 0);
    assert!(lab.stats.get("subnet[1].pd-pool[0].declined-addresses").is_none(), "prefixes are not declined");
    let rep = lab.sarr(1);
    assert_eq!(lab.stat("subnet[1].pool[0].assigned-nas"), 1);
    assert_eq!(lab.stat("subnet[1].pool[0].cumulative-assigned-nas"), 1);
    assert_eq!(lab.stat("subnet[1].pd-pool[0].assigned-pds"), 1);
    assert_eq!(lab.stat("subnet[1].pd-pool[0].cumulative-assigned-pds"), 1);
    let addr = nas(&rep.pkt)[0].addrs[0].addr;
    let mut rel = with_server(msg(MessageType::Release, 1));
    rel.options.push(code::IA_NA, ia_na(1, &[addr]));
    lab.reply(&rel);
    assert_eq!(lab.stat("subnet[1].pool[0].assigned-nas"), 0);
    assert_eq!(lab.stat("subnet[1].pd-pool[0].assigned-pds"), 1);
}

/// `store-extended-info` (Kea ARM 9.2.28): each relay of the query is kept in the lease's user
/// context as Kea 3.0 keeps it.
#[test]
fn store_extended_info_keeps_the_relay_information() {
    let cfg =
        CFG.replace(r#""preferred-lifetime": 3000,"#, r#""preferred-lifetime": 3000, "store-extended-info": true,"#);
    let lab = lab(&cfg);
    let mut relay = relay_forw("2001:db8:2::1");
    relay.options.push(code::REMOTE_ID, vec![0, 0, 0, 9, 0xaa, 0xbb]);
    let mut req = with_server(msg(MessageType::Request, 1));
    req.options.push(code::IA_NA, ia_na(1, &[]));
    let Outcome6::Reply(r) = lab.send_with(&req, std::slice::from_ref(&relay), &relay_meta()) else { panic!() };
    let LeaseChange6::Upsert(l, _) = &r.changes[0] else { panic!("{:?}", r.changes) };
    let ctx: serde_json::Value = serde_json::from_str(l.user_context.as_deref().expect("a user context")).unwrap();
    let info = &ctx["ISC"]["relay-info"][0];
    assert_eq!(info["hop"], 0);
    assert_eq!(info["link"], "2001:db8:2::1");
    assert_eq!(info["peer"], "fe80::200:ff:fe00:1");
    assert_eq!(info["remote-id"], "AABB");
    // interface-id "port7" then the remote-id, in Kea's hex.
    assert_eq!(info["options"], "0x00120005706F7274370025000600000009AABB");
    // Off by default.
    let plain = lab_default_relayed();
    assert_eq!(plain, None);
}

fn lab_default_relayed() -> Option<String> {
    let lab = lab(CFG);
    let mut req = with_server(msg(MessageType::Request, 1));
    req.options.push(code::IA_NA, ia_na(1, &[]));
    let Outcome6::Reply(r) = lab.send_with(&req, std::slice::from_ref(&relay_forw("2001:db8:2::1")), &relay_meta())
    else {
        panic!()
    };
    let LeaseChange6::Upsert(l, _) = &r.changes[0] else { panic!() };
    l.user_context.clone()
}

/// Kea 3.1's `adaptive-lease-time-threshold` for DHCPv6, per lease type: the address pools
/// (flq) are fuller than one half once a second client takes one of three addresses, so its
/// address gets `min-valid-lifetime` (and the preferred lifetime and T1/T2 follow); the
/// prefix pool, with the iterative `pd-allocator` and nearly empty, is not affected.
#[test]
fn adaptive_lease_time_caps_addresses_of_a_full_flq_pool() {
    let cfg = CFG.replace(
        r#""preferred-lifetime": 3000, "valid-lifetime": 4000,"#,
        r#""preferred-lifetime": 3000, "valid-lifetime": 4000, "min-valid-lifetime": 1000,
           "allocator": "flq", "adaptive-lease-time-threshold": 0.5,"#,
    );
    let lab = lab(&cfg);
    let first = lab.sarr(1);
    assert_eq!(nas(&first.pkt)[0].addrs[0].valid, 4000);
    let second = lab.sarr(2);
    let na = &nas(&second.pkt)[0];
    assert_eq!((na.addrs[0].valid, na.addrs[0].preferred), (1000, 1000));
    assert_eq!((na.t1, na.t2), (500, 800), "calculated from the capped preferred lifetime");
    assert_eq!(pds(&second.pkt)[0].prefixes[0].valid, 4000);
}

/// `allocator: random` starts each search at a random point of the pool (here the engine's
/// random input modulo the pool size); the iterative default hands out addresses in order.
#[test]
fn the_random_allocator_starts_where_the_random_input_says() {
    let one_subnet = |alloc: &str| {
        format!(
            r#"{{"Dhcp6": {{"interfaces-config": {{"interfaces": ["eth0"]}}, "allocator": "{alloc}",
              "subnet6": [{{"id": 1, "subnet": "2001:db8:1::/64", "interface": "eth0",
                           "pools": [{{"pool": "2001:db8:1::10 - 2001:db8:1::20"}}]}}]}}}}"#
        )
    };
    let given = |lab: &Lab, n: u8, rand: u64| {
        let mut sol = msg(MessageType::Solicit, n);
        sol.options.push(code::IA_NA, ia_na(1, &[]));
        match lab.engine.handle(&bytes(&sol, &[]), &meta(), lab.now, rand) {
            Outcome6::Reply(r) => nas(&r.pkt)[0].addrs[0].addr,
            other => panic!("{other:?}"),
        }
    };
    let a = |s: &str| s.parse::<Ipv6Addr>().unwrap();
    let random = lab(&one_subnet("random"));
    assert_eq!(given(&random, 1, 3), a("2001:db8:1::13"));
    assert_eq!(given(&random, 2, 17 + 11), a("2001:db8:1::1b"));
    let iterative = lab(&one_subnet("iterative"));
    assert_eq!(given(&iterative, 1, 3), a("2001:db8:1::10"));
    assert_eq!(given(&iterative, 2, 17 + 11), a("2001:db8:1::11"));
}

/// `early-global-reservations-lookup` for DHCPv6 (Kea ARM 14.1 steps 6-7): two subnets behind
/// one relay, the first guarded by class `gold`. The client whose global reservation (by
/// DUID) names `gold` gets the guarded subnet only with the early lookup; others never do.
#[test]
fn an_early_global_reservation_lookup_lets_its_classes_select_the_subnet() {
    let cfg = |early: bool| {
        format!(
            r#"{{"Dhcp6": {{
              "early-global-reservations-lookup": {early},
              "reservations": [{{"duid": "{}", "client-classes": ["gold"]}}],
              "client-classes": [{{"name": "gold"}}],
              "subnet6": [
                {{"id": 1, "subnet": "2001:db8:1::/64", "client-class": "gold", "relay": {{"ip-addresses": ["2001:db8:ffff::1"]}},
                  "pools": [{{"pool": "2001:db8:1::10 - 2001:db8:1::20"}}]}},
                {{"id": 2, "subnet": "2001:db8:2::/64", "relay": {{"ip-addresses": ["2001:db8:ffff::1"]}},
                  "pools": [{{"pool": "2001:db8:2::10 - 2001:db8:2::20"}}]}}]}}}}"#,
            duid(7).iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
        )
    };
    let advertised = |lab: &Lab, n: u8| {
        let mut sol = msg(MessageType::Solicit, n);
        sol.options.push(code::IA_NA, ia_na(1, &[]));
        match lab.send_with(&sol, &[relay_forw("2001:db8:ffff::1")], &meta()) {
            Outcome6::Reply(r) => nas(&r.pkt)[0].addrs[0].addr,
            other => panic!("{other:?}"),
        }
    };
    let a = |s: &str| s.parse::<Ipv6Addr>().unwrap();
    let early = lab(&cfg(true));
    assert_eq!(advertised(&early, 7), a("2001:db8:1::10"));
    assert_eq!(advertised(&early, 8), a("2001:db8:2::10"));
    let late = lab(&cfg(false));
    assert_eq!(advertised(&late, 7), a("2001:db8:2::10"));
}

/// Kea 2.2's `reservation-mode` maps onto the reservation flags for DHCPv6 too ("disabled"
/// ignores the subnet's reservations), and `host-reservation-identifiers` decides which
/// identifiers are looked up: without `duid` a DUID reservation is not found.
#[test]
fn reservation_mode_and_host_identifiers_decide_the_lookup() {
    let reserved: Ipv6Addr = "2001:db8:1::99".parse().unwrap();
    let given = |cfg: &str| nas(&lab(cfg).sarr(0x99).pkt)[0].addrs[0].addr;
    assert_eq!(given(CFG), reserved);
    let disabled = CFG.replace(r#""interface": "eth0","#, r#""interface": "eth0", "reservation-mode": "disabled","#);
    assert_ne!(given(&disabled), reserved);
    let hw_only = CFG.replace(
        r#""preferred-lifetime": 3000,"#,
        r#""host-reservation-identifiers": ["hw-address"], "preferred-lifetime": 3000,"#,
    );
    assert_ne!(given(&hw_only), reserved);
    let duid_too = CFG.replace(
        r#""preferred-lifetime": 3000,"#,
        r#""host-reservation-identifiers": ["hw-address", "duid"], "preferred-lifetime": 3000,"#,
    );
    assert_eq!(given(&duid_too), reserved);
}

/// Option 39 (RFC 4704) as Kea 2.2 processes it with DNS updates off: the client's name is
/// sanitized with the default `hostname-char-set`, lower-cased and made fully qualified; the
/// lease records it with its final dot; the reply's option 39 carries it with N set, and O
/// when the client asked for S.
#[test]
fn the_client_fqdn_is_sanitized_recorded_and_answered() {
    let lab = lab(CFG);
    let wire = |name: &str, absolute: bool| -> Vec<u8> {
        let mut w: Vec<u8> = Vec::new();
        for l in name.split('.').filter(|l| !l.is_empty()) {
            w.push(l.len() as u8);
            w.extend_from_slice(l.as_bytes());
        }
        if absolute {
            w.push(0);
        }
        w
    };
    let run = |n: u8, fqdn: Vec<u8>| {
        let mut sol = msg(MessageType::Solicit, n);
        sol.options.push(code::IA_NA, ia_na(1, &[]));
        sol.options.push(code::CLIENT_FQDN, fqdn.clone());
        let adv = lab.reply(&sol);
        let mut req = with_server(msg(MessageType::Request, n));
        req.options.push(code::IA_NA, ia_na(1, &[nas(&adv.pkt)[0].addrs[0].addr]));
        req.options.push(code::CLIENT_FQDN, fqdn);
        let rep = lab.reply(&req);
        let hostname = match &rep.changes[..] {
            [LeaseChange6::Upsert(l, _)] => l.hostname.clone(),
            other => panic!("{other:?}"),
        };
        (
            hostname,
            adv.pkt.options.get(code::CLIENT_FQDN).map(<[u8]>::to_vec),
            rep.pkt.options.get(code::CLIENT_FQDN).map(<[u8]>::to_vec),
        )
    };
    let (h, adv, rep) = run(1, [&[0x01u8][..], &wire("My_Host.Example.org", true)].concat());
    assert_eq!(h, "myhost.example.org.");
    assert_eq!(rep, Some([&[0x06u8][..], &wire("myhost.example.org", true)].concat()));
    assert_eq!(adv, rep, "the ADVERTISE says the same");
    let (h, _, rep) = run(2, [&[0x00u8][..], &wire("host", false)].concat());
    assert_eq!(h, "host.");
    assert_eq!(rep, Some([&[0x04u8][..], &wire("host", true)].concat()));
    // Without option 39 nothing is named and nothing is answered.
    let rep = lab.sarr(3);
    assert!(rep.pkt.options.get(code::CLIENT_FQDN).is_none());
    assert!(matches!(&rep.changes[..], [LeaseChange6::Upsert(l, _), ..] if l.hostname.is_empty()));
}

/// DHCPv6 client classes give their options (before the global ones, after the subnet's)
/// and their lifetimes to the messages in them: here the class a reservation names.
#[test]
fn class_options_and_lifetimes_apply_to_members() {
    let cfg = CFG
        .replace(
            r#""option-data": [{"name": "dns-servers", "data": "2001:db8::53"}],"#,
            r#""option-data": [{"name": "dns-servers", "data": "2001:db8::53"}],
               "client-classes": [{"name": "voip", "valid-lifetime": 900, "preferred-lifetime": 600,
                                   "option-data": [{"name": "dns-servers", "data": "2001:db8::99"}]}],"#,
        )
        .replace(
            r#""reservations": [{"duid": "00:03:00:01:02:00:00:00:00:99", "ip-addresses": ["2001:db8:1::99"],"#,
            r#""reservations": [{"duid": "00:03:00:01:02:00:00:00:00:99", "ip-addresses": ["2001:db8:1::99"], "client-classes": ["voip"],"#,
        );
    let lab = lab(&cfg);
    let member = lab.sarr(0x99);
    let dns = |r: &Reply6| r.pkt.options.get(code::DNS_SERVERS).map(<[u8]>::to_vec);
    let ip = |s: &str| s.parse::<Ipv6Addr>().unwrap().octets().to_vec();
    assert_eq!(dns(&member), Some(ip("2001:db8::99")));
    let a = &nas(&member.pkt)[0].addrs[0];
    assert_eq!((a.preferred, a.valid), (600, 900));
    let other = lab.sarr(1);
    assert_eq!(dns(&other), Some(ip("2001:db8::53")));
    let a = &nas(&other.pkt)[0].addrs[0];
    assert_eq!((a.preferred, a.valid), (3000, 4000));
    assert!(load_str("t", &cfg, &LoadOptions::default()).unwrap().warnings.is_empty());
}

/// Relay-supplied options (RFC 6422; Kea's `relay-supplied-options`, default 65): an option
/// a relay puts in its RSOO goes into the reply when its code is listed, not otherwise.
#[test]
fn relay_supplied_options_reach_the_client_when_listed() {
    let erp: &[u8] = b"\x07example\x03org\x00";
    let mut rsoo = Vec::new();
    for (c, p) in [(65u16, erp), (100u16, &b"xyz"[..])] {
        rsoo.extend_from_slice(&c.to_be_bytes());
        rsoo.extend_from_slice(&(p.len() as u16).to_be_bytes());
        rsoo.extend_from_slice(p);
    }
    let mut relay = relay_forw("2001:db8:2::1");
    relay.options.push(code::RSOO, rsoo);
    let reply = |cfg: &str| {
        let mut sol = msg(MessageType::Solicit, 1);
        sol.options.push(code::IA_NA, ia_na(1, &[]));
        match lab(cfg).send_with(&sol, std::slice::from_ref(&relay), &meta()) {
            Outcome6::Reply(r) => r.pkt,
            other => panic!("{other:?}"),
        }
    };
    let by_default = reply(CFG);
    assert_eq!(by_default.options.get(65), Some(erp));
    assert_eq!(by_default.options.get(100), None, "100 is not listed");
    let none = reply(
        &CFG.replace(r#""preferred-lifetime": 3000,"#, r#""relay-supplied-options": [], "preferred-lifetime": 3000,"#),
    );
    assert_eq!(none.options.get(65), None);
    let listed = reply(&CFG.replace(
        r#""preferred-lifetime": 3000,"#,
        r#""relay-supplied-options": ["65", "100"], "preferred-lifetime": 3000,"#,
    ));
    assert_eq!(listed.options.get(100), Some(&b"xyz"[..]));
}

/// Lease caching for DHCPv6 (`cache-threshold`): a renewal within the threshold hands the
/// lease (address and prefix) back unchanged with the lifetimes it has left, writes
/// nothing and counts `v6-ia-na-lease-reuses` / `v6-ia-pd-lease-reuses`; past the threshold the
/// lease is extended and written again.
#[test]
fn young_leases_are_reused_from_cache() {
    let mut lab =
        lab(&CFG.replace(r#""preferred-lifetime": 3000,"#, r#""cache-threshold": 0.25, "preferred-lifetime": 3000,"#));
    let rep = lab.sarr(1);
    let addr = nas(&rep.pkt)[0].addrs[0].addr;
    let p = &pds(&rep.pkt)[0].prefixes[0];
    let (prefix, len) = (p.prefix, p.prefix_len);
    let renew = |lab: &Lab| {
        let mut r = with_server(msg(MessageType::Renew, 1));
        r.options.push(code::IA_NA, ia_na(1, &[addr]));
        r.options.push(code::IA_PD, ia_pd(2, &[(prefix, len)]));
        lab.reply(&r)
    };
    lab.now += 100;
    let r = renew(&lab);
    assert!(r.changes.is_empty(), "{:?}", r.changes);
    let a = &nas(&r.pkt)[0].addrs[0];
    assert_eq!((a.addr, a.preferred, a.valid), (addr, 2900, 3900));
    let p = &pds(&r.pkt)[0].prefixes[0];
    assert_eq!((p.prefix, p.preferred, p.valid), (prefix, 2900, 3900));
    assert_eq!((lab.stat("v6-ia-na-lease-reuses"), lab.stat("subnet[1].v6-ia-pd-lease-reuses")), (1, 1));
    lab.now += 1000;
    let r = renew(&lab);
    assert_eq!(r.changes.len(), 2, "past 25% of 4000 s: extended and written");
    assert_eq!(nas(&r.pkt)[0].addrs[0].valid, 4000);
}
