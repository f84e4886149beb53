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

/// Where the cluster listens on the file system: reachable from every network namespace
/// (its TCP port is on the host's loopback only).
pub const SOCKET_DIR: &str = "/var/run/postgresql";

/// A database of this test process.
pub struct PgDb {
    /// Its name.
    pub name: String,
    /// Reached over the unix socket as `root` (the cluster's peer authentication), rather than
    /// over TCP with [`USER`]'s password.
    pub local: bool,
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
        PgDb { name, local: false }
    }

    /// An empty database owned by `root`, reached over [`SOCKET_DIR`], so that servers in
    /// the tests' network namespaces can use it.
    pub fn empty_local(tag: &str) -> PgDb {
        super::require_root_and(&["psql", "kea-admin", "runuser"]);
        let name = format!("kkp_{}_{tag}", std::process::id());
        let role = admin("CREATE ROLE root LOGIN");
        let exists = String::from_utf8_lossy(&role.stderr).contains("already exists");
        assert!(role.status.success() || exists, "{}", String::from_utf8_lossy(&role.stderr));
        let _ = admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        let made = admin(&format!("CREATE DATABASE {name} OWNER root"));
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        PgDb { name, local: true }
    }

    /// [`PgDb::empty_local`] with Kea 2.2's schema made by Debian's `kea-admin db-init`.
    pub fn kea_init_local(tag: &str) -> PgDb {
        let db = PgDb::empty_local(tag);
        super::run(&["kea-admin", "db-init", "pgsql", "-n", &db.name, "-u", "root", "-h", SOCKET_DIR]);
        db
    }

    /// The `lease-database` / `hosts-database` map for it.
    pub fn database_json(&self) -> String {
        if self.local {
            return format!(
                r#"{{"type": "postgresql", "name": "{}", "host": "{SOCKET_DIR}", "user": "root"}}"#,
                self.name
            );
        }
        format!(
            r#"{{"type": "postgresql", "name": "{}", "host": "localhost", "user": "{USER}", "password": "{PASSWORD}"}}"#,
            self.name
        )
    }

    /// Runs SQL as [`USER`] and returns the rows as `|`-separated text lines.
    pub fn sql(&self, sql: &str) -> String {
        let (host, user) = if self.local { (SOCKET_DIR, "root") } else { ("localhost", USER) };
        let o = Command::new("psql")
            .args(["-h", host, "-U", user, "-d", &self.name, "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql])
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

/// A PostgreSQL cluster of the test's own (Debian's binaries, run as the postgres user), on
/// a unix socket in its directory only: a test may stop and restart it, which it must not
/// do to the machine's cluster. Stopped when dropped.
pub struct Cluster {
    /// Data, socket and log, owned by postgres.
    pub dir: std::path::PathBuf,
    /// The data directory inside it.
    data: String,
    /// The port in the socket's name (and on 127.0.0.1 for a TLS cluster).
    pub port: u16,
    /// Server options beyond the socket (TLS).
    extra: String,
}

const BIN: &str = "/usr/lib/postgresql/15/bin";

fn as_postgres(args: &[&str]) -> std::process::Output {
    let o = Command::new("runuser").args(["-u", "postgres", "--"]).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

impl Cluster {
    /// initdb, start, and a `root` superuser (peer authentication on the socket).
    pub fn start(tag: &str) -> Cluster {
        super::require_root_and(&["runuser", &format!("{BIN}/initdb"), &format!("{BIN}/pg_ctl")]);
        let dir = std::env::temp_dir().join(format!("kkp-pg-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        super::run(&["chown", "postgres:postgres", dir.to_str().unwrap()]);
        let port = 20_000 + (std::process::id() % 20_000) as u16;
        let data = dir.join("data").to_string_lossy().into_owned();
        let c = Cluster { dir, data, port, extra: String::new() };
        as_postgres(&[&format!("{BIN}/initdb"), "-D", c.data(), "-A", "peer", "-U", "postgres"]);
        c.pg_ctl("start");
        let psql = |sql: &str| {
            as_postgres(&["psql", "-h", c.socket(), "-p", &c.port.to_string(), "-d", "postgres", "-qc", sql])
        };
        psql("CREATE ROLE root LOGIN SUPERUSER");
        c
    }

    /// [`Cluster::start`], also on 127.0.0.1 with TLS only: the server certificate and key and
    /// the CA of `pki` ([`super::make_pki`]); a TCP client must present a certificate that CA
    /// signed (`clientcert=verify-ca`) and may not connect without TLS.
    pub fn start_tls(tag: &str, pki: &std::path::Path) -> Cluster {
        let mut c = Cluster::start(tag);
        c.pg_ctl("stop");
        for f in ["server.pem", "server.key", "ca.pem"] {
            std::fs::copy(pki.join(f), c.dir.join(f)).unwrap();
            super::run(&["chown", "postgres:postgres", c.dir.join(f).to_str().unwrap()]);
        }
        super::run(&["chmod", "600", c.dir.join("server.key").to_str().unwrap()]);
        let hba = "local all all peer\nhostssl all all 127.0.0.1/32 trust clientcert=verify-ca\nhost all all 127.0.0.1/32 reject\n";
        std::fs::write(std::path::Path::new(&c.data).join("pg_hba.conf"), hba).unwrap();
        let d = c.socket().to_string();
        c.extra = format!(
            " -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file={d}/server.pem -c ssl_key_file={d}/server.key -c ssl_ca_file={d}/ca.pem"
        );
        c.pg_ctl("start");
        c
    }

    fn data(&self) -> &str {
        &self.data
    }

    /// The socket directory.
    pub fn socket(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    fn pg_ctl(&self, action: &str) {
        let opts = match self.extra.as_str() {
            "" => format!("-k {} -c listen_addresses='' -p {}", self.socket(), self.port),
            extra => format!("-k {} -p {}{extra}", self.socket(), self.port),
        };
        let log = self.dir.join("log").to_string_lossy().into_owned();
        as_postgres(&[
            &format!("{BIN}/pg_ctl"),
            "-D",
            self.data(),
            "-o",
            &opts,
            "-l",
            &log,
            "-m",
            "fast",
            "-w",
            action,
        ]);
    }

    /// Stops the cluster (fast: connections are cut) and starts it again.
    pub fn restart(&self) {
        self.pg_ctl("restart");
    }

    /// Stops the cluster (fast: connections are cut).
    pub fn stop(&self) {
        self.pg_ctl("stop");
    }

    /// Starts the stopped cluster again.
    pub fn start_again(&self) {
        self.pg_ctl("start");
    }

    /// A database with Kea 2.2's schema (kea-admin), reached as root over the socket; its
    /// `lease-database` map with `extra` keys (`, "k": v` ...).
    pub fn kea_db(&self, name: &str, extra: &str) -> String {
        let port = self.port.to_string();
        super::run(&["createdb", "-h", self.socket(), "-p", &port, name]);
        super::run(&["kea-admin", "db-init", "pgsql", "-n", name, "-u", "root", "-h", self.socket(), "-P", &port]);
        format!(
            r#"{{"type": "postgresql", "name": "{name}", "host": "{}", "port": {port}, "user": "root"{extra}}}"#,
            self.socket()
        )
    }

    /// SQL on database `db`; the rows as `|`-separated lines.
    pub fn sql(&self, db: &str, sql: &str) -> String {
        let port = self.port.to_string();
        let o = super::run(&["psql", "-h", self.socket(), "-p", &port, "-d", db, "-tA", "-c", sql]);
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args([
                "-u",
                "postgres",
                "--",
                &format!("{BIN}/pg_ctl"),
                "-D",
                self.data(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
