//! DHCPv4 packet codec: the BOOTP header and the options field (RFC 2131 §2, §3; RFC 2132),
//! option overload into `sname`/`file` (RFC 2132 §9.3), long options (RFC 3396), and the
//! option payloads the server itself has to look inside: relay agent information (RFC 3046,
//! RFC 3527, RFC 5107) and the client FQDN (RFC 4702).
//!
//! Decoding is one pass over the buffer and never panics: every read goes through a bounds
//! check, and the only allocations are the packet's own option arena (bounded by the input
//! length) and its entry table. Option payloads are stored back to back in one `Vec<u8>`
//! with a small `(code, start, len)` index, so a typical DISCOVER costs two allocations
//! however many options it carries.
//!
//! What decoding normalises, so that `decode(encode(p)) == p` holds for every decoded `p`:
//! - repeated instances of one code are concatenated in the order RFC 3396 §5 prescribes
//!   (options field, then `file`, then `sname`);
//! - option 52 (overload) is consumed: its regions are parsed into [`Options`] and the
//!   overloaded fields are returned zeroed, since they hold no name or file then;
//! - Pad (0) and End (255) are framing, never entries;
//! - an empty Host Name (12) is dropped, as Kea drops it, rather than the packet.
//!
//! An option whose length runs past the end of its area fails the whole decode
//! ([`DecodeError::OptionOverrun`]).
//!
//! Encoding never overloads and always splits payloads longer than 255 octets (RFC 3396 §4).

use std::fmt;
use std::net::Ipv4Addr;

/// UDP port a DHCPv4 server listens on (RFC 2131 §4.1).
pub const SERVER_PORT: u16 = 67;
/// UDP port a DHCPv4 client listens on (RFC 2131 §4.1).
pub const CLIENT_PORT: u16 = 68;
/// `op` of a message sent by a client or relay to a server (RFC 2131 §2).
pub const BOOTREQUEST: u8 = 1;
/// `op` of a message sent by a server (RFC 2131 §2).
pub const BOOTREPLY: u8 = 2;
/// `htype` of 10 Mb Ethernet, the one nearly every client uses (RFC 2131 §2, "Assigned Numbers").
pub const HTYPE_ETHER: u8 = 1;
/// The broadcast bit of `flags` (RFC 2131 §2, figure 2).
pub const FLAG_BROADCAST: u16 = 0x8000;
/// The magic cookie 99.130.83.99 that opens the options field (RFC 2131 §3).
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// Length of the fixed BOOTP header that precedes the magic cookie (RFC 2131 §2).
pub const HEADER_LEN: usize = 236;
/// Length of the `chaddr` field (RFC 2131 §2).
pub const CHADDR_LEN: usize = 16;
/// Length of the `sname` field (RFC 2131 §2).
pub const SNAME_LEN: usize = 64;
/// Length of the `file` field (RFC 2131 §2).
pub const FILE_LEN: usize = 128;
/// Smallest message we send: the BOOTP header plus its 64-octet vendor area (RFC 951 §3, RFC 1542 §2.1).
pub const MIN_MESSAGE_LEN: usize = 300;

/// Offset of the options field, right after the cookie (RFC 2131 §3).
const OPTIONS_AT: usize = HEADER_LEN + MAGIC_COOKIE.len();
/// Bit of option 52's value meaning "`file` holds options" (RFC 2132 §9.3).
const OVERLOAD_FILE: u8 = 1;
/// Bit of option 52's value meaning "`sname` holds options" (RFC 2132 §9.3).
const OVERLOAD_SNAME: u8 = 2;

/// DHCPv4 option codes used by the server (RFC 2132 and the RFCs named per code).
pub mod code {
    /// Pad, one octet with no length (RFC 2132 §3.1).
    pub const PAD: u8 = 0;
    /// Subnet mask (RFC 2132 §3.3).
    pub const SUBNET_MASK: u8 = 1;
    /// Time offset (RFC 2132 §3.4).
    pub const TIME_OFFSET: u8 = 2;
    /// Routers (RFC 2132 §3.5).
    pub const ROUTERS: u8 = 3;
    /// Domain name servers (RFC 2132 §3.8).
    pub const DNS: u8 = 6;
    /// Host name (RFC 2132 §3.14).
    pub const HOST_NAME: u8 = 12;
    /// Domain name (RFC 2132 §3.17).
    pub const DOMAIN_NAME: u8 = 15;
    /// Interface MTU (RFC 2132 §5.1).
    pub const INTERFACE_MTU: u8 = 26;
    /// Broadcast address (RFC 2132 §5.3).
    pub const BROADCAST_ADDRESS: u8 = 28;
    /// Static routes (RFC 2132 §5.8).
    pub const STATIC_ROUTES: u8 = 33;
    /// NTP servers (RFC 2132 §8.3).
    pub const NTP_SERVERS: u8 = 42;
    /// Vendor-specific information (RFC 2132 §8.4).
    pub const VENDOR_ENCAPSULATED: u8 = 43;
    /// Requested IP address (RFC 2132 §9.1).
    pub const REQUESTED_IP: u8 = 50;
    /// IP address lease time (RFC 2132 §9.2).
    pub const LEASE_TIME: u8 = 51;
    /// Option overload (RFC 2132 §9.3).
    pub const OVERLOAD: u8 = 52;
    /// DHCP message type (RFC 2132 §9.6).
    pub const MESSAGE_TYPE: u8 = 53;
    /// Server identifier (RFC 2132 §9.7).
    pub const SERVER_ID: u8 = 54;
    /// Parameter request list (RFC 2132 §9.8).
    pub const PRL: u8 = 55;
    /// Message, text explaining a NAK or DECLINE (RFC 2132 §9.9).
    pub const MESSAGE: u8 = 56;
    /// Maximum DHCP message size (RFC 2132 §9.10).
    pub const MAX_SIZE: u8 = 57;
    /// Renewal (T1) time (RFC 2132 §9.11).
    pub const RENEWAL: u8 = 58;
    /// Rebinding (T2) time (RFC 2132 §9.12).
    pub const REBINDING: u8 = 59;
    /// Vendor class identifier (RFC 2132 §9.13).
    pub const VENDOR_CLASS: u8 = 60;
    /// Client identifier (RFC 2132 §9.14).
    pub const CLIENT_ID: u8 = 61;
    /// TFTP server name (RFC 2132 §9.4).
    pub const TFTP_SERVER_NAME: u8 = 66;
    /// Bootfile name (RFC 2132 §9.5).
    pub const BOOTFILE_NAME: u8 = 67;
    /// User class (RFC 3004 §4).
    pub const USER_CLASS: u8 = 77;
    /// Rapid commit (RFC 4039 §4).
    pub const RAPID_COMMIT: u8 = 80;
    /// Client FQDN (RFC 4702 §2).
    pub const CLIENT_FQDN: u8 = 81;
    /// Relay agent information (RFC 3046 §2).
    pub const RAI: u8 = 82;
    /// Client system architecture (RFC 4578 §2.1).
    pub const CLIENT_ARCH: u8 = 93;
    /// Auto-configure (RFC 2563 §2).
    pub const AUTO_CONFIG: u8 = 116;
    /// Subnet selection (RFC 3011 §3).
    pub const SUBNET_SELECTION: u8 = 118;
    /// Domain search list (RFC 3397 §2).
    pub const DOMAIN_SEARCH: u8 = 119;
    /// Classless static routes (RFC 3442 §3).
    pub const CLASSLESS_STATIC_ROUTE: u8 = 121;
    /// Vendor-identifying vendor class (RFC 3925 §3).
    pub const VIVCO: u8 = 124;
    /// Vendor-identifying vendor-specific information (RFC 3925 §4).
    pub const VIVSO: u8 = 125;
    /// End of the options, one octet with no length (RFC 2132 §3.2).
    pub const END: u8 = 255;
}

/// Why a buffer is not a DHCPv4 message we can process (RFC 2131 §2, §3; RFC 3046 §2; RFC 4702 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Shorter than the 236-octet header plus the 4-octet magic cookie.
    #[error("truncated DHCPv4 packet: shorter than the 240-octet header and magic cookie")]
    TooShort,
    /// The four octets after the header are not 99.130.83.99.
    #[error("invalid or missing DHCP magic cookie")]
    BadMagicCookie,
    /// An option's length octet is missing or its payload runs past the end of its area.
    #[error("option {code} is truncated: its length runs past the end of the buffer")]
    OptionOverrun {
        /// Code of the truncated option.
        code: u8,
    },
    /// Option 52 is not one octet of value 1, 2 or 3, or appears twice.
    #[error("invalid option overload (52): expected one octet of value 1, 2 or 3")]
    BadOverload,
    /// `hlen` is larger than the 16-octet `chaddr` field.
    #[error("hardware address length exceeds the 16-octet chaddr field")]
    BadHlen,
    /// A relay agent sub-option's length runs past the end of option 82.
    #[error("relay agent information sub-option {code} is truncated")]
    SubOptionOverrun {
        /// Code of the truncated sub-option.
        code: u8,
    },
    /// Option 81 is shorter than 3 octets, sets both N and S, or carries an invalid name.
    #[error("malformed client FQDN option (81)")]
    BadFqdn,
}

/// DHCP message types, option 53, with Kea's full list (RFC 2132 §9.6, RFC 3203, RFC 4388, RFC 6926, RFC 7724).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// DHCPDISCOVER (RFC 2131 §3.1).
    Discover = 1,
    /// DHCPOFFER (RFC 2131 §3.1).
    Offer = 2,
    /// DHCPREQUEST (RFC 2131 §3.1).
    Request = 3,
    /// DHCPDECLINE (RFC 2131 §3.1).
    Decline = 4,
    /// DHCPACK (RFC 2131 §3.1).
    Ack = 5,
    /// DHCPNAK (RFC 2131 §3.1).
    Nak = 6,
    /// DHCPRELEASE (RFC 2131 §3.1).
    Release = 7,
    /// DHCPINFORM (RFC 2131 §3.4).
    Inform = 8,
    /// DHCPFORCERENEW (RFC 3203 §3).
    ForceRenew = 9,
    /// DHCPLEASEQUERY (RFC 4388 §6.1).
    LeaseQuery = 10,
    /// DHCPLEASEUNASSIGNED (RFC 4388 §6.1).
    LeaseUnassigned = 11,
    /// DHCPLEASEUNKNOWN (RFC 4388 §6.1).
    LeaseUnknown = 12,
    /// DHCPLEASEACTIVE (RFC 4388 §6.1).
    LeaseActive = 13,
    /// DHCPBULKLEASEQUERY (RFC 6926 §6.2.1).
    BulkLeaseQuery = 14,
    /// DHCPLEASEQUERYDONE (RFC 6926 §6.2.1).
    LeaseQueryDone = 15,
    /// DHCPACTIVELEASEQUERY (RFC 7724 §5.2.1).
    ActiveLeaseQuery = 16,
    /// DHCPLEASEQUERYSTATUS (RFC 7724 §5.2.1).
    LeaseQueryStatus = 17,
    /// DHCPTLS (RFC 7724 §5.2.1).
    Tls = 18,
}

impl MessageType {
    /// The type for an option 53 value, `None` for values no RFC assigns (RFC 2132 §9.6).
    pub fn from_u8(value: u8) -> Option<MessageType> {
        use MessageType::*;
        Some(match value {
            1 => Discover,
            2 => Offer,
            3 => Request,
            4 => Decline,
            5 => Ack,
            6 => Nak,
            7 => Release,
            8 => Inform,
            9 => ForceRenew,
            10 => LeaseQuery,
            11 => LeaseUnassigned,
            12 => LeaseUnknown,
            13 => LeaseActive,
            14 => BulkLeaseQuery,
            15 => LeaseQueryDone,
            16 => ActiveLeaseQuery,
            17 => LeaseQueryStatus,
            18 => Tls,
            _ => return None,
        })
    }

    /// The option 53 value of this type (RFC 2132 §9.6).
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// The name Kea logs for this type, e.g. `DHCPDISCOVER` (Kea `Pkt4::getName`, RFC 2132 §9.6).
    pub fn name(self) -> &'static str {
        use MessageType::*;
        match self {
            Discover => "DHCPDISCOVER",
            Offer => "DHCPOFFER",
            Request => "DHCPREQUEST",
            Decline => "DHCPDECLINE",
            Ack => "DHCPACK",
            Nak => "DHCPNAK",
            Release => "DHCPRELEASE",
            Inform => "DHCPINFORM",
            ForceRenew => "DHCPFORCERENEW",
            LeaseQuery => "DHCPLEASEQUERY",
            LeaseUnassigned => "DHCPLEASEUNASSIGNED",
            LeaseUnknown => "DHCPLEASEUNKNOWN",
            LeaseActive => "DHCPLEASEACTIVE",
            BulkLeaseQuery => "DHCPBULKLEASEQUERY",
            LeaseQueryDone => "DHCPLEASEQUERYDONE",
            ActiveLeaseQuery => "DHCPACTIVELEASEQUERY",
            LeaseQueryStatus => "DHCPLEASEQUERYSTATUS",
            Tls => "DHCPTLS",
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One option's place in the arena.
#[derive(Debug, Clone, Copy)]
struct Entry {
    code: u8,
    start: usize,
    len: usize,
}

/// The options of one message: an ordered map from code to payload (RFC 2131 §3, RFC 3396).
///
/// Payloads live back to back in one buffer; order of insertion is the order of encoding.
/// Equality ignores order, as for any map: two messages with the same options are equal.
#[derive(Clone, Default)]
pub struct Options {
    arena: Vec<u8>,
    entries: Vec<Entry>,
    /// Arena bytes no entry refers to any more (after replace or remove); compacted lazily.
    waste: usize,
}

impl Options {
    /// An empty option set (RFC 2131 §3).
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty option set with room for `options` entries and `bytes` payload octets (RFC 2131 §3).
    pub fn with_capacity(options: usize, bytes: usize) -> Self {
        Options { arena: Vec::with_capacity(bytes), entries: Vec::with_capacity(options), waste: 0 }
    }

    /// Number of distinct option codes (RFC 2131 §3).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no options (RFC 2131 §3).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The payload of option `code`, after RFC 3396 concatenation (RFC 2131 §3).
    pub fn get(&self, code: u8) -> Option<&[u8]> {
        self.entries.iter().find(|e| e.code == code).map(|e| self.payload(e))
    }

    /// True when option `code` is present (RFC 2131 §3).
    pub fn contains(&self, code: u8) -> bool {
        self.entries.iter().any(|e| e.code == code)
    }

    /// Sets option `code`, replacing its payload in place if present, appending otherwise (RFC 2131 §3).
    ///
    /// Codes 0 (Pad) and 255 (End) can be stored but are never encoded: they have no length octet.
    pub fn insert(&mut self, code: u8, payload: Vec<u8>) {
        self.insert_slice(code, &payload);
    }

    /// Like [`Options::insert`], copying from a slice (RFC 2131 §3).
    pub fn insert_slice(&mut self, code: u8, payload: &[u8]) {
        let Some(entry) = self.entries.iter_mut().find(|e| e.code == code) else {
            let start = self.arena.len();
            self.arena.extend_from_slice(payload);
            self.entries.push(Entry { code, start, len: payload.len() });
            return;
        };
        if payload.len() <= entry.len {
            // Same place, shorter or equal: overwrite, leave the tail as waste.
            if let Some(dst) = self.arena.get_mut(entry.start..entry.start + payload.len()) {
                dst.copy_from_slice(payload);
            }
            self.waste += entry.len - payload.len();
        } else {
            self.waste += entry.len;
            entry.start = self.arena.len();
            self.arena.extend_from_slice(payload);
        }
        entry.len = payload.len();
        self.maybe_compact();
    }

    /// Removes option `code`, returning its payload (RFC 2131 §3).
    pub fn remove(&mut self, code: u8) -> Option<Vec<u8>> {
        let idx = self.entries.iter().position(|e| e.code == code)?;
        let entry = self.entries.remove(idx);
        let payload = self.payload(&entry).to_vec();
        self.waste += entry.len;
        self.maybe_compact();
        Some(payload)
    }

    /// Removes every option (RFC 2131 §3).
    pub fn clear(&mut self) {
        self.arena.clear();
        self.entries.clear();
        self.waste = 0;
    }

    /// The options as `(code, payload)` in insertion (decode: first appearance) order (RFC 2131 §3).
    pub fn iter(&self) -> OptionsIter<'_> {
        OptionsIter { options: self, next: 0 }
    }

    fn payload(&self, e: &Entry) -> &[u8] {
        self.arena.get(e.start..e.start + e.len).unwrap_or(&[])
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
            arena.extend_from_slice(self.arena.get(e.start..e.start + e.len).unwrap_or(&[]));
            e.start = start;
        }
        self.arena = arena;
        self.waste = 0;
    }

    /// Merges entries that share a code into one, concatenating payloads in entry order and
    /// keeping the place of the first (RFC 3396 §5). Linear in the number of entries.
    fn concatenate_duplicates(&mut self) {
        const NONE: usize = usize::MAX;
        let mut total = [0usize; 256];
        for e in &self.entries {
            total[usize::from(e.code)] += e.len;
        }
        // cursor[code]: where the next piece of `code` goes in the new arena.
        let mut cursor = [NONE; 256];
        let mut merged = Vec::with_capacity(self.entries.len());
        let mut size = 0;
        for e in &self.entries {
            let c = usize::from(e.code);
            if cursor[c] == NONE {
                cursor[c] = size;
                merged.push(Entry { code: e.code, start: size, len: total[c] });
                size += total[c];
            }
        }
        let mut arena = vec![0u8; size];
        for e in &self.entries {
            let c = usize::from(e.code);
            let at = cursor[c];
            if let (Some(dst), Some(src)) = (arena.get_mut(at..at + e.len), self.arena.get(e.start..e.start + e.len)) {
                dst.copy_from_slice(src);
            }
            cursor[c] = at + e.len;
        }
        self.arena = arena;
        self.entries = merged;
        self.waste = 0;
    }
}

impl PartialEq for Options {
    fn eq(&self, other: &Self) -> bool {
        // Codes are unique on both sides, so equal length plus inclusion is set equality.
        self.len() == other.len() && self.iter().all(|(c, p)| other.get(c) == Some(p))
    }
}

impl Eq for Options {}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Hex<'a>(&'a [u8]);
        impl fmt::Debug for Hex<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for b in self.0 {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }
        f.debug_map().entries(self.iter().map(|(c, p)| (c, Hex(p)))).finish()
    }
}

/// Iterator over [`Options`] in insertion order (RFC 2131 §3).
#[derive(Debug, Clone)]
pub struct OptionsIter<'a> {
    options: &'a Options,
    next: usize,
}

impl<'a> Iterator for OptionsIter<'a> {
    type Item = (u8, &'a [u8]);

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

impl ExactSizeIterator for OptionsIter<'_> {}

impl<'a> IntoIterator for &'a Options {
    type Item = (u8, &'a [u8]);
    type IntoIter = OptionsIter<'a>;

    fn into_iter(self) -> OptionsIter<'a> {
        self.iter()
    }
}

/// State of one decode: the options so far, which codes were seen, and option 52.
struct OptionsParser {
    options: Options,
    seen: [u64; 4],
    duplicates: bool,
    overload: Option<u8>,
}

impl OptionsParser {
    /// Parses one options area (the options field, or an overloaded `file`/`sname`): Pad is
    /// skipped, End stops the area, and an area may also just end (RFC 2131 §4.1 demands End,
    /// but clients omit it and Kea accepts that).
    fn parse_area(&mut self, area: &[u8], main: bool) -> Result<(), DecodeError> {
        let mut i = 0;
        while let Some(&code) = area.get(i) {
            if code == code::PAD {
                i += 1;
                continue;
            }
            if code == code::END {
                return Ok(());
            }
            let Some(&len) = area.get(i + 1) else { return Err(DecodeError::OptionOverrun { code }) };
            let start = i + 2;
            let end = start + usize::from(len);
            let Some(payload) = area.get(start..end) else { return Err(DecodeError::OptionOverrun { code }) };
            i = end;
            if code == code::OVERLOAD {
                // RFC 2131 §4.1: option 52 belongs in the options field only; one there,
                // of one octet. In `sname`/`file` it would be meaningless, so it is skipped.
                if main {
                    match (self.overload, payload) {
                        (None, &[v @ 1..=3]) => self.overload = Some(v),
                        _ => return Err(DecodeError::BadOverload),
                    }
                }
                continue;
            }
            if code == code::HOST_NAME && len == 0 {
                // Kea's unpackOptions4 drops an empty Host Name (RFC 2132 §3.14 wants at
                // least one octet) instead of the packet; some clients send it.
                continue;
            }
            let (word, bit) = (usize::from(code >> 6), 1u64 << (code & 63));
            if self.seen[word] & bit != 0 {
                self.duplicates = true;
            }
            self.seen[word] |= bit;
            let at = self.options.arena.len();
            self.options.arena.extend_from_slice(payload);
            self.options.entries.push(Entry { code, start: at, len: payload.len() });
        }
        Ok(())
    }
}

/// One DHCPv4 message: the BOOTP header fields and the options (RFC 2131 §2, figure 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkt4 {
    /// Message op code: [`BOOTREQUEST`] or [`BOOTREPLY`].
    pub op: u8,
    /// Hardware address type, e.g. [`HTYPE_ETHER`].
    pub htype: u8,
    /// Hardware address length, at most 16.
    pub hlen: u8,
    /// Relay hop count.
    pub hops: u8,
    /// Transaction ID chosen by the client.
    pub xid: u32,
    /// Seconds since the client began acquisition or renewal.
    pub secs: u16,
    /// Flags; only [`FLAG_BROADCAST`] is defined.
    pub flags: u16,
    /// Client IP address, when the client is bound, renewing or rebinding.
    pub ciaddr: Ipv4Addr,
    /// "Your" (client) IP address given by the server.
    pub yiaddr: Ipv4Addr,
    /// Next server (TFTP) address.
    pub siaddr: Ipv4Addr,
    /// Relay agent address.
    pub giaddr: Ipv4Addr,
    /// Client hardware address; the first `hlen` octets are meaningful.
    pub chaddr: [u8; 16],
    /// Server host name, NUL-terminated (zeroed when it carried overloaded options).
    pub sname: [u8; 64],
    /// Boot file name, NUL-terminated (zeroed when it carried overloaded options).
    pub file: [u8; 128],
    /// The options, long ones already concatenated, without Pad, End and Overload.
    pub options: Options,
}

impl Default for Pkt4 {
    fn default() -> Self {
        Pkt4 {
            op: BOOTREQUEST,
            htype: HTYPE_ETHER,
            hlen: 0,
            hops: 0,
            xid: 0,
            secs: 0,
            flags: 0,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr: [0; CHADDR_LEN],
            sname: [0; SNAME_LEN],
            file: [0; FILE_LEN],
            options: Options::new(),
        }
    }
}

fn ipv4_at(hdr: &[u8; OPTIONS_AT], at: usize) -> Ipv4Addr {
    match hdr.get(at..at + 4) {
        Some(&[a, b, c, d]) => Ipv4Addr::new(a, b, c, d),
        _ => Ipv4Addr::UNSPECIFIED,
    }
}

fn ipv4_of(payload: &[u8]) -> Option<Ipv4Addr> {
    let octets: [u8; 4] = payload.try_into().ok()?;
    Some(Ipv4Addr::from(octets))
}

/// Writes one option, split into 255-octet instances when longer (RFC 3396 §4).
fn put_option(out: &mut Vec<u8>, code: u8, payload: &[u8]) {
    if payload.is_empty() {
        out.extend_from_slice(&[code, 0]);
        return;
    }
    for chunk in payload.chunks(255) {
        // `chunks(255)` guarantees the length fits one octet.
        out.extend_from_slice(&[code, chunk.len() as u8]);
        out.extend_from_slice(chunk);
    }
}

/// Octets `put_option` writes for a payload of `len` octets (RFC 3396 §4).
fn option_wire_len(len: usize) -> usize {
    len + 2 * len.div_ceil(255).max(1)
}

/// Whether `encode` writes this code: Pad and End have no length octet, and overload is
/// never produced (the encoder has no size limit to overflow).
fn encodable(code: u8) -> bool {
    !matches!(code, code::PAD | code::END | code::OVERLOAD)
}

impl Pkt4 {
    /// The client and transaction as Kea's log messages name them (`Pkt4::getLabel`):
    /// `[hwtype=1 02:00:00:00:00:01], cid=[no info], tid=0x1234`.
    pub fn label(&self) -> String {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":");
        let cid = self.client_id().map_or_else(|| "no info".to_string(), hex);
        format!("[hwtype={} {}], cid=[{cid}], tid={:#x}", self.htype, hex(self.hwaddr()), self.xid)
    }

    /// Parses a message received on the wire (RFC 2131 §2, §3; RFC 2132 §9.3; RFC 3396 §5).
    pub fn decode(buf: &[u8]) -> Result<Pkt4, DecodeError> {
        let hdr: &[u8; OPTIONS_AT] =
            buf.get(..OPTIONS_AT).and_then(|h| h.try_into().ok()).ok_or(DecodeError::TooShort)?;
        let hlen = hdr[2];
        if usize::from(hlen) > CHADDR_LEN {
            return Err(DecodeError::BadHlen);
        }
        if hdr[HEADER_LEN..] != MAGIC_COOKIE {
            return Err(DecodeError::BadMagicCookie);
        }
        let mut chaddr = [0u8; CHADDR_LEN];
        chaddr.copy_from_slice(&hdr[28..44]);
        let mut sname = [0u8; SNAME_LEN];
        sname.copy_from_slice(&hdr[44..108]);
        let mut file = [0u8; FILE_LEN];
        file.copy_from_slice(&hdr[108..HEADER_LEN]);

        let area = buf.get(OPTIONS_AT..).unwrap_or(&[]);
        let mut parser = OptionsParser {
            // Payload octets never exceed the area; 16 entries cover nearly every client.
            options: Options::with_capacity(16, area.len()),
            seen: [0; 4],
            duplicates: false,
            overload: None,
        };
        parser.parse_area(area, true)?;
        // RFC 3396 §5: the aggregate buffer is options field, then file, then sname.
        let overload = parser.overload.unwrap_or(0);
        if overload & OVERLOAD_FILE != 0 {
            parser.options.arena.reserve(FILE_LEN);
            parser.parse_area(&file, false)?;
            file = [0; FILE_LEN];
        }
        if overload & OVERLOAD_SNAME != 0 {
            parser.options.arena.reserve(SNAME_LEN);
            parser.parse_area(&sname, false)?;
            sname = [0; SNAME_LEN];
        }
        let mut options = parser.options;
        if parser.duplicates {
            options.concatenate_duplicates();
        }

        Ok(Pkt4 {
            op: hdr[0],
            htype: hdr[1],
            hlen,
            hops: hdr[3],
            xid: u32::from_be_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]),
            secs: u16::from_be_bytes([hdr[8], hdr[9]]),
            flags: u16::from_be_bytes([hdr[10], hdr[11]]),
            ciaddr: ipv4_at(hdr, 12),
            yiaddr: ipv4_at(hdr, 16),
            siaddr: ipv4_at(hdr, 20),
            giaddr: ipv4_at(hdr, 24),
            chaddr,
            sname,
            file,
            options,
        })
    }

    /// Appends the wire form to `out`: header, cookie, option 53 first, the other options in
    /// order (split per RFC 3396 §4), End, zero padding to 300 octets (RFC 2131 §2, §3, §4.1).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let base = out.len();
        out.reserve(self.encoded_len());
        // hlen above 16 cannot describe chaddr; clamp it as Kea's pack() does.
        out.extend_from_slice(&[self.op, self.htype, self.hlen.min(CHADDR_LEN as u8), self.hops]);
        out.extend_from_slice(&self.xid.to_be_bytes());
        out.extend_from_slice(&self.secs.to_be_bytes());
        out.extend_from_slice(&self.flags.to_be_bytes());
        for addr in [self.ciaddr, self.yiaddr, self.siaddr, self.giaddr] {
            out.extend_from_slice(&addr.octets());
        }
        out.extend_from_slice(&self.chaddr);
        out.extend_from_slice(&self.sname);
        out.extend_from_slice(&self.file);
        out.extend_from_slice(&MAGIC_COOKIE);
        // RFC 2131 §4.1 puts no order on options, but some clients look for 53 first.
        if let Some(mt) = self.options.get(code::MESSAGE_TYPE) {
            put_option(out, code::MESSAGE_TYPE, mt);
        }
        for (c, payload) in &self.options {
            if c != code::MESSAGE_TYPE && encodable(c) {
                put_option(out, c, payload);
            }
        }
        out.push(code::END);
        if out.len() - base < MIN_MESSAGE_LEN {
            out.resize(base + MIN_MESSAGE_LEN, 0);
        }
    }

    /// Octets `encode` will append, to compare with the client's option 57 (RFC 2132 §9.10).
    pub fn encoded_len(&self) -> usize {
        let options: usize =
            self.options.iter().filter(|&(c, _)| encodable(c)).map(|(_, p)| option_wire_len(p.len())).sum();
        (OPTIONS_AT + options + 1).max(MIN_MESSAGE_LEN)
    }

    /// The message type from option 53, `None` when absent, empty or unassigned (RFC 2132 §9.6).
    pub fn message_type(&self) -> Option<MessageType> {
        // Kea reads the first octet of a longer option 53 too.
        self.options.get(code::MESSAGE_TYPE)?.first().copied().and_then(MessageType::from_u8)
    }

    /// Sets option 53 (RFC 2132 §9.6).
    pub fn set_message_type(&mut self, msg: MessageType) {
        self.options.insert_slice(code::MESSAGE_TYPE, &[msg.as_u8()]);
    }

    /// The client hardware address, `chaddr[..hlen]` (RFC 2131 §2).
    pub fn hwaddr(&self) -> &[u8] {
        let n = usize::from(self.hlen).min(CHADDR_LEN);
        self.chaddr.get(..n).unwrap_or(&[])
    }

    /// The raw client identifier, option 61, whatever its length (RFC 2132 §9.14).
    pub fn client_id(&self) -> Option<&[u8]> {
        self.options.get(code::CLIENT_ID)
    }

    /// The requested IP address, option 50, when it is exactly 4 octets (RFC 2132 §9.1).
    pub fn requested_ip(&self) -> Option<Ipv4Addr> {
        ipv4_of(self.options.get(code::REQUESTED_IP)?)
    }

    /// The server identifier, option 54, when it is exactly 4 octets (RFC 2132 §9.7).
    pub fn server_id(&self) -> Option<Ipv4Addr> {
        ipv4_of(self.options.get(code::SERVER_ID)?)
    }

    /// The parameter request list, option 55; empty when absent (RFC 2132 §9.8).
    pub fn prl(&self) -> &[u8] {
        self.options.get(code::PRL).unwrap_or(&[])
    }

    /// True when the client asked for broadcast replies (RFC 2131 §4.1).
    pub fn is_broadcast(&self) -> bool {
        self.flags & FLAG_BROADCAST != 0
    }

    /// A reply skeleton as Kea's `copyDefaultFields` builds it: op 2, same htype, hlen, hops,
    /// xid, flags, giaddr and hardware address; other fields zero; only option 53 (RFC 2131 §4.3.1, Table 3).
    pub fn reply_to(&self, msg: MessageType) -> Pkt4 {
        let hw = self.hwaddr();
        let mut chaddr = [0u8; CHADDR_LEN];
        // Octets past hlen are not part of the address; Kea sends them as zero.
        if let Some(dst) = chaddr.get_mut(..hw.len()) {
            dst.copy_from_slice(hw);
        }
        let mut options = Options::with_capacity(16, 256);
        options.insert_slice(code::MESSAGE_TYPE, &[msg.as_u8()]);
        Pkt4 {
            op: BOOTREPLY,
            htype: self.htype,
            hlen: self.hlen.min(CHADDR_LEN as u8),
            hops: self.hops,
            xid: self.xid,
            flags: self.flags,
            giaddr: self.giaddr,
            chaddr,
            options,
            ..Pkt4::default()
        }
    }
}

/// Relay agent information, option 82, split into its sub-options (RFC 3046 §2, RFC 3527, RFC 5107).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayAgentInfo {
    /// Agent circuit ID, sub-option 1 (RFC 3046 §3.1).
    pub circuit_id: Option<Vec<u8>>,
    /// Agent remote ID, sub-option 2 (RFC 3046 §3.2).
    pub remote_id: Option<Vec<u8>>,
    /// Link selection, sub-option 5, when exactly 4 octets (RFC 3527 §3).
    pub link_selection: Option<Ipv4Addr>,
    /// Server identifier override, sub-option 11, when exactly 4 octets (RFC 5107 §4).
    pub server_id_override: Option<Ipv4Addr>,
    /// Every sub-option in wire order, including the ones decoded above.
    pub raw: Vec<(u8, Vec<u8>)>,
}

impl RelayAgentInfo {
    /// Sub-option code of the agent circuit ID (RFC 3046 §3.1).
    pub const CIRCUIT_ID: u8 = 1;
    /// Sub-option code of the agent remote ID (RFC 3046 §3.2).
    pub const REMOTE_ID: u8 = 2;
    /// Sub-option code of link selection (RFC 3527 §3).
    pub const LINK_SELECTION: u8 = 5;
    /// Sub-option code of the subscriber ID (RFC 3993 §3).
    pub const SUBSCRIBER_ID: u8 = 6;
    /// Sub-option code of relay agent flags (RFC 5010 §4).
    pub const RELAY_AGENT_FLAGS: u8 = 10;
    /// Sub-option code of server identifier override (RFC 5107 §4).
    pub const SERVER_ID_OVERRIDE: u8 = 11;
    /// Sub-option code of the relay ID (RFC 6925 §3).
    pub const RELAY_ID: u8 = 12;

    /// Splits an option 82 payload into sub-options; the first instance of a code wins, as
    /// in Kea, and a link selection or override of the wrong length is ignored (RFC 3046 §2).
    pub fn parse(payload: &[u8]) -> Result<Self, DecodeError> {
        let mut info = RelayAgentInfo::default();
        let mut i = 0;
        while let Some(&code) = payload.get(i) {
            // RFC 3046 sub-options have no Pad or End: every code is a TLV.
            let Some(&len) = payload.get(i + 1) else { return Err(DecodeError::SubOptionOverrun { code }) };
            let start = i + 2;
            let end = start + usize::from(len);
            let Some(data) = payload.get(start..end) else { return Err(DecodeError::SubOptionOverrun { code }) };
            i = end;
            let first = !info.raw.iter().any(|(c, _)| *c == code);
            if first {
                match code {
                    Self::CIRCUIT_ID => info.circuit_id = Some(data.to_vec()),
                    Self::REMOTE_ID => info.remote_id = Some(data.to_vec()),
                    Self::LINK_SELECTION => info.link_selection = ipv4_of(data),
                    Self::SERVER_ID_OVERRIDE => info.server_id_override = ipv4_of(data),
                    _ => {}
                }
            }
            info.raw.push((code, data.to_vec()));
        }
        Ok(info)
    }

    /// The sub-option `code` (its first instance) from `raw` (RFC 3046 §2).
    pub fn get(&self, code: u8) -> Option<&[u8]> {
        self.raw.iter().find(|(c, _)| *c == code).map(|(_, d)| d.as_slice())
    }
}

/// Client FQDN option 81 (RFC 4702 §2): flags and the domain name.
///
/// `name` is the presentation form without the final dot, with master-file escapes (`\.`,
/// `\\`, `\DDD`) for octets that are not plain text, as Kea's `Name::toText` writes them;
/// `partial` is true when the client sent no root label (a single label such as a host name,
/// or nothing at all). RCODE1/RCODE2 are deprecated (RFC 4702 §2.2) and not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFqdn {
    /// Flags octet: [`ClientFqdn::FLAG_S`], `FLAG_O`, `FLAG_E`, `FLAG_N`.
    pub flags: u8,
    /// The domain name, see the type documentation.
    pub name: String,
    /// True when the name is not fully qualified.
    pub partial: bool,
}

/// Longest domain name in wire form (RFC 1035 §2.3.4).
const MAX_NAME_WIRE: usize = 255;
/// Longest label (RFC 1035 §2.3.4).
const MAX_LABEL: usize = 63;

impl ClientFqdn {
    /// S: the server should perform the A RR update (RFC 4702 §2.1).
    pub const FLAG_S: u8 = 0x01;
    /// O: the server has overridden the client's S preference (RFC 4702 §2.1).
    pub const FLAG_O: u8 = 0x02;
    /// E: the name is in canonical wire format, not ASCII (RFC 4702 §2.1).
    pub const FLAG_E: u8 = 0x04;
    /// N: the server should perform no DNS updates (RFC 4702 §2.1).
    pub const FLAG_N: u8 = 0x08;
    /// RCODE value a server sends in both RCODE fields (RFC 4702 §2.2).
    pub const RCODE_SERVER: u8 = 255;

    /// Parses an option 81 payload; N together with S is an error, as in Kea (RFC 4702 §2, §2.1).
    pub fn parse(payload: &[u8]) -> Result<Self, DecodeError> {
        let (&flags, rest) = payload.split_first().ok_or(DecodeError::BadFqdn)?;
        // Two RCODE octets, deprecated and ignored (RFC 4702 §2.2).
        let name = rest.get(2..).ok_or(DecodeError::BadFqdn)?;
        if flags & (Self::FLAG_N | Self::FLAG_S) == Self::FLAG_N | Self::FLAG_S {
            return Err(DecodeError::BadFqdn);
        }
        if name.is_empty() {
            // An empty name asks the server to pick one (RFC 4702 §3.3).
            return Ok(ClientFqdn { flags, name: String::new(), partial: true });
        }
        if flags & Self::FLAG_E != 0 {
            check_wire_name(name)?;
            Ok(ClientFqdn { flags, name: wire_to_text(name), partial: name.last() != Some(&0) })
        } else {
            // Deprecated ASCII form (RFC 4702 §2.3.1): read as master-file text, as Kea
            // does, and rendered back so that both forms share one presentation.
            let (wire, absolute) = text_to_wire(name, true).ok_or(DecodeError::BadFqdn)?;
            Ok(ClientFqdn { flags, name: wire_to_text(&wire), partial: !absolute })
        }
    }

    /// The option 81 payload: flags, RCODE1 = RCODE2 = 255, and the name in the form the E
    /// flag selects (RFC 4702 §2, §2.2, §2.3).
    ///
    /// The name is written best-effort: labels longer than 63 octets are cut, empty labels
    /// skipped, and labels past 255 octets dropped; callers validate names before this.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.name.len() + 5);
        out.extend_from_slice(&[self.flags, Self::RCODE_SERVER, Self::RCODE_SERVER]);
        if self.flags & Self::FLAG_E != 0 {
            if let Some((wire, _)) = text_to_wire(self.name.as_bytes(), false) {
                out.extend_from_slice(&wire);
            }
            if !self.partial {
                out.push(0);
            }
        } else {
            out.extend_from_slice(self.name.as_bytes());
            if !self.partial {
                out.push(b'.');
            }
        }
        out
    }
}

/// Checks an RFC 1035 §3.1 wire name (no compression: RFC 4702 §2.3.1): labels of 1..=63
/// octets, an optional terminating root label that must be last, at most 255 octets
/// counting the root label even when a partial name omits it (Kea appends it to check).
fn check_wire_name(wire: &[u8]) -> Result<(), DecodeError> {
    let with_root = if wire.last() == Some(&0) { wire.len() } else { wire.len() + 1 };
    if with_root > MAX_NAME_WIRE {
        return Err(DecodeError::BadFqdn);
    }
    let mut i = 0;
    while let Some(&len) = wire.get(i) {
        let len = usize::from(len);
        if len == 0 {
            return if i + 1 == wire.len() { Ok(()) } else { Err(DecodeError::BadFqdn) };
        }
        if len > MAX_LABEL || i + 1 + len > wire.len() {
            return Err(DecodeError::BadFqdn);
        }
        i += 1 + len;
    }
    Ok(())
}

/// Presentation form of a checked wire name, without the final dot, escaping like
/// Kea's `Name::toText` (RFC 1035 §5.1).
fn wire_to_text(wire: &[u8]) -> String {
    let mut text = String::with_capacity(wire.len());
    let mut i = 0;
    while let Some(&len) = wire.get(i) {
        let label = wire.get(i + 1..i + 1 + usize::from(len)).unwrap_or(&[]);
        if label.is_empty() {
            break;
        }
        if !text.is_empty() {
            text.push('.');
        }
        for &b in label {
            match b {
                b'.' | b';' | b'"' | b'(' | b')' | b'\\' | b'@' | b'$' => {
                    text.push('\\');
                    text.push(char::from(b));
                }
                0x21..=0x7e => text.push(char::from(b)),
                _ => {
                    text.push('\\');
                    text.push(char::from(b'0' + b / 100));
                    text.push(char::from(b'0' + b / 10 % 10));
                    text.push(char::from(b'0' + b % 10));
                }
            }
        }
        i += 1 + label.len();
    }
    text
}

/// Wire form (labels, without the root label) of a master-file name, and whether it was
/// absolute (ended in an unescaped dot) (RFC 1035 §5.1). `strict` rejects what `!strict`
/// repairs: empty or over-long labels and names over 255 octets.
fn text_to_wire(text: &[u8], strict: bool) -> Option<(Vec<u8>, bool)> {
    let mut wire = Vec::with_capacity(text.len() + 1);
    let mut label: Vec<u8> = Vec::with_capacity(MAX_LABEL);
    let mut absolute = false;
    let mut i = 0;
    // A lone "." is the root name.
    if text == b"." {
        return Some((wire, true));
    }
    while i < text.len() {
        let b = text.get(i).copied().unwrap_or(0);
        i += 1;
        match b {
            b'.' => {
                if !flush_label(&mut wire, &mut label, strict) {
                    return None;
                }
                if i == text.len() {
                    absolute = true;
                }
            }
            b'\\' => {
                let digits = text.get(i..i + 3).filter(|d| d.iter().all(u8::is_ascii_digit));
                let value = match digits {
                    Some(d) => {
                        i += 3;
                        let v = d.iter().fold(0u32, |acc, &x| acc * 10 + u32::from(x - b'0'));
                        match u8::try_from(v) {
                            Ok(v) => v,
                            Err(_) if strict => return None,
                            Err(_) => u8::MAX,
                        }
                    }
                    None => match text.get(i) {
                        Some(&c) => {
                            i += 1;
                            c
                        }
                        // A trailing lone backslash.
                        None if strict => return None,
                        None => break,
                    },
                };
                label.push(value);
            }
            _ => label.push(b),
        }
    }
    if !label.is_empty() && !flush_label(&mut wire, &mut label, strict) {
        return None;
    }
    Some((wire, absolute))
}

/// Moves `label` into `wire`; false when `strict` forbids it (RFC 1035 §2.3.4).
fn flush_label(wire: &mut Vec<u8>, label: &mut Vec<u8>, strict: bool) -> bool {
    if label.is_empty() {
        // Only a final dot may follow nothing; callers reach here for "a..b" or ".a".
        return !strict;
    }
    if label.len() > MAX_LABEL {
        if strict {
            return false;
        }
        label.truncate(MAX_LABEL);
    }
    if wire.len() + 1 + label.len() + 1 > MAX_NAME_WIRE {
        if strict {
            return false;
        }
        label.clear();
        return true;
    }
    wire.push(label.len() as u8);
    wire.append(label);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DHCPDISCOVER as ISC dhclient 4.4 sends it from 00:0c:29:c1:a4:b1 with a previous
    /// lease on 192.168.1.100 and host name "debian": options 53, 50, 12, 55, End, padding.
    const DHCLIENT_DISCOVER: &str = concat!(
        "01010600",                         // op, htype, hlen, hops
        "3903f326",                         // xid
        "0000",                             // secs
        "0000",                             // flags
        "00000000",                         // ciaddr
        "00000000",                         // yiaddr
        "00000000",                         // siaddr
        "00000000",                         // giaddr
        "000c29c1a4b100000000000000000000", // chaddr
        // sname, 64 octets
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000000",
        // file, 128 octets
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "63825363",                       // magic cookie
        "350101",                         // 53: DHCPDISCOVER
        "3204c0a80164",                   // 50: 192.168.1.100
        "0c0664656269616e",               // 12: "debian"
        "370d011c02030f06770c2c2f1a792a", // 55: 1 28 2 3 15 6 119 12 44 47 26 121 42
        "ff",                             // End
        // padding to 300 octets
        "000000000000000000000000000000000000000000000000000000",
    );

    fn dhclient_discover() -> Vec<u8> {
        let bytes = hex::decode(DHCLIENT_DISCOVER).expect("valid hex");
        assert_eq!(bytes.len(), MIN_MESSAGE_LEN);
        bytes
    }

    fn roundtrip(p: &Pkt4) -> Vec<u8> {
        let mut out = Vec::new();
        p.encode(&mut out);
        assert_eq!(out.len(), p.encoded_len());
        let q = Pkt4::decode(&out).expect("own encoding decodes");
        assert_eq!(&q, p);
        out
    }

    fn client(msg: MessageType, xid: u32) -> Pkt4 {
        let mut p = Pkt4 { hlen: 6, xid, ..Pkt4::default() };
        p.chaddr[..6].copy_from_slice(&[0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
        p.set_message_type(msg);
        p
    }

    fn rai_payload() -> Vec<u8> {
        let mut v = vec![1, 4];
        v.extend_from_slice(b"eth0");
        v.extend_from_slice(&[2, 6, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
        v.extend_from_slice(&[5, 4, 10, 0, 0, 1]);
        v.extend_from_slice(&[11, 4, 10, 0, 0, 2]);
        v.extend_from_slice(&[151, 2, 0xab, 0xcd]);
        v
    }

    fn relayed_request() -> Pkt4 {
        let mut p = client(MessageType::Request, 0xdead_beef);
        p.hops = 1;
        p.giaddr = Ipv4Addr::new(10, 0, 0, 1);
        p.flags = FLAG_BROADCAST;
        p.options.insert(code::REQUESTED_IP, vec![10, 0, 0, 50]);
        p.options.insert(code::SERVER_ID, vec![10, 0, 0, 254]);
        p.options.insert(code::CLIENT_ID, vec![1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
        p.options.insert(code::HOST_NAME, b"host-a".to_vec());
        p.options.insert(code::CLIENT_FQDN, vec![0x05, 0, 0, 6, b'h', b'o', b's', b't', b'-', b'a', 0]);
        p.options.insert(code::PRL, vec![1, 3, 6, 15, 51, 54, 58, 59]);
        p.options.insert(code::VENDOR_CLASS, b"MSFT 5.0".to_vec());
        p.options.insert(code::RAI, rai_payload());
        p
    }

    #[test]
    fn dhclient_discover_capture_decodes() {
        let buf = dhclient_discover();
        let p = Pkt4::decode(&buf).expect("decodes");
        assert_eq!(p.op, BOOTREQUEST);
        assert_eq!(p.htype, HTYPE_ETHER);
        assert_eq!(p.xid, 0x3903_f326);
        assert_eq!(p.hwaddr(), &[0x00, 0x0c, 0x29, 0xc1, 0xa4, 0xb1]);
        assert_eq!(p.message_type(), Some(MessageType::Discover));
        assert_eq!(p.requested_ip(), Some(Ipv4Addr::new(192, 168, 1, 100)));
        assert_eq!(p.options.get(code::HOST_NAME), Some(&b"debian"[..]));
        assert_eq!(p.prl(), &[1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42]);
        assert_eq!(p.client_id(), None);
        assert_eq!(p.server_id(), None);
        assert!(!p.is_broadcast());
        let codes: Vec<u8> = p.options.iter().map(|(c, _)| c).collect();
        assert_eq!(codes, [53, 50, 12, 55]);
        // Options already in canonical order: re-encoding reproduces the capture exactly.
        let mut out = Vec::new();
        p.encode(&mut out);
        assert_eq!(out, buf);
    }

    #[test]
    fn discover_request_ack_roundtrip() {
        let mut d = client(MessageType::Discover, 1);
        d.options.insert(code::PRL, vec![1, 3, 6, 15, 119, 121]);
        d.options.insert(code::MAX_SIZE, vec![0x05, 0xdc]);
        d.options.insert(code::CLIENT_ID, vec![0xff, 1, 2, 3, 4, 0, 1, 0, 1, 0xaa, 0xbb]);
        d.options.insert(code::RAPID_COMMIT, Vec::new());
        d.options.insert(code::USER_CLASS, vec![4, b'i', b'P', b'X', b'E']);
        roundtrip(&d);

        roundtrip(&relayed_request());

        let req = relayed_request();
        let mut ack = req.reply_to(MessageType::Ack);
        ack.yiaddr = Ipv4Addr::new(10, 0, 0, 50);
        ack.siaddr = Ipv4Addr::new(10, 0, 0, 254);
        ack.options.insert(code::SERVER_ID, vec![10, 0, 0, 254]);
        ack.options.insert(code::LEASE_TIME, 3600u32.to_be_bytes().to_vec());
        ack.options.insert(code::RENEWAL, 1800u32.to_be_bytes().to_vec());
        ack.options.insert(code::REBINDING, 3150u32.to_be_bytes().to_vec());
        ack.options.insert(code::SUBNET_MASK, vec![255, 255, 255, 0]);
        ack.options.insert(code::ROUTERS, vec![10, 0, 0, 1]);
        ack.options.insert(code::DNS, vec![10, 0, 0, 2, 10, 0, 0, 3]);
        ack.options.insert(code::DOMAIN_NAME, b"example.org".to_vec());
        ack.options.insert(code::RAI, req.options.get(code::RAI).unwrap_or_default().to_vec());
        let wire = roundtrip(&ack);
        // Option 53 leads even though it was not inserted last or first by the caller.
        assert_eq!(&wire[OPTIONS_AT..OPTIONS_AT + 3], &[53, 1, 5]);
        assert_eq!(wire[0], BOOTREPLY);
    }

    #[test]
    fn reply_copies_kea_default_fields() {
        let mut req = relayed_request();
        req.ciaddr = Ipv4Addr::new(10, 0, 0, 9);
        req.secs = 7;
        req.chaddr[10] = 0xee; // garbage past hlen
        let ack = req.reply_to(MessageType::Ack);
        assert_eq!(ack.op, BOOTREPLY);
        assert_eq!((ack.htype, ack.hlen, ack.hops, ack.xid, ack.flags), (1, 6, 1, 0xdead_beef, FLAG_BROADCAST));
        assert_eq!(ack.giaddr, req.giaddr);
        assert_eq!(ack.hwaddr(), req.hwaddr());
        assert_eq!(ack.chaddr[10], 0);
        assert_eq!(
            (ack.ciaddr, ack.yiaddr, ack.siaddr, ack.secs),
            (Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED, 0)
        );
        assert_eq!(ack.options.len(), 1);
        assert_eq!(ack.message_type(), Some(MessageType::Ack));
    }

    #[test]
    fn long_option_split_and_rejoined() {
        let mut p = client(MessageType::Offer, 9);
        let long: Vec<u8> = (0..600u32).map(|i| i as u8).collect();
        p.options.insert(code::VIVSO, long.clone());
        p.options.insert(code::ROUTERS, vec![192, 0, 2, 1]);
        let mut out = Vec::new();
        p.encode(&mut out);
        // 53, then 125 in chunks of 255 + 255 + 90, then 3.
        let o = &out[OPTIONS_AT..];
        assert_eq!(&o[..3], &[53, 1, 2]);
        assert_eq!(&o[3..5], &[125, 255]);
        assert_eq!(&o[5 + 255..5 + 257], &[125, 255]);
        assert_eq!(&o[5 + 512..5 + 514], &[125, 90]);
        assert_eq!(&o[5 + 514 + 90..5 + 514 + 96], &[3, 4, 192, 0, 2, 1]);
        let q = Pkt4::decode(&out).expect("decodes");
        assert_eq!(q.options.get(code::VIVSO), Some(long.as_slice()));
        assert_eq!(q, p);
        // Exactly 255 octets is one instance; 510 is two.
        for n in [255usize, 510] {
            p.options.insert(code::VIVSO, vec![7; n]);
            let wire = roundtrip(&p);
            let count = wire[OPTIONS_AT..].windows(2).filter(|w| w == &[125, 255]).count();
            assert_eq!(count, n / 255);
        }
    }

    #[test]
    fn repeated_codes_concatenate_in_order_of_appearance() {
        let mut buf = dhclient_discover();
        // Replace the options with 60 "ab", 12 "x", 60 "cd", 53, End.
        buf.truncate(OPTIONS_AT);
        buf.extend_from_slice(&[60, 2, b'a', b'b', 12, 1, b'x', 60, 2, b'c', b'd', 53, 1, 1, 255]);
        let p = Pkt4::decode(&buf).expect("decodes");
        assert_eq!(p.options.get(60), Some(&b"abcd"[..]));
        let codes: Vec<u8> = p.options.iter().map(|(c, _)| c).collect();
        assert_eq!(codes, [60, 12, 53]);
        roundtrip(&p);
    }

    #[test]
    fn overload_of_file_and_sname() {
        let mut buf = dhclient_discover();
        buf.truncate(OPTIONS_AT);
        // Options field: 53, 60 "a", overload = both, End.
        buf.extend_from_slice(&[53, 1, 3, 60, 1, b'a', 52, 1, 3, 255]);
        // file: 60 "b", 12 "file-host", End.
        let mut file = vec![60, 1, b'b', 12, 9];
        file.extend_from_slice(b"file-host");
        file.push(255);
        buf[108..108 + file.len()].copy_from_slice(&file);
        // sname: 60 "c", 15 "example.org", no End (the field just ends in Pad).
        let mut sname = vec![60, 1, b'c', 15, 11];
        sname.extend_from_slice(b"example.org");
        buf[44..44 + sname.len()].copy_from_slice(&sname);

        let p = Pkt4::decode(&buf).expect("decodes");
        assert_eq!(p.message_type(), Some(MessageType::Request));
        // RFC 3396 §5: options field, then file, then sname.
        assert_eq!(p.options.get(60), Some(&b"abc"[..]));
        assert_eq!(p.options.get(code::HOST_NAME), Some(&b"file-host"[..]));
        assert_eq!(p.options.get(code::DOMAIN_NAME), Some(&b"example.org"[..]));
        assert!(!p.options.contains(code::OVERLOAD));
        assert_eq!(p.sname, [0; SNAME_LEN]);
        assert_eq!(p.file, [0; FILE_LEN]);
        roundtrip(&p);

        // Only sname overloaded: file keeps its name.
        buf[OPTIONS_AT + 8] = 2;
        let p = Pkt4::decode(&buf).expect("decodes");
        assert_eq!(p.options.get(60), Some(&b"ac"[..]));
        assert_eq!(p.file[..3], [60, 1, b'b']);
        assert_eq!(p.sname, [0; SNAME_LEN]);

        // Bad overload values.
        for (len, value) in [(1u8, 0u8), (1, 4), (2, 1)] {
            let mut bad = buf[..OPTIONS_AT].to_vec();
            bad.extend_from_slice(&[53, 1, 3, 52, len, value, 0, 255]);
            assert_eq!(Pkt4::decode(&bad), Err(DecodeError::BadOverload));
        }
        let mut twice = buf[..OPTIONS_AT].to_vec();
        twice.extend_from_slice(&[52, 1, 1, 52, 1, 2, 255]);
        assert_eq!(Pkt4::decode(&twice), Err(DecodeError::BadOverload));

        // An overrun inside an overloaded field is an error too.
        let mut overrun = buf.clone();
        overrun[OPTIONS_AT + 8] = 1;
        overrun[108..236].fill(0);
        overrun[236 - 2..236].copy_from_slice(&[12, 5]);
        assert_eq!(Pkt4::decode(&overrun), Err(DecodeError::OptionOverrun { code: 12 }));
    }

    #[test]
    fn relay_agent_information() {
        let p = relayed_request();
        let rai = RelayAgentInfo::parse(p.options.get(code::RAI).unwrap_or_default()).expect("parses");
        assert_eq!(rai.circuit_id.as_deref(), Some(&b"eth0"[..]));
        assert_eq!(rai.remote_id.as_deref(), Some(&[0x00, 0x11, 0x22, 0x33, 0x44, 0x55][..]));
        assert_eq!(rai.link_selection, Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(rai.server_id_override, Some(Ipv4Addr::new(10, 0, 0, 2)));
        let codes: Vec<u8> = rai.raw.iter().map(|(c, _)| *c).collect();
        assert_eq!(codes, [1, 2, 5, 11, 151]);
        assert_eq!(rai.get(151), Some(&[0xab, 0xcd][..]));

        // Wrong-length link selection is ignored, not fatal; duplicates: first wins.
        let odd = [5, 3, 1, 2, 3, 1, 1, b'x', 1, 1, b'y'];
        let rai = RelayAgentInfo::parse(&odd).expect("parses");
        assert_eq!(rai.link_selection, None);
        assert_eq!(rai.circuit_id.as_deref(), Some(&b"x"[..]));
        assert_eq!(RelayAgentInfo::parse(&[]), Ok(RelayAgentInfo::default()));
        assert_eq!(RelayAgentInfo::parse(&[1, 4, b'e']), Err(DecodeError::SubOptionOverrun { code: 1 }));
        assert_eq!(RelayAgentInfo::parse(&[2]), Err(DecodeError::SubOptionOverrun { code: 2 }));
    }

    #[test]
    fn client_fqdn() {
        let f = ClientFqdn::parse(&[0x05, 0, 0, 6, b'h', b'o', b's', b't', b'-', b'a', 0]).expect("parses");
        assert_eq!(f, ClientFqdn { flags: 0x05, name: "host-a".into(), partial: false });
        let wire = [0x05, 0, 0, 4, b'm', b'y', b'h', b'o', 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0];
        let f = ClientFqdn::parse(&wire).expect("parses");
        assert_eq!((f.name.as_str(), f.partial), ("myho.example", false));
        assert_eq!(f.encode(), [&[0x05, 255, 255][..], &wire[3..]].concat());
        // Partial: no root label.
        let f = ClientFqdn::parse(&[0x04, 0, 0, 4, b'm', b'y', b'h', b'o']).expect("parses");
        assert_eq!((f.name.as_str(), f.partial), ("myho", true));
        assert_eq!(f.encode(), [0x04, 255, 255, 4, b'm', b'y', b'h', b'o']);
        // ASCII form, absolute and partial.
        let f = ClientFqdn::parse(b"\x00\x00\x00host.example.com.").expect("parses");
        assert_eq!((f.name.as_str(), f.partial), ("host.example.com", false));
        assert_eq!(f.encode(), b"\x00\xff\xffhost.example.com.");
        let f = ClientFqdn::parse(b"\x01\x00\x00host").expect("parses");
        assert_eq!((f.name.as_str(), f.partial), ("host", true));
        // Empty name: the server picks one.
        let f = ClientFqdn::parse(&[0x05, 0, 0]).expect("parses");
        assert_eq!((f.name.as_str(), f.partial), ("", true));
        // Escapes survive both ways.
        let f = ClientFqdn::parse(&[0x04, 0, 0, 3, b'a', b'.', 0x20, 0]).expect("parses");
        assert_eq!(f.name, "a\\.\\032");
        assert_eq!(f.encode(), [0x04, 255, 255, 3, b'a', b'.', 0x20, 0]);
        // Errors: short, N with S, compression pointer, label past end, data after root.
        for bad in [
            &[0x05, 0][..],
            &[0x09, 0, 0],
            &[0x04, 0, 0, 0xc0, 0x0c],
            &[0x04, 0, 0, 5, b'a'],
            &[0x04, 0, 0, 1, b'a', 0, 1, b'b'],
            b"\x00\x00\x00a..b",
        ] {
            assert_eq!(ClientFqdn::parse(bad), Err(DecodeError::BadFqdn), "{bad:?}");
        }
    }

    #[test]
    fn header_errors() {
        let buf = dhclient_discover();
        assert_eq!(Pkt4::decode(&buf[..HEADER_LEN]), Err(DecodeError::TooShort));
        let mut bad = buf.clone();
        bad[2] = 17;
        assert_eq!(Pkt4::decode(&bad), Err(DecodeError::BadHlen));
        bad[2] = 16;
        assert!(Pkt4::decode(&bad).is_ok());
        let mut bad = buf.clone();
        bad[239] = 0x64;
        assert_eq!(Pkt4::decode(&bad), Err(DecodeError::BadMagicCookie));
        // No End and no padding: accepted (Kea does too).
        let p = Pkt4::decode(&buf[..OPTIONS_AT + 3]).expect("decodes");
        assert_eq!(p.message_type(), Some(MessageType::Discover));
        // An empty Host Name is dropped, as Kea does; the rest of the packet stands.
        let mut empty_host = buf[..OPTIONS_AT + 3].to_vec();
        empty_host.extend_from_slice(&[12, 0, 61, 2, 0, 1]);
        let p = Pkt4::decode(&empty_host).expect("decodes");
        assert_eq!(p.options.get(code::HOST_NAME), None);
        assert_eq!(p.client_id(), Some(&[0, 1][..]));
        // A lone code octet without its length.
        let mut bad = buf[..OPTIONS_AT + 3].to_vec();
        bad.push(61);
        assert_eq!(Pkt4::decode(&bad), Err(DecodeError::OptionOverrun { code: 61 }));
    }

    /// Offsets at which cutting `buf` leaves whole options: every option start, and
    /// everything from the End option on.
    fn option_boundaries(buf: &[u8]) -> (Vec<usize>, usize) {
        let mut starts = vec![OPTIONS_AT];
        let mut i = OPTIONS_AT;
        while i < buf.len() {
            match buf[i] {
                0 => i += 1,
                255 => return (starts, i),
                _ => i += 2 + usize::from(buf[i + 1]),
            }
            starts.push(i);
        }
        (starts, buf.len())
    }

    #[test]
    fn truncation_at_every_length() {
        let mut captures = vec![dhclient_discover()];
        let mut relayed = Vec::new();
        relayed_request().encode(&mut relayed);
        captures.push(relayed);
        for buf in &captures {
            let (starts, end_at) = option_boundaries(buf);
            for len in 0..buf.len() {
                let r = Pkt4::decode(&buf[..len]);
                if len < OPTIONS_AT {
                    assert_eq!(r, Err(DecodeError::TooShort), "len {len}");
                } else if len >= end_at || starts.contains(&len) {
                    assert!(r.is_ok(), "len {len}: {r:?}");
                } else {
                    assert!(matches!(r, Err(DecodeError::OptionOverrun { .. })), "len {len}: {r:?}");
                }
            }
        }
    }

    #[test]
    fn options_map_semantics() {
        let mut o = Options::new();
        o.insert(3, vec![1, 2, 3, 4]);
        o.insert(6, vec![5, 6, 7, 8]);
        o.insert(3, vec![9]);
        assert_eq!(o.get(3), Some(&[9][..]));
        o.insert(3, vec![1; 10]);
        assert_eq!(o.get(3), Some(&[1; 10][..]));
        let order: Vec<u8> = o.iter().map(|(c, _)| c).collect();
        assert_eq!(order, [3, 6]);
        assert_eq!(o.remove(3), Some(vec![1; 10]));
        assert_eq!(o.remove(3), None);
        assert_eq!(o.len(), 1);
        // Many replacements keep the arena bounded.
        for i in 0..10_000u32 {
            o.insert(12, vec![0; (i % 300) as usize]);
        }
        assert!(o.arena.len() < 4096, "arena {}", o.arena.len());
        assert_eq!(o.get(6), Some(&[5, 6, 7, 8][..]));
        // Equality ignores order.
        let mut a = Options::new();
        a.insert(1, vec![1]);
        a.insert(2, vec![2]);
        let mut b = Options::new();
        b.insert(2, vec![2]);
        b.insert(1, vec![1]);
        assert_eq!(a, b);
        b.insert(1, vec![3]);
        assert_ne!(a, b);
        // Pad, End and Overload are never encoded.
        let mut p = client(MessageType::Inform, 3);
        p.options.insert(code::PAD, vec![1]);
        p.options.insert(code::END, vec![1]);
        p.options.insert(code::OVERLOAD, vec![3]);
        let mut out = Vec::new();
        p.encode(&mut out);
        assert_eq!(&out[OPTIONS_AT..OPTIONS_AT + 4], &[53, 1, 8, 255]);
        assert_eq!(out.len(), MIN_MESSAGE_LEN);
        assert_eq!(p.encoded_len(), MIN_MESSAGE_LEN);
    }

    #[test]
    fn message_types() {
        for v in 0..=255u8 {
            match MessageType::from_u8(v) {
                Some(t) => {
                    assert!((1..=18).contains(&v));
                    assert_eq!(t.as_u8(), v);
                }
                None => assert!(v == 0 || v > 18),
            }
        }
        assert_eq!(MessageType::LeaseQueryDone.to_string(), "DHCPLEASEQUERYDONE");
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
        for _ in 0..=rng.below(4) {
            // Mutations aim at the option area most of the time, where the structure is.
            let at = if rng.below(4) == 0 || v.len() <= OPTIONS_AT {
                rng.below(v.len() + 1)
            } else {
                OPTIONS_AT + rng.below(v.len() - OPTIONS_AT + 1)
            };
            match rng.below(7) {
                0 if at < v.len() => v[at] = rng.next() as u8,
                1 if at < v.len() => v[at] ^= 1 << rng.below(8),
                2 => v.truncate(at),
                3 => v.insert(at, [0, 52, 53, 81, 82, 255][rng.below(6)]),
                4 if at < v.len() => v[at] = [0, 1, 2, 3, 255, 254][rng.below(6)],
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
        let Ok(p) = Pkt4::decode(buf) else { return false };
        let mut out = Vec::new();
        p.encode(&mut out);
        let q = Pkt4::decode(&out).expect("re-decode of our own encoding");
        assert_eq!(p, q, "round trip of {}", hex::encode(buf));
        if let Some(rai) = p.options.get(code::RAI) {
            let _ = RelayAgentInfo::parse(rai);
        }
        if let Some(raw) = p.options.get(code::CLIENT_FQDN) {
            if let Ok(f) = ClientFqdn::parse(raw) {
                let again = ClientFqdn::parse(&f.encode()).expect("own FQDN encoding parses");
                assert_eq!(again, f, "FQDN round trip of {}", hex::encode(raw));
            }
        }
        true
    }

    #[test]
    fn mutation_never_panics() {
        let mut seeds = vec![dhclient_discover()];
        let mut relayed = Vec::new();
        relayed_request().encode(&mut relayed);
        seeds.push(relayed);
        let mut overload = dhclient_discover();
        overload.truncate(OPTIONS_AT);
        overload.extend_from_slice(&[53, 1, 1, 52, 1, 3, 81, 3, 4, 0, 0, 255]);
        overload[108..112].copy_from_slice(&[60, 2, b'x', b'y']);
        overload[44..48].copy_from_slice(&[60, 1, b'z', 255]);
        seeds.push(overload);
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
