//! The `statistic-*` commands (Kea ARM 8.9 "Statistics" and 8.9.x "Commands for Manipulating
//! Statistics"), answering exactly like Kea's StatsMgr handlers: argument checks, texts and
//! reply shapes (`{"<name>": [[value, "YYYY-MM-DD HH:MM:SS.ffffff"], ...]}`, newest first).
//!
//! Deliberate differences from Kea, all on inputs Kea mishandles:
//! - `max-samples` of 0 is refused for `statistic-sample-count-set` as well (Kea refuses it only
//!   for the `-all` variant; for one statistic it empties the history and later reads fail);
//! - a negative or non-integer `duration` and an out-of-range `max-samples` are refused with an
//!   error instead of wrapping or throwing.

use chrono::TimeZone;
use serde_json::{json, Map, Value};

use super::{Response, RESULT_ERROR, RESULT_SUCCESS};
use crate::stats::{Sample, Stats};

/// The commands [`handle`] answers (Kea ARM 8.9, statistics commands), for `list-commands`.
pub const COMMANDS: &[&str] = &[
    "statistic-get",
    "statistic-get-all",
    "statistic-remove",
    "statistic-remove-all",
    "statistic-reset",
    "statistic-reset-all",
    "statistic-sample-age-set",
    "statistic-sample-age-set-all",
    "statistic-sample-count-set",
    "statistic-sample-count-set-all",
];

/// One `statistic-*` command with its arguments checked (Kea ARM 8.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatCommand {
    /// `statistic-get`
    Get(String),
    /// `statistic-get-all`
    GetAll,
    /// `statistic-reset`
    Reset(String),
    /// `statistic-reset-all`
    ResetAll,
    /// `statistic-remove`
    Remove(String),
    /// `statistic-remove-all`
    RemoveAll,
    /// `statistic-sample-age-set`: name, `duration` in seconds.
    SampleAgeSet(String, u64),
    /// `statistic-sample-age-set-all`: `duration` in seconds.
    SampleAgeSetAll(u64),
    /// `statistic-sample-count-set`: name, `max-samples`.
    SampleCountSet(String, u32),
    /// `statistic-sample-count-set-all`: `max-samples`.
    SampleCountSetAll(u32),
}

impl StatCommand {
    /// The command `command` with `arguments` checked as Kea's StatsMgr checks them: None when
    /// `command` is not one of [`COMMANDS`], Err with Kea's answer for bad arguments.
    pub fn parse(command: &str, arguments: Option<&Value>) -> Option<Result<StatCommand, Response>> {
        use StatCommand::*;
        let args = arguments.and_then(Value::as_object);
        let named = || name(args).map(str::to_string);
        Some(match command {
            "statistic-get" => named().map(Get),
            "statistic-get-all" => Ok(GetAll),
            "statistic-reset" => named().map(Reset),
            "statistic-reset-all" => Ok(ResetAll),
            "statistic-remove" => named().map(Remove),
            "statistic-remove-all" => Ok(RemoveAll),
            "statistic-sample-age-set" => named().and_then(|n| Ok(SampleAgeSet(n, duration(args)?))),
            "statistic-sample-age-set-all" => duration(args).map(SampleAgeSetAll),
            "statistic-sample-count-set" => named().and_then(|n| Ok(SampleCountSet(n, max_samples(args)?))),
            "statistic-sample-count-set-all" => max_samples(args).map(SampleCountSetAll),
            _ => return None,
        })
    }
}

/// Runs a statistic command against `stats`, answering as Kea's StatsMgr handlers do. `now`
/// (Unix seconds) timestamps the samples `statistic-reset*` record.
pub fn execute(stats: &Stats, command: &StatCommand, now: u64) -> Response {
    match command {
        StatCommand::Get(n) => {
            let mut out = Map::new();
            if let Some(samples) = stats.samples(n) {
                out.insert(n.clone(), samples_json(&samples));
            }
            answer(Value::Object(out))
        }
        StatCommand::GetAll => {
            let out: Map<String, Value> = stats.all_samples().into_iter().map(|(k, s)| (k, samples_json(&s))).collect();
            answer(Value::Object(out))
        }
        StatCommand::Reset(n) => found(n, stats.reset(n, now), "reset."),
        StatCommand::Remove(n) => found(n, stats.remove(n), "removed."),
        StatCommand::ResetAll => {
            stats.reset_all(now);
            Response::ok("All statistics reset to neutral values.")
        }
        StatCommand::RemoveAll => {
            stats.remove_all();
            Response::ok("All statistics removed.")
        }
        StatCommand::SampleAgeSet(n, secs) => found(n, stats.set_max_age(n, *secs), "duration limit is set."),
        StatCommand::SampleCountSet(n, max) => found(n, stats.set_max_samples(n, *max), "count limit is set."),
        StatCommand::SampleAgeSetAll(secs) => {
            stats.set_max_age_all(*secs);
            Response::ok("All statistics duration limit are set.")
        }
        StatCommand::SampleCountSetAll(max) => {
            stats.set_max_samples_all(*max);
            Response::ok("All statistics count limit are set.")
        }
    }
}

/// Parses and runs a `statistic-*` command (see [`StatCommand::parse`], [`execute`]); `None`
/// when `command` is not one of [`COMMANDS`].
pub fn handle(stats: &Stats, command: &str, arguments: Option<&Value>, now: u64) -> Option<Response> {
    Some(match StatCommand::parse(command, arguments)? {
        Ok(c) => execute(stats, &c, now),
        Err(e) => e,
    })
}

/// A sample time as Kea prints it: local time `%Y-%m-%d %H:%M:%S.%f` (Kea ARM 8.9).
pub fn format_time(sample: &Sample) -> String {
    format_time_in(sample, &chrono::Local)
}

/// [`format_time`] in the time zone `tz` (Kea ARM 8.9 sample timestamps).
pub fn format_time_in<Tz: TimeZone>(sample: &Sample, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let secs = i64::try_from(sample.at).unwrap_or(i64::MAX);
    match chrono::DateTime::from_timestamp(secs, sample.micros.saturating_mul(1000)) {
        Some(t) => t.with_timezone(tz).format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
        None => "1970-01-01 00:00:00.000000".to_string(),
    }
}

fn samples_json(samples: &[Sample]) -> Value {
    Value::Array(samples.iter().map(|s| json!([s.value, format_time(s)])).collect())
}

/// Result 0 carrying `arguments` and no text, as Kea's createAnswer(code, arguments).
fn answer(arguments: Value) -> Response {
    Response { result: RESULT_SUCCESS, text: None, arguments: Some(arguments) }
}

fn found(name: &str, ok: bool, what: &str) -> Response {
    if ok {
        Response::ok(format!("Statistic '{name}' {what}"))
    } else {
        Response::new(RESULT_ERROR, format!("No '{name}' statistic found"))
    }
}

fn name(args: Option<&Map<String, Value>>) -> Result<&str, Response> {
    match args.and_then(|a| a.get("name")) {
        None => Err(Response::error("Missing mandatory 'name' parameter.")),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(Response::error("'name' parameter expected to be a string.")),
    }
}

fn duration(args: Option<&Map<String, Value>>) -> Result<u64, Response> {
    match args.and_then(|a| a.get("duration")) {
        None => Err(Response::error("Missing mandatory 'duration' parameter.")),
        Some(v) => match (v.as_u64(), v.as_i64()) {
            (Some(secs), _) => Ok(secs),
            (None, Some(_)) => Err(Response::error("'duration' parameter must not be negative.")),
            _ => Err(Response::error("'duration' parameter expected to be an integer.")),
        },
    }
}

fn max_samples(args: Option<&Map<String, Value>>) -> Result<u32, Response> {
    match args.and_then(|a| a.get("max-samples")) {
        None => Err(Response::error("Missing mandatory 'max-samples' parameter.")),
        Some(v) if !(v.is_i64() || v.is_u64()) => {
            Err(Response::error("'max-samples' parameter expected to be an integer."))
        }
        Some(v) => match v.as_u64().map(u32::try_from) {
            Some(Ok(0)) => Err(Response::error("'max-samples' parameter must not be zero")),
            Some(Ok(n)) => Ok(n),
            _ => Err(Response::error("'max-samples' parameter out of range.")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::RESULT_ERROR;
    use crate::stats::SampleLimit;

    fn run(stats: &Stats, command: &str, args: Value) -> Response {
        handle(stats, command, Some(&args), 1000).expect("a statistic command")
    }

    fn err(r: &Response, text: &str) {
        assert_eq!(r.result, RESULT_ERROR, "{r:?}");
        assert_eq!(r.text.as_deref(), Some(text));
        assert_eq!(r.arguments, None);
    }

    fn ok(r: &Response, text: &str) {
        assert_eq!(r.result, RESULT_SUCCESS, "{r:?}");
        assert_eq!(r.text.as_deref(), Some(text));
        assert_eq!(r.arguments, None);
    }

    fn sample() -> Stats {
        let s = Stats::default();
        s.set_us("pkt4-received", 1, 1_700_000_000_000_001);
        s.add_us("pkt4-received", 1, 1_700_000_001_500_000);
        s.set("subnet[1].total-addresses", 200, 1_700_000_000);
        s
    }

    #[test]
    fn other_commands_are_not_ours() {
        let s = Stats::default();
        assert!(handle(&s, "config-get", None, 0).is_none());
        assert!(handle(&s, "statistic-bogus", None, 0).is_none());
        for c in COMMANDS {
            assert!(handle(&s, c, None, 0).is_some(), "{c}");
        }
    }

    #[test]
    fn timestamps_like_kea() {
        let s = Sample { value: 0, at: 1_644_602_057, micros: 487_569 };
        assert_eq!(format_time_in(&s, &chrono::Utc), "2022-02-11 17:54:17.487569");
        let local = format_time(&s);
        assert_eq!(local.len(), "2022-02-11 17:54:17.487569".len());
        assert!(local.ends_with(":17.487569"), "{local}");
    }

    #[test]
    fn get() {
        let s = sample();
        let r = run(&s, "statistic-get", json!({"name": "pkt4-received"}));
        assert_eq!(r.result, RESULT_SUCCESS);
        assert_eq!(r.text, None);
        let args = r.arguments.unwrap();
        let list = args["pkt4-received"].as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0][0], json!(2));
        assert_eq!(list[1][0], json!(1));
        let newest = Sample { value: 2, at: 1_700_000_001, micros: 500_000 };
        assert_eq!(list[0][1], json!(format_time(&newest)));
        assert!(list[0][1].as_str().unwrap().ends_with(".500000"));
        assert_eq!(args.as_object().unwrap().len(), 1);
        // The response serializes without a text, like Kea's createAnswer(0, arguments).
        assert_eq!(
            r_json_keys(&run(&s, "statistic-get", json!({"name": "pkt4-received"}))),
            vec!["result", "arguments"]
        );
    }

    fn r_json_keys(r: &Response) -> Vec<String> {
        r.to_json().as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn get_unknown_is_empty_success() {
        let s = sample();
        let r = run(&s, "statistic-get", json!({"name": "bogus"}));
        assert_eq!(r.result, RESULT_SUCCESS);
        assert_eq!(r.arguments, Some(json!({})));
    }

    #[test]
    fn name_argument_checks() {
        let s = sample();
        for c in ["statistic-get", "statistic-reset", "statistic-remove"] {
            err(&handle(&s, c, None, 0).unwrap(), "Missing mandatory 'name' parameter.");
            err(&run(&s, c, json!({})), "Missing mandatory 'name' parameter.");
            err(&run(&s, c, json!({"name": 1})), "'name' parameter expected to be a string.");
        }
        err(&run(&s, "statistic-sample-age-set", json!({"duration": 5})), "Missing mandatory 'name' parameter.");
        err(&run(&s, "statistic-sample-count-set", json!({"max-samples": 5})), "Missing mandatory 'name' parameter.");
    }

    #[test]
    fn get_all() {
        let s = sample();
        let r = run(&s, "statistic-get-all", json!({}));
        assert_eq!(r.result, RESULT_SUCCESS);
        let args = r.arguments.unwrap();
        let keys: Vec<&String> = args.as_object().unwrap().keys().collect();
        assert_eq!(keys, vec!["pkt4-received", "subnet[1].total-addresses"]);
        assert_eq!(args["subnet[1].total-addresses"][0][0], json!(200));
        assert_eq!(args["pkt4-received"].as_array().unwrap().len(), 2);
        let empty = Stats::default();
        assert_eq!(handle(&empty, "statistic-get-all", None, 0).unwrap().arguments, Some(json!({})));
    }

    #[test]
    fn reset() {
        let s = sample();
        ok(&run(&s, "statistic-reset", json!({"name": "pkt4-received"})), "Statistic 'pkt4-received' reset.");
        assert_eq!(s.samples("pkt4-received").unwrap(), vec![Sample { value: 0, at: 1000, micros: 0 }]);
        err(&run(&s, "statistic-reset", json!({"name": "bogus"})), "No 'bogus' statistic found");
    }

    #[test]
    fn reset_all() {
        let s = sample();
        ok(&run(&s, "statistic-reset-all", json!({})), "All statistics reset to neutral values.");
        assert_eq!(s.get("subnet[1].total-addresses").unwrap().value, 0);
        assert_eq!(s.get("pkt4-received").unwrap().value, 0);
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn remove() {
        let s = sample();
        ok(&run(&s, "statistic-remove", json!({"name": "pkt4-received"})), "Statistic 'pkt4-received' removed.");
        assert_eq!(s.get("pkt4-received"), None);
        err(&run(&s, "statistic-remove", json!({"name": "pkt4-received"})), "No 'pkt4-received' statistic found");
    }

    #[test]
    fn remove_all() {
        let s = sample();
        ok(&run(&s, "statistic-remove-all", json!({})), "All statistics removed.");
        assert!(s.is_empty());
    }

    #[test]
    fn sample_age_set() {
        let s = sample();
        let r = run(&s, "statistic-sample-age-set", json!({"name": "pkt4-received", "duration": 1245}));
        ok(&r, "Statistic 'pkt4-received' duration limit is set.");
        assert_eq!(s.limit("pkt4-received"), Some(SampleLimit::Age(1245)));
        let r = run(&s, "statistic-sample-age-set", json!({"name": "bogus", "duration": 1245}));
        err(&r, "No 'bogus' statistic found");
        let r = run(&s, "statistic-sample-age-set", json!({"name": "pkt4-received"}));
        err(&r, "Missing mandatory 'duration' parameter.");
        let r = run(&s, "statistic-sample-age-set", json!({"name": "pkt4-received", "duration": "1"}));
        err(&r, "'duration' parameter expected to be an integer.");
        let r = run(&s, "statistic-sample-age-set", json!({"name": "pkt4-received", "duration": -1}));
        err(&r, "'duration' parameter must not be negative.");
    }

    #[test]
    fn sample_age_set_all() {
        let s = sample();
        ok(
            &run(&s, "statistic-sample-age-set-all", json!({"duration": 1245})),
            "All statistics duration limit are set.",
        );
        assert_eq!(s.limit("subnet[1].total-addresses"), Some(SampleLimit::Age(1245)));
        assert_eq!(s.default_limit(), SampleLimit::Age(1245));
        err(&run(&s, "statistic-sample-age-set-all", json!({})), "Missing mandatory 'duration' parameter.");
        err(&handle(&s, "statistic-sample-age-set-all", None, 0).unwrap(), "Missing mandatory 'duration' parameter.");
    }

    #[test]
    fn sample_count_set() {
        let s = sample();
        let r = run(&s, "statistic-sample-count-set", json!({"name": "pkt4-received", "max-samples": 1}));
        ok(&r, "Statistic 'pkt4-received' count limit is set.");
        assert_eq!(s.samples("pkt4-received").unwrap().len(), 1);
        let r = run(&s, "statistic-sample-count-set", json!({"name": "bogus", "max-samples": 100}));
        err(&r, "No 'bogus' statistic found");
        let r = run(&s, "statistic-sample-count-set", json!({"name": "pkt4-received"}));
        err(&r, "Missing mandatory 'max-samples' parameter.");
        let r = run(&s, "statistic-sample-count-set", json!({"name": "pkt4-received", "max-samples": "5"}));
        err(&r, "'max-samples' parameter expected to be an integer.");
        let r = run(&s, "statistic-sample-count-set", json!({"name": "pkt4-received", "max-samples": 0}));
        err(&r, "'max-samples' parameter must not be zero");
        let r = run(&s, "statistic-sample-count-set", json!({"name": "pkt4-received", "max-samples": -3}));
        err(&r, "'max-samples' parameter out of range.");
    }

    #[test]
    fn sample_count_set_all() {
        let s = sample();
        ok(
            &run(&s, "statistic-sample-count-set-all", json!({"max-samples": 100})),
            "All statistics count limit are set.",
        );
        assert_eq!(s.limit("pkt4-received"), Some(SampleLimit::Count(100)));
        assert_eq!(s.default_limit(), SampleLimit::Count(100));
        err(
            &run(&s, "statistic-sample-count-set-all", json!({"max-samples": 0})),
            "'max-samples' parameter must not be zero",
        );
        err(&run(&s, "statistic-sample-count-set-all", json!({})), "Missing mandatory 'max-samples' parameter.");
    }
}
