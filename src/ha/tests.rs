//! Scenarios of the HA state machine on a clock of the test's own.

use std::sync::Arc;

use super::state::{HaAction, HaMachine, HaState};
use crate::config::model::{HaMode, HaPause, HaPeer, HaRelationship, HaRole};

fn peer(name: &str, role: HaRole, port: u16) -> HaPeer {
    HaPeer {
        name: name.into(),
        url: format!("http://192.0.2.1:{port}/"),
        addr: format!("192.0.2.1:{port}").parse().unwrap(),
        https: false,
        role,
        auto_failover: true,
        basic_auth: None,
        tls: None,
    }
}

fn relationship(mode: HaMode, this: &str, second: HaRole) -> HaRelationship {
    HaRelationship {
        this_server_name: this.into(),
        mode,
        heartbeat_delay: 1_000,
        max_response_delay: 3_000,
        max_ack_delay: 1_000,
        max_unacked_clients: 0,
        max_rejected_lease_updates: 10,
        delayed_updates_limit: 0,
        send_lease_updates: true,
        sync_leases: true,
        sync_timeout: 60_000,
        sync_page_limit: 100,
        wait_backup_ack: false,
        require_client_certs: true,
        restrict_commands: false,
        multi_threading: false,
        dedicated_listener: false,
        pauses: Vec::new(),
        peers: vec![peer("server1", HaRole::Primary, 8001), peer("server2", second, 8002)],
    }
}

fn pair(mode: HaMode) -> (HaMachine, HaMachine) {
    let second = if mode == HaMode::LoadBalancing { HaRole::Secondary } else { HaRole::Standby };
    (
        HaMachine::new(Arc::new(relationship(mode, "server1", second)), 0),
        HaMachine::new(Arc::new(relationship(mode, "server2", second)), 0),
    )
}

/// One heartbeat each way at `now`, the syncs done as soon as they are asked for.
fn exchange(a: &mut HaMachine, b: &mut HaMachine, now: u64) {
    let heard = |me: &mut HaMachine, other: HaState| {
        if me.heartbeat_answered(other, 1_000, 1_000, now).contains(&HaAction::Sync) {
            me.sync_done(true, now);
        }
    };
    let b_state = b.state();
    heard(a, b_state);
    let a_state = a.state();
    heard(b, a_state);
}

#[test]
fn a_hot_standby_pair_starts_syncs_and_serves_from_the_primary() {
    let (mut p, mut s) = pair(HaMode::HotStandby);
    assert_eq!((p.state(), p.scopes()), (HaState::Waiting, Vec::<String>::new()));
    for t in 1..=6 {
        exchange(&mut p, &mut s, t * 1_000);
    }
    assert_eq!((p.state(), s.state()), (HaState::HotStandby, HaState::HotStandby));
    assert_eq!(p.scopes(), vec!["server1"]);
    assert!(s.scopes().is_empty(), "the standby serves nothing while the primary is up");
}

#[test]
fn the_standby_takes_over_after_max_response_delay_and_the_primary_returns_through_sync() {
    let (mut p, mut s) = pair(HaMode::HotStandby);
    for t in 1..=6 {
        exchange(&mut p, &mut s, t * 1_000);
    }
    // The primary dies at 6 s: heartbeats fail from then on.
    let mut down_at = None;
    for t in 7..=20 {
        let acts = s.heartbeat_failed(t * 1_000);
        if acts.contains(&HaAction::Transition { from: HaState::HotStandby, to: HaState::PartnerDown }) {
            down_at = Some(t * 1_000);
            break;
        }
    }
    // max-response-delay 3 s after the last answer (6 s), seen at the next heartbeat.
    assert_eq!(down_at, Some(10_000), "partner-down within max-response-delay plus one heartbeat");
    assert_eq!(s.scopes(), vec!["server1"], "the standby serves the primary's clients");
    // The primary returns: it learns the leases and the pair goes back to hot-standby.
    let (mut p, _) = pair(HaMode::HotStandby);
    for t in 21..=28 {
        exchange(&mut p, &mut s, t * 1_000);
    }
    assert_eq!((p.state(), s.state()), (HaState::HotStandby, HaState::HotStandby));
    assert!(s.scopes().is_empty());
}

#[test]
fn unacked_clients_decide_when_max_unacked_clients_is_set() {
    let mut cfg = relationship(HaMode::HotStandby, "server2", HaRole::Standby);
    cfg.max_unacked_clients = 2;
    let mut s = HaMachine::new(Arc::new(cfg), 0);
    s.heartbeat_answered(HaState::HotStandby, 0, 0, 1_000);
    s.sync_done(true, 1_000);
    s.heartbeat_answered(HaState::HotStandby, 0, 0, 2_000);
    assert_eq!(s.state(), HaState::HotStandby);
    s.heartbeat_failed(10_000);
    assert_eq!(s.state(), HaState::HotStandby, "interrupted, but no client proves the partner down yet");
    s.client_waited(b"a", 500, 10_100);
    s.client_waited(b"b", 2_000, 10_200);
    s.client_waited(b"c", 2_000, 10_300);
    assert_eq!(
        (s.unacked_clients(), s.state()),
        (2, HaState::HotStandby),
        "a client under max-ack-delay does not count"
    );
    s.client_waited(b"d", 2_000, 10_400);
    assert_eq!(s.state(), HaState::PartnerDown, "more than max-unacked-clients");
}

#[test]
fn a_clock_skew_over_60_seconds_terminates() {
    let (mut p, _) = pair(HaMode::LoadBalancing);
    p.heartbeat_answered(HaState::Waiting, 1_000 + 45, 1_000, 1_000);
    assert_ne!(p.state(), HaState::Terminated, "45 s is only warned about");
    p.heartbeat_answered(HaState::Waiting, 1_000 + 61, 1_000, 2_000);
    assert_eq!(p.state(), HaState::Terminated);
    p.reset(3_000);
    assert_eq!(p.state(), HaState::Waiting, "ha-reset leaves terminated");
}

#[test]
fn load_balancing_serves_each_own_scope_and_all_after_failover() {
    let (mut p, mut s) = pair(HaMode::LoadBalancing);
    for t in 1..=6 {
        exchange(&mut p, &mut s, t * 1_000);
    }
    assert_eq!((p.state(), s.state()), (HaState::LoadBalancing, HaState::LoadBalancing));
    assert_eq!((p.scopes(), s.scopes()), (vec!["server1".to_string()], vec!["server2".to_string()]));
    s.heartbeat_failed(20_000);
    assert_eq!(s.state(), HaState::PartnerDown);
    assert_eq!(s.scopes(), vec!["server1", "server2"]);
}

#[test]
fn a_paused_state_holds_until_ha_continue() {
    let mut cfg = relationship(HaMode::HotStandby, "server1", HaRole::Standby);
    cfg.pauses = vec![("ready".into(), HaPause::Always)];
    let mut p = HaMachine::new(Arc::new(cfg), 0);
    p.heartbeat_answered(HaState::Waiting, 0, 0, 1_000);
    p.sync_done(true, 1_000);
    assert_eq!(p.state(), HaState::Ready);
    p.heartbeat_answered(HaState::Ready, 0, 0, 2_000);
    assert_eq!((p.state(), p.paused()), (HaState::Ready, true));
    p.resume(3_000);
    assert_eq!(p.state(), HaState::HotStandby);
}

#[test]
fn a_server_that_does_not_serve_takes_silence_alone_as_proof() {
    // Waiting (service disabled) with an unreachable partner: partner-down once
    // max-response-delay has passed, whatever max-unacked-clients says.
    let mut cfg = relationship(HaMode::LoadBalancing, "server2", HaRole::Secondary);
    cfg.max_unacked_clients = 10;
    let mut s = HaMachine::new(Arc::new(cfg), 0);
    s.heartbeat_failed(2_000);
    assert_eq!(s.state(), HaState::Waiting);
    s.heartbeat_failed(3_500);
    assert_eq!(s.state(), HaState::PartnerDown);
}

#[test]
fn maintenance_returns_to_the_state_it_left_and_a_partner_of_another_mode_is_waited_for() {
    let (mut p, mut s) = pair(HaMode::HotStandby);
    for t in 1..=6 {
        exchange(&mut p, &mut s, t * 1_000);
    }
    s.maintenance(true, 7_000);
    assert_eq!(s.state(), HaState::InMaintenance);
    s.maintenance(false, 8_000);
    assert_eq!(s.state(), HaState::HotStandby);
    p.heartbeat_answered(HaState::LoadBalancing, 0, 0, 9_000);
    assert_eq!(p.state(), HaState::Waiting, "a load-balancing partner in a hot-standby pair");
}
