//! Prometheus text exposition (format 0.0.4) of the statistics (Kea ARM 8.9 "Statistics"):
//! the newest value of every statistic, served on `GET /metrics`.
//!
//! Naming: `kea_<prefix>_<name>` with every character outside `[a-zA-Z0-9_]` mapped to `_`,
//! and `_total` after the name of a counter (Prometheus naming; `promtool check metrics`).
//! Bracketed scopes become labels and their word stays in the metric name:
//! `subnet[1].assigned-addresses` -> `kea_dhcp4_subnet_assigned_addresses{subnet_id="1"}`,
//! `subnet[1].pool[0].assigned-addresses` ->
//! `kea_dhcp4_subnet_pool_assigned_addresses{subnet_id="1",pool_id="0"}`; in general
//! `word[X]` gives the label `<word>_id="X"` (`pd-pool[0]` -> `pd_pool_id`, D2's
//! `key[name.]` -> `key_id`). Label values are escaped; no sample timestamps are emitted.
//!
//! Type rule: a statistic is a `counter` when Kea documents it as counting events (Kea ARM
//! 8.9 / 9.x statistics tables), i.e. its last name part starts with `pkt4-`, `pkt6-`,
//! `cumulative-`, `reclaimed-`, `ncr-` or `update-` (D2), contains `allocation-fail`, or
//! ends with `reservation-conflicts` or `lease-reuses`; every other statistic (address and
//! prefix totals, assigned and declined counts, which go down) is a `gauge`. Counters can still
//! drop to 0 on `statistic-reset`, which Prometheus treats as a counter reset.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::stats::Stats;

/// Prometheus type of a metric family (Kea ARM 8.9 statistics, exposition format 0.0.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// A value that only grows (between resets).
    Counter,
    /// A value that goes up and down.
    Gauge,
}

impl MetricType {
    fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
        }
    }
}

/// The Prometheus type for the Kea statistic `name`, per the rule in this module's docs (Kea
/// ARM 8.9 statistics tables).
pub fn metric_type(name: &str) -> MetricType {
    let leaf = split(name).map_or(name, |p| p.leaf);
    const PREFIXES: &[&str] = &["pkt4-", "pkt6-", "cumulative-", "reclaimed-", "ncr-", "update-"];
    const SUFFIXES: &[&str] = &["reservation-conflicts", "lease-reuses"];
    if PREFIXES.iter().any(|p| leaf.starts_with(p))
        || SUFFIXES.iter().any(|s| leaf.ends_with(s))
        || leaf.contains("allocation-fail")
    {
        MetricType::Counter
    } else {
        MetricType::Gauge
    }
}

/// A statistic name split into its bracketed scopes and its last part.
struct Parts<'a> {
    /// `(word, id)` for each `word[id].` scope, in order.
    scopes: Vec<(&'a str, &'a str)>,
    leaf: &'a str,
}

/// Splits `subnet[1].pool[0].x` into scopes and leaf; `None` when brackets do not balance.
/// Ids may contain dots (D2 key names), so scanning follows the brackets.
fn split(name: &str) -> Option<Parts<'_>> {
    let mut scopes = Vec::new();
    let mut rest = name;
    loop {
        let Some(open) = rest.find('[') else {
            if rest.contains(']') {
                return None;
            }
            return Some(Parts { scopes, leaf: rest });
        };
        let word = &rest[..open];
        if word.is_empty() || word.contains(['.', ']']) {
            return None;
        }
        let close = open + rest[open..].find(']')?;
        let id = &rest[open + 1..close];
        rest = rest[close + 1..].strip_prefix('.')?;
        scopes.push((word, id));
    }
}

fn sanitize_into(out: &mut String, s: &str) {
    out.extend(s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }));
}

fn escape_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

/// One metric family: type, help text and its series (label pairs, value).
struct Family {
    kind: MetricType,
    help: String,
    series: Vec<(Vec<(String, String)>, i64)>,
}

/// Family name, labels and help pattern for the statistic `name`.
fn describe(prefix: &str, name: &str) -> (String, Vec<(String, String)>, String) {
    let mut family = String::from("kea_");
    sanitize_into(&mut family, prefix);
    family.push('_');
    match split(name) {
        Some(p) if !p.scopes.is_empty() => {
            let mut labels = Vec::with_capacity(p.scopes.len());
            let mut help = String::new();
            for (word, id) in &p.scopes {
                sanitize_into(&mut family, word);
                family.push('_');
                let mut label = String::new();
                sanitize_into(&mut label, word);
                label.push_str("_id");
                labels.push((label, (*id).to_string()));
                let _ = write!(help, "{word}[*].");
            }
            sanitize_into(&mut family, p.leaf);
            help.push_str(p.leaf);
            (family, labels, help)
        }
        _ => {
            sanitize_into(&mut family, name);
            (family, Vec::new(), name.to_string())
        }
    }
}

/// Orders label values numerically when both are integers, else as strings.
fn cmp_labels(a: &[(String, String)], b: &[(String, String)]) -> Ordering {
    for ((ka, va), (kb, vb)) in a.iter().zip(b) {
        let o = ka.cmp(kb).then_with(|| match (va.parse::<u64>(), vb.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => va.cmp(vb),
        });
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// Renders every statistic's newest value in Prometheus text format 0.0.4 as
/// `kea_<prefix>_<name>` (`prefix` e.g. `dhcp4`, `dhcp6`, `d2`), one `# HELP` and `# TYPE` per
/// family, families sorted by name and series by labels (Kea ARM 8.9 "Statistics").
pub fn render(stats: &Stats, prefix: &str) -> String {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    for (name, sample) in stats.all() {
        let (mut family, labels, help) = describe(prefix, &name);
        let kind = metric_type(&name);
        // Prometheus naming: a counter's name ends in `_total`.
        if kind == MetricType::Counter {
            family.push_str("_total");
        }
        let f = families.entry(family).or_insert_with(|| Family {
            kind,
            help: format!("Kea statistic '{help}'"),
            series: Vec::new(),
        });
        f.series.push((labels, sample.value));
    }
    let mut out = String::new();
    for (name, mut f) in families {
        f.series.sort_by(|a, b| cmp_labels(&a.0, &b.0));
        // Names differing only in mapped characters (`a-b`, `a_b`) would repeat a series.
        f.series.dedup_by(|a, b| a.0 == b.0);
        let _ = writeln!(out, "# HELP {name} {}", escape_help(&f.help));
        let _ = writeln!(out, "# TYPE {name} {}", f.kind.as_str());
        for (labels, value) in &f.series {
            out.push_str(&name);
            if !labels.is_empty() {
                out.push('{');
                for (i, (k, v)) in labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{k}=\"{}\"", escape_label(v));
                }
                out.push('}');
            }
            let _ = writeln!(out, " {value}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_name(s: &str) -> bool {
        let mut chars = s.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }

    fn is_label_name(s: &str) -> bool {
        is_name(s) && !s.contains(':')
    }

    /// Parses `{k="v",...}` at the start of `s`; returns the rest.
    fn parse_labels(mut s: &str) -> Result<&str, String> {
        s = s.strip_prefix('{').ok_or("no {")?;
        if let Some(rest) = s.strip_prefix('}') {
            return Ok(rest);
        }
        loop {
            let eq = s.find('=').ok_or("no =")?;
            if !is_label_name(&s[..eq]) {
                return Err(format!("bad label name {:?}", &s[..eq]));
            }
            s = s[eq + 1..].strip_prefix('"').ok_or("no opening quote")?;
            let mut chars = s.char_indices();
            let end = loop {
                match chars.next().ok_or("unterminated value")? {
                    (_, '\\') => match chars.next().ok_or("dangling escape")?.1 {
                        '\\' | '"' | 'n' => {}
                        c => return Err(format!("bad escape {c}")),
                    },
                    (i, '"') => break i,
                    (_, '\n') => return Err("raw newline".into()),
                    _ => {}
                }
            };
            s = &s[end + 1..];
            if let Some(rest) = s.strip_prefix('}') {
                return Ok(rest);
            }
            s = s.strip_prefix(',').ok_or("no , between labels")?;
        }
    }

    /// A small validator for the 0.0.4 text grammar as this renderer uses it; also checks
    /// that each family has one HELP and TYPE before its samples, and families are contiguous.
    fn validate(text: &str) -> Result<(), String> {
        if !text.is_empty() && !text.ends_with('\n') {
            return Err("no final newline".into());
        }
        let mut current: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        let mut typed = false;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, _help) = rest.split_once(' ').ok_or(format!("HELP without text: {line}"))?;
                if !is_name(name) || !seen.insert(name.to_string()) {
                    return Err(format!("bad or repeated HELP: {line}"));
                }
                current = Some(name.to_string());
                typed = false;
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').ok_or(format!("bad TYPE: {line}"))?;
                if Some(name) != current.as_deref() || typed || !["gauge", "counter"].contains(&kind) {
                    return Err(format!("bad TYPE: {line}"));
                }
                typed = true;
            } else {
                let end = line.find(['{', ' ']).ok_or(format!("bad sample: {line}"))?;
                let name = &line[..end];
                if !is_name(name) || Some(name) != current.as_deref() || !typed {
                    return Err(format!("sample outside its family: {line}"));
                }
                let mut rest = &line[end..];
                if rest.starts_with('{') {
                    rest = parse_labels(rest).map_err(|e| format!("{e}: {line}"))?;
                }
                let value = rest.strip_prefix(' ').ok_or(format!("no value: {line}"))?;
                value.parse::<f64>().map_err(|_| format!("bad value: {line}"))?;
            }
        }
        Ok(())
    }

    fn sample_stats() -> Stats {
        let s = Stats::default();
        s.add("pkt4-received", 5, 1);
        s.add("pkt4-ack-sent", 2, 1);
        s.set("subnet[10].total-addresses", 100, 1);
        s.set("subnet[2].total-addresses", 200, 1);
        s.set("subnet[2].assigned-addresses", 3, 1);
        s.set("subnet[2].pool[0].assigned-addresses", 1, 1);
        s.set("subnet[2].pool[1].assigned-addresses", 2, 1);
        s.add("subnet[2].cumulative-assigned-addresses", 7, 1);
        s.add("v4-allocation-fail-subnet", 1, 1);
        s.set("declined-addresses", -1, 1);
        s
    }

    #[test]
    fn renders_families() {
        let text = render(&sample_stats(), "dhcp4");
        validate(&text).unwrap();
        let expected = "\
# HELP kea_dhcp4_declined_addresses Kea statistic 'declined-addresses'
# TYPE kea_dhcp4_declined_addresses gauge
kea_dhcp4_declined_addresses -1
# HELP kea_dhcp4_pkt4_ack_sent_total Kea statistic 'pkt4-ack-sent'
# TYPE kea_dhcp4_pkt4_ack_sent_total counter
kea_dhcp4_pkt4_ack_sent_total 2
# HELP kea_dhcp4_pkt4_received_total Kea statistic 'pkt4-received'
# TYPE kea_dhcp4_pkt4_received_total counter
kea_dhcp4_pkt4_received_total 5
# HELP kea_dhcp4_subnet_assigned_addresses Kea statistic 'subnet[*].assigned-addresses'
# TYPE kea_dhcp4_subnet_assigned_addresses gauge
kea_dhcp4_subnet_assigned_addresses{subnet_id=\"2\"} 3
# HELP kea_dhcp4_subnet_cumulative_assigned_addresses_total Kea statistic 'subnet[*].cumulative-assigned-addresses'
# TYPE kea_dhcp4_subnet_cumulative_assigned_addresses_total counter
kea_dhcp4_subnet_cumulative_assigned_addresses_total{subnet_id=\"2\"} 7
# HELP kea_dhcp4_subnet_pool_assigned_addresses Kea statistic 'subnet[*].pool[*].assigned-addresses'
# TYPE kea_dhcp4_subnet_pool_assigned_addresses gauge
kea_dhcp4_subnet_pool_assigned_addresses{subnet_id=\"2\",pool_id=\"0\"} 1
kea_dhcp4_subnet_pool_assigned_addresses{subnet_id=\"2\",pool_id=\"1\"} 2
# HELP kea_dhcp4_subnet_total_addresses Kea statistic 'subnet[*].total-addresses'
# TYPE kea_dhcp4_subnet_total_addresses gauge
kea_dhcp4_subnet_total_addresses{subnet_id=\"2\"} 200
kea_dhcp4_subnet_total_addresses{subnet_id=\"10\"} 100
# HELP kea_dhcp4_v4_allocation_fail_subnet_total Kea statistic 'v4-allocation-fail-subnet'
# TYPE kea_dhcp4_v4_allocation_fail_subnet_total counter
kea_dhcp4_v4_allocation_fail_subnet_total 1
";
        assert_eq!(text, expected);
        // Stable: same input, same output.
        assert_eq!(render(&sample_stats(), "dhcp4"), text);
    }

    #[test]
    fn newest_value_only() {
        let s = Stats::default();
        s.add("pkt6-received", 1, 1);
        s.add("pkt6-received", 1, 2);
        let text = render(&s, "dhcp6");
        assert!(text.ends_with("\nkea_dhcp6_pkt6_received_total 2\n"), "{text}");
        validate(&text).unwrap();
    }

    #[test]
    fn empty_registry_renders_nothing() {
        assert_eq!(render(&Stats::default(), "dhcp4"), "");
        validate("").unwrap();
    }

    #[test]
    fn odd_names_stay_valid() {
        let s = Stats::default();
        s.set("subnet[1].pd-pool[0].assigned-pds", 4, 1);
        s.add("key[foo.bar.].update-sent", 1, 1);
        s.set("weird name\"with\\stuff", 1, 1);
        s.set("broken[1.x", 1, 1);
        s.set("subnet[a\"b\\c\nd].x", 1, 1);
        s.set("a-b", 1, 1);
        s.set("a_b", 2, 1);
        let text = render(&s, "d2");
        validate(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(text.contains("kea_d2_subnet_pd_pool_assigned_pds{subnet_id=\"1\",pd_pool_id=\"0\"} 4\n"), "{text}");
        assert!(text.contains("# TYPE kea_d2_key_update_sent_total counter\n"), "{text}");
        assert!(text.contains("kea_d2_key_update_sent_total{key_id=\"foo.bar.\"} 1\n"), "{text}");
        assert!(text.contains("kea_d2_broken_1_x 1\n"), "{text}");
        assert!(text.contains("kea_d2_subnet_x{subnet_id=\"a\\\"b\\\\c\\nd\"} 1\n"), "{text}");
        assert_eq!(text.lines().filter(|l| l.starts_with("kea_d2_a_b ")).count(), 1, "{text}");
        assert!(text.contains("\nkea_d2_a_b 1\n"), "{text}");
    }

    #[test]
    fn types() {
        for c in [
            "pkt4-received",
            "pkt6-receive-drop",
            "cumulative-assigned-addresses",
            "subnet[1].cumulative-assigned-nas",
            "reclaimed-leases",
            "subnet[3].reclaimed-declined-addresses",
            "v4-allocation-fail-classes",
            "v6-allocation-fail-no-pools",
            "v4-reservation-conflicts",
            "subnet[1].v4-lease-reuses",
            "v6-ia-pd-lease-reuses",
            "ncr-received",
            "key[k.].update-error",
        ] {
            assert_eq!(metric_type(c), MetricType::Counter, "{c}");
        }
        for g in [
            "subnet[1].total-addresses",
            "subnet[1].assigned-addresses",
            "declined-addresses",
            "subnet[1].pool[0].total-nas",
            "subnet[1].pd-pool[0].assigned-pds",
        ] {
            assert_eq!(metric_type(g), MetricType::Gauge, "{g}");
        }
    }

    #[test]
    fn validator_rejects_bad_text() {
        assert!(validate("kea_x 1\n").is_err());
        assert!(validate("# HELP kea_x h\n# TYPE kea_x histogram\nkea_x 1\n").is_err());
        assert!(validate("# HELP kea_x h\n# TYPE kea_x gauge\nkea_x{a=\"b} 1\n").is_err());
        assert!(validate("# HELP kea_x h\n# TYPE kea_x gauge\nkea_x{1a=\"b\"} 1\n").is_err());
        assert!(validate("# HELP kea_x h\n# TYPE kea_x gauge\nkea_x one\n").is_err());
        assert!(validate("# HELP kea-x h\n# TYPE kea-x gauge\nkea-x 1\n").is_err());
        assert!(validate("# HELP kea_x h\n# TYPE kea_x gauge\nkea_x{a=\"b\"} 1\n").is_ok());
    }
}
