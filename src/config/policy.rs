//! Kea 3.0's security policy (Kea ARM "Kea Security": "Summary of Path Restrictions" and
//! "Kea Runtime Security Policy Checking"): where lease, DUID, log and socket files may live,
//! and which configurations are refused as insecure. Every violation is an error, unless the
//! daemon was started with `-X`, which turns each into a `*_SECURITY_WARNING`.
//!
//! Pure: the directories come in as values (the binary reads the environment), and paths are
//! compared lexically, as Kea compares them.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use super::de::Here;
use super::model::common::{channels_of, AsChannel, Channel};
use super::model::{list, At, Checker};
use super::raw;

/// Kea's compiled-in data directory (`KEA_DHCP_DATA_DIR`).
pub const DEFAULT_DATA_DIR: &str = "/var/lib/kea";
/// Kea's compiled-in log directory (`KEA_LOG_FILE_DIR`).
pub const DEFAULT_LOG_DIR: &str = "/var/log/kea";
/// Kea's compiled-in control socket directory (`KEA_CONTROL_SOCKET_DIR`).
pub const DEFAULT_SOCKET_DIR: &str = "/run/kea";

/// The directories files may live in and whether a violation refuses the configuration
/// (Kea ARM "Summary of Path Restrictions").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityPolicy {
    /// Lease files and the DHCPv6 server DUID file (`KEA_DHCP_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Log files (`KEA_LOG_FILE_DIR`).
    pub log_dir: PathBuf,
    /// Unix control sockets (`KEA_CONTROL_SOCKET_DIR`).
    pub socket_dir: PathBuf,
    /// False with `-X`: violations are logged as `*_SECURITY_WARNING` and allowed.
    pub enforce: bool,
}

impl Default for SecurityPolicy {
    fn default() -> SecurityPolicy {
        SecurityPolicy {
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            log_dir: PathBuf::from(DEFAULT_LOG_DIR),
            socket_dir: PathBuf::from(DEFAULT_SOCKET_DIR),
            enforce: true,
        }
    }
}

impl SecurityPolicy {
    /// The policy from Kea's environment variables, read through `var` (the binary passes
    /// `std::env::var_os`); unset or empty variables keep Kea's defaults.
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>, enforce: bool) -> SecurityPolicy {
        let dir = |name: &str, default: &str| {
            var(name).filter(|v| !v.is_empty()).map_or_else(|| PathBuf::from(default), PathBuf::from)
        };
        SecurityPolicy {
            data_dir: dir("KEA_DHCP_DATA_DIR", DEFAULT_DATA_DIR),
            log_dir: dir("KEA_LOG_FILE_DIR", DEFAULT_LOG_DIR),
            socket_dir: dir("KEA_CONTROL_SOCKET_DIR", DEFAULT_SOCKET_DIR),
            enforce,
        }
    }

    /// The directory and its variable for a kind of file.
    fn dir(&self, kind: PathKind) -> (&Path, &'static str) {
        match kind {
            PathKind::Lease | PathKind::DataDirectory => (&self.data_dir, "KEA_DHCP_DATA_DIR"),
            PathKind::Log => (&self.log_dir, "KEA_LOG_FILE_DIR"),
            PathKind::Socket => (&self.socket_dir, "KEA_CONTROL_SOCKET_DIR"),
        }
    }

    /// Where a configured file name points: a bare name lives in the kind's directory, as in
    /// Kea 3.0; anything else is taken as given (relative lease names keep the data directory
    /// as their base, as kakapo always resolved them).
    pub fn resolve(&self, kind: PathKind, given: &str) -> PathBuf {
        let p = Path::new(given);
        let (dir, _) = self.dir(kind);
        let bare = p.parent().is_none_or(|d| d.as_os_str().is_empty());
        if bare || (kind == PathKind::Lease && p.is_relative()) {
            dir.join(p)
        } else {
            p.to_path_buf()
        }
    }

    /// The violation, if `given` (resolved as [`Self::resolve`] does) is not directly inside
    /// the kind's directory: `(message ID of the -X warning, text)`. Names are compared as
    /// written, as Kea compares them, so any `..` is refused: through a symlinked directory it
    /// would lead somewhere a textual comparison cannot see.
    pub fn violation(&self, kind: PathKind, given: &str) -> Option<(&'static str, String)> {
        let (dir, var) = self.dir(kind);
        let resolved = self.resolve(kind, given);
        let dotdot = Path::new(given).components().any(|c| c == Component::ParentDir);
        let inside = !dotdot
            && match kind {
                PathKind::DataDirectory => Path::new(given).is_absolute() && normalise(&resolved) == normalise(dir),
                _ => {
                    let named = matches!(Path::new(given).components().next_back(), Some(Component::Normal(_)));
                    named && !given.ends_with('/') && resolved.parent().is_some_and(|p| normalise(p) == normalise(dir))
                }
            };
        if inside {
            return None;
        }
        Some((
            kind.warning_id(),
            format!(
                "{}invalid path specified: '{given}', supported path is '{}' (set {var} to allow another directory, or start with -X)",
                kind.prefix(),
                dir.display()
            ),
        ))
    }

    /// Whether `file` may be written by `config-write` when the configuration came from
    /// `config_file` (Kea ARM 8.8 `config-write`: only beside the `-c` file). The directories
    /// are compared as the file system resolves them; `..` is refused outright.
    pub fn config_write_allowed(config_file: &Path, file: &Path) -> bool {
        if file.components().any(|c| c == Component::ParentDir) || file.file_name().is_none() {
            return false;
        }
        let dir_of = |p: &Path| {
            let d = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            std::fs::canonicalize(d).ok()
        };
        match (dir_of(config_file), dir_of(file)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }
}

/// The kinds of file the policy restricts (Kea ARM "Summary of Path Restrictions").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// A memfile lease file.
    Lease,
    /// Dhcp6 `data-directory` (the DUID file's directory).
    DataDirectory,
    /// A logger's file output.
    Log,
    /// A unix control socket.
    Socket,
}

impl PathKind {
    /// What Kea puts before the shared violation text.
    fn prefix(self) -> &'static str {
        match self {
            PathKind::Lease => "lease file 'name' is invalid: ",
            PathKind::DataDirectory => "'data-directory' is invalid: ",
            PathKind::Log => "invalid path in `output`: ",
            PathKind::Socket => "'socket-name' is invalid: ",
        }
    }

    fn warning_id(self) -> &'static str {
        match self {
            PathKind::Lease => "DHCPSRV_MEMFILE_PATH_SECURITY_WARNING",
            PathKind::DataDirectory => "DHCPSRV_DATA_DIRECTORY_SECURITY_WARNING",
            PathKind::Log => "LOG_OUTPUT_PATH_SECURITY_WARNING",
            PathKind::Socket => "COMMAND_UNIX_SOCKET_PATH_SECURITY_WARNING",
        }
    }
}

/// Lexical normal form: `.` dropped, `..` applied, no trailing separator. Relative paths stay
/// relative (and compare as such).
pub fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Reports a violation: an error under the policy, a `*_SECURITY_WARNING` with `-X`.
fn report(c: &mut Checker, at: impl At, id: &str, text: String) {
    let enforce = c.opts.policy.as_ref().is_none_or(|p| p.enforce);
    if enforce {
        c.err(at, text);
    } else {
        c.security_warning(at, id, text);
    }
}

/// Checks a file name against the policy (no policy: nothing to check) and returns where it
/// points.
pub(crate) fn path(c: &mut Checker, at: impl At, kind: PathKind, given: &str) -> PathBuf {
    let Some(policy) = c.opts.policy.clone() else { return PathBuf::from(given) };
    if let Some((id, text)) = policy.violation(kind, given) {
        report(c, at, id, text);
    }
    policy.resolve(kind, given)
}

/// The policy's checks of a DHCP section: lease file, data directory (DHCPv6) and the HTTP
/// control channels (Kea ARM "Kea Runtime Security Policy Checking").
pub(crate) fn check_dhcp(
    c: &mut Checker,
    lease_db: Option<&raw::common::LeaseDatabase>,
    data_dir: Option<(&str, Here)>,
    (one, list): (Option<Channel<'_>>, Vec<Channel<'_>>),
) {
    if c.opts.policy.is_none() {
        return;
    }
    if let Some(db) = lease_db.filter(|db| db.r#type.as_deref() == Some("memfile")) {
        if let Some(name) = &db.name {
            path(c, db.loc.key("name"), PathKind::Lease, name);
        }
    }
    if let Some((dir, at)) = data_dir {
        path(c, at, PathKind::DataDirectory, dir);
    }
    for ch in list.iter().chain(&one).filter(|ch| ch.socket_type.unwrap_or("unix") != "unix") {
        http_channel(c, ch);
    }
}

/// The policy's checks of `DhcpDdns`: TSIG secrets in clear text and the HTTP control
/// channels.
pub(crate) fn check_ddns(c: &mut Checker, d: &raw::ddns::DhcpDdns) {
    if c.opts.policy.is_none() {
        return;
    }
    for key in list(&d.tsig_keys) {
        if key.secret.is_some() {
            let name = key.name.as_deref().unwrap_or("");
            report(
                c,
                key.loc.key("secret"),
                "D2_TSIG_KEY_SECRET_SECURITY_WARNING",
                format!("use of clear text TSIG 'secret' is NOT SECURE: key '{name}': use 'secret-file' instead (or start with -X)"),
            );
        }
    }
    let (one, list) = channels_of(&d.control_socket, &d.control_sockets);
    for ch in list.iter().chain(&one).filter(|ch| ch.socket_type.unwrap_or("unix") != "unix") {
        http_channel(c, ch);
    }
}

/// The policy's check of the control agent, whose section is its HTTP channel.
pub(crate) fn check_agent(c: &mut Checker, a: &raw::agent::ControlAgent) {
    if c.opts.policy.is_none() {
        return;
    }
    http_channel(c, &a.channel());
}

/// An HTTP(S) control channel must authenticate its clients, and its credentials must come
/// from files (Kea 3.0).
fn http_channel(c: &mut Checker, ch: &Channel<'_>) {
    let clients = ch.authentication.map(|a| list(&a.clients)).unwrap_or_default();
    for cl in clients {
        for (key, value, id) in [
            ("user", &cl.user, "HTTP_CLIENT_USER_SECURITY_WARNING"),
            ("password", &cl.password, "HTTP_CLIENT_PASSWORD_SECURITY_WARNING"),
        ] {
            if value.is_some() {
                report(
                    c,
                    cl.loc.key(key),
                    id,
                    format!("use of clear text '{key}' is NOT SECURE: HTTP authentication: use '{key}-file' instead (or start with -X)"),
                );
            }
        }
    }
    // An empty file name means no TLS to the transport, so it means none here too.
    let tls = ch.tls.iter().all(|f| f.is_some_and(|f| !f.is_empty()));
    let mutual = tls && ch.cert_required.unwrap_or(true);
    if clients.is_empty() && !mutual {
        report(
            c,
            ch.loc,
            "COMMAND_HTTP_SOCKET_SECURITY_WARNING",
            "an HTTP control channel without authentication is NOT SECURE: add basic authentication clients, or use HTTPS with cert-required (or start with -X)".into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> SecurityPolicy {
        SecurityPolicy {
            data_dir: "/var/lib/kea".into(),
            log_dir: "/var/log/kea".into(),
            socket_dir: "/run/kea".into(),
            enforce: true,
        }
    }

    #[test]
    fn bare_names_live_in_their_directory() {
        let p = policy();
        assert_eq!(p.resolve(PathKind::Lease, "l.csv"), PathBuf::from("/var/lib/kea/l.csv"));
        assert_eq!(p.resolve(PathKind::Log, "k.log"), PathBuf::from("/var/log/kea/k.log"));
        assert_eq!(p.resolve(PathKind::Socket, "s"), PathBuf::from("/run/kea/s"));
        assert_eq!(p.resolve(PathKind::Socket, "/tmp/s"), PathBuf::from("/tmp/s"));
        assert!(p.violation(PathKind::Lease, "l.csv").is_none());
        assert!(p.violation(PathKind::Lease, "/var/lib/kea/l.csv").is_none());
        assert!(p.violation(PathKind::Lease, "/var/lib/kea/./l.csv").is_none());
        assert!(p.violation(PathKind::DataDirectory, "/var/lib/kea/").is_none());
    }

    #[test]
    fn escapes_are_violations_naming_the_variable() {
        let p = policy();
        for (kind, given, var) in [
            (PathKind::Lease, "/tmp/l.csv", "KEA_DHCP_DATA_DIR"),
            (PathKind::Lease, "../l.csv", "KEA_DHCP_DATA_DIR"),
            (PathKind::Lease, "sub/l.csv", "KEA_DHCP_DATA_DIR"),
            (PathKind::Lease, "/var/lib/kea/../../etc/passwd", "KEA_DHCP_DATA_DIR"),
            (PathKind::DataDirectory, "/tmp", "KEA_DHCP_DATA_DIR"),
            (PathKind::Log, "/etc/shadow", "KEA_LOG_FILE_DIR"),
            (PathKind::Log, "./x/k.log", "KEA_LOG_FILE_DIR"),
            (PathKind::Socket, "/tmp/kea4-ctrl-socket", "KEA_CONTROL_SOCKET_DIR"),
            (PathKind::Lease, "lnk/../pwn.csv", "KEA_DHCP_DATA_DIR"),
            (PathKind::Lease, "..", "KEA_DHCP_DATA_DIR"),
            (PathKind::Lease, ".", "KEA_DHCP_DATA_DIR"),
            (PathKind::Lease, "", "KEA_DHCP_DATA_DIR"),
            (PathKind::Lease, "/var/lib/kea/", "KEA_DHCP_DATA_DIR"),
            (PathKind::Socket, "..", "KEA_CONTROL_SOCKET_DIR"),
            (PathKind::Log, "/var/log/kea/x/..", "KEA_LOG_FILE_DIR"),
            (PathKind::DataDirectory, ".", "KEA_DHCP_DATA_DIR"),
            (PathKind::DataDirectory, "", "KEA_DHCP_DATA_DIR"),
            (PathKind::DataDirectory, "/var/lib/kea/lnk/..", "KEA_DHCP_DATA_DIR"),
        ] {
            let (_, text) = p.violation(kind, given).unwrap_or_else(|| panic!("{given} allowed"));
            assert!(text.contains(given) && text.contains(var), "{text}");
        }
    }

    #[test]
    fn config_write_stays_beside_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc");
        let other = dir.path().join("other");
        std::fs::create_dir_all(etc.join("sub")).unwrap();
        std::fs::create_dir(&other).unwrap();
        std::os::unix::fs::symlink(other.join("."), etc.join("lnk")).unwrap();
        let cfg = etc.join("kea-dhcp4.conf");
        assert!(SecurityPolicy::config_write_allowed(&cfg, &etc.join("new.json")));
        assert!(SecurityPolicy::config_write_allowed(&cfg, &etc.join("./new.json")));
        for bad in [
            etc.join("../x"),
            etc.join("sub/x"),
            etc.join("lnk/x"),
            etc.join("lnk/../x"),
            etc.join("x/../.."),
            other.join("x"),
            etc.clone(),
        ] {
            assert!(!SecurityPolicy::config_write_allowed(&cfg, &bad), "{}", bad.display());
        }
        assert!(SecurityPolicy::config_write_allowed(Path::new("k.conf"), Path::new("x.json")));
    }

    #[test]
    fn environment_overrides_defaults() {
        let p = SecurityPolicy::from_vars(|k| (k == "KEA_LOG_FILE_DIR").then(|| OsString::from("/srv/log")), false);
        assert_eq!(p.log_dir, PathBuf::from("/srv/log"));
        assert_eq!(p.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert!(!p.enforce);
    }
}
