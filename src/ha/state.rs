//! Kea's HA state machine (Kea ARM 16.x "High Availability", "Server States"), sans-IO: the
//! caller feeds heartbeat results, the unanswered clients it sees, sync results and commands,
//! each with its clock in milliseconds, and reads back the state, the scopes to serve and what
//! to do next.

use std::collections::HashSet;
use std::sync::Arc;

use crate::config::model::{HaMode, HaPause, HaRelationship, HaRole};

/// A server's HA state, with Kea's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HaState {
    /// `backup`: a backup server; serves nothing, takes lease updates.
    Backup,
    /// `communication-recovery`: load-balancing with the partner unreachable for a while.
    CommunicationRecovery,
    /// `hot-standby`
    HotStandby,
    /// `load-balancing`
    LoadBalancing,
    /// `in-maintenance`: this server is being taken down; serves nothing.
    InMaintenance,
    /// `partner-down`: the partner is down; this server serves everything.
    PartnerDown,
    /// `partner-in-maintenance`: the partner is being taken down; this server serves everything.
    PartnerInMaintenance,
    /// `passive-backup`: the primary of a passive-backup relationship.
    PassiveBackup,
    /// `ready`: synchronised, waiting for the partner to return to the normal state.
    Ready,
    /// `syncing`: fetching the partner's leases.
    Syncing,
    /// `terminated`: the pair cannot work together (clock skew, rejected updates).
    Terminated,
    /// `waiting`: starting, waiting to learn the partner's state.
    Waiting,
    /// `unavailable`: what a partner that does not answer is shown as.
    Unavailable,
}

impl HaState {
    /// Kea's name.
    pub fn name(self) -> &'static str {
        match self {
            HaState::Backup => "backup",
            HaState::CommunicationRecovery => "communication-recovery",
            HaState::HotStandby => "hot-standby",
            HaState::LoadBalancing => "load-balancing",
            HaState::InMaintenance => "in-maintenance",
            HaState::PartnerDown => "partner-down",
            HaState::PartnerInMaintenance => "partner-in-maintenance",
            HaState::PassiveBackup => "passive-backup",
            HaState::Ready => "ready",
            HaState::Syncing => "syncing",
            HaState::Terminated => "terminated",
            HaState::Waiting => "waiting",
            HaState::Unavailable => "unavailable",
        }
    }

    /// The state of a Kea name (a name Kea does not send is `unavailable`).
    pub fn parse(name: &str) -> HaState {
        [
            HaState::Backup,
            HaState::CommunicationRecovery,
            HaState::HotStandby,
            HaState::LoadBalancing,
            HaState::InMaintenance,
            HaState::PartnerDown,
            HaState::PartnerInMaintenance,
            HaState::PassiveBackup,
            HaState::Ready,
            HaState::Syncing,
            HaState::Terminated,
            HaState::Waiting,
        ]
        .into_iter()
        .find(|s| s.name() == name)
        .unwrap_or(HaState::Unavailable)
    }
}

/// What the caller does after feeding the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HaAction {
    /// Fetch the partner's leases now (the `syncing` state's work), then call
    /// [`HaMachine::sync_done`].
    Sync,
    /// The state changed (logged as Kea's `HA_STATE_TRANSITION`).
    Transition {
        /// The state left.
        from: HaState,
        /// The state entered.
        to: HaState,
    },
}

/// Clock skew that is logged (Kea: 30 s) and that terminates the pair (60 s).
pub const SKEW_WARN_SECS: i64 = 30;
/// See [`SKEW_WARN_SECS`].
pub const SKEW_TERMINATE_SECS: i64 = 60;

/// One relationship's state machine on this server.
#[derive(Debug)]
pub struct HaMachine {
    cfg: Arc<HaRelationship>,
    state: HaState,
    partner: HaState,
    /// When the partner last answered (ms); None: never.
    last_answer: Option<u64>,
    started: u64,
    /// Clients seen waiting too long since the partner went silent.
    unacked: HashSet<Vec<u8>>,
    /// The partner's clock minus ours, seconds, at the last answer.
    skew: i64,
    /// A sync is running.
    syncing: bool,
    /// Paused in the current state (`state-machine` pause `always` / `once`).
    paused: bool,
    /// The state `in-maintenance` was entered from (a cancel returns there).
    before_maintenance: HaState,
    paused_once: HashSet<&'static str>,
}

impl HaMachine {
    /// A machine in `waiting` at `now` (ms).
    pub fn new(cfg: Arc<HaRelationship>, now: u64) -> HaMachine {
        let mut m = HaMachine {
            cfg,
            state: HaState::Waiting,
            partner: HaState::Unavailable,
            last_answer: None,
            started: now,
            unacked: HashSet::new(),
            skew: 0,
            syncing: false,
            paused: false,
            before_maintenance: HaState::Waiting,
            paused_once: HashSet::new(),
        };
        m.paused = m.pauses_in(HaState::Waiting);
        m
    }

    /// This server's state.
    pub fn state(&self) -> HaState {
        self.state
    }

    /// The partner's state as last heard (`unavailable` when it does not answer).
    pub fn partner_state(&self) -> HaState {
        self.partner
    }

    /// Clients counted as unacked since the partner went silent.
    pub fn unacked_clients(&self) -> usize {
        self.unacked.len()
    }

    /// Whether the machine is paused (`ha-continue` resumes it).
    pub fn paused(&self) -> bool {
        self.paused
    }

    fn auto_failover(&self) -> bool {
        self.cfg.this_server().is_some_and(|p| p.auto_failover)
    }

    fn role(&self) -> HaRole {
        // A relationship without this server (never in a checked configuration) serves nothing.
        self.cfg.this_server().map_or(HaRole::Backup, |p| p.role)
    }

    /// The state a healthy pair is in (Kea's "normal" state of the mode).
    pub fn normal_state(&self) -> HaState {
        match (self.cfg.mode, self.role()) {
            (_, HaRole::Backup) => HaState::Backup,
            (HaMode::LoadBalancing, _) => HaState::LoadBalancing,
            (HaMode::HotStandby, _) => HaState::HotStandby,
            (HaMode::PassiveBackup, _) => HaState::PassiveBackup,
        }
    }

    /// The HA scopes (peer names; the packets of a scope get the class `HA_<name>`) this
    /// server answers in its state (Kea ARM 16.x "Scopes").
    pub fn scopes(&self) -> Vec<String> {
        let named = |r: HaRole| self.cfg.peers.iter().filter(move |p| p.role == r).map(|p| p.name.clone());
        let own = || vec![self.cfg.this_server_name.clone()];
        match self.state {
            HaState::LoadBalancing | HaState::CommunicationRecovery | HaState::Terminated
                if self.cfg.mode == HaMode::LoadBalancing =>
            {
                own()
            }
            HaState::HotStandby | HaState::Terminated | HaState::PassiveBackup if self.role() == HaRole::Primary => {
                own()
            }
            HaState::PartnerDown if !self.auto_failover() => match self.role() {
                HaRole::Primary | HaRole::Secondary => own(),
                _ => Vec::new(),
            },
            HaState::PartnerDown | HaState::PartnerInMaintenance => {
                named(HaRole::Primary).chain(named(HaRole::Secondary)).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Whether this server's DHCP service runs in its state (Kea enables it in these states
    /// and disables it in all others).
    pub fn service_enabled(&self) -> bool {
        matches!(
            self.state,
            HaState::CommunicationRecovery
                | HaState::LoadBalancing
                | HaState::HotStandby
                | HaState::PartnerDown
                | HaState::PartnerInMaintenance
                | HaState::PassiveBackup
                | HaState::Terminated
        )
    }

    /// Whether the partner counts as unreachable: it has not answered for longer than
    /// `max-response-delay` (Kea's "communication interrupted").
    pub fn communication_interrupted(&self, now: u64) -> bool {
        let since = self.last_answer.unwrap_or(self.started);
        now.saturating_sub(since) > self.cfg.max_response_delay
    }

    /// Kea's failure detection: the partner is unreachable and, where this server sees the
    /// clients' traffic it does not answer, more than `max-unacked-clients` waited too long.
    fn partner_failed(&self, now: u64) -> bool {
        if !self.communication_interrupted(now) {
            return false;
        }
        // Only a serving load-balancing server or standby sees the partner's clients go
        // unanswered; any other server takes the silence alone as proof.
        let examines_traffic =
            self.service_enabled() && (self.cfg.mode == HaMode::LoadBalancing || self.role() == HaRole::Standby);
        if !examines_traffic {
            return true;
        }
        let max = self.cfg.max_unacked_clients as usize;
        max == 0 || self.unacked.len() > max
    }

    /// A client of `key` waited `waited_ms` for an answer (DHCPv4 `secs`, DHCPv6 elapsed time)
    /// in a state where the partner should have answered it: counted when it waited longer than
    /// `max-ack-delay` while the partner is unreachable.
    pub fn client_waited(&mut self, key: &[u8], waited_ms: u64, now: u64) -> Vec<HaAction> {
        if self.communication_interrupted(now) && waited_ms > self.cfg.max_ack_delay {
            self.unacked.insert(key.to_vec());
        }
        self.step(now)
    }

    /// The partner answered a heartbeat with its state and clock (`date-time`, Unix seconds).
    pub fn heartbeat_answered(
        &mut self,
        partner: HaState,
        partner_clock: i64,
        our_clock: i64,
        now: u64,
    ) -> Vec<HaAction> {
        self.partner = partner;
        self.last_answer = Some(now);
        self.unacked.clear();
        self.skew = partner_clock - our_clock;
        self.step(now)
    }

    /// A heartbeat got no answer (or an error).
    pub fn heartbeat_failed(&mut self, now: u64) -> Vec<HaAction> {
        self.partner = HaState::Unavailable;
        self.step(now)
    }

    /// The clock skew seen at the last answer, seconds (partner minus this server).
    pub fn clock_skew(&self) -> i64 {
        self.skew
    }

    /// The lease sync started by [`HaAction::Sync`] ended.
    pub fn sync_done(&mut self, ok: bool, now: u64) -> Vec<HaAction> {
        self.syncing = false;
        if ok && self.state == HaState::Syncing {
            return self.enter(HaState::Ready, now);
        }
        self.step(now)
    }

    /// `ha-continue`: resumes a paused machine.
    pub fn resume(&mut self, now: u64) -> Vec<HaAction> {
        self.paused = false;
        self.step(now)
    }

    /// `ha-maintenance-start` on this server's partner (it asks this server to serve alone)
    /// or `ha-maintenance-notify`: this server enters `in-maintenance` (`enter`) or leaves it.
    pub fn maintenance(&mut self, enter: bool, now: u64) -> Vec<HaAction> {
        if enter {
            if self.state != HaState::InMaintenance {
                self.before_maintenance = self.state;
            }
            self.enter(HaState::InMaintenance, now)
        } else if self.state == HaState::InMaintenance {
            self.enter(self.before_maintenance, now)
        } else {
            Vec::new()
        }
    }

    /// `ha-reset`: back to `waiting` (from `terminated` too).
    pub fn reset(&mut self, now: u64) -> Vec<HaAction> {
        self.enter(HaState::Waiting, now)
    }

    /// The periodic evaluation (Kea runs it with each heartbeat and event).
    pub fn tick(&mut self, now: u64) -> Vec<HaAction> {
        self.step(now)
    }

    fn pauses_in(&mut self, s: HaState) -> bool {
        let Some((_, p)) = self.cfg.pauses.iter().find(|(n, _)| n == s.name()) else { return false };
        match p {
            HaPause::Always => true,
            HaPause::Never => false,
            HaPause::Once => self.paused_once.insert(s.name()),
        }
    }

    fn enter(&mut self, to: HaState, _now: u64) -> Vec<HaAction> {
        if to == self.state {
            return Vec::new();
        }
        let from = self.state;
        self.state = to;
        self.paused = self.pauses_in(to);
        let mut out = vec![HaAction::Transition { from, to }];
        if to == HaState::Syncing && !self.paused {
            self.syncing = true;
            out.push(HaAction::Sync);
        }
        out
    }

    fn step(&mut self, now: u64) -> Vec<HaAction> {
        // Clocks too far apart end the pair's work whatever is going on (Kea ARM: clock skew).
        if self.last_answer.is_some()
            && self.skew.abs() > SKEW_TERMINATE_SECS
            && !matches!(self.state, HaState::Terminated | HaState::Backup)
        {
            self.syncing = false;
            return self.enter(HaState::Terminated, now);
        }
        if self.paused || self.syncing {
            return Vec::new();
        }
        if self.partner_state_invalid()
            && !matches!(
                self.state,
                HaState::Backup | HaState::PassiveBackup | HaState::Terminated | HaState::InMaintenance
            )
        {
            // A partner in another mode's state: configurations differ (Kea's
            // HA_INVALID_PARTNER_STATE_*); wait for it to be put right.
            return self.enter(HaState::Waiting, now);
        }
        let next = match self.state {
            HaState::Backup | HaState::PassiveBackup | HaState::Terminated => None,
            HaState::Waiting => self.next_after_waiting(now),
            HaState::Syncing => self.next_after_syncing(now),
            HaState::Ready => self.next_after_ready(now),
            HaState::HotStandby | HaState::LoadBalancing | HaState::CommunicationRecovery => {
                self.next_after_normal(now)
            }
            HaState::PartnerDown => self.next_after_partner_down(),
            HaState::PartnerInMaintenance => match self.partner {
                HaState::Unavailable => Some(HaState::PartnerDown),
                HaState::InMaintenance => None,
                _ => Some(HaState::Waiting),
            },
            HaState::InMaintenance | HaState::Unavailable => None,
        };
        match next {
            Some(s) => {
                let mut out = self.enter(s, now);
                // One evaluation may lead on (waiting -> ready when leases are not synced).
                if !out.is_empty() && s != HaState::Syncing {
                    out.extend(self.step(now));
                }
                out
            }
            None if self.state == HaState::Syncing && !self.syncing => {
                self.syncing = true;
                vec![HaAction::Sync]
            }
            None => Vec::new(),
        }
    }

    /// The partner reports a state only another mode has.
    fn partner_state_invalid(&self) -> bool {
        let lb = self.cfg.mode == HaMode::LoadBalancing;
        match self.partner {
            HaState::CommunicationRecovery | HaState::LoadBalancing => !lb,
            HaState::HotStandby => self.cfg.mode != HaMode::HotStandby,
            _ => false,
        }
    }

    fn synced_or_ready(&self) -> HaState {
        if self.cfg.sync_leases {
            HaState::Syncing
        } else {
            HaState::Ready
        }
    }

    fn partner_down_allowed(&self) -> bool {
        self.cfg.partners().any(|p| p.role != HaRole::Backup && p.auto_failover) || self.auto_failover()
    }

    fn next_after_waiting(&self, now: u64) -> Option<HaState> {
        if self.role() == HaRole::Backup {
            return Some(HaState::Backup);
        }
        if self.cfg.mode == HaMode::PassiveBackup {
            return Some(HaState::PassiveBackup);
        }
        match self.partner {
            HaState::CommunicationRecovery
            | HaState::HotStandby
            | HaState::LoadBalancing
            | HaState::InMaintenance
            | HaState::PartnerDown
            | HaState::PartnerInMaintenance
            | HaState::Ready => Some(self.synced_or_ready()),
            HaState::Waiting if self.role() == HaRole::Primary => Some(self.synced_or_ready()),
            // Kea 2.2 waits for a terminated partner to be restarted.
            HaState::Unavailable if self.partner_failed(now) && self.partner_down_allowed() => {
                Some(HaState::PartnerDown)
            }
            _ => None,
        }
    }

    fn next_after_syncing(&self, now: u64) -> Option<HaState> {
        match self.partner {
            HaState::Terminated => Some(HaState::Terminated),
            HaState::Unavailable if self.partner_failed(now) && self.partner_down_allowed() => {
                Some(HaState::PartnerDown)
            }
            _ => None,
        }
    }

    fn next_after_ready(&self, now: u64) -> Option<HaState> {
        match self.partner {
            HaState::HotStandby | HaState::LoadBalancing | HaState::PartnerDown | HaState::CommunicationRecovery => {
                Some(self.normal_state())
            }
            HaState::Ready if self.role() == HaRole::Primary => Some(self.normal_state()),
            HaState::InMaintenance => Some(HaState::PartnerInMaintenance),
            HaState::PartnerInMaintenance => Some(HaState::InMaintenance),
            HaState::Terminated => Some(HaState::Terminated),
            HaState::Unavailable if self.partner_failed(now) && self.partner_down_allowed() => {
                Some(HaState::PartnerDown)
            }
            _ => None,
        }
    }

    fn next_after_normal(&self, now: u64) -> Option<HaState> {
        match self.partner {
            // The partner served alone meanwhile: learn its leases again.
            HaState::PartnerDown => Some(HaState::Waiting),
            HaState::InMaintenance => Some(HaState::PartnerInMaintenance),
            HaState::PartnerInMaintenance => Some(HaState::InMaintenance),
            HaState::Terminated => Some(HaState::Terminated),
            HaState::Unavailable if self.partner_failed(now) && self.partner_down_allowed() => {
                Some(HaState::PartnerDown)
            }
            // Load balancing keeps serving its own scope and queues updates while the
            // partner is out of reach (Kea 2.2's communication-recovery).
            HaState::Unavailable
                if self.state == HaState::LoadBalancing
                    && self.cfg.delayed_updates_limit > 0
                    && self.communication_interrupted(now) =>
            {
                Some(HaState::CommunicationRecovery)
            }
            HaState::LoadBalancing | HaState::CommunicationRecovery if self.state == HaState::CommunicationRecovery => {
                Some(self.normal_state())
            }
            HaState::Waiting | HaState::Syncing | HaState::Ready if self.state == HaState::CommunicationRecovery => {
                Some(HaState::Waiting)
            }
            _ => None,
        }
    }

    fn next_after_partner_down(&self) -> Option<HaState> {
        match self.partner {
            HaState::HotStandby
            | HaState::LoadBalancing
            | HaState::PartnerDown
            | HaState::CommunicationRecovery
            | HaState::PartnerInMaintenance => Some(HaState::Waiting),
            HaState::Ready => Some(self.normal_state()),
            HaState::Terminated => Some(HaState::Terminated),
            _ => None,
        }
    }
}
