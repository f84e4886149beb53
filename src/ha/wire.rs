//! The HA peer protocol's messages as Kea 2.2 sends and answers them (Kea ARM 16.x "High
//! Availability"; Kea's command creator): heartbeats, lease updates, the sync sequence. Pure
//! JSON in and out; the shell carries them over HTTP.

use serde_json::{json, Map, Value};

use super::state::HaState;
use crate::lease::Lease4;

/// The `service` list of a command to the partner's DHCPv4 or DHCPv6 server.
fn command(name: &str, family: u8, args: Option<Value>) -> Value {
    let mut m = Map::new();
    m.insert("command".into(), json!(name));
    if let Some(a) = args {
        m.insert("arguments".into(), a);
    }
    m.insert("service".into(), json!([if family == 6 { "dhcp6" } else { "dhcp4" }]));
    Value::Object(m)
}

/// `ha-heartbeat` as Kea 2.2 sends it (no arguments).
pub fn heartbeat(family: u8) -> Value {
    command("ha-heartbeat", family, None)
}

/// What a partner's heartbeat answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatAnswer {
    /// `state`
    pub state: HaState,
    /// `date-time` as Unix seconds.
    pub clock: i64,
    /// `scopes` (absent: empty).
    pub scopes: Vec<String>,
    /// `unsent-update-count` (absent: 0).
    pub unsent: u64,
}

/// The single answer of a command sent over HTTP: Kea answers with a list of one map.
pub fn first_answer(body: &Value) -> Result<&Map<String, Value>, String> {
    match body {
        Value::Array(a) => a.first().and_then(Value::as_object).ok_or_else(|| "empty answer".to_string()),
        _ => Err("the answer is not a list".into()),
    }
}

/// Reads an `ha-heartbeat` answer; a missing state or date is a failed heartbeat, as in Kea.
pub fn parse_heartbeat(body: &Value) -> Result<HeartbeatAnswer, String> {
    let a = first_answer(body)?;
    if a.get("result").and_then(Value::as_i64) != Some(0) {
        let text = a.get("text").and_then(Value::as_str).unwrap_or("");
        return Err(format!("the partner answered the heartbeat with an error: {text}"));
    }
    let args = a.get("arguments").and_then(Value::as_object).ok_or("no arguments in the heartbeat answer")?;
    let state = args
        .get("state")
        .and_then(Value::as_str)
        .ok_or("server state not returned in response to a ha-heartbeat command or it is not a string")?;
    let parsed = HaState::parse(state);
    if parsed == HaState::Unavailable {
        return Err(format!("unsupported HA partner state returned {state}"));
    }
    let date = args
        .get("date-time")
        .and_then(Value::as_str)
        .ok_or("date-time not returned in response to a ha-heartbeat command or it is not a string")?;
    let clock = parse_http_date(date).ok_or_else(|| format!("invalid date-time {date}"))?;
    let scopes = args
        .get("scopes")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default();
    let unsent = args.get("unsent-update-count").and_then(Value::as_u64).unwrap_or(0);
    Ok(HeartbeatAnswer { state: parsed, clock, scopes, unsent })
}

/// The arguments of this server's `ha-heartbeat` answer.
pub fn heartbeat_arguments(state: HaState, now: i64, mut scopes: Vec<String>, unsent: u64) -> Value {
    scopes.sort();
    json!({"date-time": http_date(now), "scopes": scopes, "state": state.name(), "unsent-update-count": unsent})
}

/// RFC 1123 date as HTTP writes it (`Mon, 07 Dec 2026 21:36:55 GMT`).
pub fn http_date(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default()
}

/// The Unix seconds of an RFC 1123 date.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let t = text.trim().strip_suffix("GMT").map(|s| format!("{s}+0000"))?;
    chrono::DateTime::parse_from_str(&t, "%a, %d %b %Y %H:%M:%S %z").ok().map(|d| d.timestamp())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":")
}

/// A lease as `lease4-update` / `lease4-del` carry it to the partner: Kea's lease JSON with
/// `expire` (cltt + valid-lft) in place of `cltt`.
pub fn lease4_body(l: &Lease4) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(c) = l.client_id.as_ref().filter(|c| !c.is_empty()) {
        m.insert("client-id".into(), json!(hex(c)));
    }
    m.insert("expire".into(), json!(l.expire()));
    m.insert("fqdn-fwd".into(), json!(l.fqdn_fwd));
    m.insert("fqdn-rev".into(), json!(l.fqdn_rev));
    m.insert("hostname".into(), json!(l.hostname));
    m.insert("hw-address".into(), json!(hex(&l.hwaddr)));
    m.insert("ip-address".into(), json!(l.address.to_string()));
    m.insert("state".into(), json!(l.state.code()));
    m.insert("subnet-id".into(), json!(l.subnet_id));
    if let Some(uc) = l.user_context.as_deref().and_then(|t| serde_json::from_str::<Value>(t).ok()) {
        m.insert("user-context".into(), uc);
    }
    m.insert("valid-lft".into(), json!(l.valid_lifetime));
    m
}

/// `lease4-update` with `force-create`, for a new or changed lease.
pub fn lease4_update(l: &Lease4) -> Value {
    let mut m = lease4_body(l);
    m.insert("force-create".into(), json!(true));
    command("lease4-update", 4, Some(Value::Object(m)))
}

/// `lease4-del`, for a released or reclaimed lease.
pub fn lease4_del(l: &Lease4) -> Value {
    command("lease4-del", 4, Some(Value::Object(lease4_body(l))))
}

/// `dhcp-disable` of the partner for a sync (`max-period` in seconds).
pub fn dhcp_disable(family: u8, max_period: Option<u64>) -> Value {
    let mut a = json!({"origin": "ha-partner"});
    if let Some(p) = max_period {
        a["max-period"] = json!(p);
    }
    command("dhcp-disable", family, Some(a))
}

/// `dhcp-enable` of the partner after a failed sync, or for a partner that does not know
/// `ha-sync-complete-notify`.
pub fn dhcp_enable(family: u8) -> Value {
    command("dhcp-enable", family, Some(json!({"origin": "ha-partner"})))
}

/// `ha-sync-complete-notify` as Kea 2.2 sends it (no arguments).
pub fn sync_complete(family: u8) -> Value {
    command("ha-sync-complete-notify", family, None)
}

/// One page of the partner's leases: from `"start"` or after the last address of the
/// previous page.
pub fn lease_page(family: u8, from: Option<&str>, limit: u32) -> Value {
    let name = if family == 6 { "lease6-get-page" } else { "lease4-get-page" };
    command(name, family, Some(json!({"from": from.unwrap_or("start"), "limit": limit})))
}

/// Whether a lease command's answer counts as done for HA: success, or (for a deletion)
/// "not found" (result 3).
pub fn update_acknowledged(body: &Value) -> Result<(), String> {
    let a = first_answer(body)?;
    match a.get("result").and_then(Value::as_i64) {
        Some(0 | 3) => Ok(()),
        r => Err(format!(
            "the partner refused the lease update (result {}): {}",
            r.map_or("none".into(), |r| r.to_string()),
            a.get("text").and_then(Value::as_str).unwrap_or("")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease::LeaseState;

    #[test]
    fn heartbeats_read_and_write_kea_s_fields() {
        let when = parse_http_date("Mon, 07 Dec 2026 21:36:55 GMT").unwrap();
        assert_eq!(http_date(when), "Mon, 07 Dec 2026 21:36:55 GMT");
        let args = heartbeat_arguments(HaState::PartnerDown, when, vec!["server2".into(), "server1".into()], 0);
        assert_eq!(
            args,
            json!({"date-time": "Mon, 07 Dec 2026 21:36:55 GMT", "scopes": ["server1", "server2"],
                   "state": "partner-down", "unsent-update-count": 0})
        );
        let answer = json!([{"arguments": args, "result": 0, "text": "HA peer status returned."}]);
        let got = parse_heartbeat(&answer).unwrap();
        assert_eq!((got.state, got.clock, got.scopes.len()), (HaState::PartnerDown, when, 2));
        assert!(parse_heartbeat(&json!([{"result": 0, "arguments": {"state": "bogus", "date-time": "x"}}])).is_err());
        assert!(parse_heartbeat(&json!({"result": 0})).is_err(), "Kea answers with a list");
        assert_eq!(heartbeat(4), json!({"command": "ha-heartbeat", "service": ["dhcp4"]}));
    }

    #[test]
    fn a_lease_update_carries_expire_instead_of_cltt() {
        let l = Lease4 {
            address: "192.0.2.100".parse().unwrap(),
            hwaddr: vec![0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x02],
            client_id: None,
            valid_lifetime: 3600,
            cltt: 1_796_679_482,
            subnet_id: 1,
            pool_id: 0,
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname: String::new(),
            state: LeaseState::Default,
            user_context: None,
        };
        // What Kea 2.2 sent for the same lease (captured from a real server).
        assert_eq!(
            lease4_update(&l),
            json!({"arguments": {"expire": 1_796_683_082u64, "force-create": true, "fqdn-fwd": false, "fqdn-rev": false,
                   "hostname": "", "hw-address": "aa:bb:cc:dd:ee:02", "ip-address": "192.0.2.100", "state": 0,
                   "subnet-id": 1, "valid-lft": 3600},
                   "command": "lease4-update", "service": ["dhcp4"]})
        );
        assert!(lease4_del(&l)["arguments"].get("force-create").is_none());
        assert!(update_acknowledged(&json!([{"result": 3, "text": "IPv4 lease not found."}])).is_ok());
        assert!(update_acknowledged(&json!([{"result": 1, "text": "no"}])).is_err());
        assert_eq!(
            dhcp_disable(4, Some(5)),
            json!({"arguments": {"max-period": 5, "origin": "ha-partner"}, "command": "dhcp-disable", "service": ["dhcp4"]})
        );
        assert_eq!(lease_page(4, None, 1)["arguments"], json!({"from": "start", "limit": 1}));
    }
}
