//! The `kakapo` binary: Kea's command line (kea-dhcp4(8), kea-dhcp6(8), kea-dhcp-ddns(8)), logging
//! set-up, and the daemon shell. Invoked through a link named `kea-dhcp4`, `kea-dhcp6` or
//! `kea-dhcp-ddns` it behaves as that daemon and runs only that section of the configuration.

mod daemon;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use kakapo::config::{self, LoadOptions, Section};

/// Kea's daemon flags. clap's own `-V`/`-h` handling is replaced because Kea gives `-V` and
/// `-v` their own meanings.
#[derive(Debug, Parser)]
#[command(name = "kakapo", disable_version_flag = true, about = "DHCPv4/DHCPv6 server compatible with ISC Kea")]
struct Cli {
    /// Configuration file (repeatable: one process may run Dhcp4, Dhcp6 and DhcpDdns).
    #[arg(short = 'c', value_name = "FILE")]
    config: Vec<PathBuf>,
    /// Check the configuration file and exit (0: valid, 1: invalid).
    #[arg(short = 't', value_name = "FILE")]
    test: Option<PathBuf>,
    /// Check the configuration file, also opening interfaces and lease storage, and exit.
    #[arg(short = 'T', value_name = "FILE")]
    test_full: Option<PathBuf>,
    /// Debug logging on the console, whatever the loggers say.
    #[arg(short = 'd')]
    debug: bool,
    /// Print the version and exit.
    #[arg(short = 'v')]
    version: bool,
    /// Print the extended version (build report) and exit.
    #[arg(short = 'V')]
    build_report: bool,
    /// Print the build configuration report and exit.
    #[arg(short = 'W')]
    config_report: bool,
    /// Server port (67 for DHCPv4, 547 for DHCPv6 by default; for tests).
    #[arg(short = 'p', value_name = "PORT")]
    server_port: Option<u16>,
    /// Client port (68 / 546 by default; for tests).
    #[arg(short = 'P', value_name = "PORT")]
    client_port: Option<u16>,
    /// Lift Kea 3.0's path and secret restrictions: each violation is logged as a
    /// `*_SECURITY_WARNING` instead of refusing the configuration.
    #[arg(short = 'X')]
    no_restrictions: bool,
}

/// `kakapo db-init pgsql ...`: kea-admin's `db-init` for PostgreSQL, with its flags, so a
/// database can be prepared without Kea installed (Kea ARM 4.3 "kea-admin").
#[derive(Debug, Parser)]
#[command(
    name = "kakapo db-init",
    disable_help_flag = true,
    about = "Create Kea's lease and host tables (schema 13.0) on an empty PostgreSQL database"
)]
struct DbInit {
    /// Print help (`-h` is the host, as in kea-admin).
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// Database kind: only `pgsql`.
    backend: String,
    /// Database name.
    #[arg(short = 'n', default_value = "keatest")]
    name: String,
    /// User.
    #[arg(short = 'u', default_value = "keatest")]
    user: String,
    /// Password (none: the server's local authentication).
    #[arg(short = 'p')]
    password: Option<String>,
    /// Host: a name, an address or a unix socket directory.
    #[arg(short = 'h', default_value = "localhost")]
    host: String,
    /// Port.
    #[arg(short = 'P', default_value_t = 5432)]
    port: u16,
}

fn db_init(args: DbInit) -> anyhow::Result<()> {
    anyhow::ensure!(args.backend == "pgsql", "db-init supports pgsql only, not '{}'", args.backend);
    let mut cfg = tokio_postgres::Config::new();
    cfg.dbname(&args.name).user(&args.user).host(&args.host).port(args.port).application_name("kakapo db-init");
    if let Some(p) = &args.password {
        cfg.password(p);
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let cfg = kakapo::lease::postgres::PgConfig::plain(cfg)?;
    rt.block_on(kakapo::lease::postgres::db_init(&cfg))?;
    println!("Database version reported after initialization: 13.0");
    Ok(())
}

/// Which daemon we are, from the name we were started under.
fn personality() -> Option<Section> {
    let arg0 = std::env::args_os().next()?;
    let name = std::path::Path::new(&arg0).file_name()?.to_string_lossy().into_owned();
    match name.as_str() {
        "kea-dhcp4" => Some(Section::Dhcp4),
        "kea-dhcp6" => Some(Section::Dhcp6),
        "kea-dhcp-ddns" => Some(Section::DhcpDdns),
        "kea-ctrl-agent" => Some(Section::ControlAgent),
        _ => None,
    }
}

fn check(path: PathBuf, full: bool, personality: Option<Section>, restrictions: bool) -> ExitCode {
    let host = if full { Some(kakapo::net::host_interfaces()) } else { None };
    let policy = config::policy::SecurityPolicy::from_vars(|k| std::env::var_os(k), restrictions);
    let opts = LoadOptions { only: personality, host, policy: Some(policy) };
    match config::load(&[path], &opts) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                println!("{w}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            for w in &e.warnings {
                println!("{w}");
            }
            for d in &e.errors {
                eprintln!("{d}");
            }
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    if std::env::args_os().nth(1).is_some_and(|a| a == "db-init") {
        let args = DbInit::parse_from(std::env::args_os().skip(1));
        return match db_init(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("kakapo db-init: {e:#}");
                ExitCode::from(1)
            }
        };
    }
    let cli = Cli::parse();
    let personality = personality();
    if cli.version {
        println!("{}", kakapo::KEA_API_LEVEL);
        return ExitCode::SUCCESS;
    }
    if cli.build_report {
        print!("{}", kakapo::api::control::build_report());
        return ExitCode::SUCCESS;
    }
    if cli.config_report {
        println!("kakapo {}\nfeatures: memfile, unix/http control sockets, built-in hooks", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    if let Some(p) = cli.test {
        return check(p, false, personality, !cli.no_restrictions);
    }
    if let Some(p) = cli.test_full {
        return check(p, true, personality, !cli.no_restrictions);
    }
    if cli.config.is_empty() {
        eprintln!("kakapo: no configuration file given (use -c FILE; -h for help)");
        return ExitCode::from(1);
    }
    let settings = daemon::Settings {
        files: cli.config,
        only: personality,
        debug: cli.debug,
        server_port: cli.server_port,
        client_port: cli.client_port,
        restrictions: !cli.no_restrictions,
    };
    match daemon::run(settings) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("kakapo: {e:#}");
            ExitCode::from(1)
        }
    }
}
