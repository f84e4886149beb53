//! Decode then handle: no packet may panic the DHCPv6 engine, whatever its bytes (including
//! deep relay nesting).
#![no_main]

use std::net::{Ipv6Addr, SocketAddrV6};
use std::sync::{Arc, OnceLock};

use kakapo::config::{load_str, LoadOptions};
use kakapo::engine::v6::{Engine6, RecvMeta6};
use kakapo::lease::alloc6::LeaseMap6;
use kakapo::stats::Stats;

const CFG: &str = r#"{"Dhcp6": {"preferred-lifetime": 300, "valid-lifetime": 600,
  "subnet6": [{"id": 1, "subnet": "2001:db8:1::/64", "rapid-commit": true,
               "pools": [{"pool": "2001:db8:1::10 - 2001:db8:1::40"}],
               "pd-pools": [{"prefix": "2001:db8:8::", "prefix-len": 48, "delegated-len": 56}],
               "reservations": [{"duid": "00:03:00:01:02:00:00:00:00:01", "ip-addresses": ["2001:db8:1::200"]}]},
              {"id": 2, "subnet": "2001:db8:2::/64", "pools": [{"pool": "2001:db8:2::10 - 2001:db8:2::12"}]}]}}"#;

fn engine() -> &'static Engine6 {
    static E: OnceLock<Engine6> = OnceLock::new();
    E.get_or_init(|| {
        let d6 = Arc::new(load_str("fuzz", CFG, &LoadOptions::default()).expect("fuzz config").config.dhcp6.expect("Dhcp6"));
        let map = Arc::new(LeaseMap6::for_config(&d6));
        Engine6::new(d6, map, Arc::new(Stats::default()), vec![0, 2, 0, 0, 9, 191, 1, 2], 1_800_000_000)
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let link_local = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    let meta = RecvMeta6 {
        ifindex: 1,
        ifname: "eth0".into(),
        iface_addrs: vec![Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1), link_local],
        src: SocketAddrV6::new(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2), 546, 0, 1),
        dst: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2),
    };
    let now = 1_800_000_000 + u64::from(data.first().copied().unwrap_or(0)) * 60;
    let _ = engine().handle(data, &meta, now, data.len() as u64);
});
