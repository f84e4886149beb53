//! Kea's `option-data` encoding: turns the `data` text of a configured option into the
//! option payload (the bytes after code and length), accepting and rejecting what Kea 2.2
//! accepts and rejects.
//!
//! Kea builds a configured option in two steps, and so do we:
//! 1. *write*: with `csv-format` true, split `data` at unescaped commas and write each value
//!    per its field type; with `csv-format` false, decode the hex (or `'quoted text'`);
//! 2. *parse back*: hand the bytes to the class Kea would instantiate for the definition
//!    (address list, integer, string, tuple list, one of the special RFC formats, or the
//!    generic field splitter). That step rejects some payloads and, for the generic
//!    splitter, decides which bytes Kea actually sends.
//!
//! Kea's quirks are kept so that every configuration Kea 2.2 loads loads here with the same
//! bytes on the wire: surplus values of single-valued options are ignored, an IPv6 address
//! in an `ipv4-address` list becomes four IPv4 addresses, a domain name that needs escapes
//! is dropped from the end of a list. The one deliberate difference: an IPv6 prefix length
//! above 128, which Kea 2.2 accepts and then encodes from memory past the address, is
//! rejected. The DHCPv4 vendor options 124/125 and DHCPv6 17 yield the enterprise number and
//! whatever the data carried; the sub-options of `vendor-<id>` spaces are added by whoever
//! assembles the packet.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::optdef::{OptionDataType, OptionDefinition, Universe, DHCP4_SPACE, DHCP6_SPACE};

/// What was wrong with an `option-data` value (Kea ARM §dhcp4-std-options, §dhcp-types).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptionDataError {
    /// `csv-format: false` data that is neither hex nor a `'quoted string'`.
    #[error("option data is not a valid string of hexadecimal digits: '{data}' ({reason})")]
    InvalidHex {
        /// The `data` text.
        data: String,
        /// What the decoder tripped on.
        reason: String,
    },
    /// A non-empty option type was given no value at all.
    #[error("no option value specified")]
    NoValue,
    /// A record got fewer comma-separated values than it has fields.
    #[error("option {code} has {expected} record fields but only {given} values were provided")]
    MissingFields {
        /// Option code.
        code: u16,
        /// Number of record fields.
        expected: usize,
        /// Number of values in `data`.
        given: usize,
    },
    /// An option of type `empty` was given data.
    #[error("option {code} of type 'empty' carries no data, but '{value}' was given")]
    UnexpectedData {
        /// Option code.
        code: u16,
        /// The offending value.
        value: String,
    },
    /// One value could not be converted to its field type.
    #[error("invalid {ty} value '{value}': {reason}")]
    InvalidValue {
        /// The field type.
        ty: OptionDataType,
        /// The value as written in `data` (trimmed).
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The encoded payload does not fit the option's format (what Kea reports when
    /// building the option object from the bytes).
    #[error("option {code} does not match its definition: {reason}")]
    Malformed {
        /// Option code.
        code: u16,
        /// What is wrong with the payload.
        reason: String,
    },
}

/// Encodes `data` for `def`, guessing the universe from the definition's space (Kea ARM §dhcp4-std-options).
///
/// Only Kea's built-in DHCPv6 spaces are recognised as DHCPv6; for a definition in a custom
/// space of a DHCPv6 server use [`encode_in`], which matters for tuples and domain lists.
pub fn encode(def: &OptionDefinition, data: &str, csv_format: bool) -> Result<Vec<u8>, OptionDataError> {
    encode_in(Universe::guess_from_space(&def.space), def, data, csv_format)
}

/// Encodes the `data` of an `option-data` entry that uses `def` into the option payload (Kea ARM §dhcp4-std-options, §dhcp6-std-options).
///
/// `csv_format` true: comma-separated values (`\,` keeps a comma inside a value), one per
/// field; an array repeats its type, an array record repeats its last field, surplus
/// values of a non-array option are ignored as in Kea. `csv_format` false: hex digits
/// (optionally `0x`-prefixed, or octets separated by `:` or spaces) or `'text'`.
pub fn encode_in(
    universe: Universe,
    def: &OptionDefinition,
    data: &str,
    csv_format: bool,
) -> Result<Vec<u8>, OptionDataError> {
    let written = if csv_format { write_csv(universe, def, data)? } else { encode_raw_hex(data)? };
    parse_back(universe, def, written)
}

/// Decodes `csv-format: false` data of an option that has no definition (Kea ARM §dhcp4-std-options).
///
/// Accepted forms: `'quoted text'` (surrounding blanks and the blanks just inside the quotes
/// are dropped), `0a:0b` or `0a 0b` (one or two digits per octet), `0a0b` or `0x0a0b` (an
/// odd digit count gets a leading zero). The empty string is an empty payload.
pub fn encode_raw_hex(data: &str) -> Result<Vec<u8>, OptionDataError> {
    let quoted = quoted_text(data);
    if !quoted.is_empty() {
        return Ok(quoted);
    }
    let bad = |reason: &str| OptionDataError::InvalidHex { data: data.to_string(), reason: reason.to_string() };
    if data.contains(':') {
        return separated_hex(data, ':').map_err(|r| bad(&r));
    }
    if data.contains(' ') {
        return separated_hex(data, ' ').map_err(|r| bad(&r));
    }
    let body = if data.len() > 2 && data.starts_with("0x") { &data[2..] } else { data };
    let mut digits = String::with_capacity(body.len() + 1);
    // Kea pads by the length of the whole string, "0x" included.
    if data.len() % 2 != 0 {
        digits.push('0');
    }
    digits.push_str(body);
    hex::decode(&digits).map_err(|e| bad(&e.to_string()))
}

/// Splits `data` into values like Kea's tokenizer: `,` separates, `\,` and `\\` escape, empty values vanish (Kea ARM §dhcp4-std-options).
pub fn split_csv(data: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut token = String::new();
    let mut in_token = false;
    let mut escaped = false;
    for c in data.chars() {
        if c == ',' {
            if !in_token {
                continue;
            }
            if escaped {
                escaped = false;
                token.push(c);
            } else {
                if !token.is_empty() {
                    out.push(std::mem::take(&mut token));
                }
                in_token = false;
            }
        } else if c == '\\' {
            in_token = true;
            if escaped {
                escaped = false;
                token.push(c);
            } else {
                escaped = true;
            }
        } else {
            in_token = true;
            if escaped {
                // Only commas and backslashes are escapable; keep anything else verbatim.
                escaped = false;
                token.push('\\');
            }
            token.push(c);
        }
    }
    if escaped {
        token.push('\\');
    }
    if !token.is_empty() {
        out.push(token);
    }
    out
}

/// Converts a domain name in master-file text form to DNS wire format (RFC 1035 §3.1, §5.1).
///
/// Accepts what Kea's DNS name parser accepts: labels up to 63 octets, `\X` and `\DDD`
/// escapes, an optional final dot, `.` or a lone `@` for the root; case is kept.
pub fn fqdn_to_wire(name: &str) -> Result<Vec<u8>, OptionDataError> {
    text_name_to_wire(name.as_bytes()).map_err(|reason| OptionDataError::InvalidValue {
        ty: OptionDataType::Fqdn,
        value: name.to_string(),
        reason: reason.to_string(),
    })
}

/// The characters Kea's trim removes around each value.
fn kea_trim(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t' || c == '\n')
}

fn write_csv(universe: Universe, def: &OptionDefinition, data: &str) -> Result<Vec<u8>, OptionDataError> {
    let values = split_csv(data);
    let mut buf = Vec::new();
    if def.option_type == OptionDataType::Record {
        let fields = &def.record_types;
        if fields.len() > values.len() {
            return Err(OptionDataError::MissingFields { code: def.code, expected: fields.len(), given: values.len() });
        }
        for (ty, value) in fields.iter().zip(values.iter()) {
            write_value(universe, def, *ty, kea_trim(value), &mut buf)?;
        }
        if def.array {
            if let Some(last) = fields.last() {
                for value in values.iter().skip(fields.len()) {
                    write_value(universe, def, *last, kea_trim(value), &mut buf)?;
                }
            }
        }
    } else if def.array {
        for value in &values {
            write_value(universe, def, def.option_type, kea_trim(value), &mut buf)?;
        }
    } else {
        match values.first() {
            None if def.option_type == OptionDataType::Empty => {}
            None => return Err(OptionDataError::NoValue),
            Some(value) if def.option_type == OptionDataType::Empty => {
                return Err(OptionDataError::UnexpectedData { code: def.code, value: value.clone() })
            }
            Some(value) => write_value(universe, def, def.option_type, kea_trim(value), &mut buf)?,
        }
    }
    Ok(buf)
}

fn invalid(ty: OptionDataType, value: &str, reason: impl Into<String>) -> OptionDataError {
    OptionDataError::InvalidValue { ty, value: value.to_string(), reason: reason.into() }
}

fn write_value(
    universe: Universe,
    def: &OptionDefinition,
    ty: OptionDataType,
    value: &str,
    buf: &mut Vec<u8>,
) -> Result<(), OptionDataError> {
    use OptionDataType as T;
    match ty {
        T::Binary => {
            // Kea's hex decoder skips spaces (only spaces) and wants an even digit count.
            let digits: String = value.chars().filter(|&c| c != ' ').collect();
            let bytes = hex::decode(&digits).map_err(|e| invalid(ty, value, e.to_string()))?;
            buf.extend_from_slice(&bytes);
        }
        T::Boolean => {
            let b = parse_bool(value).map_err(|r| invalid(ty, value, r))?;
            buf.push(u8::from(b));
        }
        T::Int8 | T::Int16 | T::Int32 | T::Uint8 | T::Uint16 | T::Uint32 => {
            let (min, max, width): (i64, i64, usize) = match ty {
                T::Int8 => (i8::MIN.into(), i8::MAX.into(), 1),
                T::Int16 => (i16::MIN.into(), i16::MAX.into(), 2),
                T::Int32 => (i32::MIN.into(), i32::MAX.into(), 4),
                T::Uint8 => (0, u8::MAX.into(), 1),
                T::Uint16 => (0, u16::MAX.into(), 2),
                _ => (0, u32::MAX.into(), 4),
            };
            let n = parse_kea_integer(value)
                .ok_or_else(|| invalid(ty, value, "not a decimal or hexadecimal integer".to_string()))?;
            if n < min || n > max {
                return Err(invalid(ty, value, format!("out of range, expected {min}..{max}")));
            }
            // Two's complement, big-endian, truncated to the field width.
            let bytes = n.to_be_bytes();
            buf.extend_from_slice(&bytes[8 - width..]);
        }
        T::Ipv4Address | T::Ipv6Address => {
            // Kea writes the address in whatever family it parses as; the parse-back step
            // then decides (an IPv6 address in an IPv4 list becomes four IPv4 addresses).
            let octets = parse_any_address(value).ok_or_else(|| invalid(ty, value, "not an IP address".to_string()))?;
            buf.extend_from_slice(&octets);
        }
        T::Ipv6Prefix => write_prefix(value, buf).map_err(|r| invalid(ty, value, r))?,
        T::Psid => write_psid(value, buf).map_err(|r| invalid(ty, value, r))?,
        T::String => buf.extend_from_slice(value.as_bytes()),
        T::Fqdn => {
            let wire = text_name_to_wire(value.as_bytes()).map_err(|r| invalid(ty, value, r))?;
            buf.extend_from_slice(&wire);
        }
        T::Tuple => {
            let len = value.len();
            match universe {
                Universe::V4 => {
                    let l = u8::try_from(len)
                        .map_err(|_| invalid(ty, value, format!("{len} octets, at most 255 fit a tuple")))?;
                    buf.push(l);
                }
                Universe::V6 => {
                    let l = u16::try_from(len)
                        .map_err(|_| invalid(ty, value, format!("{len} octets, at most 65535 fit a tuple")))?;
                    buf.extend_from_slice(&l.to_be_bytes());
                }
            }
            buf.extend_from_slice(value.as_bytes());
        }
        T::Empty | T::Record => {
            return Err(OptionDataError::Malformed {
                code: def.code,
                reason: format!("a field of type '{ty}' cannot hold a value"),
            })
        }
    }
    Ok(())
}

/// Kea's boolean syntax: `true`/`false` in any case, or an integer equal to 0 or 1.
fn parse_bool(value: &str) -> Result<bool, String> {
    if value.eq_ignore_ascii_case("true") {
        return Ok(true);
    }
    if value.eq_ignore_ascii_case("false") {
        return Ok(false);
    }
    match parse_decimal(value) {
        Some(0) => Ok(false),
        Some(1) => Ok(true),
        Some(_) => Err("only 0 and 1 are booleans".to_string()),
        None => Err("expected true, false, 0 or 1".to_string()),
    }
}

/// Optional sign then decimal digits, nothing else, within i64 (boost::lexical_cast's rule).
fn parse_decimal(s: &str) -> Option<i64> {
    let (neg, digits) = split_sign(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    accumulate(digits, 10, neg)
}

/// Kea's integer syntax: decimal first, then C++ `std::hex` stream syntax (optional sign, optional `0x`/`0X`, hex digits).
fn parse_kea_integer(s: &str) -> Option<i64> {
    if let Some(n) = parse_decimal(s) {
        return Some(n);
    }
    let (neg, rest) = split_sign(s);
    let digits = match rest.get(..2) {
        Some("0x") | Some("0X") => &rest[2..],
        _ => rest,
    };
    if digits.is_empty() {
        // "0x" alone has no digits, but a lone "0" (handled by the decimal path) is fine.
        return None;
    }
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    accumulate(digits, 16, neg)
}

fn split_sign(s: &str) -> (bool, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    }
}

fn accumulate(digits: &str, radix: u32, neg: bool) -> Option<i64> {
    let mut acc: i128 = 0;
    for c in digits.chars() {
        acc = acc * i128::from(radix) + i128::from(c.to_digit(radix)?);
        if acc > i128::from(i64::MAX) + 1 {
            return None;
        }
    }
    let v = if neg { -acc } else { acc };
    i64::try_from(v).ok()
}

/// The octets of an IPv4 or IPv6 address, in the family the text is written in.
fn parse_any_address(value: &str) -> Option<Vec<u8>> {
    if let Ok(a) = value.parse::<Ipv4Addr>() {
        return Some(a.octets().to_vec());
    }
    parse_ipv6(value).ok().map(|a| a.octets().to_vec())
}

fn parse_ipv6(value: &str) -> Result<Ipv6Addr, String> {
    // Kea's address parser accepts (and drops) a zone suffix such as "%eth0".
    let addr = value.split_once('%').map_or(value, |(a, _)| a);
    if let Ok(a) = addr.parse::<Ipv6Addr>() {
        return Ok(a);
    }
    if value.parse::<Ipv4Addr>().is_ok() {
        return Err("an IPv4 address where an IPv6 address is expected".to_string());
    }
    Err("not an IPv6 address".to_string())
}

/// `address/length`: the length octet, then the prefix octets that hold `length` bits, spare bits zeroed (RFC 7598 §4.1).
fn write_prefix(value: &str, buf: &mut Vec<u8>) -> Result<(), String> {
    let text: String = value.chars().filter(|&c| c != ' ' && c != '\t').collect();
    let (addr, len) = text.split_once('/').ok_or_else(|| "expected address/length".to_string())?;
    let addr = parse_ipv6(addr).map_err(|r| format!("prefix {addr}: {r}"))?;
    let len = parse_kea_integer(len)
        .and_then(|n| u8::try_from(n).ok())
        .ok_or_else(|| format!("prefix length '{len}' is not valid"))?;
    if len > 128 {
        // Kea 2.2 accepts this and then copies bytes from beyond the address.
        return Err(format!("prefix length {len} is longer than 128"));
    }
    buf.push(len);
    buf.extend_from_slice(&prefix_bytes(&addr.octets(), len));
    Ok(())
}

fn prefix_bytes(octets: &[u8; 16], len: u8) -> Vec<u8> {
    let nbytes = usize::from(len).div_ceil(8);
    let mut out: Vec<u8> = octets.iter().take(nbytes).copied().collect();
    let spare = (8 - len % 8) % 8;
    if spare > 0 {
        if let Some(last) = out.last_mut() {
            *last = (*last >> spare) << spare;
        }
    }
    out
}

/// `psid/length`: the length octet, then the PSID left-aligned in 16 bits (RFC 7597 §5.1, RFC 7598 §4.5).
fn write_psid(value: &str, buf: &mut Vec<u8>) -> Result<(), String> {
    let text: String = value.chars().filter(|&c| c != ' ' && c != '\t').collect();
    let (psid, len) = text.split_once('/').ok_or_else(|| "expected psid/length".to_string())?;
    let psid = parse_kea_integer(psid)
        .and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| format!("PSID '{psid}' is not valid"))?;
    let len = parse_kea_integer(len)
        .and_then(|n| u8::try_from(n).ok())
        .ok_or_else(|| format!("PSID length '{len}' is not valid"))?;
    if len > 16 {
        return Err(format!("PSID length {len} is longer than 16"));
    }
    if len > 0 && u32::from(psid) > (0xFFFF_u32 >> (16 - u32::from(len))) {
        return Err(format!("PSID {psid} does not fit in {len} bits"));
    }
    // With length 0 Kea ignores the PSID and writes zero.
    let shifted = if len == 0 { 0 } else { ((u32::from(psid) << (16 - u32::from(len))) & 0xFFFF) as u16 };
    buf.push(len);
    buf.extend_from_slice(&shifted.to_be_bytes());
    Ok(())
}

/// `'text'` → the trimmed text's bytes; anything else → empty (Kea then tries hex).
fn quoted_text(data: &str) -> Vec<u8> {
    let t = kea_trim(data);
    if t.len() > 1 && t.starts_with('\'') && t.ends_with('\'') {
        return kea_trim(&t[1..t.len() - 1]).as_bytes().to_vec();
    }
    Vec::new()
}

fn separated_hex(data: &str, sep: char) -> Result<Vec<u8>, String> {
    let parts: Vec<&str> = data.split(sep).collect();
    let mut out = Vec::with_capacity(parts.len());
    for p in &parts {
        if p.is_empty() {
            if parts.len() > 1 {
                return Err(format!("two consecutive separators ('{sep}')"));
            }
            continue;
        }
        if p.len() > 2 {
            return Err(format!("'{p}' is more than one octet"));
        }
        let v = u8::from_str_radix(p, 16).map_err(|_| format!("'{p}' is not hexadecimal"))?;
        if !p.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("'{p}' is not hexadecimal"));
        }
        out.push(v);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// DNS names: text parser, wire reader, presentation length.

const MAX_WIRE: usize = 255;
const MAX_LABEL: usize = 63;

/// Master-file text to wire format, following the BIND-derived state machine Kea uses.
fn text_name_to_wire(s: &[u8]) -> Result<Vec<u8>, &'static str> {
    #[derive(Clone, Copy, PartialEq)]
    enum St {
        Init,
        Start,
        Ordinary,
        InitialEscape,
        Escape,
        EscDecimal,
    }
    let mut wire: Vec<u8> = Vec::with_capacity(s.len() + 2);
    let mut state = St::Init;
    let mut label_at = 0usize;
    let mut count = 0usize;
    let mut digits = 0u32;
    let mut value = 0u32;
    let mut done = false;
    let mut i = 0usize;
    while i < s.len() && !done {
        let c = s[i];
        i += 1;
        let at_end = i == s.len();
        let mut st = state;
        // Each pass either consumes `c` (break) or hands it to the next state (continue),
        // mirroring the fall-through of the original parser.
        loop {
            match st {
                St::Init => {
                    if c == b'.' {
                        if !at_end {
                            return Err("non terminating empty label");
                        }
                        wire.push(0);
                        done = true;
                        break;
                    }
                    if c == b'@' && at_end {
                        wire.push(0);
                        done = true;
                        break;
                    }
                    st = St::Start;
                }
                St::Start => {
                    label_at = wire.len();
                    wire.push(0);
                    count = 0;
                    if c == b'\\' {
                        state = St::InitialEscape;
                        break;
                    }
                    st = St::Ordinary;
                }
                St::Ordinary => {
                    if c == b'.' {
                        if count == 0 {
                            return Err("duplicate period");
                        }
                        set_label_len(&mut wire, label_at, count);
                        if at_end {
                            wire.push(0);
                            done = true;
                        }
                        state = St::Start;
                    } else if c == b'\\' {
                        state = St::Escape;
                    } else {
                        count += 1;
                        if count > MAX_LABEL {
                            return Err("label is too long");
                        }
                        wire.push(c);
                        state = St::Ordinary;
                    }
                    break;
                }
                St::InitialEscape => {
                    if c == b'[' {
                        return Err("invalid label type");
                    }
                    st = St::Escape;
                }
                St::Escape => {
                    if !c.is_ascii_digit() {
                        count += 1;
                        if count > MAX_LABEL {
                            return Err("label is too long");
                        }
                        wire.push(c);
                        state = St::Ordinary;
                        break;
                    }
                    digits = 0;
                    value = 0;
                    st = St::EscDecimal;
                }
                St::EscDecimal => {
                    if !c.is_ascii_digit() {
                        return Err("mixture of escaped digit and non-digit");
                    }
                    value = value * 10 + u32::from(c - b'0');
                    digits += 1;
                    state = St::EscDecimal;
                    if digits == 3 {
                        let octet = u8::try_from(value).map_err(|_| "escaped decimal is too large")?;
                        count += 1;
                        if count > MAX_LABEL {
                            return Err("label is too long");
                        }
                        wire.push(octet);
                        state = St::Ordinary;
                    }
                    break;
                }
            }
        }
        if wire.len() > MAX_WIRE {
            return Err("name is too long");
        }
    }
    if !done {
        if state != St::Ordinary {
            return Err("incomplete textual name");
        }
        set_label_len(&mut wire, label_at, count);
        wire.push(0);
    }
    if wire.len() > MAX_WIRE {
        return Err("name is too long");
    }
    Ok(wire)
}

fn set_label_len(wire: &mut [u8], at: usize, count: usize) {
    if let (Some(slot), Ok(n)) = (wire.get_mut(at), u8::try_from(count)) {
        *slot = n;
    }
}

/// Reads one wire-format name at `start` of `buf`, following compression pointers only
/// backwards, as Kea's reader does. Returns the uncompressed name and the octets used at `start`.
fn read_wire_name(buf: &[u8], start: usize) -> Result<(Vec<u8>, usize), String> {
    let mut name = Vec::new();
    let mut current = start;
    let mut biggest_pointer = start;
    let mut used = 0usize;
    let mut seen_pointer = false;
    loop {
        let Some(&len) = buf.get(current) else {
            return Err("incomplete wire-format name".to_string());
        };
        if !seen_pointer {
            used += 1;
        }
        current += 1;
        match len {
            0 => {
                name.push(0);
                return Ok((name, used));
            }
            1..=63 => {
                let l = usize::from(len);
                if name.len() + l + 2 > MAX_WIRE {
                    return Err(format!("wire name is too long: {} bytes", name.len() + l + 2));
                }
                let label = buf.get(current..current + l).ok_or_else(|| "incomplete wire-format name".to_string())?;
                name.push(len);
                name.extend_from_slice(label);
                current += l;
                if !seen_pointer {
                    used += l;
                }
            }
            0xC0..=0xFF => {
                let Some(&low) = buf.get(current) else {
                    return Err("incomplete wire-format name".to_string());
                };
                if !seen_pointer {
                    used += 1;
                }
                let target = (usize::from(len & 0x3F) << 8) | usize::from(low);
                if target >= biggest_pointer {
                    return Err(format!("bad compression pointer (out of range): {target}"));
                }
                biggest_pointer = target;
                current = target;
                seen_pointer = true;
            }
            other => return Err(format!("unknown label character: {other}")),
        }
    }
}

/// Length of Kea's text form of an uncompressed wire name, final dot included.
fn presentation_len(wire: &[u8]) -> usize {
    if wire.first() == Some(&0) {
        return 1;
    }
    let mut total = 0usize;
    let mut i = 0usize;
    while let Some(&l) = wire.get(i) {
        if l == 0 {
            break;
        }
        let end = (i + 1 + usize::from(l)).min(wire.len());
        for &c in wire.get(i + 1..end).unwrap_or(&[]) {
            total += match c {
                b'"' | b'(' | b')' | b'.' | b';' | b'\\' | b'@' | b'$' => 2,
                0x21..=0x7E => 1,
                _ => 4,
            };
        }
        total += 1;
        i = end;
    }
    total
}

/// The octets Kea's generic field splitter assigns to one `fqdn` field: it measures the
/// name by its text form, which over-counts names that need escapes and the root name.
fn kea_fqdn_field_len(rest: &[u8]) -> Result<usize, String> {
    if rest.is_empty() {
        return Err("unable to read FQDN from an empty buffer".to_string());
    }
    let (name, _) = read_wire_name(rest, 0)?;
    Ok(presentation_len(&name) + 1)
}

// ---------------------------------------------------------------------------------------
// Parse-back: what Kea's option classes accept, and which bytes they keep.

fn malformed(def: &OptionDefinition, reason: impl Into<String>) -> OptionDataError {
    OptionDataError::Malformed { code: def.code, reason: reason.into() }
}

fn need(def: &OptionDefinition, buf: &[u8], min: usize, what: &str) -> Result<(), OptionDataError> {
    if buf.len() < min {
        return Err(malformed(def, format!("{what} needs at least {min} octets, got {}", buf.len())));
    }
    Ok(())
}

fn parse_back(universe: Universe, def: &OptionDefinition, buf: Vec<u8>) -> Result<Vec<u8>, OptionDataError> {
    use OptionDataType as T;
    if let Some(result) = special_format(universe, def, &buf) {
        result?;
        return Ok(buf);
    }
    if universe == Universe::V4 && def.is_fqdn_list() {
        let flat = v4_fqdn_list(def, &buf)?;
        return custom_split(universe, def, flat);
    }
    match def.option_type {
        // Kea builds a bare option here and drops any bytes given in hex.
        T::Empty if def.encapsulate.is_empty() => Ok(Vec::new()),
        T::Binary => Ok(buf),
        t if t.is_integer() => {
            let size = t.fixed_len().unwrap_or(1);
            if def.array {
                if buf.is_empty() {
                    return Err(malformed(def, "an integer array needs at least one value"));
                }
                if buf.len() % size != 0 {
                    return Err(malformed(def, format!("{} octets is not a whole number of {t} values", buf.len())));
                }
            } else {
                need(def, &buf, size, t.name())?;
            }
            Ok(buf)
        }
        T::Ipv4Address if def.array => {
            if buf.len() % 4 != 0 {
                return Err(malformed(def, format!("{} octets is not a whole number of IPv4 addresses", buf.len())));
            }
            Ok(buf)
        }
        T::Ipv6Address if def.array => {
            if buf.len() % 16 != 0 {
                return Err(malformed(def, format!("{} octets is not a whole number of IPv6 addresses", buf.len())));
            }
            Ok(buf)
        }
        T::String if !def.array => {
            // RFC 2132 §2: trailing NULs are not part of the string.
            let mut s = buf;
            while s.last() == Some(&0) {
                s.pop();
            }
            if s.is_empty() {
                return Err(malformed(def, "a string option must not be empty"));
            }
            Ok(s)
        }
        T::Tuple if def.array => {
            // Kea's DHCPv4 tuple list wants at least two octets, so not even one empty tuple.
            if universe == Universe::V4 && buf.len() < 2 {
                return Err(malformed(def, "a DHCPv4 tuple list needs at least two octets"));
            }
            parse_tuples(def, universe, &buf)?;
            Ok(buf)
        }
        _ => custom_split(universe, def, buf),
    }
}

/// The options Kea builds with dedicated classes; `None` when `def` is not one of them.
fn special_format(universe: Universe, def: &OptionDefinition, buf: &[u8]) -> Option<Result<(), OptionDataError>> {
    let check = match (universe, def.space.as_str(), def.code) {
        // IA_NA, IA_PD (RFC 8415 §21.4, §21.21).
        (Universe::V6, DHCP6_SPACE, 3 | 25) => need(def, buf, 12, "an IA"),
        // IAADDR (RFC 8415 §21.6).
        (Universe::V6, DHCP6_SPACE, 5) => need(def, buf, 24, "an IA address"),
        // IAPREFIX (RFC 8415 §21.22).
        (Universe::V6, DHCP6_SPACE, 26) => need(def, buf, 25, "an IA prefix"),
        // Status code (RFC 8415 §21.13).
        (Universe::V6, DHCP6_SPACE, 13) => need(def, buf, 2, "a status code"),
        // Vendor-specific information (RFC 8415 §21.17).
        (Universe::V6, DHCP6_SPACE, 17) => vendor_opts(def, universe, buf),
        // Vendor class (RFC 8415 §21.16).
        (Universe::V6, DHCP6_SPACE, 16) => vendor_class(def, universe, buf),
        // Bootfile parameters (RFC 5970 §3.2).
        (Universe::V6, DHCP6_SPACE, 60) => parse_tuples(def, universe, buf),
        // Client FQDN (RFC 4704 §4).
        (Universe::V6, DHCP6_SPACE, 39) => client_fqdn_v6(def, buf),
        // Prefix exclude (RFC 6603 §4.2).
        (Universe::V6, DHCP6_SPACE, 67) => need(def, buf, 2, "a prefix exclude").and_then(|()| {
            if buf.first() == Some(&0) {
                Err(malformed(def, "excluded prefix length must not be 0"))
            } else {
                Ok(())
            }
        }),
        // SLP service scope (RFC 2610 §4).
        (Universe::V4, DHCP4_SPACE, 79) => need(def, buf, 1, "an SLP service scope").and_then(|()| {
            if buf.first().is_some_and(|&b| b > 1) {
                Err(malformed(def, "the mandatory flag must be 0 or 1"))
            } else {
                Ok(())
            }
        }),
        // Client FQDN (RFC 4702 §2).
        (Universe::V4, DHCP4_SPACE, 81) => client_fqdn_v4(def, buf),
        // V-I vendor class (RFC 3925 §3).
        (Universe::V4, DHCP4_SPACE, 124) => vendor_class(def, universe, buf),
        // V-I vendor-specific information (RFC 3925 §4).
        (Universe::V4, DHCP4_SPACE, 125) => vendor_opts(def, universe, buf),
        _ => return None,
    };
    Some(check)
}

fn read_tuple(universe: Universe, buf: &[u8]) -> Result<usize, String> {
    let (len, field) = match universe {
        Universe::V4 => (buf.first().map(|&b| usize::from(b)), 1),
        Universe::V6 => (buf.get(..2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]]))), 2),
    };
    let len = len.ok_or_else(|| format!("a tuple needs a {field}-octet length, only {} octets left", buf.len()))?;
    if buf.len() < field + len {
        return Err(format!("tuple of length {len} but only {} octets left", buf.len() - field));
    }
    Ok(field + len)
}

fn parse_tuples(def: &OptionDefinition, universe: Universe, buf: &[u8]) -> Result<(), OptionDataError> {
    let mut pos = 0;
    while pos < buf.len() {
        pos += read_tuple(universe, &buf[pos..]).map_err(|r| malformed(def, r))?;
    }
    Ok(())
}

fn vendor_class(def: &OptionDefinition, universe: Universe, buf: &[u8]) -> Result<(), OptionDataError> {
    need(def, buf, 4, "a vendor class")?;
    let mut pos = 4;
    while pos < buf.len() {
        pos += read_tuple(universe, &buf[pos..]).map_err(|r| malformed(def, r))?;
        // In DHCPv4 every further tuple comes with its own enterprise number; Kea wants
        // more than one octet after it, so a final empty tuple is refused.
        if universe == Universe::V4 && pos < buf.len() {
            pos += 4;
            if pos + 1 >= buf.len() {
                return Err(malformed(def, "an enterprise number must be followed by a vendor class tuple"));
            }
        }
    }
    Ok(())
}

/// Enterprise number, then sub-options: DHCPv6 code/length pairs (RFC 8415 §21.17), or in
/// DHCPv4 a data-len block of code/length pairs (RFC 3925 §4).
fn vendor_opts(def: &OptionDefinition, universe: Universe, buf: &[u8]) -> Result<(), OptionDataError> {
    need(def, buf, 4, "vendor options")?;
    let rest = &buf[4..];
    let truncated = |what: &str| Err(malformed(def, format!("truncated vendor sub-option {what}")));
    let mut pos = 0usize;
    match universe {
        Universe::V6 => {
            while pos < rest.len() {
                let Some(h) = rest.get(pos..pos + 4) else {
                    return truncated("header");
                };
                let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
                pos += 4 + len;
                if pos > rest.len() {
                    return truncated("data");
                }
            }
        }
        Universe::V4 => {
            // Kea reads the first data-len block only and ignores what follows it.
            if let Some(&data_len) = rest.first() {
                let block_end = 1 + usize::from(data_len);
                if block_end > rest.len() {
                    return truncated("block");
                }
                pos = 1;
                while pos < block_end {
                    let Some(&len) = rest.get(pos + 1).filter(|_| pos + 2 <= block_end) else {
                        return truncated("header");
                    };
                    pos += 2 + usize::from(len);
                    if pos > block_end {
                        return truncated("data");
                    }
                }
            }
        }
    }
    Ok(())
}

fn client_fqdn_v6(def: &OptionDefinition, buf: &[u8]) -> Result<(), OptionDataError> {
    need(def, buf, 1, "a client FQDN")?;
    let flags = buf[0];
    if flags & 0x04 != 0 && flags & 0x01 != 0 {
        return Err(malformed(def, "both the N and S flags are set"));
    }
    wire_name_check(def, &buf[1..])
}

fn client_fqdn_v4(def: &OptionDefinition, buf: &[u8]) -> Result<(), OptionDataError> {
    need(def, buf, 3, "a client FQDN")?;
    let flags = buf[0];
    if flags & 0x08 != 0 && flags & 0x01 != 0 {
        return Err(malformed(def, "both the N and S flags are set"));
    }
    let name = &buf[3..];
    if flags & 0x04 != 0 {
        wire_name_check(def, name)
    } else if name.is_empty() {
        Ok(())
    } else {
        // Without the E flag Kea reads the octets as a text name.
        text_name_to_wire(name).map(|_| ()).map_err(|r| malformed(def, format!("domain name: {r}")))
    }
}

/// A possibly partial (no root label) wire name, or nothing.
fn wire_name_check(def: &OptionDefinition, name: &[u8]) -> Result<(), OptionDataError> {
    if name.is_empty() {
        return Ok(());
    }
    let mut full = name.to_vec();
    if full.last() != Some(&0) {
        full.push(0);
    }
    // Kea reads one name and ignores anything after it.
    read_wire_name(&full, 0).map(|_| ()).map_err(|r| malformed(def, format!("domain name: {r}")))
}

/// DHCPv4 domain lists may be compressed (RFC 3397 §2): Kea expands them first.
fn v4_fqdn_list(def: &OptionDefinition, buf: &[u8]) -> Result<Vec<u8>, OptionDataError> {
    if buf.is_empty() {
        return Err(malformed(def, "a domain list needs at least one name"));
    }
    let mut out = Vec::with_capacity(buf.len());
    let mut pos = 0;
    while pos < buf.len() {
        let (name, used) = read_wire_name(buf, pos).map_err(|r| malformed(def, r))?;
        out.extend_from_slice(&name);
        pos += used;
    }
    Ok(out)
}

/// Octets Kea's generic splitter gives one field starting at `rest`.
fn field_len(
    universe: Universe,
    def: &OptionDefinition,
    ty: OptionDataType,
    in_array: bool,
    rest: &[u8],
) -> Result<usize, OptionDataError> {
    use OptionDataType as T;
    if let Some(n) = ty.fixed_len() {
        return Ok(n);
    }
    match ty {
        T::Fqdn => kea_fqdn_field_len(rest).map_err(|r| malformed(def, r)),
        T::Binary | T::String if !def.array => Ok(rest.len()),
        T::Ipv6Prefix => {
            if rest.is_empty() && !in_array {
                return Ok(0);
            }
            let len = rest.first().map(|&b| usize::from(b)).ok_or_else(|| malformed(def, "prefix length missing"))?;
            let bytes = len.div_ceil(8);
            if rest.len() - 1 < bytes {
                return Err(malformed(def, format!("prefix of length {len} needs {bytes} more octets")));
            }
            Ok(1 + bytes)
        }
        T::Tuple => read_tuple(universe, rest).map_err(|r| malformed(def, r)),
        _ => Err(malformed(def, format!("no field of type '{ty}' can be read"))),
    }
}

/// Kea's generic option (`OptionCustom`): splits the payload into fields and sends only
/// those fields, plus sub-options when the definition encapsulates a space.
fn custom_split(universe: Universe, def: &OptionDefinition, buf: Vec<u8>) -> Result<Vec<u8>, OptionDataError> {
    use OptionDataType as T;
    let truncated = || malformed(def, "option buffer truncated");
    let mut pos = 0usize;
    if def.option_type == T::Record {
        let Some(&last) = def.record_types.last() else {
            return Err(malformed(def, "record definition without fields"));
        };
        for &ty in &def.record_types {
            let rest = buf.get(pos..).unwrap_or(&[]);
            let size = field_len(universe, def, ty, false, rest)?;
            if rest.len() < size {
                return Err(truncated());
            }
            pos += size;
        }
        if def.array {
            pos = array_tail(universe, def, last, &buf, pos)?;
            return Ok(keep(buf, pos));
        }
    } else if def.option_type != T::Empty {
        let ty = def.option_type;
        if buf.len() < ty.fixed_len().unwrap_or(0) {
            return Err(truncated());
        }
        if def.array {
            pos = array_tail(universe, def, ty, &buf, 0)?;
            return Ok(keep(buf, pos));
        }
        let size = field_len(universe, def, ty, false, &buf)?;
        if size == 0 || buf.len() < size {
            return Err(truncated());
        }
        pos = size;
    }
    if def.encapsulate.is_empty() {
        Ok(keep(buf, pos))
    } else {
        Ok(buf)
    }
}

/// Consumes repeated fields of `ty` from `pos`; a final partial field is dropped, as Kea does.
fn array_tail(
    universe: Universe,
    def: &OptionDefinition,
    ty: OptionDataType,
    buf: &[u8],
    mut pos: usize,
) -> Result<usize, OptionDataError> {
    while pos < buf.len() {
        let rest = &buf[pos..];
        let size = field_len(universe, def, ty, true, rest)?;
        if size == 0 || rest.len() < size {
            break;
        }
        pos += size;
    }
    Ok(pos)
}

fn keep(mut buf: Vec<u8>, len: usize) -> Vec<u8> {
    buf.truncate(len);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::optdef::OptionDefRegistry;
    use OptionDataType as T;

    fn v4(name: &str, data: &str) -> Result<Vec<u8>, OptionDataError> {
        let r = OptionDefRegistry::standard_v4();
        let def = r.by_name("dhcp4", name).expect("standard v4 option");
        encode_in(Universe::V4, def, data, true)
    }

    fn v6(name: &str, data: &str) -> Result<Vec<u8>, OptionDataError> {
        let r = OptionDefRegistry::standard_v6();
        let def = r.by_name("dhcp6", name).expect("standard v6 option");
        encode_in(Universe::V6, def, data, true)
    }

    fn custom(ty: T, array: bool, records: &[T]) -> OptionDefinition {
        let mut d = OptionDefinition::new("foo", 222, "isc", ty, array);
        d.record_types = records.to_vec();
        d
    }

    fn enc4(def: &OptionDefinition, data: &str) -> Result<Vec<u8>, OptionDataError> {
        encode_in(Universe::V4, def, data, true)
    }

    fn enc6(def: &OptionDefinition, data: &str) -> Result<Vec<u8>, OptionDataError> {
        encode_in(Universe::V6, def, data, true)
    }

    #[test]
    fn csv_splitting() {
        assert_eq!(split_csv("a, b,c"), vec!["a", " b", "c"]);
        assert_eq!(split_csv("a,,b,"), vec!["a", "b"]);
        assert_eq!(split_csv(""), Vec::<String>::new());
        assert_eq!(split_csv(",,"), Vec::<String>::new());
        assert_eq!(split_csv("foo\\,bar"), vec!["foo,bar"]);
        assert_eq!(split_csv("a\\\\b"), vec!["a\\b"]);
        assert_eq!(split_csv("a\\b"), vec!["a\\b"]);
        assert_eq!(split_csv("a\\"), vec!["a\\"]);
        assert_eq!(split_csv("'a,b'"), vec!["'a", "b'"]);
    }

    #[test]
    fn ipv4_addresses() {
        assert_eq!(v4("routers", "192.0.2.1, 10.0.0.1").unwrap(), vec![192, 0, 2, 1, 10, 0, 0, 1]);
        assert_eq!(v4("routers", "1.2.3.4,,5.6.7.8").unwrap().len(), 8);
        assert_eq!(v4("routers", "").unwrap(), Vec::<u8>::new());
        assert_eq!(v4("subnet-mask", " 255.255.255.0 ").unwrap(), vec![255, 255, 255, 0]);
        // Surplus values of a single-valued option are ignored, as in Kea.
        assert_eq!(v4("subnet-mask", "255.255.255.0, foo").unwrap(), vec![255, 255, 255, 0]);
        // Kea writes an IPv6 address as 16 octets: four bogus IPv4 addresses in a list,
        // and only the first four octets in a single-address option.
        assert_eq!(v4("routers", "2001:db8::1").unwrap().len(), 16);
        assert_eq!(v4("subnet-mask", "2001:db8::1").unwrap(), vec![0x20, 0x01, 0x0d, 0xb8]);
        for bad in ["192.0.2.1, 300.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4%eth0"] {
            assert!(
                matches!(v4("routers", bad), Err(OptionDataError::InvalidValue { ty: T::Ipv4Address, .. })),
                "{bad}"
            );
        }
        assert_eq!(v4("subnet-mask", ""), Err(OptionDataError::NoValue));
    }

    #[test]
    fn ipv6_addresses() {
        let out = v6("dns-servers", "2001:db8::1, ::1").unwrap();
        assert_eq!(out.len(), 32);
        assert_eq!(out[..4], [0x20, 0x01, 0x0d, 0xb8]);
        assert_eq!(out[31], 1);
        assert_eq!(v6("dns-servers", "").unwrap(), Vec::<u8>::new());
        assert_eq!(v6("dns-servers", "fe80::1%eth0").unwrap()[..2], [0xfe, 0x80]);
        assert!(v6("dns-servers", "1.2.3.4").is_err());
        assert!(v6("unicast", "1.2.3.4").is_err());
        assert!(v6("unicast", "2001:db8::g").is_err());
    }

    #[test]
    fn integers() {
        assert_eq!(v4("default-ip-ttl", "64").unwrap(), vec![64]);
        assert_eq!(v4("default-ip-ttl", "+5").unwrap(), vec![5]);
        assert_eq!(v4("default-ip-ttl", "010").unwrap(), vec![10]);
        // Not decimal, so Kea reads it as hex.
        assert_eq!(v4("default-ip-ttl", "ff").unwrap(), vec![255]);
        assert_eq!(v4("default-ip-ttl", "0x10").unwrap(), vec![16]);
        assert_eq!(v4("default-ip-ttl", "0X1f").unwrap(), vec![31]);
        assert_eq!(v4("default-ip-ttl", "-0").unwrap(), vec![0]);
        for bad in ["256", "-1", "1e2", "0x", "x1f", "1 2", "", " "] {
            assert!(v4("default-ip-ttl", bad).is_err(), "{bad}");
        }
        assert_eq!(v4("boot-size", "65535").unwrap(), vec![255, 255]);
        assert_eq!(v4("boot-size", "10000").unwrap(), vec![0x27, 0x10]);
        assert!(v4("boot-size", "0x10000").is_err());
        assert_eq!(v4("time-offset", "-25200").unwrap(), (-25200i32).to_be_bytes().to_vec());
        assert_eq!(v4("time-offset", "-2147483648").unwrap(), vec![0x80, 0, 0, 0]);
        assert_eq!(v4("time-offset", "-0x10").unwrap(), (-16i32).to_be_bytes().to_vec());
        assert!(v4("time-offset", "2147483648").is_err());
        assert!(v4("time-offset", "0xffffffff").is_err());
        assert_eq!(v4("dhcp-lease-time", "4294967295").unwrap(), vec![255; 4]);
        assert!(v4("dhcp-lease-time", "99999999999999999999999").is_err());
        let i8a = custom(T::Int8, true, &[]);
        assert_eq!(enc4(&i8a, "-128, 127, 0x7f, -0x80").unwrap(), vec![0x80, 0x7f, 0x7f, 0x80]);
        assert!(enc4(&i8a, "128").is_err());
        assert!(enc4(&i8a, "ff").is_err());
        assert!(enc4(&i8a, "").is_err());
        assert_eq!(v4("path-mtu-plateau-table", "68, 296").unwrap(), vec![0, 68, 1, 40]);
    }

    #[test]
    fn booleans() {
        for (text, byte) in
            [("true", 1), ("TRUE", 1), ("False", 0), ("0", 0), ("1", 1), ("01", 1), ("+1", 1), ("-0", 0), (" true ", 1)]
        {
            assert_eq!(v4("ip-forwarding", text).unwrap(), vec![byte], "{text}");
        }
        for bad in ["2", "yes", "0x1", ""] {
            assert!(v4("ip-forwarding", bad).is_err(), "{bad}");
        }
        let ba = custom(T::Boolean, true, &[]);
        assert_eq!(enc4(&ba, "true, false, 0, 1").unwrap(), vec![1, 0, 0, 1]);
        // Kea's field splitter needs at least one boolean.
        assert!(enc4(&ba, "").is_err());
    }

    #[test]
    fn strings() {
        assert_eq!(v4("domain-name", "example.org").unwrap(), b"example.org".to_vec());
        assert_eq!(v4("domain-name", "  hello world  ").unwrap(), b"hello world".to_vec());
        assert_eq!(v4("boot-file-name", "foo\\,bar").unwrap(), b"foo,bar".to_vec());
        assert_eq!(v4("domain-name", "a,b").unwrap(), b"a".to_vec());
        assert_eq!(v4("domain-name", "'a,b'").unwrap(), b"'a".to_vec());
        assert_eq!(v4("domain-name", ""), Err(OptionDataError::NoValue));
        assert!(matches!(v4("domain-name", " "), Err(OptionDataError::Malformed { .. })));
        // A record's trailing string may be empty.
        let r = custom(T::Record, false, &[T::Uint8, T::String]);
        assert_eq!(enc4(&r, "1, ").unwrap(), vec![1]);
        assert_eq!(enc4(&r, "1, x, y").unwrap(), vec![1, b'x']);
        assert!(matches!(enc4(&r, "1"), Err(OptionDataError::MissingFields { expected: 2, given: 1, .. })));
    }

    #[test]
    fn binary_values() {
        assert_eq!(v4("dhcp-client-identifier", "0102").unwrap(), vec![1, 2]);
        assert_eq!(v4("dhcp-client-identifier", "AbCd").unwrap(), vec![0xab, 0xcd]);
        assert_eq!(v4("dhcp-client-identifier", "01 02").unwrap(), vec![1, 2]);
        assert_eq!(v4("dhcp-client-identifier", "0 102").unwrap(), vec![1, 2]);
        assert_eq!(v4("dhcp-client-identifier", "01, 02").unwrap(), vec![1]);
        for bad in ["0x0102", "102", "01:02", "zz", "01\t02", "01 2"] {
            assert!(v4("dhcp-client-identifier", bad).is_err(), "{bad}");
        }
        assert_eq!(v4("dhcp-client-identifier", ""), Err(OptionDataError::NoValue));
        let b = custom(T::Binary, false, &[]);
        assert_eq!(enc4(&b, " ").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn fqdn_text_to_wire() {
        assert_eq!(fqdn_to_wire("example.com").unwrap(), b"\x07example\x03com\x00".to_vec());
        assert_eq!(fqdn_to_wire("example.com.").unwrap(), b"\x07example\x03com\x00".to_vec());
        assert_eq!(fqdn_to_wire("Example.COM").unwrap(), b"\x07Example\x03COM\x00".to_vec());
        assert_eq!(fqdn_to_wire(".").unwrap(), vec![0]);
        assert_eq!(fqdn_to_wire("@").unwrap(), vec![0]);
        assert_eq!(fqdn_to_wire("a\\.b.com").unwrap(), b"\x03a.b\x03com\x00".to_vec());
        assert_eq!(fqdn_to_wire("a\\065b").unwrap(), b"\x03aAb\x00".to_vec());
        assert_eq!(fqdn_to_wire("a b").unwrap(), b"\x03a b\x00".to_vec());
        for bad in ["", "a..b", ".a", "a\\", "a\\1", "a\\256", "\\[x", "a\\1x"] {
            assert!(fqdn_to_wire(bad).is_err(), "{bad:?}");
        }
        let long_label = "a".repeat(64);
        assert!(fqdn_to_wire(&long_label).is_err());
        assert!(fqdn_to_wire(&"a".repeat(63)).is_ok());
        // 4 labels of 63 octets: 4 * 64 + 1 = 257 octets on the wire.
        let too_long = vec!["a".repeat(63); 4].join(".");
        assert!(fqdn_to_wire(&too_long).is_err());
        // 3 * 64 + 62 + 1 = 255 octets: the longest name.
        let longest = format!("{}.{}", vec!["a".repeat(63); 3].join("."), "a".repeat(61));
        assert_eq!(fqdn_to_wire(&longest).unwrap().len(), 255);
    }

    #[test]
    fn fqdn_options() {
        assert_eq!(
            v4("domain-search", "example.com, foo.example.org.").unwrap(),
            b"\x07example\x03com\x00\x03foo\x07example\x03org\x00".to_vec()
        );
        // Accepted, but Kea measures the root by its text form and sends nothing of it.
        assert_eq!(v4("domain-search", ".").unwrap(), Vec::<u8>::new());
        assert!(v4("domain-search", "").is_err());
        assert!(v4("domain-search", "a..b").is_err());
        assert_eq!(v6("domain-search", "").unwrap(), Vec::<u8>::new());
        assert_eq!(v6("domain-search", "a.com, b.com").unwrap().len(), 14);
        assert_eq!(v4("v4-lost", "example.com").unwrap(), b"\x07example\x03com\x00".to_vec());
        // Kea sizes single names by their text form, so names needing escapes and the
        // root do not fit their own buffer.
        for bad in [".", "@", "a b.com", "a\\.b.com", "a@b.com", "a$b.com", "a;b.com"] {
            assert!(v4("v4-lost", bad).is_err(), "{bad}");
        }
        assert!(v4("v4-lost", "a~b.com").is_ok());
        assert!(v6("aftr-name", ".").is_err());
        assert!(v4("rdnss-selection", "1, 1.2.3.4, 1.2.3.5, .").is_err());
        assert!(v4("rdnss-selection", "1, 1.2.3.4, 1.2.3.5, a.com, b.com").is_ok());
        // Kea silently drops a trailing list entry it cannot measure.
        assert_eq!(v4("domain-search", "x.com, .").unwrap(), b"\x01x\x03com\x00".to_vec());
        assert_eq!(v4("domain-search", "a b.com").unwrap(), Vec::<u8>::new());
        assert!(v4("domain-search", "., x.com").is_err());
        let fa = custom(T::Fqdn, true, &[]);
        assert!(enc4(&fa, "a b.com, x.com").is_err());
    }

    #[test]
    fn client_fqdn_options() {
        assert_eq!(v4("fqdn", "1, 2, 3, a.com").unwrap(), b"\x01\x02\x03\x01a\x03com\x00".to_vec());
        assert!(v4("fqdn", "1, 2, 3, .").is_ok());
        assert!(v4("fqdn", "5, 0, 0, a b.com").is_ok());
        assert!(v4("fqdn", "9, 0, 0, a.com").is_err());
        assert!(v6("client-fqdn", "0, a.com").is_ok());
        assert!(v6("client-fqdn", "1, .").is_ok());
        assert!(v6("client-fqdn", "5, a.com").is_err());
    }

    #[test]
    fn prefixes() {
        assert_eq!(v6("pd-exclude", "2001:db8::/64").unwrap(), vec![64, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0]);
        assert_eq!(v6("pd-exclude", "2001:db8::/ 0x40").unwrap().len(), 9);
        assert_eq!(v6("pd-exclude", "2001:db8::/1").unwrap(), vec![1, 0]);
        assert!(v6("pd-exclude", "2001:db8::/0").is_err());
        assert!(v6("pd-exclude", "2001:db8::").is_err());
        assert!(v6("pd-exclude", "1.2.3.4/24").is_err());
        assert!(v6("pd-exclude", "2001:db8::/129").is_err());
        let r = OptionDefRegistry::standard_v6();
        let dmr = r.by_name("s46-cont-mapt-options", "s46-dmr").unwrap();
        assert_eq!(enc6(dmr, "2001:db8::/0").unwrap(), vec![0]);
        assert_eq!(enc6(dmr, "2001:db8:ffff::/36").unwrap(), vec![36, 0x20, 0x01, 0x0d, 0xb8, 0xf0]);
        let pa = custom(T::Ipv6Prefix, true, &[]);
        assert_eq!(enc6(&pa, "").unwrap(), Vec::<u8>::new());
        assert_eq!(enc6(&pa, "::/0, 2001:db8::/16").unwrap(), vec![0, 16, 0x20, 0x01]);
    }

    #[test]
    fn psids() {
        assert_eq!(v4("v4-portparams", "1, 3/4").unwrap(), vec![1, 4, 0x30, 0x00]);
        assert_eq!(v4("v4-portparams", "1, 15/4").unwrap(), vec![1, 4, 0xf0, 0x00]);
        assert_eq!(v4("v4-portparams", "1, 1/16").unwrap(), vec![1, 16, 0x00, 0x01]);
        assert_eq!(v4("v4-portparams", "1, 3 / 4").unwrap(), vec![1, 4, 0x30, 0x00]);
        assert_eq!(v4("v4-portparams", "1, 0x3/4").unwrap(), vec![1, 4, 0x30, 0x00]);
        assert_eq!(v4("v4-portparams", "1, 5/0").unwrap(), vec![1, 0, 0, 0]);
        for bad in ["1, 16/4", "1, 1/17", "1, 3", "1, 3/4/5", "1, x/4"] {
            assert!(v4("v4-portparams", bad).is_err(), "{bad}");
        }
        let pa = custom(T::Psid, true, &[]);
        assert!(enc4(&pa, "").is_err());
        assert_eq!(enc4(&pa, "1/4, 2/8").unwrap(), vec![4, 0x10, 0, 8, 2, 0]);
    }

    #[test]
    fn tuples() {
        let t = custom(T::Tuple, false, &[]);
        assert_eq!(enc4(&t, "hello").unwrap(), b"\x05hello".to_vec());
        assert_eq!(enc6(&t, "hi").unwrap(), b"\x00\x02hi".to_vec());
        assert_eq!(enc4(&t, " ").unwrap(), vec![0]);
        assert_eq!(enc4(&t, ""), Err(OptionDataError::NoValue));
        assert!(enc4(&t, &"x".repeat(256)).is_err());
        assert!(enc6(&t, &"x".repeat(256)).is_ok());
        let ta = custom(T::Tuple, true, &[]);
        assert_eq!(enc4(&ta, "a, b,c").unwrap(), b"\x01a\x01b\x01c".to_vec());
        assert!(enc4(&ta, "").is_err());
        assert!(enc4(&ta, " ").is_err());
        assert_eq!(enc6(&ta, "").unwrap(), Vec::<u8>::new());
        assert_eq!(enc6(&ta, " ").unwrap(), vec![0, 0]);
        assert_eq!(v6("bootfile-param", "a, b").unwrap(), b"\x00\x01a\x00\x01b".to_vec());
        let r = custom(T::Record, false, &[T::Tuple, T::Uint8]);
        assert_eq!(enc4(&r, "abc, 5").unwrap(), b"\x03abc\x05".to_vec());
    }

    #[test]
    fn empty_type() {
        let e = custom(T::Empty, false, &[]);
        assert_eq!(enc4(&e, "").unwrap(), Vec::<u8>::new());
        assert!(matches!(enc4(&e, "foo"), Err(OptionDataError::UnexpectedData { .. })));
        assert!(matches!(enc4(&e, " "), Err(OptionDataError::UnexpectedData { .. })));
        // Kea makes a bare option of it and forgets the bytes.
        assert_eq!(encode_in(Universe::V4, &e, "0102", false).unwrap(), Vec::<u8>::new());
        assert_eq!(v4("dhcp-agent-options", "").unwrap(), Vec::<u8>::new());
        assert_eq!(v6("rapid-commit", "").unwrap(), Vec::<u8>::new());
        let mut ee = custom(T::Empty, false, &[]);
        ee.encapsulate = "bar".into();
        assert_eq!(enc4(&ee, "").unwrap(), Vec::<u8>::new());
        assert_eq!(encode_in(Universe::V4, &ee, "0102", false).unwrap(), vec![1, 2]);
        let mut u8e = custom(T::Uint8, false, &[]);
        u8e.encapsulate = "bar".into();
        assert_eq!(enc4(&u8e, "5").unwrap(), vec![5]);
    }

    #[test]
    fn records() {
        assert_eq!(v4("slp-directory-agent", "true, 1.2.3.4, 1.2.3.5").unwrap(), vec![1, 1, 2, 3, 4, 1, 2, 3, 5]);
        assert!(v4("slp-directory-agent", "true").is_err());
        assert!(v4("slp-directory-agent", "").is_err());
        assert_eq!(v4("option-6rd", "1, 2, 2001:db8::, 1.2.3.4, 1.2.3.5").unwrap().len(), 2 + 16 + 8);
        assert_eq!(v6("status-code", "0, all good").unwrap(), b"\x00\x00all good".to_vec());
        assert_eq!(v6("status-code", "0, ").unwrap(), vec![0, 0]);
        assert_eq!(v6("ia-na", "1, 2, 3").unwrap().len(), 12);
        let r = OptionDefRegistry::standard_v6();
        let rule = r.by_name("s46-cont-mape-options", "s46-rule").unwrap();
        assert_eq!(
            enc6(rule, "1, 0, 24, 192.0.2.0, 2001:db8:1::/64").unwrap(),
            vec![1, 0, 24, 192, 0, 2, 0, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0]
        );
        let ra = custom(T::Record, true, &[T::Uint8, T::Uint16]);
        assert_eq!(enc4(&ra, "1, 2, 3, 4").unwrap(), vec![1, 0, 2, 0, 3, 0, 4]);
        let rf = custom(T::Record, true, &[T::Uint8, T::Fqdn]);
        assert!(enc4(&rf, "1, a.com, a b.com").is_ok());
        assert!(enc4(&rf, "1, a b.com").is_err());
        assert!(enc4(&rf, "1, a b.com, a.com").is_err());
        let rp = custom(T::Record, false, &[T::Uint8, T::Ipv6Prefix]);
        assert!(enc4(&rp, "1, 2001:db8::/200").is_err());
    }

    #[test]
    fn vendor_options() {
        assert_eq!(v4("vivso-suboptions", "4491").unwrap(), vec![0, 0, 0x11, 0x8b]);
        assert_eq!(v4("vivso-suboptions", ""), Err(OptionDataError::NoValue));
        assert_eq!(v4("vivco-suboptions", "4491, 0102").unwrap(), vec![0, 0, 0x11, 0x8b, 1, 2]);
        assert!(v4("vivco-suboptions", "4491, 0102000011bb0103").is_ok());
        assert!(v4("vivco-suboptions", "4491, 01020102").is_err());
        assert!(v4("vivco-suboptions", "4491, 05").is_err());
        assert!(v4("vivco-suboptions", "4491, ").is_ok());
        assert!(v6("vendor-class", "4491, 000161000162").is_ok());
        assert!(v6("vendor-class", "4491, 03").is_err());
        assert_eq!(v6("vendor-opts", "4491").unwrap(), vec![0, 0, 0x11, 0x8b]);
        assert!(v4("vivco-suboptions", "4491, 0000001111").is_err());
        let r4 = OptionDefRegistry::standard_v4();
        let hex = |u: Universe, r: &OptionDefRegistry, space: &str, name: &str, data: &str| {
            encode_in(u, r.by_name(space, name).unwrap(), data, false)
        };
        assert!(hex(Universe::V4, &r4, "dhcp4", "vivso-suboptions", "0000111103010101").is_ok());
        assert!(hex(Universe::V4, &r4, "dhcp4", "vivso-suboptions", "000011110301").is_err());
        assert!(hex(Universe::V4, &r4, "dhcp4", "vivso-suboptions", "00001111030102").is_err());
        assert!(hex(Universe::V4, &r4, "dhcp4", "vivso-suboptions", "000011110001000161").is_ok());
        assert!(hex(Universe::V4, &r4, "dhcp4", "vivco-suboptions", "000011").is_err());
        assert!(hex(Universe::V4, &r4, "dhcp4", "vivco-suboptions", "0000111100000011110161").is_ok());
        assert!(hex(Universe::V4, &r4, "dhcp4", "vivco-suboptions", "00001111000000111100").is_err());
        let r6 = OptionDefRegistry::standard_v6();
        assert!(hex(Universe::V6, &r6, "dhcp6", "vendor-opts", "000011110001000161").is_ok());
        assert!(hex(Universe::V6, &r6, "dhcp6", "vendor-opts", "00001111000100016100").is_err());
        assert!(hex(Universe::V6, &r6, "dhcp6", "vendor-opts", "00001111000100").is_err());
        let r6 = OptionDefRegistry::standard_v6();
        let tftp = r6.by_name("vendor-4491", "tftp-servers").unwrap();
        assert_eq!(enc6(tftp, "2001:db8::1").unwrap().len(), 16);
    }

    #[test]
    fn hex_forms() {
        for (text, bytes) in [
            ("0a0b0c0d", vec![10, 11, 12, 13]),
            ("0x0a0b0c0d", vec![10, 11, 12, 13]),
            ("a0b0c0d", vec![10, 11, 12, 13]),
            ("0xa", vec![10]),
            ("0A0B", vec![10, 11]),
            ("0a:0b:0c:0d", vec![10, 11, 12, 13]),
            ("a:b:c:d", vec![10, 11, 12, 13]),
            ("00:1:2:3", vec![0, 1, 2, 3]),
            ("0A:Bc", vec![10, 0xbc]),
            ("0a 0b 0c 0d", vec![10, 11, 12, 13]),
            ("", vec![]),
            ("'abc'", b"abc".to_vec()),
            ("'a,b'", b"a,b".to_vec()),
            (" ' abc ' ", b"abc".to_vec()),
            ("\n'abc'\t", b"abc".to_vec()),
        ] {
            assert_eq!(encode_raw_hex(text).unwrap(), bytes, "{text:?}");
        }
        for bad in [
            "0X0a",
            "0a  0b",
            "0a::0b",
            ":0a",
            "0a:",
            "0a0b 0c0d",
            "0a:0b 0c:0d",
            "0x",
            "x",
            " ",
            "0a0b ",
            " 0a0b",
            "0a\t0b",
            "''",
            "' '",
            "'abc",
            "zz",
            "0xzz",
            "0x0a:0b",
            "0a:bg",
            "+1:2",
            "\\n'abc'",
        ] {
            assert!(matches!(encode_raw_hex(bad), Err(OptionDataError::InvalidHex { .. })), "{bad:?}");
        }
    }

    #[test]
    fn hex_data_with_a_definition() {
        let r = OptionDefRegistry::standard_v4();
        let hex4 = |name: &str, data: &str| encode_in(Universe::V4, r.by_name("dhcp4", name).unwrap(), data, false);
        assert_eq!(hex4("routers", "C0000301C0000302").unwrap().len(), 8);
        assert!(hex4("routers", "C0000301C00003").is_err());
        assert_eq!(hex4("routers", "").unwrap(), Vec::<u8>::new());
        assert!(hex4("subnet-mask", "").is_err());
        assert!(hex4("subnet-mask", "ffffff").is_err());
        // Kea keeps only the field it understands.
        assert_eq!(hex4("subnet-mask", "ffffff0001").unwrap(), vec![255, 255, 255, 0]);
        assert!(hex4("domain-name", "").is_err());
        assert_eq!(hex4("domain-name", "'example.com'").unwrap(), b"example.com".to_vec());
        assert_eq!(hex4("domain-name", "616200").unwrap(), b"ab".to_vec());
        assert!(hex4("default-ip-ttl", "").is_err());
        assert!(hex4("dhcp-agent-options", "0102").is_ok());
        assert!(hex4("domain-search", "00").is_ok());
        assert!(hex4("domain-search", "c000").is_err());
        assert!(hex4("fqdn", "000000").is_ok());
        assert!(hex4("fqdn", "0000").is_err());
        assert!(hex4("fqdn", "000000612e2e62").is_err());
        assert!(hex4("fqdn", "04000001").is_err());
        assert!(hex4("slp-service-scope", "").is_err());
        assert!(hex4("slp-service-scope", "05").is_err());
        let r6 = OptionDefRegistry::standard_v6();
        let hex6 = |name: &str, data: &str| encode_in(Universe::V6, r6.by_name("dhcp6", name).unwrap(), data, false);
        assert!(hex6("pd-exclude", "0000").is_err());
        assert!(hex6("client-fqdn", "0001610162").is_ok());
        assert!(hex6("client-fqdn", "00016101").is_err());
        assert!(hex6("client-fqdn", "00").is_ok());
        assert!(hex6("client-fqdn", "00000000").is_ok());
        assert!(hex6("client-fqdn", "").is_err());
        assert!(hex6("status-code", "00").is_err());
        assert!(hex6("vendor-opts", "000011").is_err());
        assert!(hex6("ia-na", "0000000100000002000000").is_err());
        assert!(hex6("iaprefix", "00000001000000020040").is_err());
        assert!(hex6("bootfile-param", "000161").is_ok());
        assert!(hex6("bootfile-param", "0002").is_err());
        // A compression pointer back to an earlier name is fine in a v4 domain list.
        let list = hex4("domain-search", "0161000162c000").unwrap();
        assert_eq!(list, b"\x01a\x00\x01b\x01a\x00".to_vec());
    }

    #[test]
    fn universe_guess_for_encode() {
        let r = OptionDefRegistry::standard_v6();
        let def = r.by_name("dhcp6", "bootfile-param").unwrap();
        assert_eq!(encode(def, "a", true).unwrap(), b"\x00\x01a".to_vec());
    }

    #[test]
    fn never_panics_on_odd_input() {
        let r4 = OptionDefRegistry::standard_v4();
        let r6 = OptionDefRegistry::standard_v6();
        let samples = [
            "",
            " ",
            ",",
            "\\",
            "\\\\",
            "0x",
            "-",
            "+",
            "/",
            "//",
            "1/",
            "/1",
            "::/",
            ".",
            "..",
            "\\[",
            "\\999",
            "'",
            "''",
            "\u{0}",
            "é",
            "ß\\,",
            "0xffffffffffffffffffff",
            "-9223372036854775809",
            "255.255.255.255/33",
            "::ffff:1.2.3.4/200",
            "a\\",
        ];
        for r in [&r4, &r6] {
            for def in r.standard_defs() {
                for s in samples {
                    for csv in [true, false] {
                        let _ = encode_in(r.universe(), def, s, csv);
                        let _ = encode_in(Universe::V4, def, s, csv);
                        let _ = encode_in(Universe::V6, def, s, csv);
                    }
                }
            }
        }
        // Definitions that validation would refuse must not panic either.
        let broken = [
            custom(T::Record, false, &[]),
            custom(T::Record, true, &[T::String]),
            custom(T::String, true, &[]),
            custom(T::Empty, true, &[]),
            custom(T::Binary, true, &[]),
            custom(T::Uint8, false, &[T::Record, T::Empty]),
        ];
        for def in &broken {
            for s in samples {
                let _ = enc4(def, s);
                let _ = encode_in(Universe::V6, def, s, false);
            }
        }
        for bytes in [vec![0xc0], vec![0x40, 1], vec![63], vec![1, b'a'], vec![0xff, 0xff]] {
            let _ = read_wire_name(&bytes, 0);
            let _ = kea_fqdn_field_len(&bytes);
        }
    }

    /// Removes `//`, `#` and `/* */` comments outside JSON strings (Kea's extended JSON).
    fn strip_comments(text: &str) -> String {
        let b = text.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        let mut in_string = false;
        while i < b.len() {
            let c = b[i];
            if in_string {
                out.push(c);
                if c == b'\\' && i + 1 < b.len() {
                    out.push(b[i + 1]);
                    i += 1;
                } else if c == b'"' {
                    in_string = false;
                }
                i += 1;
            } else if c == b'"' {
                in_string = true;
                out.push(c);
                i += 1;
            } else if c == b'#' || (c == b'/' && b.get(i + 1) == Some(&b'/')) {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    if b[i] == b'\n' {
                        out.push(b'\n');
                    }
                    i += 1;
                }
                i += 2;
            } else {
                out.push(c);
                i += 1;
            }
        }
        String::from_utf8(out).expect("comment stripping keeps UTF-8 boundaries")
    }

    fn collect_option_data<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a serde_json::Value>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, child) in m {
                    if k == "option-data" {
                        if let Some(list) = child.as_array() {
                            out.extend(list.iter());
                        }
                    } else {
                        collect_option_data(child, out);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|c| collect_option_data(c, out)),
            _ => {}
        }
    }

    /// Encodes every `option-data` entry of one of Kea's example files; returns how many.
    fn encode_example(path: &str, universe: Universe) -> usize {
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("skipping: {path} not installed");
            return 0;
        };
        let json: serde_json::Value = serde_json::from_str(&strip_comments(&text)).expect("example parses as JSON");
        let top = match universe {
            Universe::V4 => &json["Dhcp4"],
            Universe::V6 => &json["Dhcp6"],
        };
        let mut reg = OptionDefRegistry::standard(universe);
        for d in top["option-def"].as_array().into_iter().flatten() {
            let s = |k: &str| d[k].as_str().unwrap_or("").to_string();
            let mut def = OptionDefinition::new(
                &s("name"),
                u16::try_from(d["code"].as_u64().expect("code")).expect("code fits"),
                d["space"].as_str().unwrap_or(reg.top_space()),
                s("type").parse().expect("known type"),
                d["array"].as_bool().unwrap_or(false),
            );
            def.record_types = OptionDefinition::parse_record_types(&s("record-types")).expect("record types");
            def.encapsulate = s("encapsulate");
            reg.add(def).expect("example option-def accepted");
        }
        let mut entries = Vec::new();
        collect_option_data(top, &mut entries);
        let mut n = 0;
        for o in entries {
            let space = o["space"].as_str().unwrap_or(reg.top_space());
            let def = match (o["code"].as_u64(), o["name"].as_str()) {
                (Some(code), _) => reg.by_code(space, u16::try_from(code).expect("code")),
                (None, Some(name)) => reg.by_name(space, name),
                (None, None) => panic!("option-data without name or code: {o}"),
            };
            let data = o["data"].as_str().unwrap_or("");
            let csv = o["csv-format"].as_bool().unwrap_or(true);
            let result = match def {
                Some(def) => {
                    if let Some(name) = o["name"].as_str() {
                        assert_eq!(def.name, name, "name/code mismatch in {o}");
                    }
                    encode_in(universe, def, data, csv)
                }
                None => encode_raw_hex(data),
            };
            assert!(result.is_ok(), "{path}: {o} -> {result:?}");
            n += 1;
        }
        n
    }

    #[test]
    fn kea_all_options_examples_encode() {
        let n4 = encode_example("/usr/share/doc/kea/examples/kea4/all-options.json", Universe::V4);
        let n6 = encode_example("/usr/share/doc/kea/examples/kea6/all-options.json", Universe::V6);
        if n4 > 0 {
            assert!(n4 >= 100, "only {n4} v4 entries found");
        }
        if n6 > 0 {
            assert!(n6 >= 60, "only {n6} v6 entries found");
        }
    }

    #[test]
    fn comment_stripper() {
        let src = "{ // c\n \"a#b\": \"x//y\", # h\n /* m\n */ \"c\": \"q\\\"//\" }";
        let v: serde_json::Value = serde_json::from_str(&strip_comments(src)).unwrap();
        assert_eq!(v["a#b"], "x//y");
        assert_eq!(v["c"], "q\"//");
    }
}
