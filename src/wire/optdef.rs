//! DHCP option definitions: Kea's data types, its built-in (standard) definitions and the
//! user-supplied `option-def` entries, with Kea 2.2's validation rules.
//!
//! The standard tables are exactly what Kea 2.2 ships (checked against `kea-dhcp4 -t` /
//! `kea-dhcp6 -t` of the Debian 2.2.0 build). Options that only later Kea releases define
//! (for example `classless-static-route` 121, `v4-dnr`, `ntp-server` 56, the sub-options of
//! `dhcp-agent-options-space`) are deliberately absent: Kea 2.2 users define them with
//! `option-def`, and a 2.2 configuration that does so has to keep loading.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// Which protocol a registry serves; it decides code ranges and some wire details (RFC 2132 §2, RFC 8415 §21.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Universe {
    /// DHCPv4: one-byte option codes, one-byte tuple lengths.
    V4,
    /// DHCPv6: two-byte option codes, two-byte tuple lengths.
    V6,
}

impl Universe {
    /// Best guess of the universe from an option space name (Kea ARM §dhcp4-option-spaces, §dhcp6-option-spaces).
    ///
    /// Only Kea's built-in DHCPv6 spaces map to `V6`; any other name (including custom
    /// spaces, which exist in both servers) maps to `V4`, so callers that know better
    /// should pass the universe explicitly.
    pub fn guess_from_space(space: &str) -> Universe {
        match space {
            DHCP6_SPACE | ISC_V6_SPACE | MAPE_SPACE | MAPT_SPACE | LW_SPACE | V4V6_RULE_SPACE | V4V6_BIND_SPACE
            | DOCSIS3_V6_SPACE => Universe::V6,
            _ => Universe::V4,
        }
    }
}

/// The top-level DHCPv4 option space (Kea ARM §dhcp4-std-options).
pub const DHCP4_SPACE: &str = "dhcp4";
/// The top-level DHCPv6 option space (Kea ARM §dhcp6-std-options).
pub const DHCP6_SPACE: &str = "dhcp6";
/// Sub-options of the relay agent information option 82 (RFC 3046; empty in Kea 2.2).
pub const DHCP_AGENT_SPACE: &str = "dhcp-agent-options-space";
/// Sub-options of option 43 (RFC 2132 §8.4; empty until the user defines some, Kea ARM §dhcp4-vendor-opts).
pub const VENDOR_ENCAPSULATED_SPACE: &str = "vendor-encapsulated-options-space";
/// Kea's space holding the fallback definition of option 43 (Kea ARM §dhcp4-private-opts).
pub const LAST_RESORT_V4_SPACE: &str = "last-resort-v4";
/// Kea's internal name of the CableLabs DOCSIS3 DHCPv4 vendor space (Kea ARM §dhcp4-vendor-opts).
pub const DOCSIS3_V4_SPACE: &str = "docsis3-v4";
/// Kea's internal name of the CableLabs DOCSIS3 DHCPv6 vendor space (Kea ARM §dhcp6-vendor-opts).
pub const DOCSIS3_V6_SPACE: &str = "docsis3-v6";
/// ISC's DHCPv4-over-DHCPv6 inter-process options (Kea ARM §dhcp6-dhcp4o6-config).
pub const ISC_V6_SPACE: &str = "4o6";
/// Sub-options of the MAP-E container option 94 (RFC 7598 §4).
pub const MAPE_SPACE: &str = "s46-cont-mape-options";
/// Sub-options of the MAP-T container option 95 (RFC 7598 §4).
pub const MAPT_SPACE: &str = "s46-cont-mapt-options";
/// Sub-options of the Lightweight 4over6 container option 96 (RFC 7598 §4).
pub const LW_SPACE: &str = "s46-cont-lw-options";
/// Sub-options of `s46-rule` (RFC 7598 §4.1).
pub const V4V6_RULE_SPACE: &str = "s46-rule-options";
/// Sub-options of `s46-v4v6bind` (RFC 7598 §4.5).
pub const V4V6_BIND_SPACE: &str = "s46-v4v6bind-options";
/// CableLabs' IANA enterprise number, whose vendor space Kea knows natively (Kea ARM §dhcp4-vendor-opts).
pub const VENDOR_ID_CABLELABS: u32 = 4491;

/// Kea's option field data types, with Kea's configuration names (Kea ARM §dhcp-types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptionDataType {
    /// `empty`: no payload, possibly a container of sub-options.
    Empty,
    /// `binary`: opaque bytes, written as hexadecimal.
    Binary,
    /// `boolean`: one octet, 0 or 1.
    Boolean,
    /// `int8`: signed 8-bit integer.
    Int8,
    /// `int16`: signed 16-bit integer, network order.
    Int16,
    /// `int32`: signed 32-bit integer, network order.
    Int32,
    /// `uint8`: unsigned 8-bit integer.
    Uint8,
    /// `uint16`: unsigned 16-bit integer, network order.
    Uint16,
    /// `uint32`: unsigned 32-bit integer, network order.
    Uint32,
    /// `ipv4-address`: four octets.
    Ipv4Address,
    /// `ipv6-address`: sixteen octets.
    Ipv6Address,
    /// `ipv6-prefix`: prefix length octet then the significant prefix octets (RFC 7598 §4.1).
    Ipv6Prefix,
    /// `psid`: PSID length octet then the PSID left-aligned in 16 bits (RFC 7597 §5.1).
    Psid,
    /// `string`: text, no terminator.
    String,
    /// `fqdn`: domain name in DNS wire format (RFC 1035 §3.1).
    Fqdn,
    /// `tuple`: length-prefixed opaque data (1-byte length in v4, 2-byte in v6; RFC 8415 §21.16).
    Tuple,
    /// `record`: a sequence of fields given by `record-types`.
    Record,
}

impl OptionDataType {
    /// Every type in Kea's order, as accepted in `option-def` (Kea ARM §dhcp-types).
    pub const ALL: [OptionDataType; 17] = [
        OptionDataType::Empty,
        OptionDataType::Binary,
        OptionDataType::Boolean,
        OptionDataType::Int8,
        OptionDataType::Int16,
        OptionDataType::Int32,
        OptionDataType::Uint8,
        OptionDataType::Uint16,
        OptionDataType::Uint32,
        OptionDataType::Ipv4Address,
        OptionDataType::Ipv6Address,
        OptionDataType::Ipv6Prefix,
        OptionDataType::Psid,
        OptionDataType::String,
        OptionDataType::Fqdn,
        OptionDataType::Tuple,
        OptionDataType::Record,
    ];

    /// Kea's configuration name of the type (Kea ARM §dhcp-types).
    pub fn name(self) -> &'static str {
        match self {
            OptionDataType::Empty => "empty",
            OptionDataType::Binary => "binary",
            OptionDataType::Boolean => "boolean",
            OptionDataType::Int8 => "int8",
            OptionDataType::Int16 => "int16",
            OptionDataType::Int32 => "int32",
            OptionDataType::Uint8 => "uint8",
            OptionDataType::Uint16 => "uint16",
            OptionDataType::Uint32 => "uint32",
            OptionDataType::Ipv4Address => "ipv4-address",
            OptionDataType::Ipv6Address => "ipv6-address",
            OptionDataType::Ipv6Prefix => "ipv6-prefix",
            OptionDataType::Psid => "psid",
            OptionDataType::String => "string",
            OptionDataType::Fqdn => "fqdn",
            OptionDataType::Tuple => "tuple",
            OptionDataType::Record => "record",
        }
    }

    /// Wire size of fixed-size types, `None` for variable-size ones (Kea ARM §dhcp-types).
    pub fn fixed_len(self) -> Option<usize> {
        match self {
            OptionDataType::Boolean | OptionDataType::Int8 | OptionDataType::Uint8 => Some(1),
            OptionDataType::Int16 | OptionDataType::Uint16 => Some(2),
            OptionDataType::Int32 | OptionDataType::Uint32 => Some(4),
            OptionDataType::Ipv4Address => Some(4),
            OptionDataType::Ipv6Address => Some(16),
            OptionDataType::Psid => Some(3),
            _ => None,
        }
    }

    /// True for the integer types (Kea ARM §dhcp-types).
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            OptionDataType::Int8
                | OptionDataType::Int16
                | OptionDataType::Int32
                | OptionDataType::Uint8
                | OptionDataType::Uint16
                | OptionDataType::Uint32
        )
    }
}

impl fmt::Display for OptionDataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OptionDataType {
    type Err = OptionDefError;

    /// Parses Kea's exact, case-sensitive type names (Kea ARM §dhcp-types).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OptionDataType::ALL
            .iter()
            .copied()
            .find(|t| t.name() == s)
            .ok_or_else(|| OptionDefError::UnknownType(s.to_string()))
    }
}

/// Why an `option-def` entry is unacceptable; messages follow Kea 2.2's (Kea ARM §dhcp4-custom-options).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionDefError {
    /// The `type` (or a `record-types` entry) is not one of Kea's type names.
    #[error("option type '{0}' not supported")]
    UnknownType(String),
    /// Names use letters, digits, `-` and `_`, and do not begin or end with `-` or `_`.
    #[error("invalid option name '{0}'")]
    InvalidName(String),
    /// Space names follow the same character rules as option names.
    #[error("invalid option space name '{0}'")]
    InvalidSpace(String),
    /// The `encapsulate` value is not a valid space name.
    #[error("invalid encapsulated option space name: '{0}'")]
    InvalidEncapsulatedSpace(String),
    /// The code does not fit the universe (v4 codes are 0-255, v6 codes 0-65535).
    #[error("invalid option code '{code}', it must not be greater than '{max}'")]
    CodeTooLarge {
        /// The code given.
        code: u32,
        /// The largest code of the universe.
        max: u32,
    },
    /// Codes 0 (and 255 in DHCPv4) of the top-level space are not options.
    #[error("invalid option code '{code}': {reason}")]
    ReservedCode {
        /// The code given.
        code: u32,
        /// What the code is reserved for.
        reason: &'static str,
    },
    /// A `record` needs at least two `record-types` entries.
    #[error(
        "invalid number of data fields: {0} specified for the option of type 'record'. Expected at least 2 fields."
    )]
    TooFewRecordFields(usize),
    /// `record-types` was given for a type other than `record`.
    #[error("'record' option type must be used instead of '{0}' to add data fields to the record")]
    RecordTypesWithoutRecord(OptionDataType),
    /// `empty` and `record` cannot be record fields.
    #[error("attempted to add invalid data type '{0}' to the record.")]
    InvalidRecordField(OptionDataType),
    /// Variable-size `string`/`binary` fields may only be the last record field.
    #[error("{0} data field can't be laid before data fields of other types.")]
    VariableFieldNotLast(OptionDataType),
    /// Arrays of `string`, `binary` or `empty` cannot be delimited.
    #[error("array of {0} values is not a valid option definition.")]
    InvalidArray(OptionDataType),
    /// Array options cannot carry sub-options.
    #[error("option '{space}.{name}', comprising an array of data fields may not encapsulate any option space")]
    ArrayEncapsulates {
        /// Space of the definition.
        space: String,
        /// Name of the definition.
        name: String,
    },
    /// An option cannot carry options of its own space.
    #[error(
        "option must not encapsulate an option space it belongs to: '{space}.{name}' is set to encapsulate '{space}'"
    )]
    SelfEncapsulation {
        /// Space of the definition.
        space: String,
        /// Name of the definition.
        name: String,
    },
    /// Standard definitions cannot be redefined (Kea ARM §dhcp4-std-options).
    #[error("unable to override definition of option '{what}' in standard option space '{space}'")]
    StandardOverride {
        /// The clashing code or name.
        what: String,
        /// The standard space.
        space: String,
    },
    /// Two user definitions share a code in one space.
    #[error("option definition with code '{code}' already exists in option space '{space}'")]
    DuplicateCode {
        /// The shared code.
        code: u16,
        /// The space.
        space: String,
    },
    /// Two user definitions share a name in one space.
    #[error("option definition with name '{name}' already exists in option space '{space}'")]
    DuplicateName {
        /// The shared name.
        name: String,
        /// The space.
        space: String,
    },
}

/// One option format: name, code, space, field layout and encapsulated space (Kea ARM §dhcp4-custom-options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionDefinition {
    /// Option name, unique within its space.
    pub name: String,
    /// Option code, unique within its space.
    pub code: u16,
    /// Option space the definition belongs to.
    pub space: String,
    /// Data type of the payload (or `Record`).
    pub option_type: OptionDataType,
    /// Whether the payload repeats (for records: whether the last field repeats).
    pub array: bool,
    /// Field types of a `record`; empty otherwise.
    pub record_types: Vec<OptionDataType>,
    /// Space of the sub-options this option carries after its fields; empty for none.
    pub encapsulate: String,
}

impl OptionDefinition {
    /// Builds a non-record definition (Kea ARM §dhcp4-custom-options).
    pub fn new(name: &str, code: u16, space: &str, option_type: OptionDataType, array: bool) -> Self {
        OptionDefinition {
            name: name.to_string(),
            code,
            space: space.to_string(),
            option_type,
            array,
            record_types: Vec::new(),
            encapsulate: String::new(),
        }
    }

    /// Parses `record-types` the way Kea does: comma separated, blanks trimmed, empty items skipped (Kea ARM §dhcp4-custom-options).
    pub fn parse_record_types(text: &str) -> Result<Vec<OptionDataType>, OptionDefError> {
        text.split(',')
            .map(|t| t.trim_matches(|c| c == ' ' || c == '\t' || c == '\n'))
            .filter(|t| !t.is_empty())
            .map(|t| t.parse::<OptionDataType>().map_err(|_| OptionDefError::UnknownType(t.to_string())))
            .collect()
    }

    /// Renders `record-types` as Kea's `config-get` does, e.g. `"uint8, ipv4-address"` (Kea ARM §dhcp4-custom-options).
    pub fn record_types_text(&self) -> String {
        self.record_types.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
    }

    /// Checks the definition's own consistency as Kea 2.2 does (Kea ARM §dhcp4-custom-options).
    ///
    /// Code ranges, self-encapsulation and clashes with other definitions are checked by
    /// [`OptionDefRegistry::add`], as Kea checks them for configured definitions only.
    pub fn validate(&self) -> Result<(), OptionDefError> {
        if !valid_identifier(&self.name) {
            return Err(OptionDefError::InvalidName(self.name.clone()));
        }
        if !valid_identifier(&self.space) {
            return Err(OptionDefError::InvalidSpace(self.space.clone()));
        }
        if !self.encapsulate.is_empty() && !valid_identifier(&self.encapsulate) {
            return Err(OptionDefError::InvalidEncapsulatedSpace(self.encapsulate.clone()));
        }
        if self.option_type != OptionDataType::Record && !self.record_types.is_empty() {
            return Err(OptionDefError::RecordTypesWithoutRecord(self.option_type));
        }
        if let Some(bad) =
            self.record_types.iter().copied().find(|t| matches!(t, OptionDataType::Empty | OptionDataType::Record))
        {
            return Err(OptionDefError::InvalidRecordField(bad));
        }
        if self.option_type == OptionDataType::Record {
            let fields = &self.record_types;
            if fields.len() < 2 {
                return Err(OptionDefError::TooFewRecordFields(fields.len()));
            }
            let last = fields.len() - 1;
            for (i, t) in fields.iter().enumerate() {
                if i < last && matches!(t, OptionDataType::String | OptionDataType::Binary) {
                    return Err(OptionDefError::VariableFieldNotLast(*t));
                }
            }
            if self.array {
                if let Some(t @ (OptionDataType::String | OptionDataType::Binary)) = fields.last().copied() {
                    return Err(OptionDefError::InvalidArray(t));
                }
            }
        } else if self.array
            && matches!(self.option_type, OptionDataType::String | OptionDataType::Binary | OptionDataType::Empty)
        {
            return Err(OptionDefError::InvalidArray(self.option_type));
        }
        if !self.encapsulate.is_empty() && self.array {
            return Err(OptionDefError::ArrayEncapsulates { space: self.space.clone(), name: self.name.clone() });
        }
        Ok(())
    }

    /// Whether this is the payload layout of an array of domain names, which DHCPv4 may compress (RFC 3397 §2).
    pub fn is_fqdn_list(&self) -> bool {
        self.option_type == OptionDataType::Fqdn && self.array
    }
}

/// Kea's rule for option and space names: `[A-Za-z0-9_-]+`, no `-`/`_` at either end.
fn valid_identifier(s: &str) -> bool {
    let edge = |c: u8| c == b'-' || c == b'_';
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            !edge(f) && !edge(l) && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        }
        _ => false,
    }
}

/// Compact static form of a built-in definition; turned into [`OptionDefinition`] once per registry.
struct StdDef {
    name: &'static str,
    code: u16,
    ty: OptionDataType,
    array: bool,
    records: &'static [OptionDataType],
    encapsulate: &'static str,
}

use OptionDataType as T;

const fn d(name: &'static str, code: u16, ty: OptionDataType, array: bool) -> StdDef {
    StdDef { name, code, ty, array, records: &[], encapsulate: "" }
}

const fn rec(name: &'static str, code: u16, array: bool, records: &'static [OptionDataType]) -> StdDef {
    StdDef { name, code, ty: T::Record, array, records, encapsulate: "" }
}

const fn encap(name: &'static str, code: u16, ty: OptionDataType, space: &'static str) -> StdDef {
    StdDef { name, code, ty, array: false, records: &[], encapsulate: space }
}

/// Kea 2.2's standard DHCPv4 options (RFC 2132 and later; Kea ARM §dhcp4-std-options-list).
const STD_V4: &[StdDef] = &[
    d("subnet-mask", 1, T::Ipv4Address, false),
    d("time-offset", 2, T::Int32, false),
    d("routers", 3, T::Ipv4Address, true),
    d("time-servers", 4, T::Ipv4Address, true),
    d("name-servers", 5, T::Ipv4Address, true),
    d("domain-name-servers", 6, T::Ipv4Address, true),
    d("log-servers", 7, T::Ipv4Address, true),
    d("cookie-servers", 8, T::Ipv4Address, true),
    d("lpr-servers", 9, T::Ipv4Address, true),
    d("impress-servers", 10, T::Ipv4Address, true),
    d("resource-location-servers", 11, T::Ipv4Address, true),
    d("host-name", 12, T::String, false),
    d("boot-size", 13, T::Uint16, false),
    d("merit-dump", 14, T::String, false),
    // The 2.2 ARM table says fqdn, but the code (and kea-dhcp4 -t) treat it as a string.
    d("domain-name", 15, T::String, false),
    d("swap-server", 16, T::Ipv4Address, false),
    d("root-path", 17, T::String, false),
    d("extensions-path", 18, T::String, false),
    d("ip-forwarding", 19, T::Boolean, false),
    d("non-local-source-routing", 20, T::Boolean, false),
    d("policy-filter", 21, T::Ipv4Address, true),
    d("max-dgram-reassembly", 22, T::Uint16, false),
    d("default-ip-ttl", 23, T::Uint8, false),
    d("path-mtu-aging-timeout", 24, T::Uint32, false),
    d("path-mtu-plateau-table", 25, T::Uint16, true),
    d("interface-mtu", 26, T::Uint16, false),
    d("all-subnets-local", 27, T::Boolean, false),
    d("broadcast-address", 28, T::Ipv4Address, false),
    d("perform-mask-discovery", 29, T::Boolean, false),
    d("mask-supplier", 30, T::Boolean, false),
    d("router-discovery", 31, T::Boolean, false),
    d("router-solicitation-address", 32, T::Ipv4Address, false),
    d("static-routes", 33, T::Ipv4Address, true),
    d("trailer-encapsulation", 34, T::Boolean, false),
    d("arp-cache-timeout", 35, T::Uint32, false),
    d("ieee802-3-encapsulation", 36, T::Boolean, false),
    d("default-tcp-ttl", 37, T::Uint8, false),
    d("tcp-keepalive-interval", 38, T::Uint32, false),
    d("tcp-keepalive-garbage", 39, T::Boolean, false),
    d("nis-domain", 40, T::String, false),
    d("nis-servers", 41, T::Ipv4Address, true),
    d("ntp-servers", 42, T::Ipv4Address, true),
    // 43 lives in LAST_RESORT_V4 so that classes and users may redefine it.
    d("netbios-name-servers", 44, T::Ipv4Address, true),
    d("netbios-dd-server", 45, T::Ipv4Address, true),
    d("netbios-node-type", 46, T::Uint8, false),
    d("netbios-scope", 47, T::String, false),
    d("font-servers", 48, T::Ipv4Address, true),
    d("x-display-manager", 49, T::Ipv4Address, true),
    d("dhcp-requested-address", 50, T::Ipv4Address, false),
    d("dhcp-lease-time", 51, T::Uint32, false),
    d("dhcp-option-overload", 52, T::Uint8, false),
    d("dhcp-message-type", 53, T::Uint8, false),
    d("dhcp-server-identifier", 54, T::Ipv4Address, false),
    d("dhcp-parameter-request-list", 55, T::Uint8, true),
    d("dhcp-message", 56, T::String, false),
    d("dhcp-max-message-size", 57, T::Uint16, false),
    d("dhcp-renewal-time", 58, T::Uint32, false),
    d("dhcp-rebinding-time", 59, T::Uint32, false),
    d("vendor-class-identifier", 60, T::String, false),
    d("dhcp-client-identifier", 61, T::Binary, false),
    d("nwip-domain-name", 62, T::String, false),
    d("nwip-suboptions", 63, T::Binary, false),
    d("nisplus-domain-name", 64, T::String, false),
    d("nisplus-servers", 65, T::Ipv4Address, true),
    d("tftp-server-name", 66, T::String, false),
    d("boot-file-name", 67, T::String, false),
    d("mobile-ip-home-agent", 68, T::Ipv4Address, true),
    d("smtp-server", 69, T::Ipv4Address, true),
    d("pop-server", 70, T::Ipv4Address, true),
    d("nntp-server", 71, T::Ipv4Address, true),
    d("www-server", 72, T::Ipv4Address, true),
    d("finger-server", 73, T::Ipv4Address, true),
    d("irc-server", 74, T::Ipv4Address, true),
    d("streettalk-server", 75, T::Ipv4Address, true),
    d("streettalk-directory-assistance-server", 76, T::Ipv4Address, true),
    d("user-class", 77, T::Binary, false),
    rec("slp-directory-agent", 78, true, &[T::Boolean, T::Ipv4Address]),
    rec("slp-service-scope", 79, false, &[T::Boolean, T::String]),
    rec("fqdn", 81, false, &[T::Uint8, T::Uint8, T::Uint8, T::Fqdn]),
    encap("dhcp-agent-options", 82, T::Empty, DHCP_AGENT_SPACE),
    d("nds-servers", 85, T::Ipv4Address, true),
    d("nds-tree-name", 86, T::String, false),
    d("nds-context", 87, T::String, false),
    d("bcms-controller-names", 88, T::Fqdn, true),
    d("bcms-controller-address", 89, T::Ipv4Address, true),
    d("authenticate", 90, T::Binary, false),
    d("client-last-transaction-time", 91, T::Uint32, false),
    d("associated-ip", 92, T::Ipv4Address, true),
    d("client-system", 93, T::Uint16, true),
    rec("client-ndi", 94, false, &[T::Uint8, T::Uint8, T::Uint8]),
    rec("uuid-guid", 97, false, &[T::Uint8, T::Binary]),
    d("uap-servers", 98, T::String, false),
    d("geoconf-civic", 99, T::Binary, false),
    d("pcode", 100, T::String, false),
    d("tcode", 101, T::String, false),
    d("v6-only-preferred", 108, T::Uint32, false),
    d("netinfo-server-address", 112, T::Ipv4Address, true),
    d("netinfo-server-tag", 113, T::String, false),
    d("v4-captive-portal", 114, T::String, false),
    d("auto-config", 116, T::Uint8, false),
    d("name-service-search", 117, T::Uint16, true),
    d("subnet-selection", 118, T::Ipv4Address, false),
    d("domain-search", 119, T::Fqdn, true),
    rec("vivco-suboptions", 124, false, &[T::Uint32, T::Binary]),
    d("vivso-suboptions", 125, T::Uint32, false),
    d("pana-agent", 136, T::Ipv4Address, true),
    d("v4-lost", 137, T::Fqdn, false),
    d("capwap-ac-v4", 138, T::Ipv4Address, true),
    d("sip-ua-cs-domains", 141, T::Fqdn, true),
    rec("rdnss-selection", 146, true, &[T::Uint8, T::Ipv4Address, T::Ipv4Address, T::Fqdn]),
    rec("v4-portparams", 159, false, &[T::Uint8, T::Psid]),
    rec("option-6rd", 212, true, &[T::Uint8, T::Uint8, T::Ipv6Address, T::Ipv4Address]),
    d("v4-access-domain", 213, T::Fqdn, false),
];

/// Kea's fallback definition of option 43, used when no user or class definition exists (Kea ARM §dhcp4-private-opts).
const LAST_RESORT_V4: &[StdDef] = &[encap("vendor-encapsulated-options", 43, T::Empty, VENDOR_ENCAPSULATED_SPACE)];

/// CableLabs DOCSIS3 DHCPv4 vendor sub-options (CL-SP-CANN-DHCP-Reg; Kea ARM §dhcp4-vendor-opts).
const DOCSIS3_V4: &[StdDef] = &[d("oro", 1, T::Uint8, true), d("tftp-servers", 2, T::Ipv4Address, true)];

/// Kea 2.2's standard DHCPv6 options (RFC 8415 and later; Kea ARM §dhcp6-std-options-list).
const STD_V6: &[StdDef] = &[
    d("clientid", 1, T::Binary, false),
    d("serverid", 2, T::Binary, false),
    rec("ia-na", 3, false, &[T::Uint32, T::Uint32, T::Uint32]),
    d("ia-ta", 4, T::Uint32, false),
    rec("iaaddr", 5, false, &[T::Ipv6Address, T::Uint32, T::Uint32]),
    d("oro", 6, T::Uint16, true),
    d("preference", 7, T::Uint8, false),
    d("elapsed-time", 8, T::Uint16, false),
    d("relay-msg", 9, T::Binary, false),
    d("auth", 11, T::Binary, false),
    d("unicast", 12, T::Ipv6Address, false),
    rec("status-code", 13, false, &[T::Uint16, T::String]),
    d("rapid-commit", 14, T::Empty, false),
    d("user-class", 15, T::Binary, false),
    rec("vendor-class", 16, false, &[T::Uint32, T::Binary]),
    d("vendor-opts", 17, T::Uint32, false),
    d("interface-id", 18, T::Binary, false),
    d("reconf-msg", 19, T::Uint8, false),
    d("reconf-accept", 20, T::Empty, false),
    d("sip-server-dns", 21, T::Fqdn, true),
    d("sip-server-addr", 22, T::Ipv6Address, true),
    d("dns-servers", 23, T::Ipv6Address, true),
    d("domain-search", 24, T::Fqdn, true),
    rec("ia-pd", 25, false, &[T::Uint32, T::Uint32, T::Uint32]),
    rec("iaprefix", 26, false, &[T::Uint32, T::Uint32, T::Uint8, T::Ipv6Address]),
    d("nis-servers", 27, T::Ipv6Address, true),
    d("nisp-servers", 28, T::Ipv6Address, true),
    d("nis-domain-name", 29, T::Fqdn, true),
    d("nisp-domain-name", 30, T::Fqdn, true),
    d("sntp-servers", 31, T::Ipv6Address, true),
    d("information-refresh-time", 32, T::Uint32, false),
    d("bcmcs-server-dns", 33, T::Fqdn, true),
    d("bcmcs-server-addr", 34, T::Ipv6Address, true),
    rec("geoconf-civic", 36, false, &[T::Uint8, T::Uint16, T::Binary]),
    rec("remote-id", 37, false, &[T::Uint32, T::Binary]),
    d("subscriber-id", 38, T::Binary, false),
    rec("client-fqdn", 39, false, &[T::Uint8, T::Fqdn]),
    d("pana-agent", 40, T::Ipv6Address, true),
    d("new-posix-timezone", 41, T::String, false),
    d("new-tzdb-timezone", 42, T::String, false),
    d("ero", 43, T::Uint16, true),
    StdDef {
        name: "lq-query",
        code: 44,
        ty: T::Record,
        array: false,
        records: &[T::Uint8, T::Ipv6Address],
        encapsulate: DHCP6_SPACE,
    },
    encap("client-data", 45, T::Empty, DHCP6_SPACE),
    d("clt-time", 46, T::Uint32, false),
    rec("lq-relay-data", 47, false, &[T::Ipv6Address, T::Binary]),
    d("lq-client-link", 48, T::Ipv6Address, true),
    d("v6-lost", 51, T::Fqdn, false),
    d("capwap-ac-v6", 52, T::Ipv6Address, true),
    d("relay-id", 53, T::Binary, false),
    d("v6-access-domain", 57, T::Fqdn, false),
    d("sip-ua-cs-list", 58, T::Fqdn, true),
    d("bootfile-url", 59, T::String, false),
    d("bootfile-param", 60, T::Tuple, true),
    d("client-arch-type", 61, T::Uint16, true),
    rec("nii", 62, false, &[T::Uint8, T::Uint8, T::Uint8]),
    d("aftr-name", 64, T::Fqdn, false),
    d("erp-local-domain-name", 65, T::Fqdn, false),
    encap("rsoo", 66, T::Empty, "rsoo-opts"),
    d("pd-exclude", 67, T::Ipv6Prefix, false),
    rec("rdnss-selection", 74, true, &[T::Ipv6Address, T::Uint8, T::Fqdn]),
    d("client-linklayer-addr", 79, T::Binary, false),
    d("link-address", 80, T::Ipv6Address, false),
    d("solmax-rt", 82, T::Uint32, false),
    d("inf-max-rt", 83, T::Uint32, false),
    d("dhcpv4-message", 87, T::Binary, false),
    d("dhcp4o6-server-addr", 88, T::Ipv6Address, true),
    encap("s46-cont-mape", 94, T::Empty, MAPE_SPACE),
    encap("s46-cont-mapt", 95, T::Empty, MAPT_SPACE),
    encap("s46-cont-lw", 96, T::Empty, LW_SPACE),
    d("v6-captive-portal", 103, T::String, false),
    d("relay-source-port", 135, T::Uint16, false),
    d("ipv6-address-andsf", 143, T::Ipv6Address, true),
];

/// The `s46-rule` layout: flags, EA-bits length, IPv4 prefix length, IPv4 prefix, IPv6 prefix (RFC 7598 §4.1).
const S46_RULE_FIELDS: &[OptionDataType] = &[T::Uint8, T::Uint8, T::Uint8, T::Ipv4Address, T::Ipv6Prefix];

/// Sub-options of the MAP-E container (RFC 7598 §4.2, §4.1).
const MAPE_V6: &[StdDef] = &[
    d("s46-br", 90, T::Ipv6Address, false),
    StdDef {
        name: "s46-rule",
        code: 89,
        ty: T::Record,
        array: false,
        records: S46_RULE_FIELDS,
        encapsulate: V4V6_RULE_SPACE,
    },
];

/// Sub-options of the MAP-T container (RFC 7598 §4.1, §4.3).
const MAPT_V6: &[StdDef] = &[
    StdDef {
        name: "s46-rule",
        code: 89,
        ty: T::Record,
        array: false,
        records: S46_RULE_FIELDS,
        encapsulate: V4V6_RULE_SPACE,
    },
    d("s46-dmr", 91, T::Ipv6Prefix, false),
];

/// Sub-options of the Lightweight 4over6 container (RFC 7598 §4.2, §4.4).
const LW_V6: &[StdDef] = &[
    d("s46-br", 90, T::Ipv6Address, false),
    StdDef {
        name: "s46-v4v6bind",
        code: 92,
        ty: T::Record,
        array: false,
        records: &[T::Ipv4Address, T::Ipv6Prefix],
        encapsulate: V4V6_BIND_SPACE,
    },
];

/// Port parameters inside `s46-rule` and `s46-v4v6bind` (RFC 7598 §4.5).
const PORTPARAMS_V6: &[StdDef] = &[rec("s46-portparams", 93, false, &[T::Uint8, T::Psid])];

/// ISC's DHCPv4-over-DHCPv6 inter-process options (Kea ARM §dhcp6-dhcp4o6-config).
const ISC_V6: &[StdDef] = &[
    d("4o6-interface", 60000, T::String, false),
    d("4o6-source-address", 60001, T::Ipv6Address, false),
    d("4o6-source-port", 60002, T::Uint16, false),
];

/// CableLabs DOCSIS3 DHCPv6 vendor sub-options (CL-SP-CANN-DHCP-Reg; Kea ARM §dhcp6-vendor-opts).
const DOCSIS3_V6: &[StdDef] = &[
    d("oro", 1, T::Uint16, true),
    d("device-type", 2, T::String, false),
    d("vendor-type", 10, T::String, false),
    d("tftp-servers", 32, T::Ipv6Address, true),
    d("time-servers", 37, T::Ipv6Address, true),
    d("config-file", 33, T::String, false),
    d("syslog-servers", 34, T::Ipv6Address, true),
    d("device-id", 36, T::Binary, false),
    d("time-offset", 38, T::Int32, false),
    d("cmts-cm-mac", 1026, T::Binary, false),
];

/// Standard spaces of each universe with their tables, in Kea's lookup order.
const STD_SPACES_V4: &[(&str, &[StdDef])] = &[
    (DHCP4_SPACE, STD_V4),
    (DHCP_AGENT_SPACE, &[]),
    (VENDOR_ENCAPSULATED_SPACE, &[]),
    (LAST_RESORT_V4_SPACE, LAST_RESORT_V4),
    (DOCSIS3_V4_SPACE, DOCSIS3_V4),
];

const STD_SPACES_V6: &[(&str, &[StdDef])] = &[
    (DHCP6_SPACE, STD_V6),
    (ISC_V6_SPACE, ISC_V6),
    (MAPE_SPACE, MAPE_V6),
    (MAPT_SPACE, MAPT_V6),
    (LW_SPACE, LW_V6),
    (V4V6_RULE_SPACE, PORTPARAMS_V6),
    (V4V6_BIND_SPACE, PORTPARAMS_V6),
    (DOCSIS3_V6_SPACE, DOCSIS3_V6),
];

/// Kea's built-in definitions plus the user's `option-def` entries, with Kea's lookup order (Kea ARM §dhcp4-custom-options, §dhcp6-custom-options).
#[derive(Debug, Clone)]
pub struct OptionDefRegistry {
    universe: Universe,
    standard: Vec<OptionDefinition>,
    user: Vec<OptionDefinition>,
    std_by_code: HashMap<(String, u16), usize>,
    std_by_name: HashMap<(String, String), usize>,
    user_by_code: HashMap<(String, u16), usize>,
    user_by_name: HashMap<(String, String), usize>,
}

impl OptionDefRegistry {
    /// The DHCPv4 registry with Kea 2.2's standard definitions and no user ones (Kea ARM §dhcp4-std-options-list).
    pub fn standard_v4() -> Self {
        Self::build(Universe::V4, STD_SPACES_V4)
    }

    /// The DHCPv6 registry with Kea 2.2's standard definitions and no user ones (Kea ARM §dhcp6-std-options-list).
    pub fn standard_v6() -> Self {
        Self::build(Universe::V6, STD_SPACES_V6)
    }

    /// The registry for `universe` (Kea ARM §dhcp4-std-options-list, §dhcp6-std-options-list).
    pub fn standard(universe: Universe) -> Self {
        match universe {
            Universe::V4 => Self::standard_v4(),
            Universe::V6 => Self::standard_v6(),
        }
    }

    fn build(universe: Universe, spaces: &[(&str, &[StdDef])]) -> Self {
        let mut reg = OptionDefRegistry {
            universe,
            standard: Vec::new(),
            user: Vec::new(),
            std_by_code: HashMap::new(),
            std_by_name: HashMap::new(),
            user_by_code: HashMap::new(),
            user_by_name: HashMap::new(),
        };
        for (space, defs) in spaces {
            for s in defs.iter() {
                let def = OptionDefinition {
                    name: s.name.to_string(),
                    code: s.code,
                    space: (*space).to_string(),
                    option_type: s.ty,
                    array: s.array,
                    record_types: s.records.to_vec(),
                    encapsulate: s.encapsulate.to_string(),
                };
                let idx = reg.standard.len();
                reg.std_by_code.insert((def.space.clone(), def.code), idx);
                reg.std_by_name.insert((def.space.clone(), def.name.clone()), idx);
                reg.standard.push(def);
            }
        }
        reg
    }

    /// Which protocol this registry serves (RFC 2132 §2, RFC 8415 §21.1).
    pub fn universe(&self) -> Universe {
        self.universe
    }

    /// Whether `space` is one of Kea's built-in spaces for this universe (Kea ARM §dhcp4-option-spaces).
    pub fn is_standard_space(&self, space: &str) -> bool {
        self.std_spaces().iter().any(|(s, _)| *s == space)
    }

    fn std_spaces(&self) -> &'static [(&'static str, &'static [StdDef])] {
        match self.universe {
            Universe::V4 => STD_SPACES_V4,
            Universe::V6 => STD_SPACES_V6,
        }
    }

    /// The top-level space name, `dhcp4` or `dhcp6` (Kea ARM §dhcp4-std-options).
    pub fn top_space(&self) -> &'static str {
        match self.universe {
            Universe::V4 => DHCP4_SPACE,
            Universe::V6 => DHCP6_SPACE,
        }
    }

    /// All built-in definitions, in table order (Kea ARM §dhcp4-std-options-list).
    pub fn standard_defs(&self) -> &[OptionDefinition] {
        &self.standard
    }

    /// The user definitions accepted so far, in insertion order (Kea ARM §dhcp4-custom-options).
    pub fn user_defs(&self) -> &[OptionDefinition] {
        &self.user
    }

    /// Adds a user `option-def` after Kea 2.2's checks (Kea ARM §dhcp4-custom-options).
    ///
    /// Rejected: an invalid definition, a code beyond the universe, code 0 (and 255 in
    /// DHCPv4) in the top-level space, a code or name that a standard definition already
    /// uses in the same space, a code or name another user definition uses in that space.
    /// Option 43 in `dhcp4` is allowed: its built-in definition is only a last resort.
    pub fn add(&mut self, def: OptionDefinition) -> Result<(), OptionDefError> {
        let max = match self.universe {
            Universe::V4 => u32::from(u8::MAX),
            Universe::V6 => u32::from(u16::MAX),
        };
        let code = u32::from(def.code);
        if code > max {
            return Err(OptionDefError::CodeTooLarge { code, max });
        }
        match (self.universe, def.space.as_str()) {
            (Universe::V4, DHCP4_SPACE) if code == 0 => {
                return Err(OptionDefError::ReservedCode { code, reason: "reserved for PAD" })
            }
            (Universe::V4, DHCP4_SPACE) if code == 255 => {
                return Err(OptionDefError::ReservedCode { code, reason: "reserved for END" })
            }
            (Universe::V6, DHCP6_SPACE) if code == 0 => {
                return Err(OptionDefError::ReservedCode { code, reason: "reserved value" })
            }
            _ => {}
        }
        def.validate()?;
        // Kea checks this for configured definitions only: its own lq-query and
        // client-data carry dhcp6 options inside dhcp6 options.
        if def.encapsulate == def.space {
            return Err(OptionDefError::SelfEncapsulation { space: def.space.clone(), name: def.name.clone() });
        }
        let code_key = (def.space.clone(), def.code);
        let name_key = (def.space.clone(), def.name.clone());
        if self.std_by_code.contains_key(&code_key) {
            return Err(OptionDefError::StandardOverride { what: def.code.to_string(), space: def.space.clone() });
        }
        if self.std_by_name.contains_key(&name_key) {
            return Err(OptionDefError::StandardOverride { what: def.name.clone(), space: def.space.clone() });
        }
        if self.user_by_code.contains_key(&code_key) {
            return Err(OptionDefError::DuplicateCode { code: def.code, space: def.space.clone() });
        }
        if self.user_by_name.contains_key(&name_key) {
            return Err(OptionDefError::DuplicateName { name: def.name.clone(), space: def.space.clone() });
        }
        let idx = self.user.len();
        self.user_by_code.insert(code_key, idx);
        self.user_by_name.insert(name_key, idx);
        self.user.push(def);
        Ok(())
    }

    /// Finds the definition an `option-data` entry with this space and name uses (Kea ARM §dhcp4-option-data-defaults).
    ///
    /// Kea's order: user definitions of the space, standard ones, the CableLabs table
    /// for `vendor-4491`, and finally the last-resort option 43 for `dhcp4`.
    pub fn by_name(&self, space: &str, name: &str) -> Option<&OptionDefinition> {
        let key = (space.to_string(), name.to_string());
        if let Some(&i) = self.user_by_name.get(&key) {
            return self.user.get(i);
        }
        self.std_lookup(space, |s| self.std_by_name.get(&(s.to_string(), name.to_string())).copied())
    }

    /// Finds the definition an `option-data` entry with this space and code uses (Kea ARM §dhcp4-option-data-defaults).
    ///
    /// Same order as [`OptionDefRegistry::by_name`].
    pub fn by_code(&self, space: &str, code: u16) -> Option<&OptionDefinition> {
        if let Some(&i) = self.user_by_code.get(&(space.to_string(), code)) {
            return self.user.get(i);
        }
        self.std_lookup(space, |s| self.std_by_code.get(&(s.to_string(), code)).copied())
    }

    fn std_lookup(&self, space: &str, find: impl Fn(&str) -> Option<usize>) -> Option<&OptionDefinition> {
        let mut candidates: Vec<&str> = vec![space];
        if vendor_id_of_space(space) == Some(VENDOR_ID_CABLELABS) {
            candidates.push(match self.universe {
                Universe::V4 => DOCSIS3_V4_SPACE,
                Universe::V6 => DOCSIS3_V6_SPACE,
            });
        }
        if self.universe == Universe::V4 && space == DHCP4_SPACE {
            candidates.push(LAST_RESORT_V4_SPACE);
        }
        candidates.into_iter().find_map(find).and_then(|i| self.standard.get(i))
    }
}

/// The enterprise number of a `vendor-<number>` space name (Kea ARM §dhcp4-vendor-opts).
pub fn vendor_id_of_space(space: &str) -> Option<u32> {
    let digits = space.strip_prefix("vendor-")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Kea treats enterprise number 0 as "no vendor".
    digits.parse().ok().filter(|&id| id != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, code: u16, space: &str, ty: OptionDataType) -> OptionDefinition {
        OptionDefinition::new(name, code, space, ty, false)
    }

    #[test]
    fn type_names_round_trip() {
        for t in OptionDataType::ALL {
            assert_eq!(t.name().parse::<OptionDataType>(), Ok(t));
            assert_eq!(t.to_string(), t.name());
        }
        assert!("Uint8".parse::<OptionDataType>().is_err());
        assert!("internal".parse::<OptionDataType>().is_err());
        assert!("".parse::<OptionDataType>().is_err());
    }

    #[test]
    fn standard_v4_samples() {
        let r = OptionDefRegistry::standard_v4();
        let routers = r.by_name("dhcp4", "routers").expect("routers");
        assert_eq!((routers.code, routers.option_type, routers.array), (3, T::Ipv4Address, true));
        assert_eq!(r.by_code("dhcp4", 6).map(|d| d.name.as_str()), Some("domain-name-servers"));
        let v43 = r.by_code("dhcp4", 43).expect("last resort 43");
        assert_eq!(v43.encapsulate, VENDOR_ENCAPSULATED_SPACE);
        assert_eq!(v43.name, "vendor-encapsulated-options");
        assert_eq!(r.by_name("dhcp4", "dhcp-agent-options").map(|d| d.encapsulate.as_str()), Some(DHCP_AGENT_SPACE));
        assert_eq!(r.by_name("dhcp4", "vivso-suboptions").map(|d| d.code), Some(125));
        assert_eq!(r.by_name("dhcp4", "v4-captive-portal").map(|d| d.code), Some(114));
        assert_eq!(r.by_name("dhcp4", "domain-name").map(|d| d.option_type), Some(T::String));
        let pp = r.by_name("dhcp4", "v4-portparams").expect("portparams");
        assert_eq!(pp.record_types, vec![T::Uint8, T::Psid]);
        // Only later Kea releases define these.
        assert!(r.by_code("dhcp4", 121).is_none());
        assert!(r.by_name("dhcp4", "default-url").is_none());
        assert!(r.by_name(DHCP_AGENT_SPACE, "circuit-id").is_none());
    }

    #[test]
    fn standard_v6_samples() {
        let r = OptionDefRegistry::standard_v6();
        assert_eq!(r.by_name("dhcp6", "dns-servers").map(|d| d.code), Some(23));
        let ds = r.by_code("dhcp6", 24).expect("domain-search");
        assert!(ds.array && ds.option_type == T::Fqdn);
        assert_eq!(r.by_name("dhcp6", "vendor-opts").map(|d| d.code), Some(17));
        assert_eq!(r.by_name("dhcp6", "s46-cont-mape").map(|d| d.encapsulate.as_str()), Some(MAPE_SPACE));
        assert_eq!(r.by_code(MAPT_SPACE, 91).map(|d| d.name.as_str()), Some("s46-dmr"));
        assert_eq!(r.by_code(LW_SPACE, 92).map(|d| d.encapsulate.as_str()), Some(V4V6_BIND_SPACE));
        assert_eq!(r.by_code("4o6", 60001).map(|d| d.name.as_str()), Some("4o6-source-address"));
        assert!(r.by_code("dhcp6", 56).is_none());
        assert!(r.by_code("dhcp6", 43).map(|d| d.name == "ero").unwrap_or(false));
    }

    #[test]
    fn docsis_reachable_by_both_space_names() {
        let r4 = OptionDefRegistry::standard_v4();
        assert_eq!(r4.by_name("vendor-4491", "tftp-servers").map(|d| d.code), Some(2));
        assert_eq!(r4.by_name("docsis3-v4", "oro").map(|d| d.option_type), Some(T::Uint8));
        assert!(r4.by_name("vendor-4492", "oro").is_none());
        let r6 = OptionDefRegistry::standard_v6();
        assert_eq!(r6.by_code("vendor-4491", 1026).map(|d| d.name.as_str()), Some("cmts-cm-mac"));
        assert_eq!(r6.by_name("vendor-4491", "oro").map(|d| d.option_type), Some(T::Uint16));
    }

    #[test]
    fn standard_tables_are_self_consistent() {
        for r in [OptionDefRegistry::standard_v4(), OptionDefRegistry::standard_v6()] {
            for d in r.standard_defs() {
                assert_eq!(d.validate(), Ok(()), "{}.{}", d.space, d.name);
                assert_eq!(r.by_code(&d.space, d.code), Some(d));
                assert_eq!(r.by_name(&d.space, &d.name), Some(d));
            }
        }
    }

    #[test]
    fn user_defs_cannot_shadow_standard_ones() {
        let mut r = OptionDefRegistry::standard_v4();
        assert!(matches!(r.add(def("foo", 3, "dhcp4", T::Uint8)), Err(OptionDefError::StandardOverride { .. })));
        assert!(matches!(r.add(def("routers", 222, "dhcp4", T::Uint8)), Err(OptionDefError::StandardOverride { .. })));
        assert!(matches!(r.add(def("foo", 1, "docsis3-v4", T::Uint8)), Err(OptionDefError::StandardOverride { .. })));
        // Kea 2.2 accepts these.
        assert_eq!(r.add(def("foo", 43, "dhcp4", T::Uint8)), Ok(()));
        assert_eq!(r.add(def("csr", 121, "dhcp4", T::Binary)), Ok(()));
        assert_eq!(r.add(def("circuit-id", 1, DHCP_AGENT_SPACE, T::Binary)), Ok(()));
        assert_eq!(r.add(def("bar", 1, "vendor-4491", T::Uint8)), Ok(()));
        // User definitions win lookups.
        assert_eq!(r.by_code("dhcp4", 43).map(|d| d.name.as_str()), Some("foo"));
        assert_eq!(r.by_code("vendor-4491", 1).map(|d| d.name.as_str()), Some("bar"));
    }

    #[test]
    fn user_def_codes_and_duplicates() {
        let mut r = OptionDefRegistry::standard_v4();
        assert!(matches!(r.add(def("foo", 0, "dhcp4", T::Uint8)), Err(OptionDefError::ReservedCode { .. })));
        assert!(matches!(r.add(def("foo", 255, "dhcp4", T::Uint8)), Err(OptionDefError::ReservedCode { .. })));
        assert!(matches!(
            r.add(def("foo", 256, "isc", T::Uint8)),
            Err(OptionDefError::CodeTooLarge { code: 256, max: 255 })
        ));
        assert_eq!(r.add(def("zero", 0, "isc", T::Uint8)), Ok(()));
        assert_eq!(r.add(def("foo", 222, "dhcp4", T::Uint8)), Ok(()));
        assert!(matches!(
            r.add(def("bar", 222, "dhcp4", T::Uint8)),
            Err(OptionDefError::DuplicateCode { code: 222, .. })
        ));
        assert!(matches!(r.add(def("foo", 223, "dhcp4", T::Uint8)), Err(OptionDefError::DuplicateName { .. })));
        assert_eq!(r.add(def("foo", 222, "other", T::Uint8)), Ok(()));

        let mut r6 = OptionDefRegistry::standard_v6();
        assert!(matches!(r6.add(def("foo", 0, "dhcp6", T::Uint8)), Err(OptionDefError::ReservedCode { .. })));
        assert!(matches!(r6.add(def("foo", 143, "dhcp6", T::Uint8)), Err(OptionDefError::StandardOverride { .. })));
        assert_eq!(r6.add(def("foo", 65535, "dhcp6", T::Uint8)), Ok(()));
        assert_eq!(r6.add(def("ntp-server", 56, "dhcp6", T::Empty)), Ok(()));
    }

    #[test]
    fn names_and_spaces_follow_kea_rules() {
        for good in ["foo", "foo_bar", "123", "a-b", "X"] {
            assert_eq!(def(good, 222, "dhcp4", T::Uint8).validate(), Ok(()), "{good}");
        }
        for bad in ["", "foo bar", "-foo", "foo-", "_foo", "foo_", "Foo.bar"] {
            assert_eq!(def(bad, 222, "dhcp4", T::Uint8).validate(), Err(OptionDefError::InvalidName(bad.to_string())));
        }
        for bad in ["", "my space", "my.space", "-x", "x_"] {
            assert_eq!(def("foo", 222, bad, T::Uint8).validate(), Err(OptionDefError::InvalidSpace(bad.to_string())));
        }
    }

    #[test]
    fn record_and_array_rules() {
        let mut d = def("foo", 222, "dhcp4", T::Record);
        assert_eq!(d.validate(), Err(OptionDefError::TooFewRecordFields(0)));
        d.record_types = vec![T::Uint8];
        assert_eq!(d.validate(), Err(OptionDefError::TooFewRecordFields(1)));
        d.record_types = vec![T::Uint8, T::String];
        assert_eq!(d.validate(), Ok(()));
        d.record_types = vec![T::String, T::Uint8];
        assert_eq!(d.validate(), Err(OptionDefError::VariableFieldNotLast(T::String)));
        d.record_types = vec![T::Binary, T::Uint8];
        assert_eq!(d.validate(), Err(OptionDefError::VariableFieldNotLast(T::Binary)));
        d.record_types = vec![T::Fqdn, T::Uint8];
        assert_eq!(d.validate(), Ok(()));
        d.record_types = vec![T::Tuple, T::Uint8];
        assert_eq!(d.validate(), Ok(()));
        d.record_types = vec![T::Uint8, T::Empty];
        assert_eq!(d.validate(), Err(OptionDefError::InvalidRecordField(T::Empty)));
        d.record_types = vec![T::Uint8, T::Record];
        assert_eq!(d.validate(), Err(OptionDefError::InvalidRecordField(T::Record)));
        d.array = true;
        d.record_types = vec![T::Uint8, T::String];
        assert_eq!(d.validate(), Err(OptionDefError::InvalidArray(T::String)));
        d.record_types = vec![T::Uint8, T::Binary];
        assert_eq!(d.validate(), Err(OptionDefError::InvalidArray(T::Binary)));
        d.record_types = vec![T::Uint8, T::Fqdn];
        assert_eq!(d.validate(), Ok(()));

        let mut u = def("foo", 222, "dhcp4", T::Uint8);
        u.record_types = vec![T::Uint8, T::Uint16];
        assert_eq!(u.validate(), Err(OptionDefError::RecordTypesWithoutRecord(T::Uint8)));
        for t in [T::String, T::Binary, T::Empty] {
            let a = OptionDefinition::new("foo", 222, "dhcp4", t, true);
            assert_eq!(a.validate(), Err(OptionDefError::InvalidArray(t)));
        }
        let a = OptionDefinition::new("foo", 222, "dhcp4", T::Tuple, true);
        assert_eq!(a.validate(), Ok(()));
    }

    #[test]
    fn encapsulation_rules() {
        let mut d = def("foo", 222, "dhcp4", T::Uint8);
        d.encapsulate = "isc".into();
        assert_eq!(d.validate(), Ok(()));
        d.encapsulate = "dhcp4".into();
        assert_eq!(d.validate(), Ok(()));
        let mut r = OptionDefRegistry::standard_v4();
        assert!(matches!(r.add(d.clone()), Err(OptionDefError::SelfEncapsulation { .. })));
        d.encapsulate = "bad space".into();
        assert!(matches!(d.validate(), Err(OptionDefError::InvalidEncapsulatedSpace(_))));
        d.encapsulate = "isc".into();
        d.array = true;
        assert!(matches!(d.validate(), Err(OptionDefError::ArrayEncapsulates { .. })));
    }

    #[test]
    fn record_types_text_parsing() {
        assert_eq!(OptionDefinition::parse_record_types(" uint8 , uint16 "), Ok(vec![T::Uint8, T::Uint16]));
        assert_eq!(OptionDefinition::parse_record_types("uint8,,uint16,"), Ok(vec![T::Uint8, T::Uint16]));
        assert_eq!(OptionDefinition::parse_record_types(""), Ok(vec![]));
        assert_eq!(OptionDefinition::parse_record_types("uint8, foo"), Err(OptionDefError::UnknownType("foo".into())));
        let mut d = def("foo", 1, "x", T::Record);
        d.record_types = vec![T::Uint8, T::Ipv4Address];
        assert_eq!(d.record_types_text(), "uint8, ipv4-address");
    }

    #[test]
    fn vendor_space_numbers() {
        assert_eq!(vendor_id_of_space("vendor-4491"), Some(4491));
        assert_eq!(vendor_id_of_space("vendor-"), None);
        assert_eq!(vendor_id_of_space("vendor-x1"), None);
        assert_eq!(vendor_id_of_space("vendor-99999999999"), None);
        assert_eq!(vendor_id_of_space("dhcp4"), None);
        assert_eq!(vendor_id_of_space("vendor-0"), None);
        assert_eq!(vendor_id_of_space("vendor-04491"), Some(4491));
    }

    #[test]
    fn universe_guess() {
        assert_eq!(Universe::guess_from_space("dhcp6"), Universe::V6);
        assert_eq!(Universe::guess_from_space(MAPE_SPACE), Universe::V6);
        assert_eq!(Universe::guess_from_space("dhcp4"), Universe::V4);
        assert_eq!(Universe::guess_from_space("isc"), Universe::V4);
    }
}
