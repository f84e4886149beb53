//! kakapo-loadgen: a DHCPv4 DORA / DHCPv6 SARR load generator for kakapo and Kea.
//!
//! Thousands of simulated clients (distinct MACs and DUIDs, cycled) run two-step exchanges
//! against one server, as a relay agent (the default: giaddr / RELAY-FORW, from port 67 /
//! 547 to the server's unicast address) or, for DHCPv4, as directly attached clients
//! broadcasting from port 68 (`--direct IFACE`). One thread, batched sendmmsg/recvmmsg,
//! responses matched by transaction id, per-client state in a fixed array. Reports
//! exchanges sent and completed, drops per step, the achieved rate and latency percentiles;
//! `--max-rate-search` steps the rate up to the highest one with under 1 % lost.
//! See bench/README.md.

mod engine;
mod hist;
mod net;
mod v4;
mod v6;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::{bail, Context};
use clap::Parser;
use serde_json::{json, Value};

use engine::{Engine, Proto, RunResult};
use hist::Histogram;

#[derive(Parser, Debug)]
#[command(name = "kakapo-loadgen", version, about = "DHCPv4 DORA / DHCPv6 SARR load generator (relay or direct)")]
struct Cli {
    /// DHCPv4: DISCOVER-OFFER, REQUEST-ACK (the default).
    #[arg(short = '4', conflicts_with = "v6")]
    v4: bool,
    /// DHCPv6: SOLICIT-ADVERTISE, REQUEST-REPLY with an IA_NA (and an IA_PD with --pd).
    #[arg(short = '6')]
    v6: bool,
    /// The server's unicast address; the generator acts as a relay agent towards it.
    #[arg(long, required_unless_present = "direct")]
    server: Option<IpAddr>,
    /// DHCPv4 only: clients directly on IFACE, broadcasting from port 68 to port 67.
    #[arg(long, value_name = "IFACE", conflicts_with_all = ["server", "v6"])]
    direct: Option<String>,
    /// The relay's own address (giaddr, source of RELAY-FORW); default: the address the
    /// route to the server uses.
    #[arg(long)]
    local: Option<IpAddr>,
    /// DHCPv6: RELAY-FORW link-address, which selects the subnet; default: --local.
    #[arg(long)]
    link_addr: Option<std::net::Ipv6Addr>,
    /// Exchanges started per second; 0: as fast as --window exchanges in flight allow.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Seconds of load (per step with --max-rate-search).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Distinct simulated clients, used in turn.
    #[arg(long, default_value_t = 50_000)]
    clients: u32,
    /// DHCPv6: ask for a prefix (IA_PD) besides the address (IA_NA).
    #[arg(long)]
    pd: bool,
    /// Milliseconds without a reply after which a step counts as dropped.
    #[arg(long, default_value_t = 1000)]
    timeout_ms: u64,
    /// Microseconds the generator may sleep between batches of starts (starts due within a
    /// tick leave together); 0: wake for every start.
    #[arg(long, default_value_t = 250)]
    tick_us: u64,
    /// Exchanges kept in flight with --rate 0.
    #[arg(long, default_value_t = 256)]
    window: usize,
    /// Step the rate up from --rate (doubling, then bisecting; a failing rate is tried
    /// twice) and report the highest rate with under 1 % of exchanges lost.
    #[arg(long)]
    max_rate_search: bool,
    /// Upper bound of the search, exchanges/s.
    #[arg(long, default_value_t = 1_000_000)]
    search_max: u64,
    /// Second octet of every client MAC (02:SEED:...), to keep populations of runs apart.
    #[arg(long, default_value_t = 1)]
    seed: u8,
    /// One JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
}

/// Hard bounds, whatever the command line says.
const MAX_DURATION_S: f64 = 3600.0;
const MAX_SEARCH_STEPS: usize = 20;

struct Setup {
    family: u8,
    mode: String,
    steps: [&'static str; 2],
}

fn latency(h: &Histogram) -> Value {
    json!({
        "count": h.count(), "p50": h.quantile(0.50), "p90": h.quantile(0.90),
        "p99": h.quantile(0.99), "max": h.max(), "mean": h.mean(),
    })
}

fn run_json(r: &RunResult) -> Value {
    let c = &r.counters;
    json!({
        "rate": r.rate, "duration_s": r.duration,
        "sent": c.sent, "completed": c.completed, "rejected": c.rejected,
        "drops": {"first": c.drops_first, "second": c.drops_second, "total": c.drops_first + c.drops_second},
        "second_sent": c.second_sent, "unmatched": c.unmatched, "invalid": c.invalid,
        "send_errors": c.send_errors, "clients_busy": c.clients_busy,
        "achieved_rate": r.achieved(), "loss_ratio": r.loss(),
        "latency_us": {"exchange": latency(&r.latency.exchange), "first": latency(&r.latency.first), "second": latency(&r.latency.second)},
    })
}

fn print_run(s: &Setup, r: &RunResult) {
    let c = &r.counters;
    let rate = if r.rate == 0 { "max".to_string() } else { format!("{}/s", r.rate) };
    println!(
        "rate {rate} for {} s: sent {}, completed {} ({:.1}/s), rejected {}, drops {} ({} {}, {} {}), loss {:.2} %",
        r.duration,
        c.sent,
        c.completed,
        r.achieved(),
        c.rejected,
        c.drops_first + c.drops_second,
        c.drops_first,
        s.steps[0],
        c.drops_second,
        s.steps[1],
        100.0 * r.loss()
    );
    println!(
        "  unmatched {}, invalid {}, send errors {}, clients busy {}",
        c.unmatched, c.invalid, c.send_errors, c.clients_busy
    );
    println!("  latency (us)        {:>9} {:>9} {:>9} {:>9}", "p50", "p90", "p99", "max");
    for (name, h) in
        [("exchange", &r.latency.exchange), (s.steps[0], &r.latency.first), (s.steps[1], &r.latency.second)]
    {
        println!("  {name:<18} {:>9} {:>9} {:>9} {:>9}", h.quantile(0.5), h.quantile(0.9), h.quantile(0.99), h.max());
    }
}

/// A run is good when under 1 % of its exchanges were lost and the generator itself
/// started (nearly) all it was asked to.
fn good(r: &RunResult) -> bool {
    let asked = r.rate as f64 * r.duration;
    r.loss() < 0.01 && r.counters.sent as f64 >= 0.99 * asked
}

fn go<P: Proto>(cli: &Cli, setup: &Setup, header: Value, mut eng: Engine<P>) -> anyhow::Result<()> {
    eng.set_tick(cli.tick_us);
    let duration = cli.duration.clamp(0.1, MAX_DURATION_S);
    let mut header = header;
    header["clients"] = json!(eng.clients());
    header["timeout_ms"] = json!(cli.timeout_ms);
    header["steps"] = json!(setup.steps);
    if !cli.json {
        println!(
            "kakapo-loadgen: DHCPv{} {}, {}, {} clients, timeout {} ms",
            setup.family,
            if setup.family == 4 { "DORA" } else { "SARR" },
            setup.mode,
            eng.clients(),
            cli.timeout_ms
        );
    }
    if !cli.max_rate_search {
        let r = eng.run(cli.rate, duration, cli.window);
        if cli.json {
            let mut out = header;
            if let (Value::Object(o), Value::Object(run)) = (&mut out, run_json(&r)) {
                o.extend(run);
            }
            println!("{out}");
        } else {
            print_run(setup, &r);
        }
        return Ok(());
    }
    let mut rate = if cli.rate > 0 { cli.rate } else { 1000 };
    let (mut best, mut lo, mut hi): (Option<RunResult>, u64, Option<u64>) = (None, 0, None);
    let mut steps = Vec::new();
    let mut retried = 0;
    for _ in 0..MAX_SEARCH_STEPS {
        let r = eng.run(rate, duration, cli.window);
        let ok = good(&r);
        if !cli.json {
            println!("-- step {} ({})", steps.len() + 1, if ok { "under 1 % lost" } else { "1 % or more lost" });
            print_run(setup, &r);
        }
        let mut j = run_json(&r);
        j["good"] = json!(ok);
        steps.push(j);
        // A rate fails only when it fails twice running: one transient stall of a shared
        // machine (or a server still warming up) must not cap the search.
        if !ok && retried != rate {
            retried = rate;
            eng.drain(300.min(cli.timeout_ms));
            continue;
        }
        if ok {
            lo = rate;
            best = Some(r);
        } else {
            hi = Some(rate);
        }
        eng.drain(300.min(cli.timeout_ms));
        let next = match hi {
            None if rate >= cli.search_max => break,
            None => (rate * 2).min(cli.search_max),
            Some(h) if h.saturating_sub(lo) <= (lo / 20).max(50) => break,
            Some(h) => (lo + h) / 2,
        };
        if next == 0 {
            break;
        }
        rate = next;
    }
    if cli.json {
        header["search"] = Value::Array(steps);
        header["max_rate"] = best.as_ref().map_or(Value::Null, |b| json!(b.rate));
        header["best"] = best.as_ref().map_or(Value::Null, run_json);
        println!("{header}");
    } else {
        match &best {
            Some(b) => println!(
                "max rate with under 1 % lost: {}/s ({:.1} completed/s, p99 {} us)",
                b.rate,
                b.achieved(),
                b.latency.exchange.quantile(0.99)
            ),
            None => println!("no rate tried lost under 1 %"),
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let v6 = cli.v6;
    let timeout = cli.timeout_ms.clamp(1, 60_000);
    if cli.clients == 0 {
        bail!("--clients must be at least 1");
    }
    if let Some(iface) = &cli.direct {
        let sock = net::direct_socket(iface).with_context(|| format!("port 68 on {iface}"))?;
        let dest = SocketAddr::from((Ipv4Addr::BROADCAST, kakapo::wire::v4::SERVER_PORT));
        let setup = Setup { family: 4, mode: format!("direct on {iface}"), steps: ["discover-offer", "request-ack"] };
        let header = json!({"family": 4, "mode": "direct", "interface": iface});
        let eng = Engine::new(v4::V4::new(None, cli.seed), sock, Some(dest.into()), cli.clients, timeout);
        return go(&cli, &setup, header, eng);
    }
    let server_ip = cli.server.context("--server or --direct is required")?;
    if server_ip.is_ipv6() != v6 {
        bail!("--server {server_ip} does not match -{}", if v6 { 6 } else { 4 });
    }
    let port = if v6 { kakapo::wire::v6::SERVER_PORT } else { kakapo::wire::v4::SERVER_PORT };
    let server = SocketAddr::new(server_ip, port);
    let local_ip = match cli.local {
        Some(a) => a,
        None => net::local_addr_towards(server).context("no route to the server")?,
    };
    let local = SocketAddr::new(local_ip, port);
    let sock = net::relay_socket(local, server).with_context(|| format!("binding {local}"))?;
    let mode = format!("relay {local_ip} -> {server}");
    let header = json!({"family": if v6 { 6 } else { 4 }, "mode": "relay", "server": server.to_string(), "local": local_ip.to_string(), "pd": cli.pd});
    match local_ip {
        IpAddr::V4(g) => {
            let setup = Setup { family: 4, mode, steps: ["discover-offer", "request-ack"] };
            let eng = Engine::new(v4::V4::new(Some(g), cli.seed), sock, None, cli.clients, timeout);
            go(&cli, &setup, header, eng)
        }
        IpAddr::V6(l) => {
            let link = cli.link_addr.unwrap_or(l);
            let setup = Setup {
                family: 6,
                mode: format!("{mode}, link {link}{}", if cli.pd { ", IA_NA+IA_PD" } else { ", IA_NA" }),
                steps: ["solicit-advertise", "request-reply"],
            };
            let eng = Engine::new(v6::V6::new(link, cli.pd, cli.seed), sock, None, cli.clients, timeout);
            go(&cli, &setup, header, eng)
        }
    }
}
