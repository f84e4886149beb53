//! `config-get` rendering and `config-hash-get` hashing (Kea ARM 8.8 "Management API":
//! config-get returns the running configuration with includes expanded, comments dropped,
//! `comment` keys turned into `user-context`, subnet ids assigned and global defaults filled in).

use serde_json::{json, Map, Value as J};
use sha2::{Digest, Sha256};

use super::model::Config;
use super::text::{Node, Value};
use super::Section;

/// The section tree as JSON, with Kea's `comment` to `user-context.comment` conversion.
pub fn normalise(node: &Node) -> J {
    match &node.value {
        Value::Map(entries) => {
            let mut m = Map::new();
            let mut comment = None;
            for e in entries {
                if e.key == "comment" {
                    comment = Some(e.value.to_json());
                } else if matches!(e.key.as_str(), "user-context" | "parameters") {
                    // Free-form JSON: a "comment" in there is the user's data, not Kea syntax.
                    m.insert(e.key.clone(), e.value.to_json());
                } else {
                    m.insert(e.key.clone(), normalise(&e.value));
                }
            }
            if let Some(c) = comment {
                let uc = m.entry("user-context".to_string()).or_insert_with(|| J::Object(Map::new()));
                if let J::Object(o) = uc {
                    o.entry("comment".to_string()).or_insert(c);
                }
            }
            J::Object(m)
        }
        Value::List(items) => J::Array(items.iter().map(normalise).collect()),
        _ => node.to_json(),
    }
}

/// Kea's global defaults that `config-get` shows when the file did not set them
/// (simple_parser4.cc / simple_parser6.cc GLOBAL defaults common to Kea 2.2 and 3.0).
fn global_defaults(section: Section) -> Vec<(&'static str, J)> {
    let mut v = vec![
        ("valid-lifetime", json!(7200)),
        ("decline-probation-period", json!(86400)),
        ("ddns-send-updates", json!(true)),
        ("ddns-override-no-update", json!(false)),
        ("ddns-override-client-update", json!(false)),
        ("ddns-replace-client-name", json!("never")),
        ("ddns-generated-prefix", json!("myhost")),
        ("ddns-qualifying-suffix", json!("")),
        ("ddns-update-on-renew", json!(false)),
        ("hostname-char-set", json!("[^A-Za-z0-9.-]")),
        ("hostname-char-replacement", json!("")),
        ("store-extended-info", json!(false)),
        ("statistic-default-sample-count", json!(20)),
        ("statistic-default-sample-age", json!(0)),
        ("early-global-reservations-lookup", json!(false)),
        ("ip-reservations-unique", json!(true)),
        ("reservations-lookup-first", json!(false)),
        ("reservations-global", json!(false)),
        ("reservations-in-subnet", json!(true)),
        ("reservations-out-of-pool", json!(false)),
        ("parked-packet-limit", json!(256)),
        ("ddns-use-conflict-resolution", json!(true)),
        ("dhcp4o6-port", json!(0)),
        ("server-tag", json!("")),
    ];
    match section {
        Section::Dhcp4 => v.extend([
            ("match-client-id", json!(true)),
            ("echo-client-id", json!(true)),
            ("authoritative", json!(false)),
            ("next-server", json!("0.0.0.0")),
            ("server-hostname", json!("")),
            ("boot-file-name", json!("")),
            ("calculate-tee-times", json!(false)),
            ("t1-percent", json!(0.5)),
            ("t2-percent", json!(0.875)),
        ]),
        Section::Dhcp6 => v.extend([
            ("preferred-lifetime", json!(3600)),
            ("calculate-tee-times", json!(true)),
            ("t1-percent", json!(0.5)),
            ("t2-percent", json!(0.8)),
        ]),
        _ => v.clear(),
    }
    v
}

/// Kea's defaults for the structured global parameters `config-get` shows (maps are completed
/// key by key, so a partly given map shows Kea's values for the rest), as Kea 2.2 prints them
/// for a configuration that does not set them.
fn structural_defaults(section: Section) -> Vec<(&'static str, J)> {
    let v4 = section == Section::Dhcp4;
    let mut v = vec![
        (
            "dhcp-ddns",
            json!({"enable-updates": false, "max-queue-size": 1024, "ncr-format": "JSON", "ncr-protocol": "UDP",
                   "sender-ip": "0.0.0.0", "sender-port": 0, "server-ip": "127.0.0.1", "server-port": 53001}),
        ),
        (
            "dhcp-queue-control",
            json!({"capacity": 64, "enable-queue": false, "queue-type": if v4 { "kea-ring4" } else { "kea-ring6" }}),
        ),
        (
            "expired-leases-processing",
            json!({"flush-reclaimed-timer-wait-time": 25, "hold-reclaimed-time": 3600, "max-reclaim-leases": 100,
                   "max-reclaim-time": 250, "reclaim-timer-wait-time": 10, "unwarned-reclaim-cycles": 5}),
        ),
        ("multi-threading", json!({"enable-multi-threading": false, "packet-queue-size": 64, "thread-pool-size": 0})),
        ("sanity-checks", json!({"lease-checks": "warn"})),
        ("interfaces-config", json!({"re-detect": true})),
        ("hooks-libraries", json!([])),
        ("option-data", json!([])),
        ("option-def", json!([])),
        ("shared-networks", json!([])),
    ];
    if v4 {
        v.push(("host-reservation-identifiers", json!(["hw-address", "duid", "circuit-id", "client-id"])));
    } else {
        v.extend([
            ("host-reservation-identifiers", json!(["hw-address", "duid"])),
            ("mac-sources", json!(["any"])),
            ("relay-supplied-options", json!(["65"])),
            (
                "server-id",
                json!({"enterprise-id": 0, "htype": 0, "identifier": "", "persist": true, "time": 0, "type": "LLT"}),
            ),
        ]);
    }
    v
}

/// Puts `default` at `key` when absent, or completes the map there key by key.
fn fill(body: &mut Map<String, J>, key: &str, default: J) {
    match (body.get_mut(key), default) {
        (None, d) => {
            body.insert(key.to_string(), d);
        }
        (Some(J::Object(have)), J::Object(d)) => {
            for (k, v) in d {
                have.entry(k).or_insert(v);
            }
        }
        _ => {}
    }
}

/// The parameters Kea derives into every subnet from its shared network and the globals
/// (Kea's SimpleParser deriveParameters), and the empty lists it prints there, as Kea 2.2's
/// `config-get` shows them.
fn derive_subnets(body: &mut Map<String, J>, section: Section) {
    let v4 = section == Section::Dhcp4;
    let list_key = if v4 { "subnet4" } else { "subnet6" };
    let mut inherited =
        vec!["valid-lifetime", "calculate-tee-times", "t1-percent", "t2-percent", "store-extended-info"];
    if !v4 {
        inherited.push("preferred-lifetime");
    }
    let global: Map<String, J> = body.clone();
    // Inherited values and lifetime bounds, into a subnet or a shared network.
    let inherit = |scope: &mut Map<String, J>, network: Option<&Map<String, J>>| {
        let from = |k: &str| network.and_then(|n| n.get(k)).or_else(|| global.get(k)).cloned();
        // Kea's triplets: a lifetime set here without bounds is its own bounds; one inherited
        // comes with the parent's bounds.
        let own: Vec<&str> =
            ["valid-lifetime", "preferred-lifetime"].into_iter().filter(|b| scope.contains_key(*b)).collect();
        for k in &inherited {
            if !scope.contains_key(*k) {
                if let Some(v) = from(k) {
                    scope.insert((*k).to_string(), v);
                }
            }
        }
        let mut bounds = vec!["valid-lifetime"];
        if !v4 {
            bounds.push("preferred-lifetime");
        }
        for b in bounds {
            let value = scope.get(b).cloned();
            for side in ["min", "max"] {
                let key = format!("{side}-{b}");
                if !scope.contains_key(&key) {
                    let parent = if own.contains(&b) { None } else { from(&key) };
                    if let Some(v) = parent.or_else(|| value.clone()) {
                        scope.insert(key, v);
                    }
                }
            }
        }
        scope.entry("option-data".to_string()).or_insert(json!([]));
        scope.entry("relay".to_string()).or_insert(json!({"ip-addresses": []}));
    };
    let derive = |subnet: &mut Map<String, J>, network: Option<&Map<String, J>>| {
        inherit(subnet, network);
        let mut empty = vec![("reservations", json!([])), ("pools", json!([]))];
        if v4 {
            empty.extend([("4o6-interface", json!("")), ("4o6-interface-id", json!("")), ("4o6-subnet", json!(""))]);
        } else {
            empty.push(("pd-pools", json!([])));
            // Kea prints it at the shared network, not again in its subnets.
            if network.is_none() {
                empty.push(("rapid-commit", json!(false)));
            }
        }
        for (k, v) in empty {
            subnet.entry(k.to_string()).or_insert(v);
        }
        for pools in ["pools", "pd-pools"] {
            if let Some(J::Array(items)) = subnet.get_mut(pools) {
                for p in items.iter_mut().filter_map(J::as_object_mut) {
                    p.entry("option-data".to_string()).or_insert(json!([]));
                }
            }
        }
    };
    if let Some(J::Array(nets)) = body.get_mut("shared-networks") {
        for n in nets.iter_mut().filter_map(J::as_object_mut) {
            inherit(n, None);
            if !v4 {
                n.entry("rapid-commit".to_string()).or_insert(json!(false));
            }
            let net = n.clone();
            if let Some(J::Array(subs)) = n.get_mut(list_key) {
                subs.iter_mut().filter_map(J::as_object_mut).for_each(|s| derive(s, Some(&net)));
            }
        }
    }
    if let Some(J::Array(subs)) = body.get_mut(list_key) {
        subs.iter_mut().filter_map(J::as_object_mut).for_each(|s| derive(s, None));
    }
}

/// Kea 2.2 numbers subnets without an `id` in parse order: shared networks first.
fn assign_ids(section: &mut Map<String, J>, list_key: &str) {
    let mut next = 0u32;
    let mut fill = |subnets: &mut J| {
        if let J::Array(items) = subnets {
            for s in items {
                if let J::Object(o) = s {
                    let missing = o.get("id").and_then(J::as_u64).is_none_or(|i| i == 0);
                    if missing {
                        next += 1;
                        o.insert("id".into(), json!(next));
                    }
                    // Kea prints address ranges as "first-last" whatever spacing the file had.
                    if let Some(J::Array(pools)) = o.get_mut("pools") {
                        for p in pools {
                            if let Some(J::String(r)) = p.get_mut("pool") {
                                if let Some((a, b)) = r.split_once('-') {
                                    *r = format!("{}-{}", a.trim(), b.trim());
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    if let Some(J::Array(nets)) = section.get_mut("shared-networks") {
        for n in nets {
            if let Some(s) = n.get_mut(list_key) {
                fill(s);
            }
        }
    }
    if let Some(s) = section.get_mut(list_key) {
        fill(s);
    }
}

/// The `config-get` arguments for one section: `{"Dhcp4": {...}}` (without the hash).
pub fn config_get(cfg: &Config, section: Section) -> J {
    let mut body = match cfg.source.get(&section) {
        Some(J::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    for (k, v) in global_defaults(section) {
        body.entry(k.to_string()).or_insert(v);
    }
    match section {
        Section::Dhcp4 => assign_ids(&mut body, "subnet4"),
        Section::Dhcp6 => assign_ids(&mut body, "subnet6"),
        _ => {}
    }
    if matches!(section, Section::Dhcp4 | Section::Dhcp6) {
        for (k, v) in structural_defaults(section) {
            fill(&mut body, k, v);
        }
        derive_subnets(&mut body, section);
        // Kea prints the server DUID's identifier in upper-case hex.
        if let Some(J::String(id)) = body.get_mut("server-id").and_then(|s| s.get_mut("identifier")) {
            *id = id.to_uppercase();
        }
    }
    let mut top = Map::new();
    top.insert(section.key().to_string(), J::Object(body));
    J::Object(top)
}

fn sorted(v: &J) -> J {
    match v {
        J::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            J::Object(keys.into_iter().map(|k| (k.clone(), sorted(&m[k]))).collect())
        }
        J::Array(a) => J::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Kea's redaction for `config-get` and logs (Kea ARM "Kea Security", information leakage
/// through logging): the value of every key ending in `password` or `secret` becomes `*****`.
pub fn redact(v: &mut J) {
    match v {
        J::Object(m) => {
            for (k, val) in m.iter_mut() {
                let lower = k.to_ascii_lowercase();
                if (lower.ends_with("password") || lower.ends_with("secret")) && !val.is_object() && !val.is_array() {
                    *val = J::String("*****".into());
                } else {
                    redact(val);
                }
            }
        }
        J::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// `config-hash-get`: upper-case hex SHA-256 of the compact, key-sorted configuration.
pub fn config_hash(rendered: &J) -> String {
    let text = sorted(rendered).to_string();
    hex::encode_upper(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_hides_passwords_and_secrets_but_not_file_names() {
        let mut v = serde_json::json!({"clients": [{"user": "a", "password": "p", "password-file": "f"}],
            "tsig-keys": [{"name": "k", "secret": "s"}], "lease-database": {"password": "db"}});
        super::redact(&mut v);
        assert_eq!(v["clients"][0]["password"], "*****");
        assert_eq!(v["clients"][0]["password-file"], "f");
        assert_eq!(v["clients"][0]["user"], "a");
        assert_eq!(v["tsig-keys"][0]["secret"], "*****");
        assert_eq!(v["lease-database"]["password"], "*****");
    }

    use super::*;
    use crate::config::{load_str, LoadOptions};

    #[test]
    fn comments_become_user_context_and_defaults_fill_in() {
        let text = r#"{"Dhcp4": {"comment": "top", "subnet4": [{"subnet": "192.0.2.0/24", "comment": "s"},
                     {"subnet": "198.51.100.0/24", "user-context": {"a": 1}, "comment": "t"}]}}"#;
        let loaded = load_str("<string>", text, &LoadOptions::default()).unwrap();
        let r = config_get(&loaded.config, Section::Dhcp4);
        let d = &r["Dhcp4"];
        assert_eq!(d["user-context"]["comment"], "top");
        assert_eq!(d["subnet4"][0]["id"], 1);
        assert_eq!(d["subnet4"][1]["id"], 2);
        assert_eq!(d["subnet4"][1]["user-context"], json!({"a": 1, "comment": "t"}));
        let text =
            r#"{"Dhcp4": {"subnet4": [{"subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10 - 192.0.2.20"}]}]}}"#;
        let loaded = load_str("<string>", text, &LoadOptions::default()).unwrap();
        assert_eq!(
            config_get(&loaded.config, Section::Dhcp4)["Dhcp4"]["subnet4"][0]["pools"][0]["pool"],
            "192.0.2.10-192.0.2.20"
        );
        assert_eq!(d["valid-lifetime"], 7200);
        assert_eq!(d["t2-percent"], 0.875);
    }

    #[test]
    fn hash_ignores_key_order_and_is_upper_hex() {
        let a = config_hash(&json!({"b": 1, "a": {"y": 2, "x": 3}}));
        let b = config_hash(&json!({"a": {"x": 3, "y": 2}, "b": 1}));
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
    }

    #[test]
    fn rendered_config_passes_the_checker_again() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/kakapo.conf")).unwrap();
        let loaded = load_str("kakapo.conf", &text, &LoadOptions::default()).unwrap();
        let rendered = config_get(&loaded.config, Section::Dhcp4);
        let again = load_str("<rendered>", &rendered.to_string(), &LoadOptions::default());
        assert!(again.is_ok(), "{:?}", again.err());
        let r2 = config_get(&again.unwrap().config, Section::Dhcp4);
        assert_eq!(config_hash(&rendered), config_hash(&r2));
    }
}
