//! Strict serde mirror of Kea configuration maps, key for key.
//!
//! One struct per JSON map of the `Dhcp4`, `Dhcp6`, `DhcpDdns` and `Control-agent` sections.
//! Each struct has a field for every key that Kea 2.2 or Kea 3.0 accepts in that map (the
//! union of both versions, so files written for either load unchanged) and refuses any other
//! key (`deny_unknown_fields`), as Kea's parsers do. Every field is optional: mandatory keys,
//! value ranges, enumerations and the mutual exclusion of old and new spellings
//! (`client-class` / `client-classes`, `control-socket` / `control-sockets`,
//! `output_options` / `output-options`, `require-client-classes` /
//! `evaluate-additional-classes`, ...) are checked later by the model, with better messages.
//!
//! The single exception to `deny_unknown_fields` is [`common::DhcpQueueControl`]: Kea's
//! grammar lets `dhcp-queue-control` carry arbitrary keys for custom queue implementations.
//!
//! Maps whose keys differ between DHCPv4 and DHCPv6 have one struct per family
//! (`Subnet4`/`Subnet6`, `ClientClass4`/`ClientClass6`, `InterfacesConfig4`/`InterfacesConfig6`,
//! ...); identical maps live in [`common`].

pub mod agent;
pub mod common;
pub mod ddns;
pub mod dhcp4;
pub mod dhcp6;
pub mod ha;

#[cfg(test)]
mod tests {
    use super::agent::ControlAgent;
    use super::common::{DhcpQueueControl, LeaseDatabase, Logger};
    use super::ddns::DhcpDdns;
    use super::dhcp4::{Dhcp4, Pool4, Subnet4};
    use super::dhcp6::{Dhcp6, InterfacesConfig6};
    use serde::de::DeserializeOwned;
    use serde_json::{json, Value};
    use std::path::{Path, PathBuf};

    const EXAMPLES: &str = "/usr/share/doc/kea/examples";

    /// Turns Kea's extended JSON into plain JSON for these tests only: drops `#`, `//` and
    /// `/* */` comments outside strings, writes `.5` as `0.5` and drops trailing commas.
    /// (The real reader is `config::text`; this keeps the raw tests independent of it.)
    fn kea_to_json(src: &str) -> String {
        let b = src.as_bytes();
        let mut out: Vec<u8> = Vec::with_capacity(b.len());
        let mut i = 0;
        let mut in_str = false;
        while i < b.len() {
            let c = b[i];
            if in_str {
                out.push(c);
                if c == b'\\' && i + 1 < b.len() {
                    out.push(b[i + 1]);
                    i += 2;
                    continue;
                }
                if c == b'"' {
                    in_str = false;
                }
                i += 1;
                continue;
            }
            match c {
                b'"' => {
                    in_str = true;
                    out.push(c);
                    i += 1;
                }
                b'#' => {
                    while i < b.len() && b[i] != b'\n' {
                        i += 1;
                    }
                }
                b'/' if b.get(i + 1) == Some(&b'/') => {
                    while i < b.len() && b[i] != b'\n' {
                        i += 1;
                    }
                }
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    i += 2;
                    while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                        if b[i] == b'\n' {
                            out.push(b'\n');
                        }
                        i += 1;
                    }
                    i += 2;
                }
                b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) && !out.last().is_some_and(u8::is_ascii_digit) => {
                    out.extend_from_slice(b"0.");
                    i += 1;
                }
                b']' | b'}' => {
                    // Drop a trailing comma before the closing bracket.
                    let mut j = out.len();
                    while j > 0 && out[j - 1].is_ascii_whitespace() {
                        j -= 1;
                    }
                    if j > 0 && out[j - 1] == b',' {
                        out.remove(j - 1);
                    }
                    out.push(c);
                    i += 1;
                }
                _ => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        String::from_utf8(out).expect("comment stripping keeps UTF-8 intact")
    }

    /// The example files of one directory under `/usr/share/doc/kea/examples` (kea-doc).
    fn example_files(dir: &str) -> Vec<PathBuf> {
        let d = Path::new(EXAMPLES).join(dir);
        let rd = std::fs::read_dir(&d).unwrap_or_else(|e| {
            panic!("cannot read {}: {e} (these tests need Kea 2.2's examples: apt install kea-doc)", d.display())
        });
        let mut files: Vec<PathBuf> = rd
            .map(|e| e.expect("readable directory entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no *.json example in {} (apt install kea-doc)", d.display());
        files
    }

    /// Deserializes the `section` of every example file of `dir` into `T`; returns how many.
    fn load_section<T: DeserializeOwned>(dir: &str, section: &str) -> usize {
        let files = example_files(dir);
        let mut failures = Vec::new();
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("cannot read {}: {e}", f.display()));
            let mut doc: Value = match serde_json::from_str(&kea_to_json(&text)) {
                Ok(v) => v,
                Err(e) => {
                    failures.push(format!("{}: not JSON after comment stripping: {e}", f.display()));
                    continue;
                }
            };
            let Some(sec) = doc.get_mut(section).map(Value::take) else {
                failures.push(format!("{}: no {section} section", f.display()));
                continue;
            };
            if let Err(e) = serde_json::from_value::<T>(sec) {
                failures.push(format!("{}: {e}", f.display()));
            }
        }
        assert!(failures.is_empty(), "examples refused:\n{}", failures.join("\n"));
        files.len()
    }

    #[test]
    fn comment_stripper_handles_kea_syntax() {
        let src = "# hash\n{ // line\n \"a#b\": \"//x\", /* block\n */ \"t\": .5, \"l\": [1, 2,], }\n";
        let v: Value = serde_json::from_str(&kea_to_json(src)).expect("valid JSON");
        assert_eq!(v, json!({"a#b": "//x", "t": 0.5, "l": [1, 2]}));
    }

    #[test]
    fn kea22_dhcp4_examples_load() {
        assert!(load_section::<Dhcp4>("kea4", "Dhcp4") > 10);
    }

    #[test]
    fn kea22_dhcp6_examples_load() {
        assert!(load_section::<Dhcp6>("kea6", "Dhcp6") > 10);
    }

    #[test]
    fn kea22_ddns_examples_load() {
        assert!(load_section::<DhcpDdns>("ddns", "DhcpDdns") > 1);
    }

    #[test]
    fn kea22_agent_examples_load() {
        assert!(load_section::<ControlAgent>("agent", "Control-agent") > 1);
    }

    #[test]
    fn kea30_dhcp4_keys_load() {
        let v = json!({
            "valid-lifetime": 4000,
            "offer-lifetime": 60,
            "allocator": "random",
            "stash-agent-options": true,
            "ddns-conflict-resolution-mode": "no-check-with-dhcid",
            "ddns-ttl-percent": 0.5,
            "ddns-ttl-min": 300,
            "ddns-ttl-max": 3600,
            "compatibility": { "ignore-rai-link-selection": true, "exclude-first-last-24": true },
            "sanity-checks": { "lease-checks": "fix-del", "extended-info-checks": "fix" },
            "lease-database": { "type": "postgresql", "name": "kea", "retry-on-startup": true, "tcp-user-timeout": 10 },
            "control-sockets": [
                { "socket-type": "unix", "socket-name": "/run/kea/kea4-ctrl-socket" },
                { "socket-type": "https", "socket-address": "127.0.0.1", "socket-port": 8004,
                  "trust-anchor": "/etc/kea/ca.pem", "cert-file": "/etc/kea/cert.pem", "key-file": "/etc/kea/key.pem",
                  "cert-required": true,
                  "authentication": { "type": "basic", "realm": "kea-dhcpv4-server", "directory": "/etc/kea",
                                      "clients": [ { "user": "admin", "password-file": "admin.pw", "comment": "ops" } ] },
                  "http-headers": [ { "name": "Strict-Transport-Security", "value": "max-age=31536000" } ] }
            ],
            "client-classes": [ { "name": "late", "test": "member('ALL')", "only-in-additional-list": true,
                                  "template-test": "substring(option[61].hex, 0, 3)", "offer-lifetime": 30 } ],
            "subnet4": [ {
                "id": 1, "subnet": "192.0.2.0/24",
                "client-classes": [ "a", "b" ],
                "evaluate-additional-classes": [ "late" ],
                "4o6-interface": "eth1", "4o6-subnet": "2001:db8::/64",
                "pools": [ { "pool": "192.0.2.10 - 192.0.2.20", "pool-id": 7, "ddns-send-updates": false,
                             "hostname-char-set": "[^a-z]", "evaluate-additional-classes": [ "late" ] } ],
                "option-data": [ { "name": "routers", "data": "192.0.2.1", "never-send": false, "client-classes": [ "a" ] } ]
            } ],
            "loggers": [ { "name": "kea-dhcp4", "severity": "INFO", "output-options": [ { "output": "stdout" } ] } ]
        });
        let d: Dhcp4 = serde_json::from_value(v.clone()).expect("Kea 3.0 Dhcp4 keys are accepted");
        let s = &d.subnet4.as_ref().expect("subnet4")[0];
        assert_eq!(s.four_o6_interface.as_deref(), Some("eth1"));
        assert_eq!(s.pools.as_ref().expect("pools")[0].pool_id, Some(7));
        assert_eq!(d.lease_database.as_ref().and_then(|l| l.r#type.as_deref()), Some("postgresql"));
        // Serializing gives back exactly the input keys.
        assert_eq!(serde_json::to_value(&d).expect("serializes"), v);
    }

    #[test]
    fn kea30_dhcp6_keys_load() {
        let v = json!({
            "pd-allocator": "flq",
            "data-directory": "/var/lib/kea",
            "relay-supplied-options": [ "65" ],
            "mac-sources": [ "duid", "ipv6-link-local" ],
            "server-id": { "type": "EN", "enterprise-id": 2495, "identifier": "0123", "persist": false },
            "subnet6": [ {
                "id": 1, "subnet": "2001:db8::/32", "rapid-commit": true, "interface-id": "x",
                "pools": [ { "pool": "2001:db8:1::/64", "ddns-ttl": 600 } ],
                "pd-pools": [ { "prefix": "2001:db8:8::", "prefix-len": 40, "delegated-len": 56, "pool-id": 3,
                                "excluded-prefix": "2001:db8:8::", "excluded-prefix-len": 64,
                                "evaluate-additional-classes": [ "x" ] } ],
                "reservations": [ { "duid": "01:02:03", "prefixes": [ "2001:db8:9::/56" ],
                                    "excluded-prefixes": [ "2001:db8:9::/64" ] } ]
            } ],
            "client-classes": [ { "name": "c", "preferred-lifetime": 100, "only-in-additional-list": false } ]
        });
        let d: Dhcp6 = serde_json::from_value(v.clone()).expect("Kea 3.0 Dhcp6 keys are accepted");
        assert_eq!(serde_json::to_value(&d).expect("serializes"), v);
    }

    #[test]
    fn kea30_ddns_and_agent_keys_load() {
        let d2 = json!({
            "control-sockets": [ { "socket-type": "http", "socket-address": "127.0.0.1", "socket-port": 53002,
                                   "authentication": { "type": "basic", "clients": [] } } ],
            "tsig-keys": [ { "name": "k", "algorithm": "HMAC-SHA256", "secret-file": "/etc/kea/k.secret" } ],
            "forward-ddns": { "ddns-domains": [ { "name": "example.org.", "key-name": "k",
                                                  "dns-servers": [ { "ip-address": "192.0.2.53", "port": 53 } ] } ] },
            "loggers": [ { "name": "kea-dhcp-ddns", "output_options": [ { "output": "syslog" } ] } ]
        });
        let d: DhcpDdns = serde_json::from_value(d2.clone()).expect("Kea 3.0 DhcpDdns keys are accepted");
        assert_eq!(serde_json::to_value(&d).expect("serializes"), d2);

        let ca = json!({
            "http-host": "127.0.0.1", "http-port": 8000,
            "http-headers": [ { "name": "X-Frame-Options", "value": "DENY", "user-context": { "a": 1 } } ],
            "control-sockets": { "dhcp4": { "socket-type": "unix", "socket-name": "/run/kea/kea4-ctrl-socket" } },
            "loggers": [ { "name": "kea-ctrl-agent", "output-options": [ { "output": "stdout", "pattern": "%m\n" } ] } ]
        });
        let a: ControlAgent = serde_json::from_value(ca.clone()).expect("Kea 3.0 Control-agent keys are accepted");
        assert_eq!(serde_json::to_value(&a).expect("serializes"), ca);
    }

    fn refused<T: DeserializeOwned + std::fmt::Debug>(v: Value) -> String {
        match serde_json::from_value::<T>(v) {
            Ok(t) => panic!("accepted but should not be: {t:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = refused::<Dhcp4>(json!({ "subnet4": [ { "subnet": "192.0.2.0/24", "pools": [ { "pol": "x" } ] } ] }));
        assert!(e.contains("pol"), "{e}");
        assert!(refused::<Pool4>(json!({ "pool": "192.0.2.1 - 192.0.2.2", "pool-idd": 1 })).contains("pool-idd"));
        // v6-only keys in v4 maps and the other way round.
        assert!(refused::<Subnet4>(json!({ "rapid-commit": true })).contains("rapid-commit"));
        assert!(refused::<InterfacesConfig6>(json!({ "dhcp-socket-type": "raw" })).contains("dhcp-socket-type"));
        // D2 control channels have no http-headers.
        let e = refused::<DhcpDdns>(json!({ "control-sockets": [ { "socket-type": "http", "http-headers": [] } ] }));
        assert!(e.contains("http-headers"), "{e}");
        // Keys Kea accepts nowhere in a database map.
        assert!(refused::<LeaseDatabase>(json!({ "type": "memfile", "comment": "x" })).contains("comment"));
        assert!(refused::<Logger>(json!({ "name": "x", "outputoptions": [] })).contains("outputoptions"));
    }

    #[test]
    fn wrong_types_are_refused() {
        refused::<Dhcp4>(json!({ "valid-lifetime": "7200" }));
        refused::<Dhcp4>(json!({ "valid-lifetime": 7200.5 }));
        refused::<Dhcp4>(json!({ "authoritative": "true" }));
        refused::<Dhcp4>(json!({ "subnet4": { "subnet": "192.0.2.0/24" } }));
    }

    #[test]
    fn queue_control_keeps_extra_keys() {
        let v = json!({ "enable-queue": true, "queue-type": "kea-ring4", "capacity": 64, "my-knob": [1, 2] });
        let q: DhcpQueueControl = serde_json::from_value(v.clone()).expect("extra keys allowed");
        assert_eq!(q.capacity, Some(64));
        assert_eq!(q.other.get("my-knob"), Some(&json!([1, 2])));
        assert_eq!(serde_json::to_value(&q).expect("serializes"), v);
    }

    #[test]
    fn empty_maps_serialize_empty() {
        assert_eq!(serde_json::to_value(Dhcp4::default()).expect("serializes"), json!({}));
        assert_eq!(serde_json::to_value(DhcpQueueControl::default()).expect("serializes"), json!({}));
    }
}
