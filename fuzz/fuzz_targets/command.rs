//! The control command path without sockets: the request parser (Kea's extended JSON, so
//! comments and `<?include?>` must be refused or handled, never panic), the typed command
//! parser, and, for read-only commands, the handlers through `ControlDispatch` against a
//! running `Control` with a few leases and both DHCP sections.
//!
//! Input: one request body, as a unix-socket or HTTP client sends it (seeds:
//! fuzz/seeds/command/, every example of Kea's API reference plus malformed ones).
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use kakapo::api::command::Command;
use kakapo::api::control::{parse_request, Control, ControlDispatch, ControlSettings};
use kakapo::api::{Dispatch, Listener};
use kakapo::config::{load_str, LoadOptions};
use kakapo::server::ServiceOptions;

const CFG: &str = r#"{
"Dhcp4": {"interfaces-config": {"interfaces": []},
  "lease-database": {"type": "memfile", "persist": false}, "valid-lifetime": 4000, "server-tag": "fuzz",
  "subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10 - 192.0.2.100"}],
               "reservations": [{"hw-address": "02:00:00:00:00:01", "ip-address": "192.0.2.200", "hostname": "r4"}]}],
  "shared-networks": [{"name": "floor1",
     "subnet4": [{"id": 3, "subnet": "203.0.113.0/24", "pools": [{"pool": "203.0.113.10 - 203.0.113.20"}]}]}]},
"Dhcp6": {"interfaces-config": {"interfaces": []},
  "lease-database": {"type": "memfile", "persist": false}, "preferred-lifetime": 3000, "valid-lifetime": 4000,
  "subnet6": [{"id": 1, "subnet": "2001:db8:1::/64", "pools": [{"pool": "2001:db8:1::100 - 2001:db8:1::1ff"}],
               "pd-pools": [{"prefix": "2001:db8:8::", "prefix-len": 48, "delegated-len": 64}]}]}
}"#;

/// Leases the read-only commands can find.
const SETUP: &[(&str, &str)] = &[
    (
        "dhcp4",
        r#"{"command": "lease4-add", "arguments": {"ip-address": "192.0.2.11", "hw-address": "1a:1b:1c:1d:1e:1f", "hostname": "a.example.org"}}"#,
    ),
    (
        "dhcp4",
        r#"{"command": "lease4-add", "arguments": {"ip-address": "203.0.113.12", "hw-address": "02:00:00:00:00:02", "client-id": "01:02:03:04"}}"#,
    ),
    (
        "dhcp6",
        r#"{"command": "lease6-add", "arguments": {"ip-address": "2001:db8:1::101", "duid": "00:03:00:01:02:00:00:00:00:01", "iaid": 7}}"#,
    ),
    (
        "dhcp6",
        r#"{"command": "lease6-add", "arguments": {"type": "IA_PD", "ip-address": "2001:db8:8::", "prefix-len": 64, "subnet-id": 1, "duid": "00:03:00:01:02:00:00:00:00:02", "iaid": 9}}"#,
    ),
];

struct Lab {
    rt: tokio::runtime::Runtime,
    dispatch: ControlDispatch,
}

fn lab() -> &'static Lab {
    static L: OnceLock<Lab> = OnceLock::new();
    L.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        // One fixed directory, rewritten by every run, so runs leave nothing else behind.
        let dir = std::env::temp_dir().join("kakapo-fuzz-command");
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("kea.conf");
        std::fs::write(&path, CFG).expect("config file");
        let cfg = load_str("fuzz", CFG, &LoadOptions::default()).expect("fuzz config").config;
        let opts = ServiceOptions { data_dir: dir.clone(), ..ServiceOptions::default() };
        let settings = ControlSettings { files: vec![path], only: None, opts, policy: None };
        let dispatch = rt.block_on(async {
            let control: Arc<Control> = Control::new(settings, cfg, Box::new(|_| Ok(())));
            control.start().await.expect("control starts");
            let dispatch = ControlDispatch(control);
            for (svc, body) in SETUP {
                let r = dispatch.dispatch(body.as_bytes(), &Listener::Daemon((*svc).into())).await;
                assert_eq!(r[0].result, 0, "{body}: {r:?}");
            }
            dispatch
        });
        Lab { rt, dispatch }
    })
}

/// Kea's API reference marks these `"access": "read"` (config-test only checks): they
/// change nothing, so one running control serves every input.
fn read_only(name: &str) -> bool {
    name.ends_with("-get")
        || name.contains("-get-")
        || name.ends_with("-list")
        || matches!(name, "build-report" | "list-commands" | "status-get" | "config-test" | "version-get")
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // Set up in libFuzzer's warm-up run on the empty input, so start-up is not counted.
    let lab = lab();
    let Ok(req) = parse_request(data) else { return };
    let _ = Command::parse(&req);
    if !read_only(&req.command) {
        return;
    }
    let listener = match data.len() % 3 {
        0 => Listener::Agent,
        1 => Listener::Daemon("dhcp4".into()),
        _ => Listener::Daemon("dhcp6".into()),
    };
    let run = lab.dispatch.dispatch(data, &listener);
    let answers = lab.rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), run).await });
    let answers = answers.expect("a read-only command answers within 5 s");
    assert!(!answers.is_empty());
    let _ = serde_json::to_vec(&answers).expect("answers serialize");
});
