//! Every log line that carries one of Kea's message IDs carries Kea's text for it (Kea's
//! message catalog, `kea-messages.html` from Debian's kea-doc 2.2): operators and their tools
//! grep the IDs and the texts. A `%N` of Kea's template may hold any text; the fixed words
//! around it must be Kea's, in Kea's order. Messages of kakapo's own start with `KAKAPO_`;
//! the few IDs Kea 2.2's catalog lacks are listed below with the reason.

use std::collections::BTreeMap;
use std::path::Path;

const CATALOG: &str = "/usr/share/doc/kea/html/kea-messages.html";

/// IDs that are not in Kea 2.2's catalog, and why they are used anyway.
const NOT_IN_KEA_2_2: &[(&str, &str)] = &[
    ("COMMAND_CONFIG_WRITE_PATH_SECURITY_WARNING", "Kea 3.0 security policy"),
    ("COMMAND_UNIX_SOCKET_PERMISSIONS_SECURITY_WARNING", "Kea 3.0 security policy"),
    ("DCTL_ROOT_USER_SECURITY_WARNING", "Kea 3.0 security policy"),
    ("HTTP_COMMAND_MGR_SERVICE_STARTED", "Kea 3.0 HTTP control sockets in the DHCP daemons"),
    ("IA_TA", "not a log message: the text of a lease command answer"),
    ("VENDOR_CLASS_MSFT", "not a log message: a vendor class value"),
    ("IPV6_ADD_MEMBERSHIP", "not a log message: a socket option in an error text"),
];

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#8217;", "'")
        .replace("&#8216;", "'")
        .replace("&#8220;", "\"")
        .replace("&#8221;", "\"")
        .replace("&amp;", "&")
        // Sphinx's typographic quotes; Kea's source has plain ones.
        .replace(['\u{2019}', '\u{2018}'], "'")
        .replace(['\u{201c}', '\u{201d}'], "\"")
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// ID -> template, from the catalog's `<p><strong>ID</strong></p> <p>template</p>` pairs.
fn catalog(html: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = html;
    while let Some(i) = rest.find("<p><strong>") {
        rest = &rest[i + 11..];
        let Some(end) = rest.find("</strong></p>") else { break };
        let id = rest[..end].to_string();
        let after = rest[end + 13..].trim_start();
        if let (Some(body), true) =
            (after.strip_prefix("<p>"), id.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        {
            if let Some(close) = body.find("</p>") {
                let mut text = String::new();
                let mut in_tag = false;
                for c in body[..close].chars() {
                    match c {
                        '<' => in_tag = true,
                        '>' => in_tag = false,
                        c if !in_tag => text.push(c),
                        _ => {}
                    }
                }
                out.insert(id, squash(&unescape(&text)));
            }
        }
    }
    out
}

/// Whether `ours` (placeholders as `\0`) fits `template` (Kea's `%N` match any text).
fn fits(ours: &str, template: &str) -> bool {
    let mut fixed: Vec<&str> = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find('%') {
        let digits = rest[i + 1..].chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            // A literal percent sign.
            fixed.push(&rest[..=i]);
            rest = &rest[i + 1..];
            continue;
        }
        fixed.push(&rest[..i]);
        fixed.push("\u{1}");
        rest = &rest[i + 1 + digits..];
    }
    fixed.push(rest);
    // Greedy left-to-right match of the fixed parts; a wildcard eats anything.
    let text = ours;
    let mut pos = 0usize;
    let mut wild = false;
    for part in fixed.iter().filter(|p| !p.is_empty()) {
        if *part == "\u{1}" {
            wild = true;
            continue;
        }
        if wild {
            match text[pos..].find(part) {
                Some(i) => pos += i + part.len(),
                None => return false,
            }
        } else if text[pos..].starts_with(part) {
            pos += part.len();
        } else {
            return false;
        }
        wild = false;
    }
    wild || pos == text.len()
}

/// Every `"ID text"` string literal in the sources: (file, line, id, text with `{..}` as `\0`).
fn log_literals(dir: &Path, out: &mut Vec<(String, usize, String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            log_literals(&path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        let bytes = src.as_bytes();
        let mut i = 0;
        while let Some(off) = src[i..].find('"') {
            let start = i + off + 1;
            let mut end = start;
            while end < bytes.len() && bytes[end] != b'"' {
                end += if bytes[end] == b'\\' { 2 } else { 1 };
            }
            let lit = &src[start..end.min(src.len())];
            i = (end + 1).min(src.len());
            let Some((id, text)) = lit.split_once(' ') else { continue };
            let is_id = id.len() > 3
                && id.contains('_')
                && id.starts_with(|c: char| c.is_ascii_uppercase())
                && id.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !is_id {
                continue;
            }
            let mut t = String::new();
            let mut depth = 0;
            for c in text.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        if depth == 1 {
                            t.push('\0');
                        }
                    }
                    '}' => depth -= 1,
                    c if depth == 0 => t.push(c),
                    _ => {}
                }
            }
            let line = src[..start].matches('\n').count() + 1;
            out.push((path.display().to_string(), line, id.to_string(), squash(&unescape(&t))));
        }
    }
}

#[test]
fn log_lines_with_kea_ids_carry_kea_texts() {
    let Ok(html) = std::fs::read_to_string(CATALOG) else {
        panic!("{CATALOG} is missing: install kea-doc (scripts/test.sh does)");
    };
    let cat = catalog(&html);
    assert!(cat.len() > 1000, "the catalog parsed into only {} messages", cat.len());
    assert_eq!(cat.get("DHCP4_RELEASE").map(String::as_str), Some("%1: address %2 was released properly."));
    let mut found = Vec::new();
    log_literals(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")), &mut found);
    assert!(found.len() > 80, "only {} log messages found", found.len());
    let mut wrong = Vec::new();
    for (file, line, id, text) in &found {
        if id.starts_with("KAKAPO_") || NOT_IN_KEA_2_2.iter().any(|(x, _)| x == id) {
            continue;
        }
        match cat.get(id) {
            None => wrong.push(format!("{file}:{line}: {id} is not in Kea's catalog")),
            Some(t) if !fits(text, t) => {
                wrong.push(format!("{file}:{line}: {id}\n    ours: {}\n    Kea:  {t}", text.replace('\0', "{}")))
            }
            Some(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{} messages differ from Kea's catalog:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn the_template_matcher_can_fail() {
    assert!(fits("\0: address \0 was released properly.", "%1: address %2 was released properly."));
    assert!(fits("\0: address 1.2.3.4 was released properly.", "%1: address %2 was released properly."));
    assert!(!fits("\0: address \0 was released properly", "%1: address %2 was released properly."));
    assert!(!fits("lease \0 reclaimed", "%1: reclaiming expired lease for address %2"));
    assert!(fits("database connection lost.", "database connection lost."));
    assert!(!fits("database connection lost. \0", "database connection lost."));
}
