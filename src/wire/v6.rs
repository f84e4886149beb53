//! DHCPv6 message codec: client/server messages and relay encapsulation (RFC 8415 §8, §9,
//! §21), the IA payloads the server looks inside (IA_NA RFC 8415 §21.4, IA_PD §21.21, with
//! PD_EXCLUDE RFC 6603), and the relay options it reads (interface-id RFC 8415 §21.18,
//! remote-id RFC 4649, subscriber-id RFC 4580, client link-layer address RFC 6939).
//!
//! Decoding is one pass per encapsulation level and never panics: every read is bounds
//! checked, and allocations are bounded by the input (each level's option payloads go into
//! one arena; the inner message of a relay is never copied, only sliced). Relays nest at most
//! [`HOP_COUNT_LIMIT`] levels, as in Kea.
//!
//! What decoding normalises, so that `decode(encode(d)) == d` holds for every decoded `d`:
//! - the RELAY_MSG option of each relay level is consumed (it *is* the next level) and is
//!   written back last, after the level's other options, as Kea does;
//! - nothing else: options keep their order and repeats, so `encode` of a decoded message
//!   has exactly the input's length.
//!
//! An option whose length runs past the end of its container fails the decode
//! ([`DecodeError::OptionOverrun`]); so do a relay without RELAY_MSG or with two of them.

use std::fmt;
use std::net::Ipv6Addr;

/// UDP port servers and relay agents listen on (RFC 8415 §7.2).
pub const SERVER_PORT: u16 = 547;
/// UDP port clients listen on (RFC 8415 §7.2).
pub const CLIENT_PORT: u16 = 546;
/// All_DHCP_Relay_Agents_and_Servers, ff02::1:2 (RFC 8415 §7.1).
pub const ALL_DHCP_RELAY_AGENTS_AND_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
/// All_DHCP_Servers, ff05::1:3 (RFC 8415 §7.1).
pub const ALL_DHCP_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff05, 0, 0, 0, 0, 0, 1, 3);
/// Most relay levels accepted, Kea's `HOP_COUNT_LIMIT` (RFC 8415 §7.6 HOP_COUNT_LIMIT).
pub const HOP_COUNT_LIMIT: usize = 32;
/// Length of the client/server message header: msg-type and transaction-id (RFC 8415 §8).
pub const HEADER_LEN: usize = 4;
/// Length of the relay message header: msg-type, hop-count, link and peer address (RFC 8415 §9).
pub const RELAY_HEADER_LEN: usize = 34;
/// Length of an option header: option-code and option-len (RFC 8415 §21.1).
pub const OPTION_HEADER_LEN: usize = 4;

/// DHCPv6 option codes used by the server (RFC 8415 §21 and the RFCs named per code).
pub mod code {
    /// Client identifier (RFC 8415 §21.2).
    pub const CLIENTID: u16 = 1;
    /// Server identifier (RFC 8415 §21.3).
    pub const SERVERID: u16 = 2;
    /// Identity association for non-temporary addresses (RFC 8415 §21.4).
    pub const IA_NA: u16 = 3;
    /// Identity association for temporary addresses (RFC 8415 §21.5).
    pub const IA_TA: u16 = 4;
    /// IA address (RFC 8415 §21.6).
    pub const IAADDR: u16 = 5;
    /// Option request (RFC 8415 §21.7).
    pub const ORO: u16 = 6;
    /// Server preference (RFC 8415 §21.8).
    pub const PREFERENCE: u16 = 7;
    /// Elapsed time, in hundredths of a second (RFC 8415 §21.9).
    pub const ELAPSED_TIME: u16 = 8;
    /// Relay message (RFC 8415 §21.10).
    pub const RELAY_MSG: u16 = 9;
    /// Authentication (RFC 8415 §21.11).
    pub const AUTH: u16 = 11;
    /// Server unicast (RFC 8415 §21.12).
    pub const UNICAST: u16 = 12;
    /// Status code (RFC 8415 §21.13).
    pub const STATUS_CODE: u16 = 13;
    /// Rapid commit (RFC 8415 §21.14).
    pub const RAPID_COMMIT: u16 = 14;
    /// User class (RFC 8415 §21.15).
    pub const USER_CLASS: u16 = 15;
    /// Vendor class (RFC 8415 §21.16).
    pub const VENDOR_CLASS: u16 = 16;
    /// Vendor-specific information (RFC 8415 §21.17).
    pub const VENDOR_OPTS: u16 = 17;
    /// Interface-id, set by relays (RFC 8415 §21.18).
    pub const INTERFACE_ID: u16 = 18;
    /// Reconfigure message (RFC 8415 §21.19).
    pub const RECONF_MSG: u16 = 19;
    /// Reconfigure accept (RFC 8415 §21.20).
    pub const RECONF_ACCEPT: u16 = 20;
    /// SIP servers domain name list (RFC 3319 §3.1).
    pub const SIP_SERVERS_DNS: u16 = 21;
    /// SIP servers IPv6 address list (RFC 3319 §3.2).
    pub const SIP_SERVERS_ADDR: u16 = 22;
    /// Recursive DNS servers (RFC 3646 §3).
    pub const DNS_SERVERS: u16 = 23;
    /// Domain search list (RFC 3646 §4).
    pub const DOMAIN_LIST: u16 = 24;
    /// Identity association for prefix delegation (RFC 8415 §21.21).
    pub const IA_PD: u16 = 25;
    /// IA prefix (RFC 8415 §21.22).
    pub const IAPREFIX: u16 = 26;
    /// NIS servers (RFC 3898 §3).
    pub const NIS_SERVERS: u16 = 27;
    /// SNTP servers (RFC 4075 §4).
    pub const SNTP_SERVERS: u16 = 31;
    /// Information refresh time (RFC 8415 §21.23).
    pub const INFORMATION_REFRESH_TIME: u16 = 32;
    /// Relay agent remote-id (RFC 4649 §3).
    pub const REMOTE_ID: u16 = 37;
    /// Relay agent subscriber-id (RFC 4580 §2).
    pub const SUBSCRIBER_ID: u16 = 38;
    /// Client FQDN (RFC 4704 §4).
    pub const CLIENT_FQDN: u16 = 39;
    /// Leasequery query (RFC 5007 §4.1.2.1).
    pub const LQ_QUERY: u16 = 44;
    /// Leasequery client data (RFC 5007 §4.1.2.2).
    pub const CLIENT_DATA: u16 = 45;
    /// Leasequery client last transaction time (RFC 5007 §4.1.2.3).
    pub const CLT_TIME: u16 = 46;
    /// Leasequery relay data (RFC 5007 §4.1.2.4).
    pub const LQ_RELAY_DATA: u16 = 47;
    /// Leasequery client link (RFC 5007 §4.1.2.5).
    pub const LQ_CLIENT_LINK: u16 = 48;
    /// Relay identifier (RFC 5460 §5.4.1).
    pub const RELAY_ID: u16 = 53;
    /// NTP server (RFC 5908 §4).
    pub const NTP_SERVER: u16 = 56;
    /// Boot file URL (RFC 5970 §3.1).
    pub const BOOTFILE_URL: u16 = 59;
    /// Boot file parameters (RFC 5970 §3.2).
    pub const BOOTFILE_PARAM: u16 = 60;
    /// Client system architecture type (RFC 5970 §3.3).
    pub const CLIENT_ARCH_TYPE: u16 = 61;
    /// Client network interface identifier (RFC 5970 §3.4).
    pub const NII: u16 = 62;
    /// AFTR name for DS-Lite (RFC 6334 §3).
    pub const AFTR_NAME: u16 = 64;
    /// Relay-supplied options (RFC 6422 §3).
    pub const RSOO: u16 = 66;
    /// Prefix exclude (RFC 6603 §4.2).
    pub const PD_EXCLUDE: u16 = 67;
    /// Client link-layer address, set by relays (RFC 6939 §4).
    pub const CLIENT_LINKLAYER_ADDR: u16 = 79;
    /// SOL_MAX_RT (RFC 8415 §21.24).
    pub const SOL_MAX_RT: u16 = 82;
    /// INF_MAX_RT (RFC 8415 §21.25).
    pub const INF_MAX_RT: u16 = 83;
    /// DHCPv4 message, for DHCPv4-over-DHCPv6 (RFC 7341 §7.1).
    pub const DHCPV4_MSG: u16 = 87;
    /// DHCP4o6 server address (RFC 7341 §7.2).
    pub const DHCP4_O_DHCP6_SERVER: u16 = 88;
    /// Relay source port (RFC 8357 §5.2).
    pub const RELAY_SOURCE_PORT: u16 = 135;
}

/// Why a buffer is not a DHCPv6 message we can process (RFC 8415 §8, §9, §21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Shorter than the 4-octet message header or the 34-octet relay header.
    #[error("truncated DHCPv6 packet: shorter than its message or relay header")]
    TooShort,
    /// An option's header is incomplete or its payload runs past the end of its container.
    #[error("option {code} is truncated: its length runs past the end of its container")]
    OptionOverrun {
        /// Code of the truncated option.
        code: u16,
    },
    /// More than [`HOP_COUNT_LIMIT`] relay levels.
    #[error("relay messages nested deeper than 32 levels")]
    RelayTooDeep,
    /// The msg-type octet is not a type any RFC assigns.
    #[error("unknown DHCPv6 message type {value}")]
    UnknownMessageType {
        /// The msg-type octet.
        value: u8,
    },
    /// A relay message without a RELAY_MSG option.
    #[error("relay message without a relay-msg option (9)")]
    MissingRelayMsg,
    /// A relay message with more than one RELAY_MSG option.
    #[error("relay message with more than one relay-msg option (9)")]
    DuplicateRelayMsg,
    /// An IA_NA, IA_PD, IAADDR or IAPREFIX payload shorter than its fixed fields, or a prefix length above 128.
    #[error("malformed IA option {code}")]
    BadIa {
        /// Code of the malformed option.
        code: u16,
    },
    /// A status code option shorter than its 2-octet code.
    #[error("malformed status code option (13)")]
    BadStatusCode,
    /// A PD_EXCLUDE whose length is not longer than the delegated prefix, or whose subnet ID has the wrong size.
    #[error("malformed prefix exclude option (67)")]
    BadPdExclude,
}

/// DHCPv6 message types with IANA's list up to 37 (RFC 8415 §7.3, RFC 5007, RFC 5460, RFC 7341, RFC 8156, RFC 9686).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// SOLICIT (RFC 8415 §7.3).
    Solicit = 1,
    /// ADVERTISE (RFC 8415 §7.3).
    Advertise = 2,
    /// REQUEST (RFC 8415 §7.3).
    Request = 3,
    /// CONFIRM (RFC 8415 §7.3).
    Confirm = 4,
    /// RENEW (RFC 8415 §7.3).
    Renew = 5,
    /// REBIND (RFC 8415 §7.3).
    Rebind = 6,
    /// REPLY (RFC 8415 §7.3).
    Reply = 7,
    /// RELEASE (RFC 8415 §7.3).
    Release = 8,
    /// DECLINE (RFC 8415 §7.3).
    Decline = 9,
    /// RECONFIGURE (RFC 8415 §7.3).
    Reconfigure = 10,
    /// INFORMATION-REQUEST (RFC 8415 §7.3).
    InformationRequest = 11,
    /// RELAY-FORW (RFC 8415 §7.3).
    RelayForw = 12,
    /// RELAY-REPL (RFC 8415 §7.3).
    RelayRepl = 13,
    /// LEASEQUERY (RFC 5007 §4.2).
    Leasequery = 14,
    /// LEASEQUERY-REPLY (RFC 5007 §4.2).
    LeasequeryReply = 15,
    /// LEASEQUERY-DONE (RFC 5460 §5.3).
    LeasequeryDone = 16,
    /// LEASEQUERY-DATA (RFC 5460 §5.3).
    LeasequeryData = 17,
    /// RECONFIGURE-REQUEST (RFC 6977 §6.2.1).
    ReconfigureRequest = 18,
    /// RECONFIGURE-REPLY (RFC 6977 §6.2.2).
    ReconfigureReply = 19,
    /// DHCPV4-QUERY (RFC 7341 §6.1).
    Dhcpv4Query = 20,
    /// DHCPV4-RESPONSE (RFC 7341 §6.2).
    Dhcpv4Response = 21,
    /// ACTIVELEASEQUERY (RFC 7653 §5.2).
    ActiveLeasequery = 22,
    /// STARTTLS (RFC 7653 §5.2).
    StartTls = 23,
    /// BNDUPD (RFC 8156 §5.1).
    BndUpd = 24,
    /// BNDREPLY (RFC 8156 §5.1).
    BndReply = 25,
    /// POOLREQ (RFC 8156 §5.1).
    PoolReq = 26,
    /// POOLRESP (RFC 8156 §5.1).
    PoolResp = 27,
    /// UPDREQ (RFC 8156 §5.1).
    UpdReq = 28,
    /// UPDREQALL (RFC 8156 §5.1).
    UpdReqAll = 29,
    /// UPDDONE (RFC 8156 §5.1).
    UpdDone = 30,
    /// CONNECT (RFC 8156 §5.1).
    Connect = 31,
    /// CONNECTREPLY (RFC 8156 §5.1).
    ConnectReply = 32,
    /// DISCONNECT (RFC 8156 §5.1).
    Disconnect = 33,
    /// STATE (RFC 8156 §5.1).
    State = 34,
    /// CONTACT (RFC 8156 §5.1).
    Contact = 35,
    /// ADDR-REG-INFORM (RFC 9686 §4.1).
    AddrRegInform = 36,
    /// ADDR-REG-REPLY (RFC 9686 §4.1).
    AddrRegReply = 37,
}

impl MessageType {
    /// The type for a msg-type octet, `None` for values no RFC assigns (RFC 8415 §7.3).
    pub fn from_u8(value: u8) -> Option<MessageType> {
        use MessageType::*;
        Some(match value {
            1 => Solicit,
            2 => Advertise,
            3 => Request,
            4 => Confirm,
            5 => Renew,
            6 => Rebind,
            7 => Reply,
            8 => Release,
            9 => Decline,
            10 => Reconfigure,
            11 => InformationRequest,
            12 => RelayForw,
            13 => RelayRepl,
            14 => Leasequery,
            15 => LeasequeryReply,
            16 => LeasequeryDone,
            17 => LeasequeryData,
            18 => ReconfigureRequest,
            19 => ReconfigureReply,
            20 => Dhcpv4Query,
            21 => Dhcpv4Response,
            22 => ActiveLeasequery,
            23 => StartTls,
            24 => BndUpd,
            25 => BndReply,
            26 => PoolReq,
            27 => PoolResp,
            28 => UpdReq,
            29 => UpdReqAll,
            30 => UpdDone,
            31 => Connect,
            32 => ConnectReply,
            33 => Disconnect,
            34 => State,
            35 => Contact,
            36 => AddrRegInform,
            37 => AddrRegReply,
            _ => return None,
        })
    }

    /// The msg-type octet of this type (RFC 8415 §7.3).
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// True for RELAY-FORW and RELAY-REPL, which use the relay header (RFC 8415 §9).
    pub fn is_relay(self) -> bool {
        matches!(self, MessageType::RelayForw | MessageType::RelayRepl)
    }

    /// The name Kea logs for this type, e.g. `SOLICIT` (Kea `Pkt6::getName`, RFC 8415 §7.3).
    pub fn name(self) -> &'static str {
        use MessageType::*;
        match self {
            Solicit => "SOLICIT",
            Advertise => "ADVERTISE",
            Request => "REQUEST",
            Confirm => "CONFIRM",
            Renew => "RENEW",
            Rebind => "REBIND",
            Reply => "REPLY",
            Release => "RELEASE",
            Decline => "DECLINE",
            Reconfigure => "RECONFIGURE",
            InformationRequest => "INFORMATION_REQUEST",
            RelayForw => "RELAY_FORWARD",
            RelayRepl => "RELAY_REPLY",
            Leasequery => "LEASEQUERY",
            LeasequeryReply => "LEASEQUERY_REPLY",
            LeasequeryDone => "LEASEQUERY_DONE",
            LeasequeryData => "LEASEQUERY_DATA",
            Dhcpv4Query => "DHCPV4_QUERY",
            Dhcpv4Response => "DHCPV4_RESPONSE",
            // Kea has no names for the rest and logs them as UNKNOWN.
            _ => "UNKNOWN",
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One option's place in the arena; `len` fits the 16-bit option-len by construction.
#[derive(Debug, Clone, Copy)]
struct Entry {
    code: u16,
    len: u16,
    start: usize,
}

/// The options of one message or relay level: an ordered multimap from code to payload (RFC 8415 §21.1).
///
/// DHCPv6 allows repeated codes (several IA_NA, several IAADDR), so entries keep their
/// order and their repeats. Payloads live back to back in one buffer. Equality compares the
/// sequence, since the order of repeats (which IA comes first) is significant. Payloads
/// longer than 65535 octets cannot be encoded and are cut to that length when pushed.
#[derive(Clone, Default)]
pub struct Options6 {
    arena: Vec<u8>,
    entries: Vec<Entry>,
    /// Arena bytes no entry refers to any more (after removals); compacted lazily.
    waste: usize,
}

/// Cuts a payload to what option-len can describe (RFC 8415 §21.1).
fn clamp(payload: &[u8]) -> &[u8] {
    payload.get(..usize::from(u16::MAX)).unwrap_or(payload)
}

impl Options6 {
    /// An empty option set (RFC 8415 §21.1).
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty option set with room for `options` entries and `bytes` payload octets (RFC 8415 §21.1).
    pub fn with_capacity(options: usize, bytes: usize) -> Self {
        Options6 { arena: Vec::with_capacity(bytes), entries: Vec::with_capacity(options), waste: 0 }
    }

    /// Number of options, repeats counted (RFC 8415 §21.1).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no options (RFC 8415 §21.1).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The payload of the first option `code` (RFC 8415 §21.1).
    pub fn get(&self, code: u16) -> Option<&[u8]> {
        self.entries.iter().find(|e| e.code == code).map(|e| self.payload(e))
    }

    /// The payloads of every option `code`, in order (RFC 8415 §21.1).
    pub fn get_all(&self, code: u16) -> impl Iterator<Item = &[u8]> + '_ {
        self.entries.iter().filter(move |e| e.code == code).map(|e| self.payload(e))
    }

    /// True when option `code` is present (RFC 8415 §21.1).
    pub fn contains(&self, code: u16) -> bool {
        self.entries.iter().any(|e| e.code == code)
    }

    /// Appends option `code`, keeping any earlier instances (RFC 8415 §21.1).
    pub fn push(&mut self, code: u16, payload: Vec<u8>) {
        self.push_slice(code, &payload);
    }

    /// Like [`Options6::push`], copying from a slice (RFC 8415 §21.1).
    pub fn push_slice(&mut self, code: u16, payload: &[u8]) {
        let payload = clamp(payload);
        let start = self.arena.len();
        self.arena.extend_from_slice(payload);
        self.entries.push(Entry { code, len: payload.len() as u16, start });
    }

    /// Replaces every instance of `code` by one with `payload`, at the place of the first (RFC 8415 §21.1).
    pub fn set(&mut self, code: u16, payload: &[u8]) {
        let payload = clamp(payload);
        let Some(first) = self.entries.iter().position(|e| e.code == code) else {
            self.push_slice(code, payload);
            return;
        };
        self.waste += self.entries.iter().filter(|e| e.code == code).map(|e| usize::from(e.len)).sum::<usize>();
        let start = self.arena.len();
        self.arena.extend_from_slice(payload);
        self.entries[first] = Entry { code, len: payload.len() as u16, start };
        let mut i = 0;
        self.entries.retain(|e| {
            i += 1;
            i - 1 <= first || e.code != code
        });
        self.maybe_compact();
    }

    /// Removes every instance of `code`, returning how many there were (RFC 8415 §21.1).
    pub fn remove_all(&mut self, code: u16) -> usize {
        let before = self.entries.len();
        let mut freed = 0;
        self.entries.retain(|e| {
            let keep = e.code != code;
            if !keep {
                freed += usize::from(e.len);
            }
            keep
        });
        self.waste += freed;
        self.maybe_compact();
        before - self.entries.len()
    }

    /// Removes every option (RFC 8415 §21.1).
    pub fn clear(&mut self) {
        self.arena.clear();
        self.entries.clear();
        self.waste = 0;
    }

    /// The options as `(code, payload)` in order (RFC 8415 §21.1).
    pub fn iter(&self) -> Options6Iter<'_> {
        Options6Iter { options: self, next: 0 }
    }

    /// Octets [`Options6::encode`] appends: a 4-octet header per option plus payloads (RFC 8415 §21.1).
    pub fn encoded_len(&self) -> usize {
        self.entries.iter().map(|e| OPTION_HEADER_LEN + usize::from(e.len)).sum()
    }

    /// Appends every option as code, length, payload, in order (RFC 8415 §21.1).
    pub fn encode(&self, out: &mut Vec<u8>) {
        for (c, payload) in self {
            put_option(out, c, payload);
        }
    }

    fn payload(&self, e: &Entry) -> &[u8] {
        self.arena.get(e.start..e.start + usize::from(e.len)).unwrap_or(&[])
    }

    /// Rewrites the arena once more than half of it is dead, so that a long-lived set that is
    /// edited repeatedly (a reply template) stays bounded.
    fn maybe_compact(&mut self) {
        if self.waste < 512 || self.waste * 2 < self.arena.len() {
            return;
        }
        let mut arena = Vec::with_capacity(self.arena.len() - self.waste);
        for e in &mut self.entries {
            let start = arena.len();
            arena.extend_from_slice(self.arena.get(e.start..e.start + usize::from(e.len)).unwrap_or(&[]));
            e.start = start;
        }
        self.arena = arena;
        self.waste = 0;
    }

    /// Parses a run of options filling `area` exactly (RFC 8415 §21.1). RELAY_MSG is not
    /// stored when `relay` is set but returned, so that the next level is parsed in place.
    fn parse<'a>(&mut self, area: &'a [u8], relay: bool) -> Result<Option<&'a [u8]>, DecodeError> {
        let mut relay_msg = None;
        let mut i = 0;
        while i < area.len() {
            let (code, payload) = read_option(area, i)?;
            i += OPTION_HEADER_LEN + payload.len();
            if relay && code == code::RELAY_MSG {
                if relay_msg.replace(payload).is_some() {
                    return Err(DecodeError::DuplicateRelayMsg);
                }
                continue;
            }
            let start = self.arena.len();
            self.arena.extend_from_slice(payload);
            // read_option returns at most 65535 octets: the length came from 16 bits.
            self.entries.push(Entry { code, len: payload.len() as u16, start });
        }
        Ok(relay_msg)
    }
}

/// The options encapsulated in a payload (RFC 8415 §21.1), for options that carry options
/// such as RSOO (RFC 6422 §3); a truncated tail ends the list.
pub fn nested_options(payload: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < payload.len() {
        let Ok((code, p)) = read_option(payload, at) else { break };
        at += OPTION_HEADER_LEN + p.len();
        out.push((code, p));
    }
    out
}

/// Reads the option at `at` of `area`: its code and payload (RFC 8415 §21.1).
fn read_option(area: &[u8], at: usize) -> Result<(u16, &[u8]), DecodeError> {
    let code = match area.get(at..at + 2) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        // A lone octet cannot even name its option; report what is there.
        _ => return Err(DecodeError::OptionOverrun { code: area.get(at).map_or(0, |&b| u16::from(b) << 8) }),
    };
    let len = match area.get(at + 2..at + 4) {
        Some(&[a, b]) => usize::from(u16::from_be_bytes([a, b])),
        _ => return Err(DecodeError::OptionOverrun { code }),
    };
    let payload = area.get(at + 4..at + 4 + len).ok_or(DecodeError::OptionOverrun { code })?;
    Ok((code, payload))
}

/// Writes one option: code, length, payload cut to 65535 octets (RFC 8415 §21.1).
fn put_option(out: &mut Vec<u8>, code: u16, payload: &[u8]) {
    let payload = clamp(payload);
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    out.extend_from_slice(payload);
}

/// Writes option `code` whose payload `body` produces, patching the length afterwards so that
/// nested options need no temporary buffer (RFC 8415 §21.1).
fn put_nested(out: &mut Vec<u8>, code: u16, body: impl FnOnce(&mut Vec<u8>)) {
    out.extend_from_slice(&code.to_be_bytes());
    let len_at = out.len();
    out.extend_from_slice(&[0, 0]);
    body(out);
    let len = out.len() - len_at - 2;
    if len > usize::from(u16::MAX) {
        // Unrepresentable; callers build IAs far below this. Cut rather than lie in the length.
        out.truncate(len_at + 2 + usize::from(u16::MAX));
    }
    let len = (out.len() - len_at - 2) as u16;
    if let Some(dst) = out.get_mut(len_at..len_at + 2) {
        dst.copy_from_slice(&len.to_be_bytes());
    }
}

impl PartialEq for Options6 {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Options6 {}

/// Lower-case hex of a payload, for Debug output.
struct Hex<'a>(&'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Options6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter().map(|(c, p)| (c, Hex(p)))).finish()
    }
}

/// Iterator over [`Options6`] in order (RFC 8415 §21.1).
#[derive(Debug, Clone)]
pub struct Options6Iter<'a> {
    options: &'a Options6,
    next: usize,
}

impl<'a> Iterator for Options6Iter<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let e = self.options.entries.get(self.next)?;
        self.next += 1;
        Some((e.code, self.options.payload(e)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.options.entries.len().saturating_sub(self.next);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Options6Iter<'_> {}

impl<'a> IntoIterator for &'a Options6 {
    type Item = (u16, &'a [u8]);
    type IntoIter = Options6Iter<'a>;

    fn into_iter(self) -> Options6Iter<'a> {
        self.iter()
    }
}

/// A client/server message: msg-type, 24-bit transaction-id and options (RFC 8415 §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkt6 {
    /// Message type; never RELAY-FORW or RELAY-REPL in a decoded message.
    pub msg_type: MessageType,
    /// Transaction ID; only the low 24 bits are sent.
    pub xid: u32,
    /// The options in wire order.
    pub options: Options6,
}

/// One relay level: the relay header and its options except RELAY_MSG (RFC 8415 §9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayMsg {
    /// RELAY-FORW on the way in, RELAY-REPL on the way out.
    pub msg_type: MessageType,
    /// Number of relays that relayed this message before.
    pub hop_count: u8,
    /// Address identifying the client's link; unspecified when the relay left it so.
    pub link_addr: Ipv6Addr,
    /// Address of the client or relay the message came from.
    pub peer_addr: Ipv6Addr,
    /// The relay's options (interface-id, remote-id, ...), without RELAY_MSG.
    pub options: Options6,
}

/// A decoded datagram: relay levels, outermost first, and the client/server message inside (RFC 8415 §9, §19).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded6 {
    /// Relay levels, outermost (the one that sent us the datagram) first; empty when direct.
    pub relays: Vec<RelayMsg>,
    /// The client/server message.
    pub inner: Pkt6,
}

fn ipv6_at(buf: &[u8], at: usize) -> Ipv6Addr {
    ipv6_of(buf.get(at..at + 16).unwrap_or(&[])).unwrap_or(Ipv6Addr::UNSPECIFIED)
}

fn ipv6_of(payload: &[u8]) -> Option<Ipv6Addr> {
    let octets: [u8; 16] = payload.try_into().ok()?;
    Some(Ipv6Addr::from(octets))
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    match buf.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// Parses a datagram, unwrapping up to [`HOP_COUNT_LIMIT`] relay levels (RFC 8415 §8, §9).
pub fn decode(buf: &[u8]) -> Result<Decoded6, DecodeError> {
    let mut relays = Vec::new();
    let mut cur = buf;
    loop {
        let &value = cur.first().ok_or(DecodeError::TooShort)?;
        let msg_type = MessageType::from_u8(value).ok_or(DecodeError::UnknownMessageType { value })?;
        if !msg_type.is_relay() {
            let hdr = cur.get(..HEADER_LEN).ok_or(DecodeError::TooShort)?;
            let area = cur.get(HEADER_LEN..).unwrap_or(&[]);
            // Payload octets never exceed the area; 8 entries cover nearly every client.
            let mut options = Options6::with_capacity(8, area.len());
            options.parse(area, false)?;
            let xid = u32_at(hdr, 0) & 0x00ff_ffff;
            return Ok(Decoded6 { relays, inner: Pkt6 { msg_type, xid, options } });
        }
        if relays.len() == HOP_COUNT_LIMIT {
            return Err(DecodeError::RelayTooDeep);
        }
        let hdr = cur.get(..RELAY_HEADER_LEN).ok_or(DecodeError::TooShort)?;
        // Relay options are few and small; the arena grows as needed rather than reserving
        // the whole (mostly inner-message) area at every level.
        let mut options = Options6::new();
        let inner = options.parse(cur.get(RELAY_HEADER_LEN..).unwrap_or(&[]), true)?;
        relays.push(RelayMsg {
            msg_type,
            hop_count: hdr[1],
            link_addr: ipv6_at(hdr, 2),
            peer_addr: ipv6_at(hdr, 18),
            options,
        });
        cur = inner.ok_or(DecodeError::MissingRelayMsg)?;
    }
}

/// Appends the wire form: each relay level (its own msg-type, usually RELAY-REPL) with its
/// options and then RELAY_MSG holding the next level, innermost the message (RFC 8415 §8, §9).
///
/// A message over 65535 octets cannot fit a RELAY_MSG; its length field is then cut and
/// the datagram is malformed (UDP could not carry it anyway).
pub fn encode(pkt: &Pkt6, relays: &[RelayMsg], out: &mut Vec<u8>) {
    out.reserve(encoded_len(pkt, relays));
    // Every RELAY_MSG length is the encoded size of all deeper levels.
    let mut below = pkt.encoded_len();
    let mut lens = Vec::with_capacity(relays.len());
    for r in relays.iter().rev() {
        lens.push(below);
        below += RELAY_HEADER_LEN + r.options.encoded_len() + OPTION_HEADER_LEN;
    }
    for (r, inner_len) in relays.iter().zip(lens.iter().rev()) {
        out.extend_from_slice(&[r.msg_type.as_u8(), r.hop_count]);
        out.extend_from_slice(&r.link_addr.octets());
        out.extend_from_slice(&r.peer_addr.octets());
        r.options.encode(out);
        // Kea writes RELAY_MSG after the level's other options; some relays expect it.
        out.extend_from_slice(&code::RELAY_MSG.to_be_bytes());
        out.extend_from_slice(&(u16::try_from(*inner_len).unwrap_or(u16::MAX)).to_be_bytes());
    }
    pkt.encode(out);
}

/// Octets [`encode`] appends for this message and relay chain (RFC 8415 §8, §9).
pub fn encoded_len(pkt: &Pkt6, relays: &[RelayMsg]) -> usize {
    let relay: usize = relays.iter().map(|r| RELAY_HEADER_LEN + r.options.encoded_len() + OPTION_HEADER_LEN).sum();
    relay + pkt.encoded_len()
}

/// Parses an ORO payload: a list of 16-bit codes; a trailing odd octet is ignored (RFC 8415 §21.7).
pub fn parse_oro(payload: &[u8]) -> Vec<u16> {
    payload.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect()
}

impl Pkt6 {
    /// The client and transaction as Kea's log messages name them (`Pkt6::getLabel`):
    /// `duid=[00:03:00:01:...], tid=0x1234`.
    pub fn label(&self) -> String {
        let duid = self.client_id().map_or_else(|| "no info".to_string(), |c| Duid(c.to_vec()).to_string());
        format!("duid=[{duid}], tid={:#x}", self.xid)
    }

    /// A message with no options (RFC 8415 §8).
    pub fn new(msg_type: MessageType, xid: u32) -> Pkt6 {
        Pkt6 { msg_type, xid: xid & 0x00ff_ffff, options: Options6::with_capacity(8, 128) }
    }

    /// Appends the wire form of this message alone, without relay levels (RFC 8415 §8).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.msg_type.as_u8());
        out.extend_from_slice(&self.xid.to_be_bytes()[1..]);
        self.options.encode(out);
    }

    /// Octets [`Pkt6::encode`] appends (RFC 8415 §8).
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.options.encoded_len()
    }

    /// The client DUID, option 1 (RFC 8415 §21.2).
    pub fn client_id(&self) -> Option<&[u8]> {
        self.options.get(code::CLIENTID)
    }

    /// The server DUID, option 2 (RFC 8415 §21.3).
    pub fn server_id(&self) -> Option<&[u8]> {
        self.options.get(code::SERVERID)
    }

    /// The codes the client requested in ORO, option 6; empty when absent (RFC 8415 §21.7).
    pub fn oro(&self) -> Vec<u16> {
        self.options.get(code::ORO).map(parse_oro).unwrap_or_default()
    }

    /// True when the client sent Rapid Commit, option 14 (RFC 8415 §21.14).
    pub fn rapid_commit(&self) -> bool {
        self.options.contains(code::RAPID_COMMIT)
    }

    /// Elapsed time in hundredths of a second, option 8, when it is 2 octets (RFC 8415 §21.9).
    pub fn elapsed_time(&self) -> Option<u16> {
        match self.options.get(code::ELAPSED_TIME)? {
            &[a, b] => Some(u16::from_be_bytes([a, b])),
            _ => None,
        }
    }

    /// A reply skeleton: type `msg`, the same transaction ID, no options (RFC 8415 §16, §18.3).
    pub fn reply_to(&self, msg: MessageType) -> Pkt6 {
        Pkt6::new(msg, self.xid)
    }
}

/// The Client FQDN option, 39 (RFC 4704 §4): a flags octet (S, O, N) and a domain name in
/// wire form, fully qualified or partial. The name is checked and rendered as the DHCPv4
/// option 81's wire form is (RFC 4702 §2.3.1, which RFC 4704 §4.2 follows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFqdn6 {
    /// Flags octet: [`ClientFqdn6::FLAG_S`], `FLAG_O`, `FLAG_N`.
    pub flags: u8,
    /// The domain name in presentation form, without a final dot.
    pub name: String,
    /// True when the name is not fully qualified.
    pub partial: bool,
}

impl ClientFqdn6 {
    /// S: the server should perform the AAAA update (RFC 4704 §4.1).
    pub const FLAG_S: u8 = 0x01;
    /// O: the server has overridden the client's S preference.
    pub const FLAG_O: u8 = 0x02;
    /// N: the server should perform no DNS updates.
    pub const FLAG_N: u8 = 0x04;

    /// Parses an option 39 payload; None when it is malformed or sets both N and S.
    pub fn parse(payload: &[u8]) -> Option<ClientFqdn6> {
        let (&flags, name) = payload.split_first()?;
        if flags & (Self::FLAG_N | Self::FLAG_S) == Self::FLAG_N | Self::FLAG_S {
            return None;
        }
        let v4 = super::v4::ClientFqdn::parse(&[&[super::v4::ClientFqdn::FLAG_E, 0, 0][..], name].concat()).ok()?;
        Some(ClientFqdn6 { flags, name: v4.name, partial: v4.partial })
    }

    /// The option 39 payload: flags, then the name in wire form.
    pub fn encode(&self) -> Vec<u8> {
        let e = super::v4::ClientFqdn::FLAG_E;
        let mut out = super::v4::ClientFqdn { flags: e, name: self.name.clone(), partial: self.partial }.encode();
        // Option 81's flags and two RCODE octets become option 39's one flags octet.
        out.drain(..3);
        out.insert(0, self.flags);
        out
    }
}

impl RelayMsg {
    /// The RELAY-REPL level answering this RELAY-FORW level: same hop count, link and peer
    /// address, echoing interface-id (RFC 8415 §19.3) and relay source port (RFC 8357 §5.2), as Kea does.
    pub fn reply_layer(&self) -> RelayMsg {
        let mut options = Options6::new();
        for (c, p) in &self.options {
            if c == code::INTERFACE_ID || c == code::RELAY_SOURCE_PORT {
                options.push_slice(c, p);
            }
        }
        RelayMsg {
            msg_type: MessageType::RelayRepl,
            hop_count: self.hop_count,
            link_addr: self.link_addr,
            peer_addr: self.peer_addr,
            options,
        }
    }

    /// The interface-id, option 18 (RFC 8415 §21.18).
    pub fn interface_id(&self) -> Option<&[u8]> {
        self.options.get(code::INTERFACE_ID)
    }

    /// The remote-id, option 37: enterprise number and the ID, when at least 4 octets (RFC 4649 §3).
    pub fn remote_id(&self) -> Option<(u32, &[u8])> {
        let p = self.options.get(code::REMOTE_ID)?;
        let id = p.get(4..)?;
        Some((u32_at(p, 0), id))
    }

    /// The subscriber-id, option 38 (RFC 4580 §2).
    pub fn subscriber_id(&self) -> Option<&[u8]> {
        self.options.get(code::SUBSCRIBER_ID)
    }

    /// The client link-layer address, option 79: hardware type and address, when at least 3 octets (RFC 6939 §4).
    pub fn client_linklayer_addr(&self) -> Option<(u16, &[u8])> {
        match self.options.get(code::CLIENT_LINKLAYER_ADDR)? {
            [a, b, addr @ ..] if !addr.is_empty() => Some((u16::from_be_bytes([*a, *b]), addr)),
            _ => None,
        }
    }
}

/// A status code option: code and UTF-8 message (RFC 8415 §21.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCode {
    /// The status, one of the associated constants or another IANA value.
    pub code: u16,
    /// Text for humans; invalid UTF-8 is replaced when parsing.
    pub message: String,
}

impl StatusCode {
    /// Success (RFC 8415 §21.13).
    pub const SUCCESS: u16 = 0;
    /// Failure, reason unspecified (RFC 8415 §21.13).
    pub const UNSPEC_FAIL: u16 = 1;
    /// The server has no addresses available to assign to the IA (RFC 8415 §21.13).
    pub const NO_ADDRS_AVAIL: u16 = 2;
    /// Client record (binding) unavailable (RFC 8415 §21.13).
    pub const NO_BINDING: u16 = 3;
    /// The prefix for the address is not appropriate for the link (RFC 8415 §21.13).
    pub const NOT_ON_LINK: u16 = 4;
    /// The client must use multicast to talk to the server (RFC 8415 §21.13).
    pub const USE_MULTICAST: u16 = 5;
    /// The server has no prefixes available to assign to the IA_PD (RFC 8415 §21.13).
    pub const NO_PREFIX_AVAIL: u16 = 6;

    /// A status with a message (RFC 8415 §21.13).
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        StatusCode { code, message: message.into() }
    }

    /// Parses a status code payload (RFC 8415 §21.13).
    pub fn parse(payload: &[u8]) -> Result<Self, DecodeError> {
        match payload {
            [a, b, text @ ..] => Ok(StatusCode {
                code: u16::from_be_bytes([*a, *b]),
                message: String::from_utf8_lossy(text).into_owned(),
            }),
            _ => Err(DecodeError::BadStatusCode),
        }
    }

    /// Appends the status code payload (RFC 8415 §21.13).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.code.to_be_bytes());
        out.extend_from_slice(self.message.as_bytes());
    }
}

/// Splits an IA's or address's sub-options: `known` codes go to `on_known`, the first status
/// code to `status`, everything else (later status codes included) to `other` (RFC 8415 §21.1).
fn parse_sub_options<'a>(
    area: &'a [u8],
    status: &mut Option<StatusCode>,
    other: &mut Vec<(u16, Vec<u8>)>,
    mut on_known: impl FnMut(u16, &'a [u8]) -> Result<bool, DecodeError>,
) -> Result<(), DecodeError> {
    let mut i = 0;
    while i < area.len() {
        let (c, payload) = read_option(area, i)?;
        i += OPTION_HEADER_LEN + payload.len();
        if c == code::STATUS_CODE && status.is_none() {
            *status = Some(StatusCode::parse(payload)?);
        } else if !on_known(c, payload)? {
            other.push((c, payload.to_vec()));
        }
    }
    Ok(())
}

/// Writes the status and the other sub-options, in the order parsing expects (RFC 8415 §21.1).
fn put_tail(out: &mut Vec<u8>, status: &Option<StatusCode>, other: &[(u16, Vec<u8>)]) {
    if let Some(s) = status {
        put_nested(out, code::STATUS_CODE, |o| s.encode(o));
    }
    for (c, p) in other {
        put_option(out, *c, p);
    }
}

/// An IA address option with its sub-options (RFC 8415 §21.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaAddr {
    /// The address.
    pub addr: Ipv6Addr,
    /// Preferred lifetime in seconds.
    pub preferred: u32,
    /// Valid lifetime in seconds.
    pub valid: u32,
    /// The first status code sub-option.
    pub status: Option<StatusCode>,
    /// Other sub-options in wire order.
    pub other: Vec<(u16, Vec<u8>)>,
}

impl IaAddr {
    /// Parses an IAADDR payload (RFC 8415 §21.6).
    pub fn parse(payload: &[u8]) -> Result<Self, DecodeError> {
        let fixed = payload.get(..24).ok_or(DecodeError::BadIa { code: code::IAADDR })?;
        let mut a = IaAddr {
            addr: ipv6_at(fixed, 0),
            preferred: u32_at(fixed, 16),
            valid: u32_at(fixed, 20),
            status: None,
            other: Vec::new(),
        };
        parse_sub_options(payload.get(24..).unwrap_or(&[]), &mut a.status, &mut a.other, |_, _| Ok(false))?;
        Ok(a)
    }

    /// Appends the IAADDR payload (RFC 8415 §21.6).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.addr.octets());
        out.extend_from_slice(&self.preferred.to_be_bytes());
        out.extend_from_slice(&self.valid.to_be_bytes());
        put_tail(out, &self.status, &self.other);
    }
}

/// An IA_NA option with its sub-options parsed (RFC 8415 §21.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaNa {
    /// The IA identifier chosen by the client.
    pub iaid: u32,
    /// Renew time (T1) in seconds.
    pub t1: u32,
    /// Rebind time (T2) in seconds.
    pub t2: u32,
    /// IAADDR sub-options in wire order.
    pub addrs: Vec<IaAddr>,
    /// The first status code sub-option.
    pub status: Option<StatusCode>,
    /// Other sub-options in wire order.
    pub other: Vec<(u16, Vec<u8>)>,
}

impl IaNa {
    /// An empty IA_NA (RFC 8415 §21.4).
    pub fn new(iaid: u32, t1: u32, t2: u32) -> Self {
        IaNa { iaid, t1, t2, addrs: Vec::new(), status: None, other: Vec::new() }
    }

    /// Parses an IA_NA payload (RFC 8415 §21.4).
    pub fn parse(payload: &[u8]) -> Result<Self, DecodeError> {
        let fixed = payload.get(..12).ok_or(DecodeError::BadIa { code: code::IA_NA })?;
        let mut ia = IaNa::new(u32_at(fixed, 0), u32_at(fixed, 4), u32_at(fixed, 8));
        let mut addrs = Vec::new();
        parse_sub_options(payload.get(12..).unwrap_or(&[]), &mut ia.status, &mut ia.other, |c, p| {
            if c != code::IAADDR {
                return Ok(false);
            }
            addrs.push(IaAddr::parse(p)?);
            Ok(true)
        })?;
        ia.addrs = addrs;
        Ok(ia)
    }

    /// Appends the IA_NA payload: fixed fields, addresses, status, other sub-options (RFC 8415 §21.4).
    pub fn encode(&self, out: &mut Vec<u8>) {
        for v in [self.iaid, self.t1, self.t2] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        for a in &self.addrs {
            put_nested(out, code::IAADDR, |o| a.encode(o));
        }
        put_tail(out, &self.status, &self.other);
    }
}

/// An IA prefix option with its sub-options, PD_EXCLUDE decoded (RFC 8415 §21.22, RFC 6603 §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaPrefix {
    /// Preferred lifetime in seconds.
    pub preferred: u32,
    /// Valid lifetime in seconds.
    pub valid: u32,
    /// Prefix length in bits, at most 128.
    pub prefix_len: u8,
    /// The prefix.
    pub prefix: Ipv6Addr,
    /// The excluded prefix and its length, from the first PD_EXCLUDE sub-option.
    pub excluded: Option<(Ipv6Addr, u8)>,
    /// The first status code sub-option.
    pub status: Option<StatusCode>,
    /// Other sub-options in wire order (later PD_EXCLUDEs included).
    pub other: Vec<(u16, Vec<u8>)>,
}

/// The first `n` bits of a 128-bit value set (RFC 4291 §2.3 prefix notation).
fn mask(n: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(n.min(128))).unwrap_or(0)
}

/// Decodes a PD_EXCLUDE payload relative to the delegated prefix (RFC 6603 §4.2).
fn parse_pd_exclude(prefix: Ipv6Addr, prefix_len: u8, payload: &[u8]) -> Result<(Ipv6Addr, u8), DecodeError> {
    let (&excluded_len, subnet_id) = payload.split_first().ok_or(DecodeError::BadPdExclude)?;
    if excluded_len <= prefix_len || excluded_len > 128 {
        return Err(DecodeError::BadPdExclude);
    }
    let bits = excluded_len - prefix_len;
    if subnet_id.len() != usize::from(bits).div_ceil(8) {
        return Err(DecodeError::BadPdExclude);
    }
    // The subnet ID holds bits prefix_len..excluded_len of the excluded prefix, left-aligned.
    let mut id = [0u8; 16];
    if let Some(dst) = id.get_mut(..subnet_id.len()) {
        dst.copy_from_slice(subnet_id);
    }
    let id = u128::from_be_bytes(id).checked_shr(u32::from(prefix_len)).unwrap_or(0);
    let addr = (u128::from(prefix) & mask(prefix_len)) | (id & mask(excluded_len));
    Ok((Ipv6Addr::from(addr), excluded_len))
}

/// Appends a PD_EXCLUDE payload for `excluded` inside the delegated prefix; nothing when it is not longer (RFC 6603 §4.2).
fn encode_pd_exclude(prefix_len: u8, excluded: (Ipv6Addr, u8), out: &mut Vec<u8>) {
    let (addr, excluded_len) = excluded;
    if excluded_len <= prefix_len || excluded_len > 128 {
        return;
    }
    let bits = excluded_len - prefix_len;
    let id = (u128::from(addr).checked_shl(u32::from(prefix_len)).unwrap_or(0) & mask(bits)).to_be_bytes();
    out.push(excluded_len);
    out.extend_from_slice(id.get(..usize::from(bits).div_ceil(8)).unwrap_or(&[]));
}

impl IaPrefix {
    /// Parses an IAPREFIX payload; a prefix length above 128 is an error, as in Kea (RFC 8415 §21.22).
    pub fn parse(payload: &[u8]) -> Result<Self, DecodeError> {
        let fixed = payload.get(..25).ok_or(DecodeError::BadIa { code: code::IAPREFIX })?;
        let prefix_len = fixed[8];
        if prefix_len > 128 {
            return Err(DecodeError::BadIa { code: code::IAPREFIX });
        }
        let prefix = ipv6_at(fixed, 9);
        let mut p = IaPrefix {
            preferred: u32_at(fixed, 0),
            valid: u32_at(fixed, 4),
            prefix_len,
            prefix,
            excluded: None,
            status: None,
            other: Vec::new(),
        };
        let mut excluded = None;
        parse_sub_options(payload.get(25..).unwrap_or(&[]), &mut p.status, &mut p.other, |c, data| {
            if c != code::PD_EXCLUDE || excluded.is_some() {
                return Ok(false);
            }
            excluded = Some(parse_pd_exclude(prefix, prefix_len, data)?);
            Ok(true)
        })?;
        p.excluded = excluded;
        Ok(p)
    }

    /// Appends the IAPREFIX payload: fixed fields, PD_EXCLUDE, status, other sub-options (RFC 8415 §21.22, RFC 6603 §4.2).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.preferred.to_be_bytes());
        out.extend_from_slice(&self.valid.to_be_bytes());
        out.push(self.prefix_len);
        out.extend_from_slice(&self.prefix.octets());
        if let Some(ex) = self.excluded {
            if ex.1 > self.prefix_len && ex.1 <= 128 {
                put_nested(out, code::PD_EXCLUDE, |o| encode_pd_exclude(self.prefix_len, ex, o));
            }
        }
        put_tail(out, &self.status, &self.other);
    }
}

/// An IA_PD option with its sub-options parsed (RFC 8415 §21.21).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaPd {
    /// The IA identifier chosen by the client.
    pub iaid: u32,
    /// Renew time (T1) in seconds.
    pub t1: u32,
    /// Rebind time (T2) in seconds.
    pub t2: u32,
    /// IAPREFIX sub-options in wire order.
    pub prefixes: Vec<IaPrefix>,
    /// The first status code sub-option.
    pub status: Option<StatusCode>,
    /// Other sub-options in wire order.
    pub other: Vec<(u16, Vec<u8>)>,
}

impl IaPd {
    /// An empty IA_PD (RFC 8415 §21.21).
    pub fn new(iaid: u32, t1: u32, t2: u32) -> Self {
        IaPd { iaid, t1, t2, prefixes: Vec::new(), status: None, other: Vec::new() }
    }

    /// Parses an IA_PD payload (RFC 8415 §21.21).
    pub fn parse(payload: &[u8]) -> Result<Self, DecodeError> {
        let fixed = payload.get(..12).ok_or(DecodeError::BadIa { code: code::IA_PD })?;
        let mut ia = IaPd::new(u32_at(fixed, 0), u32_at(fixed, 4), u32_at(fixed, 8));
        let mut prefixes = Vec::new();
        parse_sub_options(payload.get(12..).unwrap_or(&[]), &mut ia.status, &mut ia.other, |c, p| {
            if c != code::IAPREFIX {
                return Ok(false);
            }
            prefixes.push(IaPrefix::parse(p)?);
            Ok(true)
        })?;
        ia.prefixes = prefixes;
        Ok(ia)
    }

    /// Appends the IA_PD payload: fixed fields, prefixes, status, other sub-options (RFC 8415 §21.21).
    pub fn encode(&self, out: &mut Vec<u8>) {
        for v in [self.iaid, self.t1, self.t2] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        for p in &self.prefixes {
            put_nested(out, code::IAPREFIX, |o| p.encode(o));
        }
        put_tail(out, &self.status, &self.other);
    }
}

/// Every IA_NA of the message, parsed, in wire order (RFC 8415 §21.4).
pub fn ia_nas(p: &Pkt6) -> Vec<Result<IaNa, DecodeError>> {
    p.options.get_all(code::IA_NA).map(IaNa::parse).collect()
}

/// Every IA_PD of the message, parsed, in wire order (RFC 8415 §21.21).
pub fn ia_pds(p: &Pkt6) -> Vec<Result<IaPd, DecodeError>> {
    p.options.get_all(code::IA_PD).map(IaPd::parse).collect()
}

/// A DUID, the opaque client or server identifier (RFC 8415 §11).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Duid(pub Vec<u8>);

impl Duid {
    /// DUID-LLT: link-layer address plus time (RFC 8415 §11.2).
    pub const LLT: u16 = 1;
    /// DUID-EN: enterprise number plus identifier (RFC 8415 §11.3).
    pub const EN: u16 = 2;
    /// DUID-LL: link-layer address (RFC 8415 §11.4).
    pub const LL: u16 = 3;
    /// DUID-UUID (RFC 8415 §11.5, RFC 6355).
    pub const UUID: u16 = 4;

    /// The raw octets (RFC 8415 §11.1).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The DUID type, its first two octets; `None` when shorter (RFC 8415 §11.1).
    pub fn r#type(&self) -> Option<u16> {
        match self.0.as_slice() {
            [a, b, ..] => Some(u16::from_be_bytes([*a, *b])),
            _ => None,
        }
    }

    /// Hardware type and link-layer address of a DUID-LLT or DUID-LL with a non-empty
    /// address, as Kea's mac-sources "duid" extracts it (RFC 8415 §11.2, §11.4).
    pub fn hwaddr(&self) -> Option<(u16, &[u8])> {
        let at = match self.r#type()? {
            Self::LLT => 8,
            Self::LL => 4,
            _ => return None,
        };
        let addr = self.0.get(at..).filter(|a| !a.is_empty())?;
        let htype = self.0.get(2..4).map(|h| u16::from_be_bytes([h[0], h[1]]))?;
        Some((htype, addr))
    }
}

impl From<&[u8]> for Duid {
    fn from(b: &[u8]) -> Self {
        Duid(b.to_vec())
    }
}

impl fmt::Display for Duid {
    /// Colon-separated hex, the form Kea logs and stores (RFC 8415 §11).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let clean: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        hex::decode(clean).expect("test hex")
    }

    /// A SOLICIT as ISC dhclient -6 sends it (RFC 8415 §8, §21): DUID-LLT of 52:54:00:12:34:56,
    /// ORO for DNS servers, domain list, FQDN and SNTP, elapsed time 0, one IA_NA whose IAID is
    /// the MAC's last four octets, T1 = T2 = 0.
    fn dhclient_solicit() -> Vec<u8> {
        unhex(
            "01 10 08 74
             0001 000e 0001 0001 2a4b6c8d 525400123456
             0006 0008 0017 0018 0027 001f
             0008 0002 0000
             0003 000c 00123456 00000000 00000000",
        )
    }

    fn duid() -> Vec<u8> {
        unhex("0001 0001 2a4b6c8d 525400123456")
    }

    fn solicit() -> Pkt6 {
        let mut p = Pkt6::new(MessageType::Solicit, 0xabcdef);
        p.options.push(code::CLIENTID, duid());
        p.options.push(code::ELAPSED_TIME, vec![0, 100]);
        p.options.push(code::ORO, vec![0, 23, 0, 24, 0, 82]);
        p.options.push(code::RAPID_COMMIT, vec![]);
        for iaid in [1, 2] {
            let mut buf = Vec::new();
            IaNa::new(iaid, 0, 0).encode(&mut buf);
            p.options.push(code::IA_NA, buf);
        }
        let mut pd = IaPd::new(7, 0, 0);
        pd.prefixes.push(IaPrefix {
            preferred: 0,
            valid: 0,
            prefix_len: 56,
            prefix: Ipv6Addr::UNSPECIFIED,
            excluded: None,
            status: None,
            other: vec![],
        });
        let mut buf = Vec::new();
        pd.encode(&mut buf);
        p.options.push(code::IA_PD, buf);
        p
    }

    fn reply() -> (Pkt6, IaNa, IaPd) {
        let mut p = solicit().reply_to(MessageType::Reply);
        p.options.push(code::SERVERID, unhex("0002 00000009 6b6561"));
        p.options.push(code::CLIENTID, duid());
        let mut na = IaNa::new(1, 1000, 2000);
        na.addrs.push(IaAddr {
            addr: "2001:db8:1::10".parse().expect("addr"),
            preferred: 3000,
            valid: 4000,
            status: Some(StatusCode::new(StatusCode::SUCCESS, "ok")),
            other: vec![],
        });
        na.status = Some(StatusCode::new(StatusCode::SUCCESS, "Assigned 1 address"));
        na.other.push((code::STATUS_CODE, vec![0, 4]));
        let mut pd = IaPd::new(7, 1000, 2000);
        pd.prefixes.push(IaPrefix {
            preferred: 3000,
            valid: 4000,
            prefix_len: 56,
            prefix: "2001:db8:aa00:ff00::".parse().expect("prefix"),
            excluded: Some(("2001:db8:aa00:ff80::".parse().expect("excluded"), 64)),
            status: None,
            other: vec![(99, vec![1, 2, 3])],
        });
        pd.prefixes.push(IaPrefix {
            preferred: 1,
            valid: 2,
            prefix_len: 60,
            prefix: "2001:db8:bb00::".parse().expect("prefix"),
            excluded: Some(("2001:db8:bb00:5::".parse().expect("excluded"), 64)),
            status: Some(StatusCode::new(StatusCode::NO_PREFIX_AVAIL, "nope \u{e9}")),
            other: vec![],
        });
        let mut buf = Vec::new();
        na.encode(&mut buf);
        p.options.push(code::IA_NA, buf);
        let mut buf = Vec::new();
        pd.encode(&mut buf);
        p.options.push(code::IA_PD, buf);
        let mut buf = Vec::new();
        StatusCode::new(StatusCode::SUCCESS, "All good").encode(&mut buf);
        p.options.push(code::STATUS_CODE, buf);
        (p, na, pd)
    }

    fn relay(level: u8, link: &str, peer: &str) -> RelayMsg {
        let mut r = RelayMsg {
            msg_type: MessageType::RelayForw,
            hop_count: level,
            link_addr: link.parse().expect("link"),
            peer_addr: peer.parse().expect("peer"),
            options: Options6::new(),
        };
        r.options.push(code::INTERFACE_ID, format!("eth{level}").into_bytes());
        r.options.push(code::REMOTE_ID, [&[0, 0, 0x0d, 0xe9][..], &[level; 6]].concat());
        r.options.push(code::SUBSCRIBER_ID, b"sub".to_vec());
        r.options.push(code::CLIENT_LINKLAYER_ADDR, unhex("0001 525400123456"));
        r
    }

    fn relayed_solicit() -> (Vec<u8>, Vec<RelayMsg>) {
        // Outermost first: the relay nearest the server has the highest hop count.
        let relays =
            vec![relay(2, "2001:db8:3::1", "fe80::3"), relay(1, "2001:db8:2::1", "fe80::2"), relay(0, "::", "fe80::1")];
        let mut buf = Vec::new();
        encode(&solicit(), &relays, &mut buf);
        (buf, relays)
    }

    fn roundtrip(pkt: &Pkt6, relays: &[RelayMsg]) -> Vec<u8> {
        let mut buf = Vec::new();
        encode(pkt, relays, &mut buf);
        assert_eq!(buf.len(), encoded_len(pkt, relays));
        let d = decode(&buf).expect("decodes");
        assert_eq!(&d.inner, pkt);
        assert_eq!(d.relays, relays);
        buf
    }

    #[test]
    fn dhclient_solicit_capture_decodes() {
        let buf = dhclient_solicit();
        let d = decode(&buf).expect("decodes");
        assert!(d.relays.is_empty());
        let p = &d.inner;
        assert_eq!((p.msg_type, p.xid), (MessageType::Solicit, 0x100874));
        assert_eq!(p.msg_type.name(), "SOLICIT");
        assert_eq!(p.client_id(), Some(&duid()[..]));
        assert_eq!(p.server_id(), None);
        assert_eq!(p.oro(), [23, 24, 39, 31]);
        assert_eq!(p.elapsed_time(), Some(0));
        assert!(!p.rapid_commit());
        let nas = ia_nas(p);
        assert_eq!(nas, [Ok(IaNa::new(0x00123456, 0, 0))]);
        assert!(ia_pds(p).is_empty());
        let d6 = Duid(p.client_id().unwrap_or_default().to_vec());
        assert_eq!(d6.r#type(), Some(Duid::LLT));
        assert_eq!(d6.hwaddr(), Some((1, &[0x52, 0x54, 0, 0x12, 0x34, 0x56][..])));
        assert_eq!(d6.to_string(), "00:01:00:01:2a:4b:6c:8d:52:54:00:12:34:56");
        let mut out = Vec::new();
        encode(p, &[], &mut out);
        assert_eq!(out, buf, "byte-exact re-encoding");
    }

    #[test]
    fn solicit_roundtrip() {
        let p = solicit();
        let buf = roundtrip(&p, &[]);
        let d = decode(&buf).expect("decodes");
        assert!(d.inner.rapid_commit());
        assert_eq!(d.inner.oro(), [23, 24, 82]);
        assert_eq!(d.inner.elapsed_time(), Some(100));
        let nas: Vec<u32> = ia_nas(&d.inner).into_iter().map(|r| r.expect("ia_na").iaid).collect();
        assert_eq!(nas, [1, 2]);
        let pds = ia_pds(&d.inner);
        assert_eq!(pds.len(), 1);
        let pd = pds[0].as_ref().expect("ia_pd");
        assert_eq!((pd.iaid, pd.prefixes.len(), pd.prefixes[0].prefix_len), (7, 1, 56));
        // The xid is 24 bits on the wire.
        let big = Pkt6::new(MessageType::Solicit, 0xff12_3456);
        assert_eq!(big.xid, 0x12_3456);
        let r = big.reply_to(MessageType::Advertise);
        assert_eq!((r.msg_type, r.xid, r.options.len()), (MessageType::Advertise, 0x12_3456, 0));
    }

    #[test]
    fn reply_roundtrip_with_pd_exclude_and_status() {
        let (p, na, pd) = reply();
        let buf = roundtrip(&p, &[]);
        let d = decode(&buf).expect("decodes");
        assert_eq!(ia_nas(&d.inner), [Ok(na.clone())]);
        assert_eq!(ia_pds(&d.inner), [Ok(pd.clone())]);
        assert_eq!(
            StatusCode::parse(d.inner.options.get(code::STATUS_CODE).unwrap_or_default()).map(|s| s.message),
            Ok("All good".into())
        );
        // PD_EXCLUDE wire form (RFC 6603 §4.2): /56 excluding /64 -> one octet of subnet ID 0x80.
        let mut wire = Vec::new();
        pd.prefixes[0].encode(&mut wire);
        assert_eq!(&wire[25..25 + 6], &[0, 67, 0, 2, 64, 0x80]);
        // /60 excluding /64: four bits, left-aligned: 0x50.
        let mut wire = Vec::new();
        pd.prefixes[1].encode(&mut wire);
        assert_eq!(&wire[25..25 + 6], &[0, 67, 0, 2, 64, 0x50]);
        // Exclusion spanning several octets: /48 excluding /127.
        let prefix: Ipv6Addr = "2001:db8:cc::".parse().expect("p");
        let ex: Ipv6Addr = "2001:db8:cc:1234:5678:9abc:def0:1232".parse().expect("e");
        let mut p = IaPrefix {
            preferred: 0,
            valid: 0,
            prefix_len: 48,
            prefix,
            excluded: Some((ex, 127)),
            status: None,
            other: vec![],
        };
        let mut wire = Vec::new();
        p.encode(&mut wire);
        assert_eq!(wire[29], 127);
        assert_eq!(wire.len(), 25 + 4 + 1 + 10);
        assert_eq!(IaPrefix::parse(&wire), Ok(p.clone()));
        // Not longer than the prefix: not encoded; bad sizes on the wire are errors.
        p.excluded = Some((ex, 48));
        let mut wire = Vec::new();
        p.encode(&mut wire);
        assert_eq!(wire.len(), 25);
        let base = wire.clone();
        for bad in [
            &[0, 67, 0, 1, 48][..],
            &[0, 67, 0, 2, 64, 0],
            &[0, 67, 0, 3, 56, 1, 2],
            &[0, 67, 0, 0],
            &[0, 67, 0, 2, 129, 0],
        ] {
            let w = [&base[..], bad].concat();
            assert_eq!(IaPrefix::parse(&w), Err(DecodeError::BadPdExclude), "{bad:?}");
        }
        // Fixed-field errors.
        assert_eq!(IaNa::parse(&[0; 11]), Err(DecodeError::BadIa { code: code::IA_NA }));
        assert_eq!(IaPd::parse(&[0; 11]), Err(DecodeError::BadIa { code: code::IA_PD }));
        assert_eq!(IaAddr::parse(&[0; 23]), Err(DecodeError::BadIa { code: code::IAADDR }));
        assert_eq!(IaPrefix::parse(&[0; 24]), Err(DecodeError::BadIa { code: code::IAPREFIX }));
        let mut long = base.clone();
        long[8] = 129;
        assert_eq!(IaPrefix::parse(&long), Err(DecodeError::BadIa { code: code::IAPREFIX }));
        assert_eq!(StatusCode::parse(&[0]), Err(DecodeError::BadStatusCode));
        // A sub-option overrunning its IA.
        assert_eq!(
            IaNa::parse(&[&[0; 12][..], &[0, 5, 0, 30, 1]].concat()),
            Err(DecodeError::OptionOverrun { code: 5 })
        );
        assert_eq!(IaNa::parse(&[&[0; 12][..], &[0, 13]].concat()), Err(DecodeError::OptionOverrun { code: 13 }));
    }

    #[test]
    fn nested_relays_roundtrip_and_reply_chain() {
        let (buf, relays) = relayed_solicit();
        let d = decode(&buf).expect("decodes");
        assert_eq!(d.relays, relays);
        assert_eq!(d.inner, solicit());
        let mut out = Vec::new();
        encode(&d.inner, &d.relays, &mut out);
        assert_eq!(out, buf, "byte-exact re-encoding");
        let outer = &d.relays[0];
        assert_eq!(outer.hop_count, 2);
        assert_eq!(outer.interface_id(), Some(&b"eth2"[..]));
        assert_eq!(outer.remote_id(), Some((3561, &[2; 6][..])));
        assert_eq!(outer.subscriber_id(), Some(&b"sub"[..]));
        assert_eq!(outer.client_linklayer_addr(), Some((1, &[0x52, 0x54, 0, 0x12, 0x34, 0x56][..])));
        assert_eq!(d.relays[2].link_addr, Ipv6Addr::UNSPECIFIED);

        // The server answers through a RELAY-REPL chain echoing interface-id.
        let mut chain: Vec<RelayMsg> = d.relays.iter().map(RelayMsg::reply_layer).collect();
        chain[1].options.push(code::RELAY_SOURCE_PORT, vec![0x02, 0x23]);
        let (reply, _, _) = reply();
        let wire = roundtrip(&reply, &chain);
        assert_eq!(wire[0], MessageType::RelayRepl.as_u8());
        let back = decode(&wire).expect("decodes");
        for (got, sent) in back.relays.iter().zip(&d.relays) {
            assert_eq!(got.msg_type, MessageType::RelayRepl);
            assert_eq!((got.hop_count, got.link_addr, got.peer_addr), (sent.hop_count, sent.link_addr, sent.peer_addr));
            assert_eq!(got.interface_id(), sent.interface_id());
            assert_eq!(got.remote_id(), None);
        }
        assert_eq!(back.relays[1].options.get(code::RELAY_SOURCE_PORT), Some(&[0x02, 0x23][..]));
        assert_eq!(back.inner, reply);
    }

    #[test]
    fn relay_errors() {
        // Without RELAY_MSG, with two, and an overrunning one.
        let mut r = vec![12, 0];
        r.extend_from_slice(&[0; 32]);
        assert_eq!(decode(&r), Err(DecodeError::MissingRelayMsg));
        let mut two = r.clone();
        two.extend_from_slice(&[0, 9, 0, 4, 1, 0, 0, 1, 0, 9, 0, 4, 1, 0, 0, 1]);
        assert_eq!(decode(&two), Err(DecodeError::DuplicateRelayMsg));
        let mut over = r.clone();
        over.extend_from_slice(&[0, 9, 0, 5, 1, 0, 0, 1]);
        assert_eq!(decode(&over), Err(DecodeError::OptionOverrun { code: 9 }));
        // Empty or unknown inner message.
        let mut empty = r.clone();
        empty.extend_from_slice(&[0, 9, 0, 0]);
        assert_eq!(decode(&empty), Err(DecodeError::TooShort));
        assert_eq!(decode(&[0, 1, 2, 3]), Err(DecodeError::UnknownMessageType { value: 0 }));
        assert_eq!(decode(&[38, 1, 2, 3]), Err(DecodeError::UnknownMessageType { value: 38 }));
        assert_eq!(decode(&[]), Err(DecodeError::TooShort));
        assert_eq!(decode(&[1, 2, 3]), Err(DecodeError::TooShort));
        assert_eq!(decode(&r[..33]), Err(DecodeError::TooShort));
    }

    #[test]
    fn relay_nesting_limit() {
        let chain = |n: usize| -> Vec<u8> {
            let relays: Vec<RelayMsg> = (0..n)
                .map(|i| RelayMsg {
                    msg_type: MessageType::RelayForw,
                    hop_count: i as u8,
                    link_addr: Ipv6Addr::UNSPECIFIED,
                    peer_addr: Ipv6Addr::LOCALHOST,
                    options: Options6::new(),
                })
                .collect();
            let mut buf = Vec::new();
            encode(&Pkt6::new(MessageType::Solicit, 1), &relays, &mut buf);
            buf
        };
        let d = decode(&chain(HOP_COUNT_LIMIT)).expect("32 levels decode");
        assert_eq!(d.relays.len(), 32);
        assert_eq!(decode(&chain(HOP_COUNT_LIMIT + 1)), Err(DecodeError::RelayTooDeep));
        assert_eq!(decode(&chain(100)), Err(DecodeError::RelayTooDeep));
    }

    /// Offsets at which cutting a direct message leaves whole options.
    fn option_starts(buf: &[u8]) -> Vec<usize> {
        let mut starts = vec![HEADER_LEN];
        let mut i = HEADER_LEN;
        while i < buf.len() {
            i += OPTION_HEADER_LEN + usize::from(u16::from_be_bytes([buf[i + 2], buf[i + 3]]));
            starts.push(i);
        }
        starts
    }

    #[test]
    fn truncation_at_every_length() {
        let mut reply_buf = Vec::new();
        encode(&reply().0, &[], &mut reply_buf);
        for buf in [dhclient_solicit(), reply_buf] {
            let starts = option_starts(&buf);
            for len in 0..buf.len() {
                let r = decode(&buf[..len]);
                if len < HEADER_LEN {
                    assert_eq!(r, Err(DecodeError::TooShort), "len {len}");
                } else if starts.contains(&len) {
                    assert!(r.is_ok(), "len {len}: {r:?}");
                } else {
                    assert!(matches!(r, Err(DecodeError::OptionOverrun { .. })), "len {len}: {r:?}");
                }
            }
        }
        // A relayed message truncated anywhere is an error: RELAY_MSG covers the rest.
        let (buf, _) = relayed_solicit();
        for len in 0..buf.len() {
            assert!(decode(&buf[..len]).is_err(), "len {len}");
        }
        // Truncated IA payloads never parse past their end.
        let (p, _, _) = reply();
        for raw in p.options.get_all(code::IA_NA).chain(p.options.get_all(code::IA_PD)) {
            for len in 0..raw.len() {
                let _ = IaNa::parse(&raw[..len]);
                let _ = IaPd::parse(&raw[..len]);
            }
        }
    }

    #[test]
    fn options_multimap_semantics() {
        let mut o = Options6::new();
        o.push(code::IA_NA, vec![1]);
        o.push(code::ORO, vec![0, 23]);
        o.push(code::IA_NA, vec![2]);
        assert_eq!(o.len(), 3);
        assert_eq!(o.get(code::IA_NA), Some(&[1][..]));
        assert_eq!(o.get_all(code::IA_NA).collect::<Vec<_>>(), [&[1][..], &[2][..]]);
        o.set(code::IA_NA, &[9, 9]);
        assert_eq!(o.iter().map(|(c, p)| (c, p.to_vec())).collect::<Vec<_>>(), [(3, vec![9, 9]), (6, vec![0, 23])]);
        o.push(code::IA_NA, vec![3]);
        assert_eq!(o.remove_all(code::IA_NA), 2);
        assert_eq!(o.remove_all(code::IA_NA), 0);
        assert_eq!(o.len(), 1);
        // Repeated edits keep the arena bounded.
        for i in 0..10_000u32 {
            o.set(code::DNS_SERVERS, &vec![0; (i % 300) as usize]);
        }
        assert!(o.arena.len() < 4096, "arena {}", o.arena.len());
        assert_eq!(o.get(code::ORO), Some(&[0, 23][..]));
        // Order matters for equality: which IA comes first is significant.
        let mut a = Options6::new();
        a.push(3, vec![1]);
        a.push(3, vec![2]);
        let mut b = Options6::new();
        b.push(3, vec![2]);
        b.push(3, vec![1]);
        assert_ne!(a, b);
        // Payloads beyond option-len are cut, not wrapped.
        let mut big = Options6::new();
        big.push(1, vec![7; 70_000]);
        assert_eq!(big.get(1).map(<[u8]>::len), Some(65_535));
        let mut out = Vec::new();
        big.encode(&mut out);
        assert_eq!(out.len(), big.encoded_len());
        assert_eq!(&out[..4], &[0, 1, 0xff, 0xff]);
    }

    #[test]
    fn message_types_and_duids() {
        for v in 0..=255u8 {
            match MessageType::from_u8(v) {
                Some(t) => {
                    assert!((1..=37).contains(&v));
                    assert_eq!(t.as_u8(), v);
                }
                None => assert!(v == 0 || v > 37),
            }
        }
        assert_eq!(MessageType::InformationRequest.to_string(), "INFORMATION_REQUEST");
        assert_eq!(MessageType::RelayForw.name(), "RELAY_FORWARD");
        assert_eq!(MessageType::BndUpd.name(), "UNKNOWN");
        assert_eq!(Duid(unhex("0003 0001 001122334455")).hwaddr(), Some((1, &[0, 0x11, 0x22, 0x33, 0x44, 0x55][..])));
        assert_eq!(Duid(unhex("0003 0001")).hwaddr(), None);
        assert_eq!(Duid(unhex("0001 0001 00000000")).hwaddr(), None);
        assert_eq!(Duid(unhex("0002 00000009 01")).hwaddr(), None);
        assert_eq!(Duid(unhex("0004")).r#type(), Some(Duid::UUID));
        assert_eq!(Duid(vec![0]).r#type(), None);
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            if n == 0 {
                0
            } else {
                (self.next() % n as u64) as usize
            }
        }
    }

    fn mutate(rng: &mut XorShift, seed: &[u8]) -> Vec<u8> {
        let mut v = seed.to_vec();
        for _ in 0..=rng.below(3) {
            let at = rng.below(v.len() + 1);
            match rng.below(7) {
                0 if at < v.len() => v[at] = rng.next() as u8,
                1 if at < v.len() => v[at] ^= 1 << rng.below(8),
                2 => v.truncate(at),
                3 => v.insert(at, [0, 9, 12, 13, 25, 26, 67][rng.below(7)]),
                4 if at < v.len() => v[at] = [0, 1, 2, 3, 4, 255][rng.below(6)],
                5 => {
                    let n = rng.below(8);
                    let from = rng.below(v.len() + 1);
                    let chunk: Vec<u8> = v.iter().skip(from).take(n).copied().collect();
                    for (k, b) in chunk.into_iter().enumerate() {
                        v.insert((at + k).min(v.len()), b);
                    }
                }
                _ if at < v.len() => {
                    v.remove(at);
                }
                _ => {}
            }
        }
        v
    }

    fn check_roundtrip(buf: &[u8]) -> bool {
        let Ok(d) = decode(buf) else { return false };
        let mut out = Vec::new();
        encode(&d.inner, &d.relays, &mut out);
        // Nothing is dropped on decode, so the encoding has the input's size.
        assert_eq!(out.len(), buf.len(), "size of {}", hex::encode(buf));
        let again = decode(&out).expect("re-decode of our own encoding");
        assert_eq!(again, d, "round trip of {}", hex::encode(buf));
        for ia in ia_nas(&d.inner).into_iter().flatten() {
            let mut w = Vec::new();
            ia.encode(&mut w);
            assert_eq!(IaNa::parse(&w), Ok(ia));
        }
        for ia in ia_pds(&d.inner).into_iter().flatten() {
            let mut w = Vec::new();
            ia.encode(&mut w);
            assert_eq!(IaPd::parse(&w), Ok(ia));
        }
        true
    }

    #[test]
    fn mutation_never_panics() {
        let mut reply_buf = Vec::new();
        encode(&reply().0, &[], &mut reply_buf);
        let seeds = [dhclient_solicit(), reply_buf, relayed_solicit().0];
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut decoded = 0;
        for i in 0..20_000 {
            let input = mutate(&mut rng, &seeds[i % seeds.len()]);
            if check_roundtrip(&input) {
                decoded += 1;
            }
        }
        // The loop must exercise the success path, not only the error paths.
        assert!(decoded > 1_000, "only {decoded} mutants decoded");
    }
}
