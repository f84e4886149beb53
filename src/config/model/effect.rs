//! Keys kakapo accepts but does not act on (issue "Kea, exactly": every key has its effect,
//! or `-t` says it has none). Each is named in a `KAKAPO_CONFIG_KEY_IGNORED` warning with the
//! reason, unless its value is the one that describes what kakapo does anyway (a time limit
//! of 0 where kakapo has none, say), so Kea's own example files list exactly what differs.

use super::{Checker, V};
use crate::config::Section;

/// The kind of map a key sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Global,
    Network,
    Subnet,
    Pool,
    PdPool,
    Reservation,
    Class,
    OptionData,
    Interfaces,
    Expired,
    Sanity,
    Compat,
    Logger,
    Output,
    Hook,
    Ddns,
    HostsDb,
    ConfigControl,
    LeaseDb,
}

/// The value of a key that matches kakapo's behaviour, so it needs no warning.
#[derive(Debug, Clone, Copy)]
enum Same {
    /// Any value differs from what kakapo does.
    Never,
    Bool(bool),
    Int(i64),
    Str(&'static str),
    /// An empty list or string.
    Empty,
}

/// Which daemon's section a rule is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fam {
    Both,
    V4,
    V6,
}

struct Rule {
    scopes: &'static [Scope],
    fam: Fam,
    key: &'static str,
    same: Same,
    why: &'static str,
}

use Scope::*;

const GUARDED: &[Scope] = &[Network, Subnet, Pool, PdPool];
const CLASSES_LATER: &str =
    "class expressions are not evaluated yet: a configured class matches only when a reservation names it";

const RULES: &[Rule] = &[
    Rule { scopes: &[Global], fam: Fam::V4, key: "dhcp4o6-port", same: Same::Int(0), why: "DHCPv4-over-DHCPv6 is not implemented" },
    Rule { scopes: &[Global], fam: Fam::V6, key: "dhcp4o6-port", same: Same::Int(0), why: "DHCPv4-over-DHCPv6 is not implemented" },
    Rule { scopes: &[Subnet], fam: Fam::V4, key: "4o6-interface", same: Same::Empty, why: "DHCPv4-over-DHCPv6 is not implemented" },
    Rule { scopes: &[Subnet], fam: Fam::V4, key: "4o6-interface-id", same: Same::Empty, why: "DHCPv4-over-DHCPv6 is not implemented" },
    Rule { scopes: &[Subnet], fam: Fam::V4, key: "4o6-subnet", same: Same::Empty, why: "DHCPv4-over-DHCPv6 is not implemented" },
    Rule { scopes: &[Global, Network, Subnet, Class], fam: Fam::V4, key: "offer-lifetime", same: Same::Int(0), why: "offered addresses are held for a fixed short time, not for offer-lifetime" },
    Rule { scopes: &[Global], fam: Fam::Both, key: "config-control", same: Same::Never, why: "configuration backends are not implemented" },
    Rule { scopes: &[Interfaces], fam: Fam::V4, key: "outbound-interface", same: Same::Str("same-as-inbound"), why: "replies leave through the interface the query came in on" },
    Rule { scopes: &[Interfaces], fam: Fam::Both, key: "service-sockets-require-all", same: Same::Never, why: "a socket that cannot be opened stops the service" },
    Rule { scopes: &[Interfaces], fam: Fam::Both, key: "service-sockets-retry-wait-time", same: Same::Never, why: "opening a socket is not retried" },
    Rule { scopes: &[Interfaces], fam: Fam::Both, key: "service-sockets-max-retries", same: Same::Int(0), why: "opening a socket is not retried" },
    Rule { scopes: &[Sanity], fam: Fam::Both, key: "extended-info-checks", same: Same::Str("none"), why: "extended information of loaded leases is not checked" },
    Rule { scopes: &[Compat], fam: Fam::Both, key: "lenient-option-parsing", same: Same::Bool(false), why: "malformed options are not parsed leniently" },
    Rule { scopes: &[Compat], fam: Fam::V4, key: "ignore-dhcp-server-identifier", same: Same::Bool(false), why: "the server identifier is always checked" },
    Rule { scopes: &[Logger], fam: Fam::Both, key: "debuglevel", same: Same::Int(99), why: "every debug message is logged at severity DEBUG, whatever its level" },
    Rule { scopes: &[Output], fam: Fam::Both, key: "pattern", same: Same::Empty, why: "log lines keep kakapo's layout" },
    Rule { scopes: &[Class], fam: Fam::Both, key: "test", same: Same::Empty, why: CLASSES_LATER },
    Rule { scopes: &[Class], fam: Fam::Both, key: "template-test", same: Same::Empty, why: CLASSES_LATER },
    Rule { scopes: &[Class], fam: Fam::Both, key: "only-if-required", same: Same::Bool(false), why: CLASSES_LATER },
    Rule { scopes: &[Class], fam: Fam::Both, key: "only-in-additional-list", same: Same::Bool(false), why: CLASSES_LATER },
    Rule { scopes: GUARDED, fam: Fam::Both, key: "require-client-classes", same: Same::Empty, why: CLASSES_LATER },
    Rule { scopes: GUARDED, fam: Fam::Both, key: "evaluate-additional-classes", same: Same::Empty, why: CLASSES_LATER },
    Rule { scopes: &[Pool, PdPool], fam: Fam::V6, key: "pool-id", same: Same::Never, why: "DHCPv6 leases and pool statistics use the pool's position, not its pool-id" },
    Rule { scopes: &[Reservation], fam: Fam::Both, key: "flex-id", same: Same::Never, why: "flexible identifiers are not computed (the flex_id hook is not built in)" },
    Rule { scopes: &[Reservation], fam: Fam::V6, key: "excluded-prefixes", same: Same::Empty, why: "reserved prefixes are delegated without exclusions" },
    Rule { scopes: &[Ddns], fam: Fam::Both, key: "enable-updates", same: Same::Bool(false), why: "DNS updates are not implemented yet, so neither this nor any ddns-* or hostname-char-* parameter has an effect" },
    Rule { scopes: &[Hook], fam: Fam::Both, key: "parameters", same: Same::Never, why: "the hook's parameters are not read" },
];

/// Hook libraries whose function kakapo does not have yet.
const HOOKS_WITHOUT_EFFECT: &[(&str, &str)] = &[
    ("libdhcp_ha.so", "high availability is not implemented yet"),
    ("libdhcp_flex_option.so", "flexible options are not implemented yet"),
    ("libdhcp_bootp.so", "BOOTP queries (no message type) are not answered"),
    ("libdhcp_class_cmds.so", "the class-* commands are not implemented"),
];

/// The scope of the maps under `key` in a map of scope `outer`.
fn child_scope(outer: Scope, key: &str) -> Option<Scope> {
    Some(match (outer, key) {
        (Global, "shared-networks") => Network,
        (Global | Network, "subnet4" | "subnet6") => Subnet,
        (Subnet, "pools") => Pool,
        (Subnet, "pd-pools") => PdPool,
        (Global | Subnet, "reservations") => Reservation,
        (Global, "client-classes") => Class,
        (_, "option-data") => OptionData,
        (Global, "interfaces-config") => Interfaces,
        (Global, "expired-leases-processing") => Expired,
        (Global, "sanity-checks") => Sanity,
        (Global, "compatibility") => Compat,
        (Global, "loggers") => Logger,
        (Logger, "output-options" | "output_options") => Output,
        (Global, "hooks-libraries") => Hook,
        (Global, "dhcp-ddns") => Ddns,
        (Global, "hosts-database" | "hosts-databases") => HostsDb,
        (Global, "config-control") => ConfigControl,
        (Global, "lease-database") => LeaseDb,
        _ => return None,
    })
}

/// Every (sample path, key) the rules and the scope map name, for the test that checks them
/// against the raw mirror.
#[cfg(test)]
pub(super) fn rule_keys() -> Vec<(String, &'static str)> {
    let path = |scope: Scope, v6: bool| -> Option<String> {
        let (root, subnets) = if v6 { ("Dhcp6", "subnet6") } else { ("Dhcp4", "subnet4") };
        let tail = match scope {
            Global => String::new(),
            Network => ".shared-networks[0]".into(),
            Subnet => format!(".{subnets}[0]"),
            Pool => format!(".{subnets}[0].pools[0]"),
            PdPool if v6 => format!(".{subnets}[0].pd-pools[0]"),
            PdPool => return None,
            Reservation => ".reservations[0]".into(),
            Class => ".client-classes[0]".into(),
            OptionData => ".option-data[0]".into(),
            Interfaces => ".interfaces-config".into(),
            Expired => ".expired-leases-processing".into(),
            Sanity => ".sanity-checks".into(),
            Compat => ".compatibility".into(),
            Logger => ".loggers[0]".into(),
            Output => ".loggers[0].output-options[0]".into(),
            Hook => ".hooks-libraries[0]".into(),
            Ddns => ".dhcp-ddns".into(),
            HostsDb => ".hosts-databases[0]".into(),
            ConfigControl => ".config-control".into(),
            LeaseDb => ".lease-database".into(),
        };
        Some(format!("{root}{tail}"))
    };
    let mut out = Vec::new();
    for r in RULES {
        let families: &[bool] = match r.fam {
            Fam::V4 => &[false],
            Fam::V6 => &[true],
            Fam::Both => &[false, true],
        };
        for &scope in r.scopes {
            for &v6 in families {
                out.extend(path(scope, v6).map(|p| (p, r.key)));
            }
        }
    }
    for (scope, key) in [(Logger, "severity"), (Hook, "library"), (LeaseDb, "type")] {
        out.extend([false, true].iter().filter_map(|&v6| path(scope, v6)).map(|p| (p, key)));
    }
    out
}

fn is_same(v: &V<'_>, same: Same) -> bool {
    use crate::config::text::Value;
    match same {
        Same::Never => false,
        Same::Bool(b) => v.as_bool() == Some(b),
        Same::Int(i) => v.as_int() == Some(i),
        Same::Str(s) => v.as_str() == Some(s),
        Same::Empty => match &v.node.value {
            Value::List(items) => items.is_empty(),
            Value::Str(s) => s.is_empty(),
            Value::Null => true,
            _ => false,
        },
    }
}

fn ignored(c: &mut Checker, at: &V<'_>, key: &str, why: &str) {
    c.warn(at, format!("KAKAPO_CONFIG_KEY_IGNORED '{key}' is accepted and has no effect: {why}"));
}

/// Names every key of the `Dhcp4`/`Dhcp6` section `v` that kakapo accepts without acting on.
pub(crate) fn warn_without_effect(c: &mut Checker, v: &V<'_>, section: Section) {
    let fam = match section {
        Section::Dhcp4 => Fam::V4,
        Section::Dhcp6 => Fam::V6,
        _ => return,
    };
    visit(c, v, Global, fam);
}

fn visit(c: &mut Checker, v: &V<'_>, scope: Scope, fam: Fam) {
    for (key, child) in v.entries() {
        let rule =
            RULES.iter().find(|r| r.key == key && r.scopes.contains(&scope) && (r.fam == Fam::Both || r.fam == fam));
        // A debug level means something only to a logger that logs debug messages.
        let moot = scope == Logger && key == "debuglevel" && v.str("severity") != Some("DEBUG");
        if let Some(r) = rule.filter(|r| !moot && !is_same(&child, r.same)) {
            ignored(c, &child, key, r.why);
        }
        if scope == Hook && key == "library" {
            let file = child.as_str().unwrap_or_default().rsplit('/').next().unwrap_or_default();
            if let Some((_, why)) = HOOKS_WITHOUT_EFFECT.iter().find(|(lib, _)| *lib == file) {
                ignored(c, &child, key, &format!("{file}: {why}"));
            }
        }
        if scope == LeaseDb && key == "type" {
            if let Some(t) = child.as_str().filter(|t| !matches!(*t, "memfile" | "postgresql")) {
                c.warn(&child, format!("KAKAPO_CONFIG_LEASE_BACKEND lease database type '{t}' is not implemented yet: the server will refuse to start with it"));
            }
        }
        let Some(inner) = child_scope(scope, key) else { continue };
        match &child.node.value {
            crate::config::text::Value::List(_) => {
                let parent = v.clone();
                for item in parent.list(key) {
                    visit(c, &item, inner, fam);
                }
            }
            crate::config::text::Value::Map(_) => visit(c, &child, inner, fam),
            _ => {}
        }
    }
}
