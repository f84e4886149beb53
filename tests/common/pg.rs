//! A PostgreSQL database for one test on the local cluster (scripts/test.sh starts it), with
//! Kea 2.2's schema made by Debian's `kea-admin db-init`, dropped when the test ends.

use std::process::Command;

/// The role the tests' servers log in as.
pub const USER: &str = "kakapo_test";
/// Its password (the cluster is local to the test machine).
pub const PASSWORD: &str = "kakapo_test";

/// SQL as the cluster's superuser.
fn admin(sql: &str) -> std::process::Output {
    Command::new("runuser")
        .args(["-u", "postgres", "--", "psql", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .unwrap_or_else(|e| panic!("psql: {e}"))
}

/// A database of this test process.
pub struct PgDb {
    /// Its name.
    pub name: String,
}

impl PgDb {
    /// A fresh database named after `tag` with Kea 2.2's schema (13.0), owned by [`USER`].
    pub fn kea_init(tag: &str) -> PgDb {
        super::require_root_and(&["psql", "kea-admin", "runuser"]);
        let name = format!("kkp_{}_{tag}", std::process::id());
        // Tests run in parallel: a role made by another test meanwhile is fine.
        let role = admin(&format!("CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'"));
        let exists = String::from_utf8_lossy(&role.stderr).contains("already exists");
        assert!(role.status.success() || exists, "{}", String::from_utf8_lossy(&role.stderr));
        let _ = admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        let made = admin(&format!("CREATE DATABASE {name} OWNER {USER}"));
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        super::run(&["kea-admin", "db-init", "pgsql", "-n", &name, "-u", USER, "-p", PASSWORD, "-h", "localhost"]);
        PgDb { name }
    }

    /// The `lease-database` / `hosts-database` map for it.
    pub fn database_json(&self) -> String {
        format!(
            r#"{{"type": "postgresql", "name": "{}", "host": "localhost", "user": "{USER}", "password": "{PASSWORD}"}}"#,
            self.name
        )
    }

    /// Runs SQL as [`USER`] and returns the rows as `|`-separated text lines.
    pub fn sql(&self, sql: &str) -> String {
        let o = Command::new("psql")
            .args(["-h", "localhost", "-U", USER, "-d", &self.name, "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .env("PGPASSWORD", PASSWORD)
            .output()
            .unwrap_or_else(|e| panic!("psql: {e}"));
        assert!(o.status.success(), "{sql}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = admin(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}
