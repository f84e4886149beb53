//! Basic HTTP authentication of the control channel (Kea ARM 7.2 `authentication`, 23.2.10).

use std::path::Path;

use base64::Engine as _;

use crate::config::model::{AuthClientConfig, BasicAuthConfig};

/// The accepted `user:password` secrets of an `authentication` block (Kea ARM 7.2).
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// Each entry is the secret before base64 encoding, as Kea keeps it.
    secrets: Vec<Vec<u8>>,
}

// Secrets must never reach logs through a stray `{:?}`.
impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth").field("clients", &self.secrets.len()).finish()
    }
}

impl BasicAuth {
    /// Accepts the given `(user, password)` pairs (Kea ARM 7.2 `clients`).
    pub fn new(clients: &[(String, String)]) -> BasicAuth {
        BasicAuth { secrets: clients.iter().map(|(u, p)| format!("{u}:{p}").into_bytes()).collect() }
    }

    /// The secrets of a validated `authentication` block, secret files read; returns the
    /// realm and `None` when `clients` is empty, because Kea then requires no authentication
    /// (Kea ARM 7.2).
    pub fn from_config(auth: &BasicAuthConfig, default_realm: &str) -> Result<(String, Option<BasicAuth>), String> {
        let realm = auth.realm.clone().unwrap_or_else(|| default_realm.to_string());
        let secrets = auth.clients.iter().map(|c| client_secret(c, &auth.directory)).collect::<Result<Vec<_>, _>>()?;
        if secrets.is_empty() {
            return Ok((realm, None));
        }
        Ok((realm, Some(BasicAuth { secrets })))
    }

    /// Whether an `Authorization` header value carries one of the accepted secrets
    /// (Kea ARM 23.2.10).
    pub fn check(&self, header: Option<&[u8]>) -> bool {
        let Some(header) = header else { return false };
        let Ok(header) = std::str::from_utf8(header) else { return false };
        let header = header.trim();
        let Some((scheme, encoded)) = header.split_once(' ') else { return false };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Ok(secret) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else { return false };
        // Compare against every entry so the time taken does not reveal which one matched.
        self.secrets.iter().fold(false, |found, s| ct_eq(s, &secret) | found)
    }
}

/// Equality whose running time depends only on the lengths, not on where bytes differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn client_secret(client: &AuthClientConfig, directory: &str) -> Result<Vec<u8>, String> {
    let (user, user_file) = (client.user.as_deref(), client.user_file.as_deref());
    let (password, password_file) = (client.password.as_deref(), client.password_file.as_deref());
    if user.is_some() && user_file.is_some() {
        return Err("only one of 'user' and 'user-file' may be given".into());
    }
    if password.is_some() && password_file.is_some() {
        return Err("only one of 'password' and 'password-file' may be given".into());
    }
    let user = match (user, user_file) {
        (Some(u), None) => Some(u.to_string()),
        (None, Some(f)) => Some(read_secret_file(directory, f)?),
        _ => None,
    };
    let Some(user) = user else {
        // Without a user, Kea reads the whole `user:password` secret from password-file.
        let Some(file) = password_file else {
            return Err("'user' is required in authentication clients".into());
        };
        let secret = read_secret_file(directory, file)?;
        let Some((user, _)) = secret.split_once(':') else {
            return Err(format!("password-file '{file}' must contain 'user:password' when no user is given"));
        };
        check_user(user)?;
        return Ok(secret.into_bytes());
    };
    check_user(&user)?;
    let password = match (password, password_file) {
        (Some(p), None) => p.to_string(),
        (None, Some(f)) => read_secret_file(directory, f)?,
        _ => String::new(),
    };
    Ok(format!("{user}:{password}").into_bytes())
}

fn check_user(user: &str) -> Result<(), String> {
    if user.is_empty() {
        return Err("user must not be empty".into());
    }
    // The name is not echoed: it may come from a file, whose content must never reach an
    // answer or a log.
    if user.contains(':') {
        return Err("user must not contain a ':'".into());
    }
    Ok(())
}

/// Reads a secret file the way Kea resolves it: relative names live under `directory`.
fn read_secret_file(directory: &str, file: &str) -> Result<String, String> {
    let path = if directory.is_empty() || Path::new(file).is_absolute() {
        Path::new(file).to_path_buf()
    } else {
        Path::new(directory).join(file)
    };
    // Never a plain read: a FIFO or device named here must fail, not stall the caller.
    let bytes = super::transport::read_config_file(&path)?;
    let content = String::from_utf8(bytes).map_err(|_| format!("file '{}' is not valid UTF-8", path.display()))?;
    // Editors add a final newline that is not part of the secret.
    Ok(content.trim_end_matches(['\n', '\r']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::HttpChannel;
    use serde_json::{json, Value};

    /// An `authentication` map read by the configuration loader, then its secrets.
    fn from_params(auth: &Value, realm: &str) -> Result<(String, Option<BasicAuth>), String> {
        let ch = HttpChannel::from_json(&json!({ "authentication": auth }))?;
        BasicAuth::from_config(ch.auth.as_ref().ok_or("no authentication")?, realm)
    }

    fn header(secret: &str) -> Vec<u8> {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(secret)).into_bytes()
    }

    #[test]
    fn empty_clients_disable_auth() {
        let (realm, auth) = from_params(&json!({"type": "basic", "clients": []}), "kea-x").unwrap();
        assert_eq!(realm, "kea-x");
        assert!(auth.is_none());
    }

    #[test]
    fn user_password_and_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("u"), "bob\n").unwrap();
        std::fs::write(dir.path().join("p"), "s3cret\n").unwrap();
        std::fs::write(dir.path().join("up"), "carol:pw\n").unwrap();
        let params = json!({
            "type": "basic", "realm": "r", "directory": dir.path().to_str().unwrap(),
            "clients": [
                {"user": "alice", "password": "a"},
                {"user-file": "u", "password-file": "p"},
                {"password-file": "up"},
                {"user": "dave"}
            ]
        });
        let (realm, auth) = from_params(&params, "kea-x").unwrap();
        assert_eq!(realm, "r");
        let auth = auth.unwrap();
        assert!(auth.check(Some(&header("alice:a"))));
        assert!(auth.check(Some(&header("bob:s3cret"))));
        assert!(auth.check(Some(&header("carol:pw"))));
        assert!(auth.check(Some(&header("dave:"))));
        assert!(!auth.check(Some(&header("alice:b"))));
        assert!(!auth.check(Some(b"Bearer abc")));
        assert!(!auth.check(None));
    }

    #[test]
    fn rejects_bad_clients() {
        for client in [
            json!({"user": "a:b"}),
            json!({"user": ""}),
            json!({"password": "x"}),
            json!({"user": "a", "user-file": "f"}),
            json!({"user": "a", "password": "x", "password-file": "f"}),
        ] {
            let params = json!({"type": "basic", "clients": [client]});
            assert!(from_params(&params, "r").is_err(), "{params}");
        }
        assert!(from_params(&json!({"type": "digest"}), "r").is_err());
        assert!(from_params(&json!({}), "r").is_err());
    }

    #[test]
    fn secret_files_must_be_regular() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let params = json!({"type": "basic", "clients": [{"user": "a", "password-file": fifo}]});
        let err = from_params(&params, "r").unwrap_err();
        assert!(err.contains("is not a regular file"), "{err}");
        let params = json!({"type": "basic", "clients": [{"user": "a", "password-file": dir.path()}]});
        assert!(from_params(&params, "r").unwrap_err().contains("is not a regular file"));
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; (1 << 20) + 1]).unwrap();
        let params = json!({"type": "basic", "clients": [{"user": "a", "password-file": big}]});
        assert!(from_params(&params, "r").unwrap_err().contains("larger than"));
    }
}
