//! Decode then handle: no packet may panic the DHCPv4 engine, whatever its bytes.
#![no_main]

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, OnceLock};

use kakapo::config::{load_str, LoadOptions};
use kakapo::engine::v4::{Engine4, RecvMeta4};
use kakapo::lease::alloc::LeaseMap4;
use kakapo::stats::Stats;

const CFG: &str = r#"{"Dhcp4": {"valid-lifetime": 600,
  "subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10 - 192.0.2.40"}],
               "relay": {"ip-addresses": ["198.51.100.1"]},
               "reservations": [{"hw-address": "02:00:00:00:00:01", "ip-address": "192.0.2.200"}]},
              {"id": 2, "subnet": "203.0.113.0/24", "pools": [{"pool": "203.0.113.10 - 203.0.113.12"}]}]}}"#;

fn engine() -> &'static Engine4 {
    static E: OnceLock<Engine4> = OnceLock::new();
    E.get_or_init(|| {
        let d4 = Arc::new(load_str("fuzz", CFG, &LoadOptions::default()).expect("fuzz config").config.dhcp4.expect("Dhcp4"));
        let pools: Vec<(u32, Vec<(Ipv4Addr, Ipv4Addr)>)> =
            d4.subnets.iter().map(|s| (s.id, s.pools.iter().map(|p| (p.first, p.last)).collect())).collect();
        let map = LeaseMap4::new(pools.iter().map(|(id, p)| (*id, p.as_slice())));
        Engine4::new(d4, Arc::new(map), Arc::new(Stats::default()), 1_800_000_000)
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let meta = RecvMeta4 {
        ifindex: 1,
        ifname: "eth0".into(),
        iface_addrs: vec![Ipv4Addr::new(192, 0, 2, 1)],
        src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
        dst: Ipv4Addr::BROADCAST,
    };
    // The time moves with the input so reclamation and offer expiry are exercised too.
    let now = 1_800_000_000 + u64::from(data.first().copied().unwrap_or(0)) * 60;
    let _ = engine().handle(data, &meta, now, data.len() as u64);
    let _ = engine().reclaim(now);
});
