//! The `DhcpDdns` (Kea ARM 12.2) and `Control-agent` (Kea ARM 7.2) sections.

use std::net::IpAddr;
use std::path::Path;

use super::common::{self, HookLibrary};
use super::{Checker, ControlSocket, V};

/// TSIG algorithms Kea's D2 accepts (Kea ARM 12.2.5), matched case-insensitively.
const TSIG_ALGORITHMS: &[&str] = &["HMAC-MD5", "HMAC-SHA1", "HMAC-SHA224", "HMAC-SHA256", "HMAC-SHA384", "HMAC-SHA512"];

/// The validated `DhcpDdns` section.
#[derive(Debug, Clone)]
pub struct DhcpDdns {
    /// `ip-address` NCRs are received on (default 127.0.0.1).
    pub ip_address: IpAddr,
    /// `port` (default 53001).
    pub port: u16,
    /// `dns-server-timeout` in milliseconds (default 500).
    pub dns_server_timeout: u32,
    /// `tsig-keys`
    pub tsig_keys: Vec<TsigKey>,
    /// `forward-ddns.ddns-domains`
    pub forward_domains: Vec<DdnsDomain>,
    /// `reverse-ddns.ddns-domains`
    pub reverse_domains: Vec<DdnsDomain>,
    /// Control channels.
    pub control_sockets: Vec<ControlSocket>,
    /// Built-in hooks enabled.
    pub hooks: Vec<HookLibrary>,
}

/// A TSIG key (RFC 8945; Kea ARM 12.2.5).
#[derive(Debug, Clone, PartialEq)]
pub struct TsigKey {
    /// `name`
    pub name: String,
    /// `algorithm`, upper-cased.
    pub algorithm: String,
    /// `digest-bits` (0: full length).
    pub digest_bits: u32,
    /// Decoded `secret` (or the content of `secret-file`).
    pub secret: Vec<u8>,
}

/// A forward or reverse DDNS domain (Kea ARM 12.2.6).
#[derive(Debug, Clone, PartialEq)]
pub struct DdnsDomain {
    /// `name`
    pub name: String,
    /// `key-name`
    pub key_name: Option<String>,
    /// `dns-servers`
    pub dns_servers: Vec<DnsServer>,
}

/// A DNS server of a domain.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsServer {
    /// `ip-address`
    pub ip_address: IpAddr,
    /// `port` (default 53).
    pub port: u16,
    /// `key-name` (overrides the domain's).
    pub key_name: Option<String>,
}

/// The validated `Control-agent` section.
#[derive(Debug, Clone)]
pub struct ControlAgent {
    /// `http-host` (default 127.0.0.1).
    pub http_host: IpAddr,
    /// `http-port` (default 8000).
    pub http_port: u16,
    /// `control-sockets` per service: (`dhcp4`|`dhcp6`|`d2`, unix socket path).
    pub services: Vec<(String, String)>,
    /// Built-in hooks enabled.
    pub hooks: Vec<HookLibrary>,
    /// The whole section, for the API layer (authentication, TLS files, http-headers).
    pub params: serde_json::Value,
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    const ALPHA: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    let mut pad = 0;
    for ch in s.bytes().filter(|b| !b.is_ascii_whitespace()) {
        if ch == b'=' {
            pad += 1;
            continue;
        }
        if pad > 0 {
            return None;
        }
        let v = ALPHA.iter().position(|&a| a == ch)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if pad > 2 {
        return None;
    }
    Some(out)
}

fn tsig_key(c: &mut Checker, k: &V<'_>) -> Option<TsigKey> {
    let Some(name) = k.str("name") else {
        c.err(k, "TSIG key must specify a 'name'");
        return None;
    };
    let Some(alg) = k.get("algorithm") else {
        c.err(k, format!("TSIG key '{name}' must specify an 'algorithm'"));
        return None;
    };
    let algorithm = alg.as_str().unwrap_or("").to_ascii_uppercase();
    if !TSIG_ALGORITHMS.contains(&algorithm.as_str()) {
        c.err(
            &alg,
            format!(
                "TSIG key: unknown algorithm '{}' (expected one of {})",
                alg.as_str().unwrap_or(""),
                TSIG_ALGORITHMS.join(", ")
            ),
        );
        return None;
    }
    let digest_bits = common::u32_of(c, k, "digest-bits").unwrap_or(0);
    let secret_text = match (k.get("secret"), k.get("secret-file")) {
        (Some(s), _) => Some((s.as_str().unwrap_or("").to_string(), s)),
        (None, Some(f)) => {
            let path = f.as_str().unwrap_or("");
            match crate::safefs::read_regular_file(Path::new(path), 1 << 20) {
                Ok(t) => Some((String::from_utf8_lossy(&t).trim().to_string(), f)),
                Err(e) => {
                    c.err(&f, format!("can't read secret-file '{path}': {e}"));
                    return None;
                }
            }
        }
        (None, None) => {
            c.err(k, format!("TSIG key '{name}' must specify a 'secret' or 'secret-file'"));
            return None;
        }
    };
    let (text, at) = secret_text?;
    match base64_decode(&text) {
        Some(secret) if !secret.is_empty() => Some(TsigKey { name: name.to_string(), algorithm, digest_bits, secret }),
        _ => {
            c.err(&at, format!("TSIG key '{name}': secret is not valid base64"));
            None
        }
    }
}

fn domains(c: &mut Checker, section: &V<'_>, key: &str, keys: &[TsigKey]) -> Vec<DdnsDomain> {
    let Some(mgr) = section.get(key) else { return Vec::new() };
    let mut out = Vec::new();
    let mut names = common::Seen::new();
    for d in mgr.list("ddns-domains") {
        let Some(name) = d.str("name") else {
            c.err(&d, "DDNS domain must specify a 'name'");
            continue;
        };
        if !names.first(name.to_ascii_lowercase()) {
            c.err(&d, format!("Duplicate domain specified: {name}"));
            continue;
        }
        let key_name = d.str("key-name").filter(|s| !s.is_empty()).map(str::to_string);
        if let Some(kn) = &key_name {
            if !keys.iter().any(|k| &k.name == kn) {
                let at = d.get("key-name").unwrap_or_else(|| d.clone());
                c.err(&at, format!("DdnsDomain : {name} specifies an undefined key: {kn}"));
            }
        }
        let mut servers = Vec::new();
        for s in d.list("dns-servers") {
            let Some(ipv) = s.get("ip-address") else {
                c.err(&s, "Dns Server must specify an 'ip-address'");
                continue;
            };
            let Some(ip) = ipv.as_str().and_then(|t| t.parse::<IpAddr>().ok()) else {
                c.err(
                    &ipv,
                    format!("Dns Server : ip-address '{}' is not a valid IP address", ipv.as_str().unwrap_or("")),
                );
                continue;
            };
            let port = common::int_in(c, &s, "port", 0, 65535).unwrap_or(53) as u16;
            let skey = s.str("key-name").filter(|t| !t.is_empty()).map(str::to_string);
            if let Some(kn) = &skey {
                if !keys.iter().any(|k| &k.name == kn) {
                    let at = s.get("key-name").unwrap_or_else(|| s.clone());
                    c.err(&at, format!("Dns Server : specifies an undefined key: {kn}"));
                }
            }
            servers.push(DnsServer { ip_address: ip, port, key_name: skey.or_else(|| key_name.clone()) });
        }
        out.push(DdnsDomain { name: name.to_string(), key_name, dns_servers: servers });
    }
    out
}

/// Builds and checks `DhcpDdns`.
pub(crate) fn build_ddns(c: &mut Checker, d: &V<'_>) -> Option<DhcpDdns> {
    let before = c.errors.len();
    let ip_address = match d.get("ip-address") {
        Some(v) => match v.as_str().and_then(|s| s.parse::<IpAddr>().ok()) {
            Some(ip) => ip,
            None => {
                c.err(&v, format!("invalid ip-address '{}'", v.as_str().unwrap_or("")));
                IpAddr::from([127, 0, 0, 1])
            }
        },
        None => IpAddr::from([127, 0, 0, 1]),
    };
    let port = common::int_in(c, d, "port", 1, 65535).unwrap_or(53001) as u16;
    let dns_server_timeout = common::int_in(c, d, "dns-server-timeout", 1, u32::MAX as i64).unwrap_or(500) as u32;
    let mut tsig_keys: Vec<TsigKey> = Vec::new();
    for k in d.list("tsig-keys") {
        if let Some(key) = tsig_key(c, &k) {
            if tsig_keys.iter().any(|x| x.name == key.name) {
                c.err(&k, format!("Duplicate TSIG key name specified : {}", key.name));
                continue;
            }
            tsig_keys.push(key);
        }
    }
    // Reference checks use every key named in the file, even ones with a bad secret.
    let named: Vec<TsigKey> = d
        .list("tsig-keys")
        .iter()
        .filter_map(|k| k.str("name"))
        .map(|n| TsigKey { name: n.to_string(), algorithm: String::new(), digest_bits: 0, secret: Vec::new() })
        .collect();
    let forward_domains = domains(c, d, "forward-ddns", &named);
    let reverse_domains = domains(c, d, "reverse-ddns", &named);
    let control_sockets = common::control_sockets(c, d);
    let hooks = common::hooks(c, d);
    if c.errors.len() > before {
        return None;
    }
    Some(DhcpDdns {
        ip_address,
        port,
        dns_server_timeout,
        tsig_keys,
        forward_domains,
        reverse_domains,
        control_sockets,
        hooks,
    })
}

/// Builds and checks `Control-agent`, including Kea's check that credential files exist.
pub(crate) fn build_agent(c: &mut Checker, a: &V<'_>) -> Option<ControlAgent> {
    let before = c.errors.len();
    let http_host = match a.get("http-host") {
        Some(v) => match v.as_str().and_then(|s| s.parse::<IpAddr>().ok()) {
            Some(ip) => ip,
            None => {
                c.err(&v, format!("invalid http-host '{}'", v.as_str().unwrap_or("")));
                IpAddr::from([127, 0, 0, 1])
            }
        },
        None => IpAddr::from([127, 0, 0, 1]),
    };
    let http_port = common::int_in(c, a, "http-port", 1, 65535).unwrap_or(8000) as u16;
    common::tls_triplet(c, a);
    let mut services = Vec::new();
    if let Some(cs) = a.get("control-sockets") {
        for (svc, s) in cs.entries() {
            match s.str("socket-name") {
                Some(name) => services.push((svc.to_string(), name.to_string())),
                None => c.err(&s, format!("control socket for {svc} requires 'socket-name'")),
            }
        }
    }
    if let Some(auth) = a.get("authentication") {
        let dir = auth.str("directory").unwrap_or("");
        for cl in auth.list("clients") {
            for key in ["user-file", "password-file"] {
                if let Some(f) = cl.get(key) {
                    let name = f.as_str().unwrap_or("");
                    let path = if dir.is_empty() || Path::new(name).is_absolute() {
                        Path::new(name).to_path_buf()
                    } else {
                        Path::new(dir).join(name)
                    };
                    if let Err(e) = crate::safefs::read_regular_file(&path, 1 << 20) {
                        c.err(&f, format!("can't open file '{}': {e}", path.display()));
                    }
                }
            }
        }
    }
    let hooks = common::hooks(c, a);
    if c.errors.len() > before {
        return None;
    }
    Some(ControlAgent { http_host, http_port, services, hooks, params: a.node.to_json() })
}

#[cfg(test)]
mod tests {
    use super::base64_decode;

    #[test]
    fn base64() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8h").unwrap(), b"hello!");
        assert!(base64_decode("a*b").is_none());
    }
}
