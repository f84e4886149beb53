//! The `DhcpDdns` (Kea ARM 12.2) and `Control-agent` (Kea ARM 7.2) sections.

use std::net::IpAddr;
use std::path::Path;

use super::common::{self, AsChannel, HookLibrary};
use super::{list, Checker, ControlSocket};
use crate::config::de::Loc;
use crate::config::raw;

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
    /// The agent's HTTP(S) listener.
    pub http: common::HttpChannel,
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

fn tsig_key(c: &mut Checker, k: &raw::ddns::TsigKey) -> Option<TsigKey> {
    let Some(name) = k.name.as_deref() else {
        c.err(&k.loc, "TSIG key must specify a 'name'");
        return None;
    };
    let Some(alg) = k.algorithm.as_deref() else {
        c.err(&k.loc, format!("TSIG key '{name}' must specify an 'algorithm'"));
        return None;
    };
    let algorithm = alg.to_ascii_uppercase();
    if !TSIG_ALGORITHMS.contains(&algorithm.as_str()) {
        c.err(
            k.loc.key("algorithm"),
            format!("TSIG key: unknown algorithm '{alg}' (expected one of {})", TSIG_ALGORITHMS.join(", ")),
        );
        return None;
    }
    let digest_bits = common::u32_of(c, &k.loc, "digest-bits", k.digest_bits).unwrap_or(0);
    let (text, at) = match (k.secret.as_deref(), k.secret_file.as_deref()) {
        (Some(s), _) => (s.to_string(), k.loc.key("secret")),
        (None, Some(path)) => match crate::safefs::read_regular_file(Path::new(path), 1 << 20) {
            Ok(t) => (String::from_utf8_lossy(&t).trim().to_string(), k.loc.key("secret-file")),
            Err(e) => {
                c.err(k.loc.key("secret-file"), format!("can't read secret-file '{path}': {e}"));
                return None;
            }
        },
        (None, None) => {
            c.err(&k.loc, format!("TSIG key '{name}' must specify a 'secret' or 'secret-file'"));
            return None;
        }
    };
    match base64_decode(&text) {
        Some(secret) if !secret.is_empty() => Some(TsigKey { name: name.to_string(), algorithm, digest_bits, secret }),
        _ => {
            c.err(at, format!("TSIG key '{name}': secret is not valid base64"));
            None
        }
    }
}

/// A `key-name` that must name one of the file's TSIG keys (an empty one is none).
fn key_ref(c: &mut Checker, at: &Loc, key: Option<&str>, keys: &[&str], what: &str) -> Option<String> {
    let kn = key.filter(|s| !s.is_empty())?;
    if !keys.contains(&kn) {
        c.err(at.key("key-name"), format!("{what} specifies an undefined key: {kn}"));
    }
    Some(kn.to_string())
}

fn dns_server(
    c: &mut Checker,
    s: &raw::ddns::DnsServer,
    keys: &[&str],
    domain_key: &Option<String>,
) -> Option<DnsServer> {
    let Some(text) = s.ip_address.as_deref() else {
        c.err(&s.loc, "Dns Server must specify an 'ip-address'");
        return None;
    };
    let Ok(ip) = text.parse::<IpAddr>() else {
        c.err(s.loc.key("ip-address"), format!("Dns Server : ip-address '{text}' is not a valid IP address"));
        return None;
    };
    let port = common::int_in(c, &s.loc, "port", s.port, 0, 65535).unwrap_or(53) as u16;
    let skey = key_ref(c, &s.loc, s.key_name.as_deref(), keys, "Dns Server :");
    Some(DnsServer { ip_address: ip, port, key_name: skey.or_else(|| domain_key.clone()) })
}

fn domains(c: &mut Checker, mgr: Option<&raw::ddns::DdnsDomainList>, keys: &[&str]) -> Vec<DdnsDomain> {
    let Some(mgr) = mgr else { return Vec::new() };
    let mut out = Vec::new();
    let mut names = common::Seen::new();
    for d in list(&mgr.ddns_domains) {
        let Some(name) = d.name.as_deref() else {
            c.err(&d.loc, "DDNS domain must specify a 'name'");
            continue;
        };
        if !names.first(name.to_ascii_lowercase()) {
            c.err(&d.loc, format!("Duplicate domain specified: {name}"));
            continue;
        }
        let key_name = key_ref(c, &d.loc, d.key_name.as_deref(), keys, &format!("DdnsDomain : {name}"));
        let servers = list(&d.dns_servers).iter().filter_map(|s| dns_server(c, s, keys, &key_name)).collect();
        out.push(DdnsDomain { name: name.to_string(), key_name, dns_servers: servers });
    }
    out
}

/// An address text (the key `key` of the map at `at`) with 127.0.0.1 as its default.
fn address_or_localhost(c: &mut Checker, at: &Loc, key: &str, text: Option<&str>) -> IpAddr {
    let localhost = IpAddr::from([127, 0, 0, 1]);
    let Some(text) = text else { return localhost };
    text.parse().unwrap_or_else(|_| {
        c.err(at.key(key), format!("invalid {key} '{text}'"));
        localhost
    })
}

/// Builds and checks `DhcpDdns` from its typed raw mirror.
pub(crate) fn build_ddns(c: &mut Checker, d: &raw::ddns::DhcpDdns) -> Option<DhcpDdns> {
    let before = c.errors.len();
    let ip_address = address_or_localhost(c, &d.loc, "ip-address", d.ip_address.as_deref());
    let port = common::int_in(c, &d.loc, "port", d.port, 1, 65535).unwrap_or(53001) as u16;
    let dns_server_timeout =
        common::int_in(c, &d.loc, "dns-server-timeout", d.dns_server_timeout, 1, u32::MAX as i64).unwrap_or(500) as u32;
    let mut tsig_keys: Vec<TsigKey> = Vec::new();
    for k in list(&d.tsig_keys) {
        if let Some(key) = tsig_key(c, k) {
            if tsig_keys.iter().any(|x| x.name == key.name) {
                c.err(&k.loc, format!("Duplicate TSIG key name specified : {}", key.name));
                continue;
            }
            tsig_keys.push(key);
        }
    }
    // Reference checks use every key named in the file, even ones with a bad secret.
    let named: Vec<&str> = list(&d.tsig_keys).iter().filter_map(|k| k.name.as_deref()).collect();
    let forward_domains = domains(c, d.forward_ddns.as_ref(), &named);
    let reverse_domains = domains(c, d.reverse_ddns.as_ref(), &named);
    let control_sockets =
        common::control_sockets(c, &d.loc, common::channels_of(&d.control_socket, &d.control_sockets));
    let hooks = common::hooks(c, list(&d.hooks_libraries));
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

/// Kea's check that the agent's credential files can be read.
fn credential_files(c: &mut Checker, auth: &raw::common::Authentication) {
    let dir = auth.directory.as_deref().unwrap_or("");
    for cl in list(&auth.clients) {
        for (key, file) in [("user-file", &cl.user_file), ("password-file", &cl.password_file)] {
            let Some(name) = file.as_deref() else { continue };
            let path = if dir.is_empty() || Path::new(name).is_absolute() {
                Path::new(name).to_path_buf()
            } else {
                Path::new(dir).join(name)
            };
            if let Err(e) = crate::safefs::read_regular_file(&path, 1 << 20) {
                c.err(cl.loc.key(key), format!("can't open file '{}': {e}", path.display()));
            }
        }
    }
}

/// Builds and checks `Control-agent` from its typed raw mirror, including Kea's check that
/// credential files exist.
pub(crate) fn build_agent(c: &mut Checker, a: &raw::agent::ControlAgent) -> Option<ControlAgent> {
    let before = c.errors.len();
    let http_host = address_or_localhost(c, &a.loc, "http-host", a.http_host.as_deref());
    let http_port = common::int_in(c, &a.loc, "http-port", a.http_port, 1, 65535).unwrap_or(8000) as u16;
    let http = common::http_channel(c, &a.channel(), http_host, http_port);
    let mut services = Vec::new();
    if let Some(cs) = &a.control_sockets {
        for (svc, s) in [("dhcp4", &cs.dhcp4), ("dhcp6", &cs.dhcp6), ("d2", &cs.d2)] {
            let Some(s) = s else { continue };
            match s.socket_name.as_deref() {
                Some(name) => services.push((svc.to_string(), name.to_string())),
                None => c.err(&s.loc, format!("control socket for {svc} requires 'socket-name'")),
            }
        }
    }
    if let Some(auth) = &a.authentication {
        credential_files(c, auth);
    }
    let hooks = common::hooks(c, list(&a.hooks_libraries));
    if c.errors.len() > before {
        return None;
    }
    Some(ControlAgent { http_host, http_port, services, hooks, http: http? })
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
