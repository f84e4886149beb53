//! The layering rule of design.md: the sans-IO core never uses tokio, sqlx, socket2 or hyper,
//! and `unsafe` appears only under `src/net/`.

use std::path::{Path, PathBuf};

const CORE: &[&str] = &["config", "wire", "classify", "engine", "lease", "ha", "ddns"];
/// Backends are the shell side of `lease/`: they may use async drivers.
const SHELL_EXCEPTIONS: &[&str] = &["lease/memfile", "lease/postgres"];
const BANNED: &[&str] = &["tokio", "sqlx", "socket2", "hyper"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The source files of module `m` (its directory and/or `m.rs`) as (path under src, text);
/// the backends, the shell side of `lease/`, are left out.
fn layer_files(src: &Path, m: &str) -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&src.join(m), &mut files);
    let single = src.join(format!("{m}.rs"));
    if single.exists() {
        files.push(single);
    }
    files
        .into_iter()
        .map(|f| (f.strip_prefix(src).unwrap().to_string_lossy().into_owned(), f))
        .filter(|(rel, _)| !SHELL_EXCEPTIONS.iter().any(|e| rel.starts_with(e)))
        .map(|(rel, f)| (rel, std::fs::read_to_string(&f).unwrap()))
        .collect()
}

/// Code lines only: comments stripped so that prose may name the crates.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, l)| {
        let t = l.trim_start();
        if t.starts_with("//") {
            return None;
        }
        Some((i + 1, l.split("//").next().unwrap_or(l)))
    })
}

fn mentions(line: &str, name: &str) -> bool {
    let bytes = line.as_bytes();
    let mut start = 0;
    while let Some(i) = line[start..].find(name) {
        let at = start + i;
        let before = at.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(at + name.len()).copied();
        let ident = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_');
        if !ident(before) && !ident(after) && after == Some(b':') {
            return true;
        }
        start = at + name.len();
    }
    false
}

#[test]
fn core_modules_do_not_use_io_runtimes() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    let mut checked = 0;
    for m in CORE {
        for (rel, text) in layer_files(&src, m) {
            checked += 1;
            for (n, line) in code_lines(&text) {
                for b in BANNED {
                    if mentions(line, b) {
                        violations.push(format!("src/{rel}:{n}: uses {b}: {}", line.trim()));
                    }
                }
            }
        }
    }
    assert!(checked > 5, "the core modules were not found");
    assert!(violations.is_empty(), "layering violations:\n{}", violations.join("\n"));
}

#[test]
fn unsafe_only_in_net() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        if rel.starts_with("net/") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in code_lines(&text) {
            if line.contains("unsafe ") || line.contains("unsafe{") {
                violations.push(format!("src/{rel}:{n}"));
            }
        }
    }
    assert!(violations.is_empty(), "unsafe outside src/net:\n{}", violations.join("\n"));
}

#[test]
fn the_checker_catches_a_violation() {
    assert!(mentions("use tokio::net::UdpSocket;", "tokio"));
    assert!(mentions("let x = sqlx::query(\"\");", "sqlx"));
    assert!(!mentions("let tokio_like = 1;", "tokio"));
    assert!(!mentions("// tokio::spawn", "tokio") || code_lines("// tokio::spawn").count() == 0);
}

/// Which crate modules each layer may name (design.md "Layout"): the codec knows nothing else,
/// the configuration knows no runtime, the engine never reaches sockets, services or the
/// control API, and the lease layer never reaches the engine — so nothing forms a cycle.
const ALLOWED: &[(&str, &[&str])] = &[
    ("wire", &["wire"]),
    ("config", &["config", "wire", "safefs", "logging"]),
    ("engine", &["engine", "wire", "config", "lease", "stats", "clock"]),
    ("lease", &["lease", "config", "wire", "clock", "safefs"]),
    ("ha", &["ha", "config", "wire", "lease", "clock"]),
    // The pipeline drives engine, store and sockets; the control API drives it, never the
    // other way round.
    ("server", &["server", "engine", "lease", "config", "wire", "net", "stats", "clock", "safefs"]),
    ("stats", &["stats"]),
    ("clock", &["clock"]),
    ("safefs", &["safefs"]),
];

/// The crate modules a line names as `crate::<module>`.
fn crate_modules(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
        if end > 0 {
            out.push(&after[..end]);
        }
        rest = &after[end..];
    }
    out
}

#[test]
fn layers_import_only_what_they_may() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    let mut checked = 0;
    for (layer, allowed) in ALLOWED {
        for (rel, text) in layer_files(&src, layer) {
            checked += 1;
            for (n, line) in code_lines(&text) {
                for m in crate_modules(line) {
                    if !allowed.contains(&m) {
                        violations.push(format!("src/{rel}:{n}: {layer} uses crate::{m}: {}", line.trim()));
                    }
                }
            }
        }
    }
    assert!(checked > 20, "the layers were not found");
    assert!(violations.is_empty(), "import rule violations:\n{}", violations.join("\n"));
}

#[test]
fn the_import_checker_sees_crate_paths() {
    assert_eq!(crate_modules("use crate::lease::alloc::X; crate::wire::v4"), vec!["lease", "wire"]);
    assert!(crate_modules("use super::x;").is_empty());
}

/// The engine returns lease changes; committing them is the pipeline's job (design.md "How a
/// packet flows"), so the engine never names the store interface.
#[test]
fn the_engine_never_starts_a_commit() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut seen = 0;
    let mut violations = Vec::new();
    for (rel, text) in layer_files(&src, "engine") {
        seen += 1;
        for (n, line) in code_lines(&text) {
            if line.contains("lease::store") || line.contains("LeaseStore") || line.contains(".commit(") {
                violations.push(format!("src/{rel}:{n}: {}", line.trim()));
            }
        }
    }
    assert!(seen >= 5, "the engine files were not found");
    assert!(violations.is_empty(), "the engine reaches the store:\n{}", violations.join("\n"));
}
