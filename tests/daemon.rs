//! The daemon shell: start-up messages, pid file, SIGHUP reload (broken file keeps the old
//! config), SIGTERM/SIGINT exit 0, Kea's log pattern, file logging.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

struct Daemon {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Daemon {
    fn start(cfg: &Path, piddir: &Path) -> Daemon {
        Self::start_with(cfg, piddir, None)
    }

    fn start_with(cfg: &Path, piddir: &Path, notify: Option<&Path>) -> Daemon {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kakapo"));
        if let Some(n) = notify {
            cmd.env("NOTIFY_SOCKET", n);
        }
        let mut child = cmd
            .args(["-c", cfg.to_str().unwrap()])
            .env("KEA_PIDFILE_DIR", piddir)
            .env("KEA_DHCP_DATA_DIR", piddir)
            .env("KEA_LOG_FILE_DIR", piddir)
            .env("KEA_CONTROL_SOCKET_DIR", piddir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = channel();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let tx2 = tx.clone();
        std::thread::spawn(move || BufReader::new(out).lines().map_while(Result::ok).for_each(|l| drop(tx.send(l))));
        std::thread::spawn(move || BufReader::new(err).lines().map_while(Result::ok).for_each(|l| drop(tx2.send(l))));
        Daemon { child, lines: rx, seen: Vec::new() }
    }

    /// Waits (bounded) for a line containing `needle`; returns it.
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = 200; // x 50 ms = 10 s
        for _ in 0..deadline {
            while let Ok(l) = self.lines.try_recv() {
                self.seen.push(l.clone());
                if l.contains(needle) {
                    return l;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no line with {needle} within 10 s; saw:\n{}", self.seen.join("\n"));
    }

    fn signal(&self, s: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), s).unwrap();
    }

    fn wait_exit(&mut self) -> i32 {
        for _ in 0..200 {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code().unwrap_or(-1);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("daemon did not exit within 10 s");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Only the process this test started, by its pid.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

const GOOD: &str = r#"{
  // a comment, as operators write them
  "Dhcp4": {
    "interfaces-config": { "interfaces": [ "lo" ], "dhcp-socket-type": "udp" },
    "lease-database": { "type": "memfile", "persist": false },
    "valid-lifetime": 4000,
    "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.10 - 192.0.2.20" } ] } ],
    "loggers": [ { "name": "kea-dhcp4", "severity": "INFO", "output_options": [ { "output": "stdout" } ] } ]
  }
}"#;

#[test]
fn start_reload_and_stop_like_kea() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("kea-dhcp4.conf");
    std::fs::write(&cfg, GOOD).unwrap();
    let mut d = Daemon::start(&cfg, tmp.path());
    let started = d.wait_for("DHCP4_STARTED");
    // Kea's default pattern: date time.millis SEVERITY [logger/pid.tid] ID text
    let re_ok = started.len() > 24
        && started.as_bytes()[4] == b'-'
        && started.as_bytes()[10] == b' '
        && started.as_bytes()[19] == b'.'
        && started[23..].starts_with(" INFO  [kea-dhcp4.dhcp4/");
    assert!(re_ok, "not Kea's log pattern: {started}");
    assert!(d.seen.iter().any(|l| l.contains("DHCP4_CONFIG_COMPLETE")), "{:?}", d.seen);

    let pidfile = tmp.path().join("kea-dhcp4.kakapo.pid");
    assert_eq!(std::fs::read_to_string(&pidfile).unwrap().trim(), d.child.id().to_string());

    // A second instance with the same pid file refuses to start.
    let second = Command::new(env!("CARGO_BIN_EXE_kakapo"))
        .args(["-c", cfg.to_str().unwrap()])
        .env("KEA_PIDFILE_DIR", tmp.path())
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    let out = format!("{}{}", String::from_utf8_lossy(&second.stdout), String::from_utf8_lossy(&second.stderr));
    assert!(out.contains("DHCP4_ALREADY_RUNNING"), "{out}");

    // A broken file on SIGHUP is logged and the server keeps running.
    std::fs::write(&cfg, GOOD.replace("\"pool\":", "\"pol\":")).unwrap();
    d.signal(Signal::SIGHUP);
    d.wait_for("DHCP4_DYNAMIC_RECONFIGURATION_FAIL");
    let reason = d.wait_for("DHCP4_CONFIG_LOAD_FAIL");
    assert!(reason.contains("unknown key \"pol\""), "{reason}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(d.child.try_wait().unwrap().is_none(), "daemon died on a broken reload");

    // A file that parses but cannot be served (no MySQL backend in this build): the running
    // configuration is restored and keeps serving.
    let opened = d.seen.iter().filter(|l| l.contains("DHCP4_OPEN_SOCKET")).count();
    std::fs::write(&cfg, GOOD.replace(r#""type": "memfile", "persist": false"#, r#""type": "mysql", "name": "kea""#))
        .unwrap();
    d.signal(Signal::SIGHUP);
    let fail = d.wait_for("DHCP4_DYNAMIC_RECONFIGURATION_FAIL");
    assert!(fail.contains("mysql"), "{fail}");
    // The old configuration's sockets were reopened before the failure was reported.
    assert!(d.seen.iter().filter(|l| l.contains("DHCP4_OPEN_SOCKET")).count() > opened, "{:?}", d.seen);
    assert!(d.child.try_wait().unwrap().is_none(), "daemon died on an unservable reload");

    // A good file on SIGHUP is taken.
    std::fs::write(&cfg, GOOD.replace("4000", "5000")).unwrap();
    d.signal(Signal::SIGHUP);
    d.wait_for("DHCP4_DYNAMIC_RECONFIGURATION_SUCCESS");

    d.signal(Signal::SIGTERM);
    d.wait_for("DHCP4_SHUTDOWN");
    assert_eq!(d.wait_exit(), 0);
    assert!(!pidfile.exists(), "pid file left behind");
}

#[test]
fn sigint_exits_zero_and_file_logging_works() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("kea.log");
    let cfg = tmp.path().join("k.conf");
    let text = GOOD.replace(
        r#"{ "output": "stdout" }"#,
        &format!(r#"{{ "output": "{}", "maxsize": 204800, "maxver": 2 }}"#, log.display()),
    );
    std::fs::write(&cfg, text).unwrap();
    let mut d = Daemon::start(&cfg, tmp.path());
    for _ in 0..200 {
        if std::fs::read_to_string(&log).is_ok_and(|t| t.contains("DHCP4_STARTED")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let t = std::fs::read_to_string(&log).unwrap();
    assert!(t.contains("DHCP4_STARTED Kea DHCPv4 server version"), "{t}");
    d.signal(Signal::SIGINT);
    assert_eq!(d.wait_exit(), 0);
}

#[test]
fn invalid_config_at_start_exits_1_with_position() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("bad.conf");
    std::fs::write(&cfg, "{\"Dhcp4\": {\"valid-lifetime\": \"long\"}}").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_kakapo"))
        .args(["-c", cfg.to_str().unwrap()])
        .env("KEA_PIDFILE_DIR", tmp.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains(&format!("{}:1.30: Dhcp4.valid-lifetime: expected i64", cfg.display())), "{e}");
}

#[test]
fn systemd_notify_ready_and_stopping() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("n.conf");
    std::fs::write(&cfg, GOOD).unwrap();
    let sock_path = tmp.path().join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut d = Daemon::start_with(&cfg, tmp.path(), Some(&sock_path));
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("READY=1"));
    d.signal(Signal::SIGTERM);
    let n = sock.recv(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1"));
    assert_eq!(d.wait_exit(), 0);
}
