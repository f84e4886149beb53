//! Every control command through the library API, no socket (Kea ARM 8.8 "Management API",
//! 8.9 statistics, and the lease_cmds, stat_cmds, host_cmds and subnet_cmds hook command sets):
//! a [`Control`] built from a configuration string with no interfaces and an in-memory lease
//! database, driven with [`Control::handle`] and [`ControlDispatch`]. Result codes, texts and
//! argument shapes follow Kea's API reference (`/usr/share/doc/kea/api/<command>.json`).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kakapo::api::command::{hook_commands, Family, COMMANDS};
use kakapo::api::control::{Control, ControlDispatch, ControlSettings};
use kakapo::api::{
    lease_cmds, stat_cmds, Dispatch, Listener, Request, Response, RESULT_EMPTY, RESULT_ERROR, RESULT_SUCCESS,
    RESULT_UNSUPPORTED,
};
use kakapo::config::{load, load_str, LoadOptions, Section};
use kakapo::engine::v4::{Outcome4, RecvMeta4};
use kakapo::server::ServiceOptions;
use serde_json::{json, Value};

const V4: &str = r#"{"Dhcp4": {
  "interfaces-config": {"interfaces": []},
  "lease-database": {"type": "memfile", "persist": false},
  "valid-lifetime": 4000,
  "server-tag": "office1",
  "subnet4": [
    {"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10 - 192.0.2.100"}]},
    {"id": 2, "subnet": "198.51.100.0/24", "pools": [{"pool": "198.51.100.10 - 198.51.100.20"}]}
  ],
  "shared-networks": [
    {"name": "floor1",
     "subnet4": [{"id": 3, "subnet": "203.0.113.0/24", "pools": [{"pool": "203.0.113.10 - 203.0.113.20"}]}]}
  ]
}}"#;

const V6: &str = r#"{"Dhcp6": {
  "interfaces-config": {"interfaces": []},
  "lease-database": {"type": "memfile", "persist": false},
  "preferred-lifetime": 3000,
  "valid-lifetime": 4000,
  "subnet6": [
    {"id": 1, "subnet": "2001:db8:1::/64", "pools": [{"pool": "2001:db8:1::100 - 2001:db8:1::1ff"}],
     "pd-pools": [{"prefix": "2001:db8:8::", "prefix-len": 48, "delegated-len": 64}]}
  ],
  "shared-networks": [
    {"name": "floor6",
     "subnet6": [{"id": 2, "subnet": "2001:db8:2::/64", "pools": [{"pool": "2001:db8:2::100 - 2001:db8:2::1ff"}]}]}
  ]
}}"#;

/// A started control over one configuration, with its `-c` file in a temporary directory.
struct Lab {
    control: Arc<Control>,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

async fn start(text: &str) -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kea.conf");
    std::fs::write(&path, text).unwrap();
    let cfg = load_str("t", text, &LoadOptions::default()).unwrap().config;
    let opts = ServiceOptions { data_dir: dir.path().to_path_buf(), ..ServiceOptions::default() };
    let settings = ControlSettings { files: vec![path.clone()], only: None, opts, policy: None };
    let control = Control::new(settings, cfg, Box::new(|_| Ok(())));
    control.start().await.unwrap();
    Lab { control, path, _dir: dir }
}

/// Both sections in one configuration.
fn both() -> String {
    let v4: Value = serde_json::from_str(V4).unwrap();
    let v6: Value = serde_json::from_str(V6).unwrap();
    serde_json::to_string_pretty(&json!({ "Dhcp4": v4["Dhcp4"], "Dhcp6": v6["Dhcp6"] })).unwrap()
}

impl Lab {
    async fn cmd(&self, section: Section, v: Value) -> Response {
        let req: Request = serde_json::from_value(v).unwrap();
        self.control.handle(section, &req).await
    }
    async fn v4(&self, v: Value) -> Response {
        self.cmd(Section::Dhcp4, v).await
    }
    async fn v6(&self, v: Value) -> Response {
        self.cmd(Section::Dhcp6, v).await
    }
    fn dir(&self) -> &Path {
        self.path.parent().unwrap()
    }
}

fn text(r: &Response) -> &str {
    r.text.as_deref().unwrap_or("")
}

fn args(r: &Response) -> &Value {
    r.arguments.as_ref().unwrap_or(&Value::Null)
}

#[track_caller]
fn ok(r: &Response) -> &Value {
    assert_eq!(r.result, RESULT_SUCCESS, "{r:?}");
    args(r)
}

#[track_caller]
fn code(r: &Response, want: i64) {
    assert_eq!(r.result, want, "{r:?}");
}

/// True when `s` carries a `<string>:LINE.COL` position.
fn has_string_pos(s: &str) -> bool {
    s.match_indices("<string>:").any(|(i, m)| {
        let rest = &s[i + m.len()..];
        let line: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let after = &rest[line.len()..];
        !line.is_empty() && after.starts_with('.') && after[1..].starts_with(|c: char| c.is_ascii_digit())
    })
}

fn hash_of(r: &Response) -> String {
    args(r)["hash"].as_str().expect("hash").to_string()
}

fn now() -> u64 {
    kakapo::clock::unix_now()
}

// ---------------------------------------------------------------------------------------------
// Built-in commands
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_report_version_get_server_tag_get() {
    let lab = start(V4).await;
    let r = lab.v4(json!({"command": "build-report"})).await;
    ok(&r);
    assert!(text(&r).contains(env!("CARGO_PKG_VERSION")), "{r:?}");

    let r = lab.v4(json!({"command": "version-get"})).await;
    let a = ok(&r);
    assert_eq!(text(&r), kakapo::KEA_API_LEVEL);
    let ext = a["extended"].as_str().expect("extended is a string");
    assert!(ext.contains(&format!("kakapo {}", env!("CARGO_PKG_VERSION"))));

    let r = lab.v4(json!({"command": "server-tag-get"})).await;
    assert_eq!(ok(&r), &json!({"server-tag": "office1"}));
    let lab6 = start(V6).await;
    let r = lab6.v6(json!({"command": "server-tag-get"})).await;
    assert_eq!(ok(&r), &json!({"server-tag": ""}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_get_shape() {
    let lab = start(V4).await;
    let r = lab.v4(json!({"command": "status-get"})).await;
    let a = ok(&r);
    assert_eq!(a["pid"].as_u64(), Some(u64::from(std::process::id())));
    assert!(a["uptime"].as_u64().is_some_and(|u| u < 60), "{a}");
    assert!(a["reload"].as_u64().is_some_and(|u| u < 60), "{a}");
    assert_eq!(a["sockets"]["status"], "ready");
    // Multi-threading is off by default (Kea 2.2): no thread pool or queue to report.
    assert_eq!(a["multi-threading-enabled"], false);
    assert!(a.get("packet-queue-statistics").is_none() && a.get("thread-pool-size").is_none(), "{a}");
    assert_eq!(a["dhcp-state"]["globally-disabled"], false);
    assert_eq!(a["dhcp-state"]["disabled-by-user"], false);
    assert_eq!(a["dhcp-state"]["disabled-by-remote-command"], json!([]));
}

fn assert_sorted(list: &[String]) {
    let mut sorted = list.to_vec();
    sorted.sort();
    sorted.dedup();
    assert_eq!(list, sorted.as_slice(), "list-commands is sorted and without duplicates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_commands_per_family_and_every_listed_command_is_implemented() {
    for (text_cfg, section, fam, own, other) in
        [(V4, Section::Dhcp4, Family::V4, "4", "6"), (V6, Section::Dhcp6, Family::V6, "6", "4")]
    {
        let lab = start(text_cfg).await;
        let r = lab.cmd(section, json!({"command": "list-commands"})).await;
        let list: Vec<String> = serde_json::from_value(ok(&r).clone()).expect("a list of names");
        assert_sorted(&list);
        let expected = COMMANDS
            .iter()
            .chain(stat_cmds::COMMANDS)
            .map(|s| s.to_string())
            // Kea's lease_cmds and stat_cmds register both families' commands in each daemon.
            .chain(lease_cmds::COMMANDS.iter().map(|s| s.to_string()))
            .chain(["stat-lease4-get", "stat-lease6-get", "libreload", "config-backend-pull"].map(String::from))
            .chain(hook_commands(fam));
        for c in expected {
            assert!(list.contains(&c), "{c} missing from {list:?}");
        }
        for c in &list {
            for fam_prefix in ["subnet", "network"] {
                assert!(!c.starts_with(&format!("{fam_prefix}{other}-")), "{c} listed by the dhcp{own} daemon");
            }
        }
        // Each listed name is answered (whatever its arguments): never "not supported".
        for c in &list {
            let r = lab.cmd(section, json!({ "command": c })).await;
            assert_ne!(r.result, RESULT_UNSUPPORTED, "{c}: {r:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_get_and_hash_follow_config_set() {
    let lab = start(V4).await;
    let got = lab.v4(json!({"command": "config-get"})).await;
    let a = ok(&got);
    assert!(a["Dhcp4"].is_object(), "{a}");
    assert!(a.get("Dhcp6").is_none());
    assert_eq!(a["Dhcp4"]["valid-lifetime"], 4000);
    let h1 = hash_of(&got);
    assert_eq!(h1.len(), 64, "a SHA-256 in hex like Kea: {h1}");
    assert!(h1.chars().all(|c| c.is_ascii_hexdigit()));
    let r = lab.v4(json!({"command": "config-hash-get"})).await;
    assert_eq!(ok(&r), &json!({ "hash": h1 }));

    // config-set with a changed valid-lifetime.
    let mut body = a["Dhcp4"].clone();
    body["valid-lifetime"] = json!(5000);
    let r = lab.v4(json!({"command": "config-set", "arguments": {"Dhcp4": body}})).await;
    ok(&r);
    assert_eq!(text(&r), "Configuration successful.");
    let set_hash = hash_of(&r);
    let got = lab.v4(json!({"command": "config-get"})).await;
    assert_eq!(ok(&got)["Dhcp4"]["valid-lifetime"], 5000);
    let h2 = hash_of(&lab.v4(json!({"command": "config-hash-get"})).await);
    assert_ne!(h1, h2);
    assert_eq!(h2, hash_of(&got));
    assert_eq!(h2, set_hash, "config-set answers the new configuration's hash");
    assert_eq!(lab.control.config().dhcp4.as_ref().unwrap().subnets.len(), 3);

    // A broken configuration is refused and the running one stays.
    let mut bad = body.clone();
    bad["valid-lifetime"] = json!("forever");
    let r = lab.v4(json!({"command": "config-set", "arguments": {"Dhcp4": bad}})).await;
    code(&r, RESULT_ERROR);
    assert!(!text(&r).is_empty());
    assert_eq!(hash_of(&lab.v4(json!({"command": "config-hash-get"})).await), h2);
    let got = lab.v4(json!({"command": "config-get"})).await;
    assert_eq!(ok(&got)["Dhcp4"]["valid-lifetime"], 5000);

    // Argument errors, with Kea's texts.
    let r = lab.v4(json!({"command": "config-set"})).await;
    assert_eq!((r.result, text(&r)), (RESULT_ERROR, "Missing mandatory 'arguments' parameter."));
    let r = lab.v4(json!({"command": "config-set", "arguments": {"Dhcp6": {}}})).await;
    assert_eq!((r.result, text(&r)), (RESULT_ERROR, "Missing mandatory 'Dhcp4' parameter."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_test_good_and_bad() {
    let lab = start(V4).await;
    let doc: Value = serde_json::from_str(V4).unwrap();
    let r = lab.v4(json!({"command": "config-test", "arguments": doc.clone()})).await;
    ok(&r);
    assert_eq!(text(&r), "Configuration seems sane.");

    let mut bad = doc.clone();
    bad["Dhcp4"]["subnet4"][0]["pools"][0]["pool"] = json!("10.0.0.1 - 10.0.0.5");
    let r = lab.v4(json!({"command": "config-test", "arguments": bad})).await;
    code(&r, RESULT_ERROR);
    assert!(has_string_pos(text(&r)), "a <string>:LINE.COL position: {r:?}");

    let mut bad = doc.clone();
    bad["Dhcp4"]["valid-lifetime"] = json!(-5);
    let r = lab.v4(json!({"command": "config-test", "arguments": bad})).await;
    code(&r, RESULT_ERROR);
    assert!(has_string_pos(text(&r)), "{r:?}");

    let r = lab.v4(json!({"command": "config-test", "arguments": {}})).await;
    assert_eq!((r.result, text(&r)), (RESULT_ERROR, "Missing mandatory 'Dhcp4' parameter."));
    // config-test changes nothing.
    let cfg = lab.control.config();
    let s1 = cfg.dhcp4.as_ref().unwrap().subnets.iter().find(|s| s.id == 1).unwrap();
    assert_eq!(s1.pools[0].first, Ipv4Addr::new(192, 0, 2, 10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_reload_rereads_the_file() {
    let lab = start(V4).await;
    std::fs::write(&lab.path, V4.replace("\"valid-lifetime\": 4000", "\"valid-lifetime\": 6000")).unwrap();
    let mut gen = lab.control.generation();
    let r = lab.v4(json!({"command": "config-reload"})).await;
    ok(&r);
    assert_eq!(text(&r), "Configuration successful.");
    assert!(gen.has_changed().unwrap());
    gen.borrow_and_update();
    let got = lab.v4(json!({"command": "config-get"})).await;
    assert_eq!(ok(&got)["Dhcp4"]["valid-lifetime"], 6000);

    // A file that does not load is refused; the running configuration stays.
    std::fs::write(&lab.path, "{ \"Dhcp4\": { \"valid-lifetime\": } }").unwrap();
    let r = lab.v4(json!({"command": "config-reload"})).await;
    code(&r, RESULT_ERROR);
    assert!(text(&r).starts_with("Config reload failed: "), "{r:?}");
    assert!(!gen.has_changed().unwrap());
    let got = lab.v4(json!({"command": "config-get"})).await;
    assert_eq!(ok(&got)["Dhcp4"]["valid-lifetime"], 6000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_write_default_and_relative_file() {
    let lab = start(V4).await;
    let mut body = ok(&lab.v4(json!({"command": "config-get"})).await)["Dhcp4"].clone();
    body["valid-lifetime"] = json!(4321);
    ok(&lab.v4(json!({"command": "config-set", "arguments": {"Dhcp4": body}})).await);

    let r = lab.v4(json!({"command": "config-write"})).await;
    let a = ok(&r).clone();
    let written = std::fs::read_to_string(&lab.path).unwrap();
    assert_eq!(a["filename"], lab.path.display().to_string());
    assert_eq!(a["size"].as_u64(), Some(written.len() as u64));
    assert_eq!(text(&r), format!("Configuration written to {} successful", lab.path.display()));
    let loaded = load(std::slice::from_ref(&lab.path), &LoadOptions::default()).expect("the written file loads");
    let d4 = loaded.config.dhcp4.expect("Dhcp4 written");
    assert_eq!(d4.subnets.len(), 3);
    let reread: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(reread["Dhcp4"]["valid-lifetime"], 4321);
    assert!(reread.get("hash").is_none() && reread["Dhcp4"].get("hash").is_none());

    // A relative name goes beside the configuration file.
    let r = lab.v4(json!({"command": "config-write", "arguments": {"filename": "copy.json"}})).await;
    ok(&r);
    let copy = lab.dir().join("copy.json");
    assert_eq!(args(&r)["filename"], copy.display().to_string());
    assert!(load(&[copy], &LoadOptions::default()).is_ok());

    let r = lab.v4(json!({"command": "config-write", "arguments": {"filename": 7}})).await;
    code(&r, RESULT_ERROR);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dhcp_disable_enable_with_max_period_and_origin() {
    let lab = start(V4).await;
    let state = |l: &Lab| {
        let l = l.control.clone();
        async move {
            let r = l.handle(Section::Dhcp4, &serde_json::from_value(json!({"command": "status-get"})).unwrap()).await;
            args(&r)["dhcp-state"].clone()
        }
    };
    let r = lab.v4(json!({"command": "dhcp-disable", "arguments": {"max-period": 20, "origin": "user"}})).await;
    ok(&r);
    assert!(text(&r).starts_with("DHCPv4 service disabled"), "{r:?}");
    let s = state(&lab).await;
    assert_eq!(s["disabled-by-user"], true);
    assert_eq!(s["globally-disabled"], true);
    let sh = lab.control.v4().unwrap();
    assert!(sh.state().is_disabled(now()));
    assert!(sh.state().is_disabled(now() + 19) && !sh.state().is_disabled(now() + 21), "held for max-period");
    ok(&lab.v4(json!({"command": "dhcp-disable", "arguments": {"max-period": 20, "origin": "user"}})).await);

    let r = lab.v4(json!({"command": "dhcp-enable", "arguments": {"origin": "user"}})).await;
    ok(&r);
    assert_eq!(text(&r), "DHCP service successfully enabled");
    let s = state(&lab).await;
    assert_eq!((s["disabled-by-user"].clone(), s["globally-disabled"].clone()), (json!(false), json!(false)));
    assert!(!sh.state().is_disabled(now()));

    // An HA partner disables under its own origin; the user's enable does not lift it.
    ok(&lab.v4(json!({"command": "dhcp-disable", "arguments": {"origin": "ha-partner"}})).await);
    let s = state(&lab).await;
    assert_eq!(s["disabled-by-remote-command"], json!([2000]));
    assert_eq!(s["globally-disabled"], true);
    ok(&lab.v4(json!({"command": "dhcp-enable"})).await);
    assert_eq!(state(&lab).await["globally-disabled"], true);
    ok(&lab.v4(json!({"command": "dhcp-enable", "arguments": {"origin-id": 2000}})).await);
    assert_eq!(state(&lab).await["globally-disabled"], false);

    // max-period lapses by itself.
    ok(&lab.v4(json!({"command": "dhcp-disable", "arguments": {"max-period": 5}})).await);
    assert!(sh.state().is_disabled(now()));
    assert!(!sh.state().is_disabled(now() + 6));

    // Each origin keeps its own deadline: a partner's lapsing hold does not lift the user's.
    ok(&lab.v4(json!({"command": "dhcp-disable"})).await);
    ok(&lab.v4(json!({"command": "dhcp-disable", "arguments": {"origin-id": 2000, "max-period": 5}})).await);
    assert!(sh.state().is_disabled(now() + 6), "the user's hold has no deadline");
    assert_eq!(sh.state().snapshot(now() + 6).by_remote.len(), 0);
    ok(&lab.v4(json!({"command": "dhcp-enable"})).await);
    assert!(!sh.state().is_disabled(now()));

    for bad in [json!({"max-period": 0}), json!({"max-period": -3}), json!({"origin": "bogus"}), json!({"origin": []})]
    {
        let r = lab.v4(json!({"command": "dhcp-disable", "arguments": bad})).await;
        code(&r, RESULT_ERROR);
    }
    let r = lab.v4(json!({"command": "dhcp-disable", "arguments": {"origin": "bogus"}})).await;
    assert!(text(&r).starts_with("invalid value used for 'origin' parameter: "), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_reclaim_and_its_arguments() {
    let lab = start(V4).await;
    // An expired lease: valid 10 s, expired 990 s ago (Kea's `expire` = cltt + valid-lft).
    let added = lab
        .v4(json!({"command": "lease4-add", "arguments": {
            "ip-address": "192.0.2.50", "hw-address": "02:00:00:00:00:50", "valid-lft": 10,
            "expire": now() - 990, "subnet-id": 1}}))
        .await;
    ok(&added);
    let r = lab.v4(json!({"command": "leases-reclaim", "arguments": {"remove": false}})).await;
    ok(&r);
    assert_eq!(text(&r), "Reclamation of expired leases is complete.");
    let got = lab.v4(json!({"command": "lease4-get", "arguments": {"ip-address": "192.0.2.50"}})).await;
    assert_eq!(ok(&got)["state"], 2, "expired-reclaimed");

    // remove: true deletes what it reclaims; an already reclaimed lease is not expired any more
    // (Kea's getExpiredLeases4 skips the expired-reclaimed state) and stays.
    let added = lab
        .v4(json!({"command": "lease4-add", "arguments": {
            "ip-address": "192.0.2.51", "hw-address": "02:00:00:00:00:51", "valid-lft": 10,
            "expire": now() - 990, "subnet-id": 1}}))
        .await;
    ok(&added);
    let r = lab.v4(json!({"command": "leases-reclaim", "arguments": {"remove": true}})).await;
    ok(&r);
    let got = lab.v4(json!({"command": "lease4-get", "arguments": {"ip-address": "192.0.2.51"}})).await;
    code(&got, RESULT_EMPTY);
    let got = lab.v4(json!({"command": "lease4-get", "arguments": {"ip-address": "192.0.2.50"}})).await;
    assert_eq!(ok(&got)["state"], 2);

    code(&lab.v4(json!({"command": "leases-reclaim", "arguments": {}})).await, RESULT_ERROR);
    code(&lab.v4(json!({"command": "leases-reclaim"})).await, RESULT_ERROR);
    code(&lab.v4(json!({"command": "leases-reclaim", "arguments": {"remove": "yes"}})).await, RESULT_ERROR);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_reports_the_exit_value() {
    let lab = start(V4).await;
    let exit = lab.control.exit_requested();
    assert_eq!(*exit.borrow(), None);
    let r = lab.v4(json!({"command": "shutdown", "arguments": {"exit-value": "x"}})).await;
    code(&r, RESULT_ERROR);
    assert_eq!(text(&r), "parameter 'exit-value' is not an integer");
    assert_eq!(*exit.borrow(), None);
    let r = lab.v4(json!({"command": "shutdown", "arguments": {"exit-value": 3}})).await;
    ok(&r);
    assert_eq!(text(&r), "Shutting down.");
    assert_eq!(*exit.borrow(), Some(3));

    // Without exit-value, 0. (The receiver is taken before the command: see the report on
    // `exit_requested` subscribed after the fact.)
    let lab = start(V6).await;
    let exit = lab.control.exit_requested();
    ok(&lab.v6(json!({"command": "shutdown"})).await);
    assert_eq!(*exit.borrow(), Some(0));
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistic_commands_use_kea_names() {
    let lab = start(V4).await;
    let r = lab.v4(json!({"command": "statistic-get", "arguments": {"name": "pkt4-received"}})).await;
    let a = ok(&r);
    let samples = a["pkt4-received"].as_array().expect("samples");
    assert_eq!(samples[0][0], 0);
    assert!(samples[0][1].as_str().is_some_and(|t| t.len() == "2019-07-30 10:11:19.498739".len()), "{samples:?}");

    let r = lab.v4(json!({"command": "statistic-get-all"})).await;
    let all = ok(&r);
    assert_eq!(all["subnet[1].total-addresses"][0][0], 91);
    assert_eq!(all["subnet[2].total-addresses"][0][0], 11);
    assert_eq!(all["subnet[3].total-addresses"][0][0], 11);
    for name in ["pkt4-received", "pkt4-sent", "subnet[1].cumulative-assigned-addresses"] {
        assert!(all.get(name).is_some(), "{name} missing");
    }

    // A DISCOVER counts in pkt4-received.
    let sh = lab.control.v4().unwrap();
    let _ = sh.engine().handle(&discover(0x42), &meta(), now(), 7);
    let r = lab.v4(json!({"command": "statistic-get", "arguments": {"name": "pkt4-received"}})).await;
    assert_eq!(ok(&r)["pkt4-received"][0][0], 1);

    let r = lab.v4(json!({"command": "statistic-reset", "arguments": {"name": "pkt4-received"}})).await;
    ok(&r);
    assert_eq!(text(&r), "Statistic 'pkt4-received' reset.");
    let r = lab.v4(json!({"command": "statistic-get", "arguments": {"name": "pkt4-received"}})).await;
    assert_eq!(ok(&r)["pkt4-received"][0][0], 0);

    let r = lab.v4(json!({"command": "statistic-remove", "arguments": {"name": "pkt4-received"}})).await;
    ok(&r);
    assert_eq!(text(&r), "Statistic 'pkt4-received' removed.");
    let r = lab.v4(json!({"command": "statistic-get", "arguments": {"name": "pkt4-received"}})).await;
    assert_eq!(ok(&r), &json!({}));

    let r = lab.v4(json!({"command": "statistic-get"})).await;
    assert_eq!((r.result, text(&r)), (RESULT_ERROR, "Missing mandatory 'name' parameter."));
    let r = lab.v4(json!({"command": "statistic-reset", "arguments": {"name": "no-such"}})).await;
    code(&r, RESULT_ERROR);
    let r = lab.v4(json!({"command": "statistic-get", "arguments": {"name": 5}})).await;
    code(&r, RESULT_ERROR);

    // DHCPv6 has its own registry.
    let lab6 = start(V6).await;
    let all = ok(&lab6.v6(json!({"command": "statistic-get-all"})).await).clone();
    assert!(all.get("pkt6-received").is_some());
    assert!(all.get("pkt4-received").is_none());
    assert!(all.get("subnet[1].total-nas").is_some(), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kea_start_up_statistic_exists_at_zero_right_after_start() {
    use kakapo::engine::counters::{STARTUP4, STARTUP6, SUBNET_STARTUP4, SUBNET_STARTUP6};
    // The lists are what kea-dhcp4 / kea-dhcp6 2.2 answer to statistic-get-all before any
    // traffic; pool sizes are the only non-zero values.
    let lab = start(&both()).await;
    let all = ok(&lab.v4(json!({"command": "statistic-get-all"})).await).clone();
    let totals4 = [(1, 91), (2, 11), (3, 11)];
    let mut want: Vec<(String, i64)> = STARTUP4.iter().map(|n| (n.to_string(), 0)).collect();
    for (id, total) in totals4 {
        for n in SUBNET_STARTUP4 {
            want.push((format!("subnet[{id}].{n}"), if *n == "total-addresses" { total } else { 0 }));
        }
    }
    for (name, value) in &want {
        assert_eq!(all[name.as_str()][0][0], *value, "{name} in {all}");
    }
    // Nothing else is non-zero either, and the v6 names stay in the v6 registry.
    for (name, samples) in all.as_object().unwrap() {
        assert!(name.ends_with("total-addresses") || samples[0][0] == 0, "{name}: {samples}");
        assert!(!name.starts_with("pkt6-"), "{name}");
    }

    let all = ok(&lab.v6(json!({"command": "statistic-get-all"})).await).clone();
    let mut want: Vec<(String, i64)> = STARTUP6.iter().map(|n| (n.to_string(), 0)).collect();
    for n in SUBNET_STARTUP6 {
        let v = match *n {
            "total-nas" => 256,
            "total-pds" => 65536,
            _ => 0,
        };
        want.push((format!("subnet[1].{n}"), v));
        let v2 = if *n == "total-nas" { 256 } else { 0 };
        want.push((format!("subnet[2].{n}"), v2));
    }
    for (name, value) in &want {
        assert_eq!(all[name.as_str()][0][0], *value, "{name} in {all}");
    }
    for (name, samples) in all.as_object().unwrap() {
        assert!(name.contains("total-") || samples[0][0] == 0, "{name}: {samples}");
        assert!(!name.starts_with("pkt4-"), "{name}");
    }

    // The per-subnet failure counters Kea creates at the first failure are not there yet.
    assert!(all.get("subnet[1].v6-allocation-fail").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_subnet_statistics_go_and_counting_goes_on_after_config_set() {
    let lab = start(V4).await;
    let mut body: Value = serde_json::from_str::<Value>(V4).unwrap()["Dhcp4"].clone();
    body["subnet4"].as_array_mut().unwrap().retain(|s| s["id"] != 2);
    ok(&lab.v4(json!({"command": "config-set", "arguments": {"Dhcp4": body}})).await);
    let all = ok(&lab.v4(json!({"command": "statistic-get-all"})).await).clone();
    assert!(all.as_object().unwrap().keys().all(|k| !k.starts_with("subnet[2].")), "{all}");
    assert_eq!(all["subnet[1].total-addresses"][0][0], 91);
    assert_eq!(all["subnet[3].assigned-addresses"][0][0], 0);

    // The new engine's handles count; a removed statistic comes back at its next add.
    ok(&lab.v4(json!({"command": "statistic-remove", "arguments": {"name": "pkt4-discover-received"}})).await);
    let sh = lab.control.v4().unwrap();
    let _ = sh.engine().handle(&discover(0x43), &meta(), now(), 7);
    let all = ok(&lab.v4(json!({"command": "statistic-get-all"})).await).clone();
    assert_eq!(all["pkt4-received"][0][0], 1);
    assert_eq!(all["pkt4-discover-received"].as_array().map(Vec::len), Some(1), "{all}");
    assert_eq!(all["pkt4-discover-received"][0][0], 1);
}

// ---------------------------------------------------------------------------------------------
// Leases
// ---------------------------------------------------------------------------------------------

fn stat_row(r: &Response, subnet: u64) -> Vec<i64> {
    let rows = args(r)["result-set"]["rows"].as_array().expect("rows");
    let row = rows.iter().find(|row| row[0] == subnet).expect("row of the subnet");
    serde_json::from_value(row.clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease4_commands_and_stat_lease4_get() {
    let lab = start(V4).await;
    let r = lab.v4(json!({"command": "stat-lease4-get"})).await;
    ok(&r);
    assert_eq!(text(&r), "stat-lease4-get: 3 rows found");
    assert_eq!(
        args(&r)["result-set"]["columns"],
        json!([
            "subnet-id",
            "total-addresses",
            "cumulative-assigned-addresses",
            "assigned-addresses",
            "declined-addresses"
        ])
    );
    assert_eq!(stat_row(&r, 1), vec![1, 91, 0, 0, 0]);
    assert!(args(&r)["result-set"]["timestamp"].is_string());

    let lease = json!({"ip-address": "192.0.2.20", "hw-address": "1a:1b:1c:1d:1e:1f", "subnet-id": 1,
                       "hostname": "myhost.example.com.", "valid-lft": 3600});
    let r = lab.v4(json!({"command": "lease4-add", "arguments": lease})).await;
    ok(&r);
    assert_eq!(text(&r), "Lease for address 192.0.2.20, subnet-id 1 added.");
    let r = lab.v4(json!({"command": "lease4-add", "arguments": lease})).await;
    assert_ne!(r.result, RESULT_SUCCESS, "a second add of the same address: {r:?}");
    // Subnet chosen from the address.
    ok(&lab
        .v4(json!({"command": "lease4-add", "arguments": {"ip-address": "198.51.100.15",
                                                                 "hw-address": "1a:1b:1c:1d:1e:20"}}))
        .await);

    let r = lab.v4(json!({"command": "lease4-get", "arguments": {"ip-address": "192.0.2.20"}})).await;
    let l = ok(&r);
    assert_eq!(text(&r), "IPv4 lease found.");
    for k in ["cltt", "fqdn-fwd", "fqdn-rev", "hostname", "hw-address", "ip-address", "state", "subnet-id", "valid-lft"]
    {
        assert!(l.get(k).is_some(), "{k} missing from {l}");
    }
    assert_eq!(l["hw-address"], "1a:1b:1c:1d:1e:1f");
    assert_eq!(l["subnet-id"], 1);
    assert_eq!(l["valid-lft"], 3600);
    assert_eq!(l["state"], 0);
    let r = lab
        .v4(json!({"command": "lease4-get", "arguments": {"identifier-type": "hw-address",
                                                           "identifier": "1a:1b:1c:1d:1e:1f", "subnet-id": 1}}))
        .await;
    assert_eq!(ok(&r)["ip-address"], "192.0.2.20");

    let r =
        lab.v4(json!({"command": "lease4-get-by-hw-address", "arguments": {"hw-address": "1a:1b:1c:1d:1e:1f"}})).await;
    let a = ok(&r);
    assert_eq!(text(&r), "1 IPv4 lease(s) found.");
    assert_eq!(a["leases"].as_array().unwrap().len(), 1);
    assert_eq!(a["leases"][0]["ip-address"], "192.0.2.20");

    let r = lab.v4(json!({"command": "stat-lease4-get"})).await;
    assert_eq!(stat_row(&r, 1)[3], 1);
    assert_eq!(stat_row(&r, 2)[3], 1);
    let r = lab.v4(json!({"command": "stat-lease4-get", "arguments": {"subnet-id": 1}})).await;
    ok(&r);
    assert_eq!(args(&r)["result-set"]["rows"].as_array().unwrap().len(), 1);
    assert_eq!(stat_row(&r, 1)[3], 1);
    let r = lab
        .v4(json!({"command": "stat-lease4-get", "arguments": {"subnet-range": {"first-subnet-id": 2,
                                                                                 "last-subnet-id": 3}}}))
        .await;
    assert_eq!(args(&r)["result-set"]["rows"].as_array().unwrap().len(), 2);
    code(&lab.v4(json!({"command": "stat-lease4-get", "arguments": {"subnet-id": 0}})).await, RESULT_ERROR);
    code(&lab.v4(json!({"command": "stat-lease4-get", "arguments": {"subnet-id": 99}})).await, RESULT_EMPTY);

    let r = lab.v4(json!({"command": "lease4-del", "arguments": {"ip-address": "192.0.2.20"}})).await;
    ok(&r);
    assert_eq!(text(&r), "IPv4 lease deleted.");
    let r = lab.v4(json!({"command": "lease4-get", "arguments": {"ip-address": "192.0.2.20"}})).await;
    code(&r, RESULT_EMPTY);
    code(&lab.v4(json!({"command": "lease4-del", "arguments": {"ip-address": "192.0.2.20"}})).await, RESULT_EMPTY);
    let r =
        lab.v4(json!({"command": "lease4-get-by-hw-address", "arguments": {"hw-address": "1a:1b:1c:1d:1e:1f"}})).await;
    code(&r, RESULT_EMPTY);
    assert_eq!(args(&r)["leases"], json!([]));
    let r = lab.v4(json!({"command": "stat-lease4-get"})).await;
    assert_eq!(stat_row(&r, 1)[3], 0);
    assert_eq!(stat_row(&r, 2)[3], 1);

    // Bad arguments.
    code(&lab.v4(json!({"command": "lease4-get", "arguments": {"ip-address": "bogus"}})).await, RESULT_ERROR);
    code(&lab.v4(json!({"command": "lease4-add", "arguments": {"ip-address": "192.0.2.21"}})).await, RESULT_ERROR);
    code(&lab.v4(json!({"command": "lease4-get"})).await, RESULT_ERROR);
    // Kea 2.2's lease_cmds answers lease6-* in the DHCPv4 daemon as for no such leases.
    code(&lab.v4(json!({"command": "lease6-get", "arguments": {"ip-address": "2001:db8:1::1"}})).await, RESULT_EMPTY);
    code(&lab.v4(json!({"command": "stat-lease6-get"})).await, RESULT_EMPTY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease6_commands_and_stat_lease6_get() {
    let lab = start(V6).await;
    let r = lab.v6(json!({"command": "stat-lease6-get"})).await;
    ok(&r);
    assert_eq!(
        args(&r)["result-set"]["columns"],
        json!([
            "subnet-id",
            "total-nas",
            "cumulative-assigned-nas",
            "assigned-nas",
            "declined-addresses",
            "total-pds",
            "cumulative-assigned-pds",
            "assigned-pds"
        ])
    );
    assert_eq!(stat_row(&r, 1), vec![1, 256, 0, 0, 0, 65536, 0, 0]);

    let duid = "01:02:03:04:05:06:07:08";
    let na = json!({"ip-address": "2001:db8:1::150", "duid": duid, "iaid": 1234, "subnet-id": 1,
                    "valid-lft": 4000, "preferred-lft": 3000});
    let r = lab.v6(json!({"command": "lease6-add", "arguments": na})).await;
    ok(&r);
    assert_eq!(text(&r), "Lease for address 2001:db8:1::150, subnet-id 1 added.");
    let pd = json!({"type": "IA_PD", "ip-address": "2001:db8:8:1::", "prefix-len": 64, "duid": duid, "iaid": 1235,
                    "subnet-id": 1});
    let r = lab.v6(json!({"command": "lease6-add", "arguments": pd})).await;
    ok(&r);
    assert_eq!(text(&r), "Lease for prefix 2001:db8:8:1::/64, subnet-id 1 added.");

    let r = lab.v6(json!({"command": "lease6-get", "arguments": {"ip-address": "2001:db8:1::150"}})).await;
    let l = ok(&r);
    assert_eq!(text(&r), "IPv6 lease found.");
    assert_eq!(l["type"], "IA_NA");
    assert_eq!(l["duid"], duid);
    assert_eq!(l["iaid"], 1234);
    assert_eq!(l["subnet-id"], 1);
    assert_eq!(l["preferred-lft"], 3000);
    for k in ["cltt", "fqdn-fwd", "fqdn-rev", "hostname", "state", "valid-lft"] {
        assert!(l.get(k).is_some(), "{k} missing from {l}");
    }
    let r =
        lab.v6(json!({"command": "lease6-get", "arguments": {"ip-address": "2001:db8:8:1::", "type": "IA_PD"}})).await;
    assert_eq!(ok(&r)["prefix-len"], 64);

    let r = lab.v6(json!({"command": "lease6-get-by-duid", "arguments": {"duid": duid}})).await;
    ok(&r);
    assert_eq!(text(&r), "2 IPv6 lease(s) found.");
    assert_eq!(args(&r)["leases"].as_array().unwrap().len(), 2);

    let r = lab.v6(json!({"command": "stat-lease6-get"})).await;
    let row = stat_row(&r, 1);
    assert_eq!((row[3], row[7]), (1, 1), "one NA and one PD: {row:?}");
    let r = lab.v6(json!({"command": "stat-lease6-get", "arguments": {"subnet-id": 2}})).await;
    assert_eq!(stat_row(&r, 2)[3], 0);

    let r = lab.v6(json!({"command": "lease6-del", "arguments": {"ip-address": "2001:db8:1::150"}})).await;
    ok(&r);
    assert_eq!(text(&r), "IPv6 lease deleted.");
    code(&lab.v6(json!({"command": "lease6-get", "arguments": {"ip-address": "2001:db8:1::150"}})).await, RESULT_EMPTY);
    let r = lab.v6(json!({"command": "lease6-get-by-duid", "arguments": {"duid": duid}})).await;
    assert_eq!(args(&r)["leases"].as_array().unwrap().len(), 1);
    let r = lab.v6(json!({"command": "stat-lease6-get"})).await;
    let row = stat_row(&r, 1);
    assert_eq!((row[3], row[7]), (0, 1));

    code(&lab.v6(json!({"command": "lease6-get", "arguments": {"ip-address": "192.0.2.1"}})).await, RESULT_ERROR);
    code(&lab.v6(json!({"command": "lease6-get-by-duid", "arguments": {}})).await, RESULT_ERROR);
    code(&lab.v6(json!({"command": "lease4-get", "arguments": {"ip-address": "192.0.2.1"}})).await, RESULT_EMPTY);
    code(&lab.v6(json!({"command": "stat-lease4-get"})).await, RESULT_EMPTY);
}

// ---------------------------------------------------------------------------------------------
// Host reservations (host_cmds, operation-target memory)
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservation_commands_v4() {
    let lab = start(V4).await;
    let r = lab
        .v4(json!({"command": "reservation-add", "arguments": {
            "reservation": {"subnet-id": 0, "hw-address": "1a:1b:1c:1d:1e:1f", "hostname": "global-host"},
            "operation-target": "memory"}}))
        .await;
    ok(&r);
    assert_eq!(text(&r), "Host added.");
    assert!(r.arguments.is_none(), "reservation-add answers result and text only");
    let special = json!({"subnet-id": 1, "hw-address": "02:00:00:00:00:77", "ip-address": "192.0.2.77",
                         "hostname": "special"});
    let r = lab
        .v4(json!({"command": "reservation-add", "arguments": {"reservation": special, "operation-target": "default"}}))
        .await;
    ok(&r);
    let r = lab
        .v4(json!({"command": "reservation-add", "arguments": {"reservation": {"subnet-id": 3,
            "client-id": "01:02:03:04", "ip-address": "203.0.113.50"}}}))
        .await;
    ok(&r);
    // The running configuration holds them.
    let cfg = ok(&lab.v4(json!({"command": "config-get"})).await).clone();
    assert_eq!(cfg["Dhcp4"]["reservations"][0]["hw-address"], "1a:1b:1c:1d:1e:1f");
    assert_eq!(cfg["Dhcp4"]["subnet4"][0]["reservations"][0]["ip-address"], "192.0.2.77");

    // A duplicate is refused.
    let r = lab.v4(json!({"command": "reservation-add", "arguments": {"reservation": special}})).await;
    code(&r, RESULT_ERROR);
    // So are a database target (none configured), a missing subnet and a missing identifier.
    let r = lab
        .v4(json!({"command": "reservation-add", "arguments": {"reservation": {"subnet-id": 1,
            "hw-address": "02:00:00:00:00:78", "ip-address": "192.0.2.78"}, "operation-target": "database"}}))
        .await;
    code(&r, RESULT_ERROR);
    let r = lab
        .v4(json!({"command": "reservation-add", "arguments": {"reservation": {"subnet-id": 99,
            "hw-address": "02:00:00:00:00:78"}}}))
        .await;
    code(&r, RESULT_ERROR);
    let r = lab
        .v4(json!({"command": "reservation-add", "arguments": {"reservation": {"subnet-id": 1,
            "ip-address": "192.0.2.79"}}}))
        .await;
    code(&r, RESULT_ERROR);
    let r = lab
        .v4(json!({"command": "reservation-add", "arguments": {"reservation": {"hw-address": "02:00:00:00:00:78"}}}))
        .await;
    code(&r, RESULT_ERROR);
    code(&lab.v4(json!({"command": "reservation-add", "arguments": {}})).await, RESULT_ERROR);
    let r = lab
        .v4(json!({"command": "reservation-add", "arguments": {"reservation": special, "operation-target": "x"}}))
        .await;
    code(&r, RESULT_ERROR);

    // reservation-get by identifier and by address.
    let r = lab
        .v4(json!({"command": "reservation-get", "arguments": {"subnet-id": 1, "identifier-type": "hw-address",
                                                               "identifier": "02:00:00:00:00:77"}}))
        .await;
    let h = ok(&r);
    assert_eq!(text(&r), "Host found.");
    assert_eq!((h["ip-address"].clone(), h["subnet-id"].clone()), (json!("192.0.2.77"), json!(1)));
    assert_eq!(h["hostname"], "special");
    let r =
        lab.v4(json!({"command": "reservation-get", "arguments": {"subnet-id": 1, "ip-address": "192.0.2.77"}})).await;
    assert_eq!(ok(&r)["hw-address"], "02:00:00:00:00:77");
    let r = lab
        .v4(json!({"command": "reservation-get", "arguments": {"subnet-id": 0, "identifier-type": "hw-address",
                                                               "identifier": "1A-1B-1C-1D-1E-1F"}}))
        .await;
    assert_eq!(ok(&r)["hostname"], "global-host");
    let r = lab
        .v4(json!({"command": "reservation-get", "arguments": {"subnet-id": 2, "identifier-type": "hw-address",
                                                               "identifier": "02:00:00:00:00:77"}}))
        .await;
    code(&r, RESULT_EMPTY);
    assert_eq!(text(&r), "Host not found.");
    code(&lab.v4(json!({"command": "reservation-get", "arguments": {"ip-address": "192.0.2.77"}})).await, RESULT_ERROR);
    let r = lab
        .v4(json!({"command": "reservation-get", "arguments": {"subnet-id": 1, "identifier-type": "bogus",
                                                               "identifier": "00"}}))
        .await;
    code(&r, RESULT_ERROR);

    // reservation-get-all of a subnet.
    let r = lab.v4(json!({"command": "reservation-get-all", "arguments": {"subnet-id": 1}})).await;
    let a = ok(&r);
    assert_eq!(text(&r), "1 IPv4 host(s) found.");
    assert_eq!(a["hosts"].as_array().unwrap().len(), 1);
    assert_eq!(a["hosts"][0]["subnet-id"], 1);
    let r = lab.v4(json!({"command": "reservation-get-all", "arguments": {"subnet-id": 2}})).await;
    code(&r, RESULT_EMPTY);
    assert_eq!(args(&r)["hosts"], json!([]));

    // reservation-get-page walks every host, `next.from` continuing.
    let mut seen = Vec::new();
    let mut from = None::<Value>;
    loop {
        let mut a = json!({"limit": 2});
        if let Some(f) = &from {
            a["from"] = f.clone();
        }
        let r = lab.v4(json!({"command": "reservation-get-page", "arguments": a})).await;
        if r.result == RESULT_EMPTY {
            assert_eq!(args(&r)["count"], 0);
            break;
        }
        let a = ok(&r);
        let hosts = a["hosts"].as_array().unwrap();
        assert_eq!(a["count"].as_u64(), Some(hosts.len() as u64));
        assert!(hosts.len() <= 2);
        seen.extend(hosts.iter().map(|h| h["subnet-id"].as_u64().unwrap()));
        assert!(a["next"]["source-index"].is_number(), "{a}");
        from = Some(a["next"]["from"].clone());
        assert!(seen.len() <= 3, "pagination terminates");
    }
    seen.sort_unstable();
    assert_eq!(seen, vec![0, 1, 3]);
    code(&lab.v4(json!({"command": "reservation-get-page", "arguments": {}})).await, RESULT_ERROR);

    // By hostname (case-insensitive) and by identifier across subnets.
    let r = lab.v4(json!({"command": "reservation-get-by-hostname", "arguments": {"hostname": "SPECIAL"}})).await;
    assert_eq!(ok(&r)["hosts"][0]["ip-address"], "192.0.2.77");
    let r = lab
        .v4(json!({"command": "reservation-get-by-hostname", "arguments": {"hostname": "special", "subnet-id": 2}}))
        .await;
    code(&r, RESULT_EMPTY);
    code(&lab.v4(json!({"command": "reservation-get-by-hostname", "arguments": {}})).await, RESULT_ERROR);
    let r = lab
        .v4(json!({"command": "reservation-get-by-id", "arguments": {"identifier-type": "client-id",
                                                                     "identifier": "01:02:03:04"}}))
        .await;
    let a = ok(&r);
    assert_eq!(a["hosts"].as_array().unwrap().len(), 1);
    assert_eq!(a["hosts"][0]["subnet-id"], 3);
    code(&lab.v4(json!({"command": "reservation-get-by-id", "arguments": {"identifier": "01"}})).await, RESULT_ERROR);

    // reservation-del.
    let r = lab
        .v4(json!({"command": "reservation-del", "arguments": {"subnet-id": 1, "ip-address": "192.0.2.77",
                                                               "operation-target": "memory"}}))
        .await;
    ok(&r);
    assert_eq!(text(&r), "Host deleted.");
    let r =
        lab.v4(json!({"command": "reservation-get", "arguments": {"subnet-id": 1, "ip-address": "192.0.2.77"}})).await;
    code(&r, RESULT_EMPTY);
    let r =
        lab.v4(json!({"command": "reservation-del", "arguments": {"subnet-id": 1, "ip-address": "192.0.2.77"}})).await;
    assert_ne!(r.result, RESULT_SUCCESS);
    let r = lab
        .v4(json!({"command": "reservation-del", "arguments": {"subnet-id": 0, "identifier-type": "hw-address",
                                                               "identifier": "1a:1b:1c:1d:1e:1f"}}))
        .await;
    ok(&r);
    code(&lab.v4(json!({"command": "reservation-del", "arguments": {"ip-address": "192.0.2.77"}})).await, RESULT_ERROR);
    let r = lab.v4(json!({"command": "reservation-get-page", "arguments": {"limit": 10}})).await;
    assert_eq!(args(&r)["count"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservation_commands_v6() {
    let lab = start(V6).await;
    let host = json!({"subnet-id": 1, "duid": "01:02:03:04:05:06", "ip-addresses": ["2001:db8:1::77"],
                      "hostname": "six"});
    let r = lab.v6(json!({"command": "reservation-add", "arguments": {"reservation": host}})).await;
    ok(&r);
    assert_eq!(text(&r), "Host added.");
    code(&lab.v6(json!({"command": "reservation-add", "arguments": {"reservation": host}})).await, RESULT_ERROR);

    let r = lab
        .v6(json!({"command": "reservation-get", "arguments": {"subnet-id": 1, "identifier-type": "duid",
                                                               "identifier": "01:02:03:04:05:06"}}))
        .await;
    assert_eq!(ok(&r)["ip-addresses"], json!(["2001:db8:1::77"]));
    let r = lab
        .v6(json!({"command": "reservation-get", "arguments": {"subnet-id": 1, "ip-address": "2001:db8:1::77"}}))
        .await;
    assert_eq!(ok(&r)["duid"], "01:02:03:04:05:06");
    let r = lab.v6(json!({"command": "reservation-get-all", "arguments": {"subnet-id": 1}})).await;
    ok(&r);
    assert_eq!(text(&r), "1 IPv6 host(s) found.");
    let r = lab
        .v6(json!({"command": "reservation-get-by-id", "arguments": {"identifier-type": "duid",
                                                                     "identifier": "010203040506"}}))
        .await;
    assert_eq!(ok(&r)["hosts"][0]["hostname"], "six");
    let r = lab.v6(json!({"command": "reservation-get-by-hostname", "arguments": {"hostname": "six"}})).await;
    assert_eq!(ok(&r)["hosts"].as_array().unwrap().len(), 1);
    let r = lab.v6(json!({"command": "reservation-get-page", "arguments": {"limit": 5}})).await;
    assert_eq!(ok(&r)["count"], 1);

    let r = lab
        .v6(json!({"command": "reservation-del", "arguments": {"subnet-id": 1, "identifier-type": "duid",
                                                               "identifier": "01:02:03:04:05:06"}}))
        .await;
    ok(&r);
    let r = lab.v6(json!({"command": "reservation-get-all", "arguments": {"subnet-id": 1}})).await;
    code(&r, RESULT_EMPTY);
}

/// A DHCPDISCOVER from MAC 02:00:00:00:00:`mac_last`: BOOTP header, cookie, options 53, 55.
fn discover(mac_last: u8) -> Vec<u8> {
    let mut b = vec![0u8; 236];
    b[0] = 1;
    b[1] = 1;
    b[2] = 6;
    b[4..8].copy_from_slice(&0x1234_5600u32.wrapping_add(u32::from(mac_last)).to_be_bytes());
    b[28..34].copy_from_slice(&[2, 0, 0, 0, 0, mac_last]);
    b.extend_from_slice(&[99, 130, 83, 99]);
    b.extend_from_slice(&[53, 1, 1]);
    b.extend_from_slice(&[55, 4, 1, 3, 6, 15]);
    b.push(255);
    b
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservation_add_makes_the_engine_offer_the_reserved_address() {
    let lab = start(V4).await;
    let offer = |lab: &Lab| match lab.control.v4().unwrap().engine().handle(&discover(0x77), &meta(), now(), 7) {
        Outcome4::Reply(r) => r.pkt.yiaddr,
        other => panic!("expected an offer, got {other:?}"),
    };
    assert_ne!(offer(&lab), Ipv4Addr::new(192, 0, 2, 77), "a pool address before the reservation");
    let r = lab
        .v4(json!({"command": "reservation-add", "arguments": {"reservation": {
            "subnet-id": 1, "hw-address": "02:00:00:00:00:77", "ip-address": "192.0.2.77"}}}))
        .await;
    ok(&r);
    assert_eq!(offer(&lab), Ipv4Addr::new(192, 0, 2, 77));
    ok(&lab.v4(json!({"command": "reservation-del", "arguments": {"subnet-id": 1, "ip-address": "192.0.2.77"}})).await);
    // The reservation is gone; the lease map survived the swap, so the address just offered
    // is still held for this client (a pool address now, no longer a reserved one).
    let again = offer(&lab);
    assert!((10..=100).contains(&again.octets()[3]), "a pool address after reservation-del: {again}");
    let changes =
        lab.control.v4().unwrap().engine().reclaim(now(), &mut kakapo::stats::Tally::default(), &mut || false);
    assert!(changes.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Subnets and shared networks (subnet_cmds)
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subnet4_commands() {
    let lab = start(V4).await;
    let r = lab.v4(json!({"command": "subnet4-list"})).await;
    let a = ok(&r);
    assert_eq!(text(&r), "3 IPv4 subnets found");
    let mut ids: Vec<u64> = a["subnets"].as_array().unwrap().iter().map(|s| s["id"].as_u64().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![1, 2, 3]);
    assert!(a["subnets"].as_array().unwrap().iter().any(|s| s == &json!({"id": 2, "subnet": "198.51.100.0/24"})));

    let r = lab.v4(json!({"command": "subnet4-get", "arguments": {"id": 1}})).await;
    let a = ok(&r);
    assert_eq!(text(&r), "Info about IPv4 subnet 192.0.2.0/24 (id 1) returned");
    assert_eq!(a["subnet4"].as_array().or(a["subnets"].as_array()).unwrap()[0]["subnet"], "192.0.2.0/24");
    let r = lab.v4(json!({"command": "subnet4-get", "arguments": {"subnet": "203.0.113.0/24"}})).await;
    ok(&r);
    assert_eq!(text(&r), "Info about IPv4 subnet 203.0.113.0/24 (id 3) returned");
    code(&lab.v4(json!({"command": "subnet4-get", "arguments": {"id": 99}})).await, RESULT_EMPTY);
    code(&lab.v4(json!({"command": "subnet4-get", "arguments": {}})).await, RESULT_ERROR);

    let new = json!({"id": 10, "subnet": "10.0.0.0/24", "pools": [{"pool": "10.0.0.10 - 10.0.0.20"}]});
    let r = lab.v4(json!({"command": "subnet4-add", "arguments": {"subnet4": [new]}})).await;
    assert_eq!(ok(&r), &json!({"subnets": [{"id": 10, "subnet": "10.0.0.0/24"}]}));
    assert_eq!(text(&r), "IPv4 subnet added");
    // The engine serves it at once.
    ok(&lab
        .v4(json!({"command": "lease4-add", "arguments": {"ip-address": "10.0.0.15", "hw-address": "02:01"}}))
        .await);
    code(&lab.v4(json!({"command": "subnet4-add", "arguments": {"subnet4": [new]}})).await, RESULT_ERROR);
    let overlap = json!({"id": 11, "subnet": "10.0.0.0/24"});
    code(&lab.v4(json!({"command": "subnet4-add", "arguments": {"subnet4": [overlap]}})).await, RESULT_ERROR);
    let bad = json!({"id": 12, "subnet": "not-a-prefix"});
    code(&lab.v4(json!({"command": "subnet4-add", "arguments": {"subnet4": [bad]}})).await, RESULT_ERROR);
    code(&lab.v4(json!({"command": "subnet4-add", "arguments": {"subnet4": []}})).await, RESULT_ERROR);
    code(&lab.v4(json!({"command": "subnet4-add", "arguments": {}})).await, RESULT_ERROR);
    assert_eq!(text(&lab.v4(json!({"command": "subnet4-list"})).await), "4 IPv4 subnets found");

    let upd = json!({"id": 10, "subnet": "10.0.0.0/24", "valid-lifetime": 777,
                     "pools": [{"pool": "10.0.0.10 - 10.0.0.30"}]});
    let r = lab.v4(json!({"command": "subnet4-update", "arguments": {"subnet4": [upd]}})).await;
    assert_eq!(ok(&r), &json!({"subnets": [{"id": 10, "subnet": "10.0.0.0/24"}]}));
    assert_eq!(text(&r), "IPv4 subnet updated");
    let r = lab.v4(json!({"command": "subnet4-get", "arguments": {"id": 10}})).await;
    let s = &ok(&r)["subnet4"][0];
    assert_eq!(s["valid-lifetime"], 777);
    // Kea renders "10.0.0.10-10.0.0.30"; the range is what matters here.
    assert_eq!(s["pools"][0]["pool"].as_str().unwrap().replace(' ', ""), "10.0.0.10-10.0.0.30");
    let missing = json!({"id": 55, "subnet": "10.9.0.0/24"});
    let r = lab.v4(json!({"command": "subnet4-update", "arguments": {"subnet4": [missing]}})).await;
    assert_ne!(r.result, RESULT_SUCCESS);

    let r = lab.v4(json!({"command": "subnet4-del", "arguments": {"id": 10}})).await;
    assert_eq!(ok(&r), &json!({"subnets": [{"id": 10, "subnet": "10.0.0.0/24"}]}));
    assert_eq!(text(&r), "IPv4 subnet 10.0.0.0/24 (id 10) deleted");
    code(&lab.v4(json!({"command": "subnet4-del", "arguments": {"id": 10}})).await, RESULT_EMPTY);
    code(&lab.v4(json!({"command": "subnet4-del", "arguments": {}})).await, RESULT_ERROR);
    // A subnet inside a shared network can be deleted too.
    ok(&lab.v4(json!({"command": "subnet4-del", "arguments": {"id": 3}})).await);
    assert_eq!(text(&lab.v4(json!({"command": "subnet4-list"})).await), "2 IPv4 subnets found");
    // subnet6-* is not a DHCPv4 command.
    code(&lab.v4(json!({"command": "subnet6-list"})).await, RESULT_UNSUPPORTED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subnet6_commands() {
    let lab = start(V6).await;
    let r = lab.v6(json!({"command": "subnet6-list"})).await;
    ok(&r);
    assert_eq!(text(&r), "2 IPv6 subnets found");
    let r = lab.v6(json!({"command": "subnet6-get", "arguments": {"id": 1}})).await;
    assert_eq!(ok(&r)["subnet6"][0]["subnet"], "2001:db8:1::/64");
    assert_eq!(text(&r), "Info about IPv6 subnet 2001:db8:1::/64 (id 1) returned");

    let new = json!({"id": 7, "subnet": "2001:db8:7::/64", "pools": [{"pool": "2001:db8:7::10 - 2001:db8:7::20"}]});
    let r = lab.v6(json!({"command": "subnet6-add", "arguments": {"subnet6": [new]}})).await;
    assert_eq!(ok(&r), &json!({"subnets": [{"id": 7, "subnet": "2001:db8:7::/64"}]}));
    assert_eq!(text(&r), "IPv6 subnet added");
    code(&lab.v6(json!({"command": "subnet6-add", "arguments": {"subnet6": [new]}})).await, RESULT_ERROR);
    let upd = json!({"id": 7, "subnet": "2001:db8:7::/64", "preferred-lifetime": 1111, "valid-lifetime": 2222});
    let r = lab.v6(json!({"command": "subnet6-update", "arguments": {"subnet6": [upd]}})).await;
    ok(&r);
    assert_eq!(text(&r), "IPv6 subnet updated");
    let r = lab.v6(json!({"command": "subnet6-get", "arguments": {"subnet": "2001:db8:7::/64"}})).await;
    assert_eq!(ok(&r)["subnet6"][0]["preferred-lifetime"], 1111);
    let r = lab.v6(json!({"command": "subnet6-del", "arguments": {"id": 7}})).await;
    ok(&r);
    assert_eq!(text(&r), "IPv6 subnet 2001:db8:7::/64 (id 7) deleted");
    code(&lab.v6(json!({"command": "subnet6-get", "arguments": {"id": 7}})).await, RESULT_EMPTY);
    code(&lab.v6(json!({"command": "subnet4-list"})).await, RESULT_UNSUPPORTED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network4_commands() {
    let lab = start(V4).await;
    let r = lab.v4(json!({"command": "network4-list"})).await;
    assert_eq!(ok(&r), &json!({"shared-networks": [{"name": "floor1"}]}));
    assert_eq!(text(&r), "1 IPv4 network(s) found");
    let r = lab.v4(json!({"command": "network4-get", "arguments": {"name": "floor1"}})).await;
    let a = ok(&r);
    assert_eq!(text(&r), "Info about IPv4 shared network 'floor1' returned");
    assert_eq!(a["shared-networks"][0]["name"], "floor1");
    assert_eq!(a["shared-networks"][0]["subnet4"][0]["id"], 3);
    code(&lab.v4(json!({"command": "network4-get", "arguments": {"name": "nope"}})).await, RESULT_EMPTY);
    code(&lab.v4(json!({"command": "network4-get", "arguments": {}})).await, RESULT_ERROR);

    let net = json!({"name": "floor2", "subnet4": [{"id": 20, "subnet": "10.1.0.0/24",
                                                   "pools": [{"pool": "10.1.0.10 - 10.1.0.20"}]}]});
    let r = lab.v4(json!({"command": "network4-add", "arguments": {"shared-networks": [net]}})).await;
    assert_eq!(ok(&r), &json!({"shared-networks": [{"name": "floor2"}]}));
    assert_eq!(text(&r), "A new IPv4 shared network 'floor2' added");
    assert_eq!(text(&lab.v4(json!({"command": "network4-list"})).await), "2 IPv4 network(s) found");
    let dup = json!({"name": "floor2"});
    code(&lab.v4(json!({"command": "network4-add", "arguments": {"shared-networks": [dup]}})).await, RESULT_ERROR);
    code(&lab.v4(json!({"command": "network4-add", "arguments": {"shared-networks": []}})).await, RESULT_ERROR);
    code(&lab.v4(json!({"command": "network4-add", "arguments": {}})).await, RESULT_ERROR);

    // keep (the default): the subnets move to the top level.
    let r = lab.v4(json!({"command": "network4-del", "arguments": {"name": "floor2"}})).await;
    assert_eq!(ok(&r), &json!({"shared-networks": [{"name": "floor2"}]}));
    assert_eq!(text(&r), "IPv4 shared network 'floor2' deleted");
    ok(&lab.v4(json!({"command": "subnet4-get", "arguments": {"id": 20}})).await);
    let cfg = ok(&lab.v4(json!({"command": "config-get"})).await).clone();
    assert!(cfg["Dhcp4"]["subnet4"].as_array().unwrap().iter().any(|s| s["id"] == 20));
    // delete: the subnets go too.
    let r =
        lab.v4(json!({"command": "network4-del", "arguments": {"name": "floor1", "subnets-action": "delete"}})).await;
    ok(&r);
    code(&lab.v4(json!({"command": "subnet4-get", "arguments": {"id": 3}})).await, RESULT_EMPTY);
    let r = lab.v4(json!({"command": "network4-list"})).await;
    code(&r, RESULT_EMPTY);
    assert_eq!(args(&r), &json!({"shared-networks": []}));
    code(&lab.v4(json!({"command": "network4-del", "arguments": {"name": "floor1"}})).await, RESULT_EMPTY);
    let r = lab.v4(json!({"command": "network4-del", "arguments": {"name": "x", "subnets-action": "bogus"}})).await;
    code(&r, RESULT_ERROR);
    code(&lab.v4(json!({"command": "network6-list"})).await, RESULT_UNSUPPORTED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network6_commands() {
    let lab = start(V6).await;
    let r = lab.v6(json!({"command": "network6-list"})).await;
    assert_eq!(ok(&r), &json!({"shared-networks": [{"name": "floor6"}]}));
    assert_eq!(text(&r), "1 IPv6 network(s) found");
    let r = lab.v6(json!({"command": "network6-get", "arguments": {"name": "floor6"}})).await;
    assert_eq!(ok(&r)["shared-networks"][0]["subnet6"][0]["id"], 2);
    let net = json!({"name": "floor7", "subnet6": [{"id": 30, "subnet": "2001:db8:30::/64"}]});
    let r = lab.v6(json!({"command": "network6-add", "arguments": {"shared-networks": [net]}})).await;
    ok(&r);
    assert_eq!(text(&r), "A new IPv6 shared network 'floor7' added");
    let r =
        lab.v6(json!({"command": "network6-del", "arguments": {"name": "floor7", "subnets-action": "delete"}})).await;
    ok(&r);
    assert_eq!(text(&r), "IPv6 shared network 'floor7' deleted");
    code(&lab.v6(json!({"command": "subnet6-get", "arguments": {"id": 30}})).await, RESULT_EMPTY);
    ok(&lab.v6(json!({"command": "network6-del", "arguments": {"name": "floor6", "subnets-action": "keep"}})).await);
    ok(&lab.v6(json!({"command": "subnet6-get", "arguments": {"id": 2}})).await);
    code(&lab.v6(json!({"command": "network6-list"})).await, RESULT_EMPTY);
}

// ---------------------------------------------------------------------------------------------
// Errors, dispatch, metrics, both daemons
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_command_and_bad_arguments() {
    let lab = start(V4).await;
    let r = lab.v4(json!({"command": "foo-bar"})).await;
    assert_eq!((r.result, text(&r)), (RESULT_UNSUPPORTED, "'foo-bar' command not supported."));
    code(&lab.v4(json!({"command": "statistic-bogus"})).await, RESULT_UNSUPPORTED);
    code(&lab.v4(json!({"command": "lease4-bogus"})).await, RESULT_UNSUPPORTED);
    for bad in [
        json!({"command": "config-test"}),
        json!({"command": "config-set", "arguments": [1]}),
        json!({"command": "reservation-get", "arguments": "x"}),
        json!({"command": "subnet4-get", "arguments": {"id": "one"}}),
        json!({"command": "subnet4-add", "arguments": {"subnet4": [{"subnet": "10.0.0.0/24"}]}}),
        json!({"command": "lease4-add", "arguments": {"ip-address": "192.0.2.30", "hw-address": "zz"}}),
        json!({"command": "lease4-add", "arguments": {"ip-address": "192.0.2.30", "hw-address": "02:00",
                                                       "subnet-id": 2}}),
        json!({"command": "statistic-sample-count-set", "arguments": {"name": "pkt4-received"}}),
        json!({"command": "shutdown", "arguments": {"exit-value": 1.5}}),
    ] {
        let r = lab.v4(bad.clone()).await;
        code(&r, RESULT_ERROR);
        assert!(!text(&r).is_empty(), "{bad}: an explanation");
    }
}

async fn dispatch(d: &ControlDispatch, body: &str, l: &Listener) -> Vec<Response> {
    d.dispatch(body.as_bytes(), l).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_applies_the_service_rules() {
    let lab = start(V4).await;
    let d = ControlDispatch(lab.control.clone());
    let own = Listener::Daemon("dhcp4".into());
    let out = dispatch(&d, r#"{"command": "list-commands", "service": ["dhcp6"]}"#, &own).await;
    assert_eq!(out.len(), 1);
    code(&out[0], RESULT_ERROR);
    let out = dispatch(&d, r#"{"command": "list-commands", "service": ["dhcp4"]}"#, &own).await;
    assert_eq!(out.len(), 1);
    assert!(ok(&out[0]).as_array().unwrap().iter().any(|c| c == "lease4-get"));
    let out = dispatch(&d, r#"{"command": "list-commands", "service": []}"#, &own).await;
    ok(&out[0]);
    let out = dispatch(&d, r#"{"command": "list-commands", "service": ["dhcp4", "dhcp4"]}"#, &own).await;
    code(&out[0], RESULT_ERROR);
    let out = dispatch(&d, r#"{"command": "list-commands", "service": "dhcp4"}"#, &own).await;
    code(&out[0], RESULT_ERROR);

    // On the agent, a service that is not configured is answered by the agent.
    let out = dispatch(&d, r#"{"command": "version-get", "service": ["dhcp4", "dhcp6"]}"#, &Listener::Agent).await;
    assert_eq!(out.len(), 2);
    ok(&out[0]);
    code(&out[1], RESULT_ERROR);
    assert_eq!(text(&out[1]), "forwarding socket is not configured for the server type dhcp6");
    let out = dispatch(&d, r#"{"command": "version-get"}"#, &Listener::Agent).await;
    assert_eq!(out.len(), 1);
    ok(&out[0]);

    // With both daemons the agent forwards to each, in order.
    let lab2 = start(&both()).await;
    let d2 = ControlDispatch(lab2.control.clone());
    let out = dispatch(&d2, r#"{"command": "list-commands", "service": ["dhcp4", "dhcp6"]}"#, &Listener::Agent).await;
    assert_eq!(out.len(), 2);
    let l4 = ok(&out[0]).as_array().unwrap().clone();
    let l6 = ok(&out[1]).as_array().unwrap().clone();
    assert!(l4.iter().any(|c| c == "subnet4-list") && !l4.iter().any(|c| c == "subnet6-list"));
    assert!(l6.iter().any(|c| c == "subnet6-list") && !l6.iter().any(|c| c == "subnet4-list"));
    let out = dispatch(&d2, r#"{"command": "subnet6-list", "service": ["dhcp6"]}"#, &Listener::Agent).await;
    assert_eq!(text(&out[0]), "2 IPv6 subnets found");
    let out = dispatch(&d2, r#"{"command": "status-get", "service": ["d2"]}"#, &Listener::Agent).await;
    assert_eq!(text(&out[0]), "forwarding socket is not configured for the server type d2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_accepts_comments_and_rejects_malformed_json() {
    let lab = start(V4).await;
    let d = ControlDispatch(lab.control.clone());
    let own = Listener::Daemon("dhcp4".into());
    let body = "# a shell comment\n{\n  /* a C comment */ \"command\": \"subnet4-get\", // a C++ comment\n  \
                \"arguments\": { \"id\": 1 } # trailing\n}\n";
    let out = dispatch(&d, body, &own).await;
    assert_eq!(out.len(), 1);
    ok(&out[0]);
    assert_eq!(text(&out[0]), "Info about IPv4 subnet 192.0.2.0/24 (id 1) returned");

    for bad in ["{\"command\": ", "not json", "[1, 2]", "{\"arguments\": {}}", "{\"command\": 5}", ""] {
        let out = dispatch(&d, bad, &own).await;
        assert_eq!(out.len(), 1, "{bad:?}");
        code(&out[0], RESULT_ERROR);
    }
}

/// A Prometheus exposition line: `# HELP name text`, `# TYPE name kind`, or `name{labels} value`.
fn prometheus_line(line: &str) -> bool {
    let is_name = |s: &str| {
        let mut c = s.chars();
        c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
            && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == ':')
    };
    if let Some(rest) = line.strip_prefix("# HELP ") {
        return rest.split_once(' ').is_some_and(|(n, _)| is_name(n));
    }
    if let Some(rest) = line.strip_prefix("# TYPE ") {
        return rest
            .split_once(' ')
            .is_some_and(|(n, k)| is_name(n) && ["counter", "gauge", "untyped", "histogram", "summary"].contains(&k));
    }
    let Some((series, value)) = line.rsplit_once(' ') else { return false };
    if value.parse::<f64>().is_err() {
        return false;
    }
    match series.split_once('{') {
        None => is_name(series),
        Some((n, labels)) => {
            let Some(labels) = labels.strip_suffix('}') else { return false };
            is_name(n)
                && labels.split(',').all(|kv| {
                    kv.split_once('=')
                        .is_some_and(|(k, v)| is_name(k) && v.len() >= 2 && v.starts_with('"') && v.ends_with('"'))
                })
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_prometheus_exposition() {
    let lab = start(&both()).await;
    let _ = lab.control.v4().unwrap().engine().handle(&discover(0x10), &meta(), now(), 7);
    let d = ControlDispatch(lab.control.clone());
    let m = d.metrics();
    assert!(!m.is_empty());
    for line in m.lines() {
        assert!(prometheus_line(line), "not a Prometheus exposition line: {line:?}");
    }
    assert!(m.lines().any(|l| l.starts_with("kea_dhcp4_pkt4_received_total ")), "{m}");
    assert!(m.lines().any(|l| l.starts_with("kea_dhcp6_pkt6_received_total ")), "{m}");
    assert!(m.lines().any(|l| l.contains("{subnet_id=\"1\"}")), "{m}");
    // Every series has a TYPE line before it.
    let mut typed = std::collections::HashSet::new();
    for line in m.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            typed.insert(rest.split(' ').next().unwrap().to_string());
        } else if !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(typed.contains(name), "{name} has no TYPE");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_daemons_in_one_configuration() {
    let lab = start(&both()).await;
    assert!(lab.control.v4().is_some() && lab.control.v6().is_some());
    let g4 = lab.v4(json!({"command": "config-get"})).await;
    let g6 = lab.v6(json!({"command": "config-get"})).await;
    assert!(ok(&g4).get("Dhcp4").is_some() && ok(&g4).get("Dhcp6").is_none());
    assert!(ok(&g6).get("Dhcp6").is_some() && ok(&g6).get("Dhcp4").is_none());
    let h6 = hash_of(&g6);
    assert_ne!(hash_of(&g4), h6);

    // config-set of Dhcp4 leaves Dhcp6 alone.
    let mut body = ok(&g4)["Dhcp4"].clone();
    body["valid-lifetime"] = json!(999);
    ok(&lab.v4(json!({"command": "config-set", "arguments": {"Dhcp4": body}})).await);
    assert_eq!(hash_of(&lab.v6(json!({"command": "config-hash-get"})).await), h6);
    assert_eq!(ok(&lab.v4(json!({"command": "config-get"})).await)["Dhcp4"]["valid-lifetime"], 999);
    assert!(lab.control.v6().is_some());

    // Separate lease and statistics spaces.
    ok(&lab
        .v6(json!({"command": "lease6-add", "arguments": {"ip-address": "2001:db8:1::111", "duid": "01:02",
                                                                "iaid": 1}}))
        .await);
    let r = lab.v4(json!({"command": "stat-lease4-get", "arguments": {"subnet-id": 1}})).await;
    assert_eq!(stat_row(&r, 1)[3], 0);
    let r = lab.v6(json!({"command": "stat-lease6-get", "arguments": {"subnet-id": 1}})).await;
    assert_eq!(stat_row(&r, 1)[3], 1);

    // config-write writes both sections, and the file loads.
    let r = lab.v4(json!({"command": "config-write"})).await;
    ok(&r);
    let loaded = load(std::slice::from_ref(&lab.path), &LoadOptions::default()).expect("loads");
    assert!(loaded.config.dhcp4.is_some() && loaded.config.dhcp6.is_some());
    assert_eq!(loaded.config.dhcp4.unwrap().subnets.len(), 3);

    // dhcp-disable of one daemon does not disable the other.
    ok(&lab.v6(json!({"command": "dhcp-disable"})).await);
    assert!(lab.control.v6().unwrap().state().is_disabled(now()));
    assert!(!lab.control.v4().unwrap().state().is_disabled(now()));
    let r = lab.v6(json!({"command": "dhcp-disable", "arguments": {"max-period": 20}})).await;
    assert!(text(&r).starts_with("DHCPv6 service disabled"), "{r:?}");
}

/// Kea's exact texts for the cases a first review found different.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kea_texts_of_edge_cases() {
    let lab = start(V4).await;
    let r = lab.v4(json!({"command": "dhcp-disable", "arguments": {"max-period": 20}})).await;
    assert_eq!(text(&r), "DHCPv4 service disabled for 20 seconds");
    let r = lab.v4(json!({"command": "dhcp-disable", "arguments": {"origin": "bogus"}})).await;
    assert_eq!(text(&r), "invalid value used for 'origin' parameter: bogus");
    let r = lab.v4(json!({"command": "dhcp-disable", "arguments": {"origin": [1]}})).await;
    assert_eq!(text(&r), "'origin' argument must be a string or a number");
    let r = lab.v4(json!({"command": "dhcp-disable", "arguments": {"max-period": "x"}})).await;
    assert_eq!(text(&r), "'max-period' argument must be a number");
    for (a, t) in [
        (json!({}), "Missing mandatory 'remove' parameter."),
        (json!({"remove": "yes"}), "'remove' parameter expected to be a boolean."),
    ] {
        let r = lab.v4(json!({"command": "leases-reclaim", "arguments": a})).await;
        assert_eq!(text(&r), t);
    }
    let r = lab.v4(json!({"command": "leases-reclaim"})).await;
    assert_eq!(text(&r), "Missing mandatory 'remove' parameter.");
    let got = lab.v4(json!({"command": "config-get"})).await;
    let d4 = args(&got)["Dhcp4"].clone();
    let r = lab.v4(json!({"command": "config-set", "arguments": {"Dhcp4": d4, "Bogus": {}}})).await;
    assert_eq!((r.result, text(&r)), (RESULT_ERROR, "Unsupported 'Bogus' parameter."));
    let r = lab.v4(json!({"command": "config-write", "arguments": {"filename": 7}})).await;
    assert_eq!(text(&r), "passed parameter 'filename' is not a string");
    let r = lab.v4(json!({"command": "stat-lease4-get", "arguments": {"subnet-id": 99}})).await;
    assert_eq!((r.result, text(&r)), (3, "stat-lease4-get: no matching data, subnet-id: 99 does not exist"));
    let r = lab.v4(json!({"command": "stat-lease4-get", "arguments": {"subnet-range": {"first-subnet-id": 2, "last-subnet-id": 3}}})).await;
    let rows: Vec<u64> =
        args(&r)["result-set"]["rows"].as_array().unwrap().iter().map(|row| row[0].as_u64().unwrap()).collect();
    assert_eq!(rows, vec![2, 3], "rows by subnet id");
    // The exit value is kept for a subscriber that comes later.
    ok(&lab.v4(json!({"command": "shutdown", "arguments": {"exit-value": 4}})).await);
    assert_eq!(*lab.control.exit_requested().borrow(), Some(4));
}

/// Configuration edits arriving together are serialised: none undoes another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reservation_adds_all_land() {
    let lab = Arc::new(start(V4).await);
    let mut tasks = Vec::new();
    for i in 0..12u8 {
        let lab = lab.clone();
        tasks.push(tokio::spawn(async move {
            lab.v4(json!({"command": "reservation-add", "arguments": {"reservation": {
                "subnet-id": 1, "hw-address": format!("02:00:00:00:01:{i:02x}"), "ip-address": format!("192.0.2.{}", 200 + u32::from(i))}}}))
                .await
        }));
    }
    for t in tasks {
        ok(&t.await.unwrap());
    }
    let all = lab.v4(json!({"command": "reservation-get-all", "arguments": {"subnet-id": 1}})).await;
    assert_eq!(args(&all)["hosts"].as_array().unwrap().len(), 12, "{all:?}");
}

/// Leases that expired but were not reclaimed stay counted until reclamation, after a restart
/// and across lease commands, so the statistics never go negative.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_leases_stay_counted_until_reclaimed() {
    let lab = start(V4).await;
    let past = now() - 10_000;
    ok(&lab
        .v4(
            json!({"command": "lease4-add", "arguments": {"ip-address": "192.0.2.50", "hw-address": "02:00:00:00:00:50",
            "valid-lft": 100, "expire": past + 100}}),
        )
        .await);
    let stat = |name: &str| lab.control.stats(Section::Dhcp4).get(name).map_or(0, |s| s.value);
    assert_eq!((stat("subnet[1].assigned-addresses"), stat("assigned-addresses")), (1, 1));
    // A configuration change recounts from the lease map: the expired lease still counts.
    let got = lab.v4(json!({"command": "config-get"})).await;
    let mut d4 = args(&got)["Dhcp4"].clone();
    d4["valid-lifetime"] = json!(4100);
    ok(&lab.v4(json!({"command": "config-set", "arguments": {"Dhcp4": d4}})).await);
    assert_eq!((stat("subnet[1].assigned-addresses"), stat("assigned-addresses")), (1, 1));
    ok(&lab.v4(json!({"command": "leases-reclaim", "arguments": {"remove": false}})).await);
    assert_eq!((stat("subnet[1].assigned-addresses"), stat("assigned-addresses")), (0, 0));
    ok(&lab.v4(json!({"command": "lease4-del", "arguments": {"ip-address": "192.0.2.50"}})).await);
    assert_eq!((stat("subnet[1].assigned-addresses"), stat("assigned-addresses")), (0, 0), "never negative");
}

/// The reclamation timer runs on its own (`reclaim-timer-wait-time`), for v4 and v6.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reclamation_timer_reclaims_expired_leases() {
    let timer = r#""expired-leases-processing": {"reclaim-timer-wait-time": 1, "hold-reclaimed-time": 0},"#;
    let lab =
        start(&V4.replacen(r#""valid-lifetime": 4000,"#, &format!(r#""valid-lifetime": 4000, {timer}"#), 1)).await;
    let lab6 =
        start(&V6.replacen(r#""valid-lifetime": 4000,"#, &format!(r#""valid-lifetime": 4000, {timer}"#), 1)).await;
    let past = now() - 10_000;
    ok(&lab
        .v4(
            json!({"command": "lease4-add", "arguments": {"ip-address": "192.0.2.60", "hw-address": "02:00:00:00:00:60",
            "valid-lft": 100, "expire": past + 100}}),
        )
        .await);
    ok(&lab6
        .v6(json!({"command": "lease6-add", "arguments": {"ip-address": "2001:db8:1::160", "duid": "00:03:00:01:02:00:00:00:00:60",
            "iaid": 1, "valid-lft": 100, "expire": past + 100}}))
        .await);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let r = lab.v4(json!({"command": "lease4-get", "arguments": {"ip-address": "192.0.2.60"}})).await;
    assert_eq!(r.result, 3, "reclaimed and removed (hold-reclaimed-time 0): {r:?}");
    let r = lab6.v6(json!({"command": "lease6-get", "arguments": {"ip-address": "2001:db8:1::160"}})).await;
    assert_eq!(r.result, 3, "{r:?}");
    assert_eq!(lab.control.stats(Section::Dhcp4).get("reclaimed-leases").map(|s| s.value), Some(1));
    assert_eq!(lab6.control.stats(Section::Dhcp6).get("reclaimed-leases").map(|s| s.value), Some(1));
}
