//! Rows of Kea's `kea-leases4.csv` (`CSVLeaseFile4` over `VersionedCSVFile`; Kea ARM 8.2.2.1
//! "Memfile - Basic Storage for Leases"), byte-compatible with what Kea 2.2 writes and reads.
//!
//! Kea is byte-oriented: `hostname` and `user_context` are escaped per byte (`&#xNN`) and Kea
//! 2.2 itself writes raw bytes above 0x7e unescaped. We escape every byte below 0x20 or above
//! 0x7e plus `,` and `&` (what Kea 2.4+ does), so our rows never contain a raw newline.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use crate::lease::{Lease4, LeaseState};

/// The v4 lease file columns in Kea's order (schema "3.0"; `pool_id` is Kea 2.4+).
pub const COLUMNS4: [&str; 12] = [
    "address",
    "hwaddr",
    "client_id",
    "valid_lifetime",
    "expire",
    "subnet_id",
    "fqdn_fwd",
    "fqdn_rev",
    "hostname",
    "state",
    "user_context",
    "pool_id",
];

/// Kea's `setMinimumValidColumns("hostname")`: older headers must still have schema 1.0.
const MIN_COLUMNS4: usize = 9;
const COL_STATE: usize = 9;
const COL_USER_CONTEXT: usize = 10;
const COL_POOL_ID: usize = 11;
/// Kea's `HWAddr::MAX_HWADDR_LEN`.
const MAX_HWADDR_LEN: usize = 20;
/// Kea's `ClientId::MIN_CLIENT_ID_LEN` / `MAX_CLIENT_ID_LEN`: Kea discards rows outside this.
const CLIENT_ID_LEN: std::ops::RangeInclusive<usize> = 2..=255;

/// The header line kakapo writes: Kea 2.2's 11 columns, or Kea 2.4+'s 12 with `pool_id`.
pub fn header4(pool_id_column: bool) -> String {
    COLUMNS4[..width(pool_id_column)].join(",")
}

fn width(pool_id_column: bool) -> usize {
    if pool_id_column {
        COLUMNS4.len()
    } else {
        COLUMNS4.len() - 1
    }
}

/// How the columns of one file's header map onto [`COLUMNS4`] (Kea's `validateHeader`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Leading header columns that match Kea's schema (at least [`MIN_COLUMNS4`]).
    known: usize,
    /// All header columns, including unknown ones from a newer Kea (dropped, as Kea does).
    width: usize,
}

impl Layout {
    /// Validates a header like Kea: a prefix of the known columns, at least through `hostname`.
    pub(crate) fn from_header<S: AsRef<str>>(header: &[S]) -> Result<Layout, String> {
        let (known, width) = validate_header(header, &COLUMNS4, MIN_COLUMNS4)?;
        Ok(Layout { known, width })
    }

    /// Parses a header line.
    pub(crate) fn from_line(line: &str) -> Result<Layout, String> {
        let cols: Vec<&str> = line.split(',').collect();
        Layout::from_header(&cols)
    }

    /// True when rows appended under this header look exactly like the ones we write.
    pub(crate) fn is_exactly(&self, pool_id_column: bool) -> bool {
        self.known == self.width && self.width == width(pool_id_column)
    }

    /// Parses one data row; missing newer columns take Kea's defaults (upgrade), extra ones
    /// beyond the known schema are ignored (downgrade).
    pub(crate) fn parse(&self, line: &str) -> Result<Lease4, String> {
        let (f, n) = split_fields::<{ COLUMNS4.len() }>(line, self.known, self.width)?;
        let present = |i: usize| i < n;

        let address: Ipv4Addr = f[0].parse().map_err(|_| format!("invalid address '{}'", f[0]))?;
        let hwaddr = parse_colon_hex(f[1]).map_err(|e| format!("invalid hwaddr '{}': {e}", f[1]))?;
        if hwaddr.len() > MAX_HWADDR_LEN {
            return Err(format!("hwaddr '{}' is longer than {MAX_HWADDR_LEN} bytes", f[1]));
        }
        let client_id = if f[2].is_empty() {
            None
        } else {
            let id = parse_client_id(f[2]).map_err(|e| format!("invalid client_id '{}': {e}", f[2]))?;
            if !CLIENT_ID_LEN.contains(&id.len()) {
                return Err(format!("client_id '{}' must be 2 to 255 bytes long", f[2]));
            }
            Some(id)
        };
        let valid_lifetime: u32 = parse_num(f[3], "valid_lifetime")?;
        let expire: u64 = parse_num(f[4], "expire")?;
        let cltt = expire
            .checked_sub(u64::from(valid_lifetime))
            .ok_or_else(|| format!("expire {expire} is earlier than valid_lifetime {valid_lifetime}"))?;
        let subnet_id: u32 = parse_num(f[5], "subnet_id")?;
        let fqdn_fwd = parse_bool(f[6], "fqdn_fwd")?;
        let fqdn_rev = parse_bool(f[7], "fqdn_rev")?;
        let hostname = bytes_to_string(unescape(f[8]));
        let state = if present(COL_STATE) {
            let code: u32 = parse_num(f[COL_STATE], "state")?;
            LeaseState::from_code(code).ok_or_else(|| format!("unknown lease state {code}"))?
        } else {
            LeaseState::Default
        };
        let user_context = if present(COL_USER_CONTEXT) { parse_user_context(f[COL_USER_CONTEXT])? } else { None };
        let pool_id = if present(COL_POOL_ID) { parse_num(f[COL_POOL_ID], "pool_id")? } else { 0 };
        // Kea's CSVLeaseFile4::next: only a declined lease may lack both identifiers.
        if hwaddr.is_empty() && client_id.is_none() && state != LeaseState::Declined {
            return Err("the lease has neither a hardware address nor a client id".to_string());
        }
        Ok(Lease4 {
            address,
            hwaddr,
            client_id,
            valid_lifetime,
            cltt,
            subnet_id,
            pool_id,
            fqdn_fwd,
            fqdn_rev,
            hostname,
            state,
            user_context,
        })
    }
}

/// Formats one row (no newline) under kakapo's header: Kea 2.2's columns, plus `pool_id` when
/// `pool_id_column` is set (Kea 2.4+; `CSVLeaseFile4::append`).
pub fn format_row4(lease: &Lease4, pool_id_column: bool) -> String {
    let mut out = String::with_capacity(96);
    write_row(&mut out, lease, lease.valid_lifetime, pool_id_column);
    out
}

/// Parses one row written under `header` (column names from the file's first line), the way
/// Kea's `CSVLeaseFile4::next` does.
pub fn parse_row4(line: &str, header: &[&str]) -> Result<Lease4, String> {
    Layout::from_header(header)?.parse(line)
}

/// Appends a row to `out`; `valid_lifetime` 0 makes it the tombstone Kea writes on deletion
/// (`expire` is then the old cltt).
pub(crate) fn write_row(out: &mut String, lease: &Lease4, valid_lifetime: u32, pool_id_column: bool) {
    let expire = lease.cltt.saturating_add(u64::from(valid_lifetime));
    // Writing into a String cannot fail.
    let _ = write!(out, "{},", lease.address);
    push_colon_hex(out, &lease.hwaddr);
    out.push(',');
    if let Some(id) = &lease.client_id {
        push_colon_hex(out, id);
    }
    let _ = write!(
        out,
        ",{valid_lifetime},{expire},{},{},{},",
        lease.subnet_id,
        u8::from(lease.fqdn_fwd),
        u8::from(lease.fqdn_rev)
    );
    escape_into(out, &lease.hostname);
    let _ = write!(out, ",{},", lease.state.code());
    if let Some(ctx) = &lease.user_context {
        escape_into(out, ctx);
    }
    if pool_id_column {
        let _ = write!(out, ",{}", lease.pool_id);
    }
}

pub(crate) fn push_colon_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
}

/// Kea's `VersionedCSVFile::validateHeader`: the header must be a prefix of `columns` at least
/// `min` long, except for unknown trailing columns from a newer Kea. Returns (known, width).
pub(crate) fn validate_header<S: AsRef<str>>(
    header: &[S],
    columns: &[&str],
    min: usize,
) -> Result<(usize, usize), String> {
    let mut known = 0;
    for (name, expected) in header.iter().zip(columns.iter()) {
        if name.as_ref() != *expected {
            return Err(format!("header contains an invalid column '{}'", name.as_ref()));
        }
        known += 1;
    }
    if known < min {
        return Err(format!("header has only {known} valid column(s), it must have at least {min}"));
    }
    Ok((known, header.len()))
}

/// Splits a row into the `N` known columns (missing ones empty) and counts its fields; like
/// Kea, a row may have between `known` and `max(width, N)` fields.
pub(crate) fn split_fields<const N: usize>(
    line: &str,
    known: usize,
    width: usize,
) -> Result<([&str; N], usize), String> {
    let mut f = [""; N];
    let mut n = 0;
    for (i, v) in line.split(',').enumerate() {
        if let Some(slot) = f.get_mut(i) {
            *slot = v;
        }
        n = i + 1;
    }
    if n < known || n > width.max(N) {
        return Err(format!("invalid number of columns: {n} (header has {width})"));
    }
    Ok((f, n))
}

/// The `user_context` column: empty, or an escaped JSON map (Kea rejects anything else).
pub(crate) fn parse_user_context(field: &str) -> Result<Option<String>, String> {
    if field.is_empty() {
        return Ok(None);
    }
    let text = bytes_to_string(unescape(field));
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(_)) => Ok(Some(text)),
        _ => Err(format!("user context '{text}' is not a JSON map")),
    }
}

/// Kea's `CSVRow::escapeCharacters` (2.4+ set): control bytes, bytes above 0x7e, `,` and `&`.
pub(crate) fn escape_into(out: &mut String, s: &str) {
    for b in s.bytes() {
        if !(0x20..=0x7e).contains(&b) || b == b',' || b == b'&' {
            let _ = write!(out, "&#x{b:02x}");
        } else {
            out.push(char::from(b));
        }
    }
}

/// Kea's `CSVRow::unescapeCharacters`: `&#x` + two hex digits is one byte; anything else stays.
pub(crate) fn unescape(s: &str) -> Vec<u8> {
    const TAG: &[u8] = b"&#x";
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(TAG) {
            let digits = b.get(i + 3..i + 5).and_then(|d| {
                let hi = char::from(d[0]).to_digit(16)?;
                let lo = char::from(d[1]).to_digit(16)?;
                u8::try_from(hi * 16 + lo).ok()
            });
            if let Some(byte) = digits {
                out.push(byte);
                i += 5;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Text from file bytes: UTF-8 when valid, else Latin-1 (Kea 2.2 writes raw bytes, e.g. 0xe9
/// for "é"), so no byte is lost and the mapping stays one-to-one.
pub(crate) fn bytes_to_string(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => e.into_bytes().into_iter().map(char::from).collect(),
    }
}

pub(crate) fn parse_num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    // Kea's boost::lexical_cast takes plain digits; reject signs and blanks the same way.
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid {what} '{s}'"));
    }
    s.parse().map_err(|_| format!("invalid {what} '{s}'"))
}

pub(crate) fn parse_bool(s: &str, what: &str) -> Result<bool, String> {
    // Kea 2.2 accepts only 0 and 1 here ("true" is a lexical cast error).
    match s {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(format!("invalid {what} '{s}'")),
    }
}

/// Kea's `decodeColonSeparatedHexString`: `aa:b:cc`, one or two digits per byte, "" = empty.
pub(crate) fn parse_colon_hex(s: &str) -> Result<Vec<u8>, String> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(':')
        .map(|tok| match tok.len() {
            1 | 2 => u8::from_str_radix(tok, 16).map_err(|_| format!("'{tok}' is not hex")),
            0 => Err("two consecutive colons".to_string()),
            _ => Err(format!("'{tok}' has more than two digits")),
        })
        .collect()
}

/// Kea's `ClientId::fromText` (`decodeFormattedHexString`): colon-separated or plain hex with
/// an optional `0x` prefix.
pub(crate) fn parse_client_id(s: &str) -> Result<Vec<u8>, String> {
    if s.contains(':') {
        return parse_colon_hex(s);
    }
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    if digits.is_empty() {
        return Err("no hex digits".to_string());
    }
    let padded = if digits.len() % 2 == 1 { format!("0{digits}") } else { digits.to_string() };
    padded
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let hi = char::from(pair[0]).to_digit(16);
            let lo = pair.get(1).and_then(|c| char::from(*c).to_digit(16));
            match (hi, lo) {
                (Some(hi), Some(lo)) => u8::try_from(hi * 16 + lo).map_err(|e| e.to_string()),
                _ => Err(format!("'{s}' is not hex")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEA22_HEADER: &str =
        "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context";

    fn sample() -> Lease4 {
        Lease4 {
            address: Ipv4Addr::new(192, 0, 2, 11),
            hwaddr: vec![0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f],
            client_id: Some(vec![1, 2, 3]),
            valid_lifetime: 7200,
            cltt: 1_795_669_710,
            subnet_id: 1,
            pool_id: 0,
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname: "a,b&c".to_string(),
            state: LeaseState::Default,
            user_context: Some("{ \"x\": 1 }".to_string()),
        }
    }

    fn header(s: &str) -> Vec<&str> {
        s.split(',').collect()
    }

    #[test]
    fn headers_match_kea() {
        assert_eq!(header4(false), KEA22_HEADER);
        assert_eq!(header4(true), format!("{KEA22_HEADER},pool_id"));
    }

    #[test]
    fn row_matches_kea22_bytes() {
        let row = format_row4(&sample(), false);
        assert_eq!(row, "192.0.2.11,1a:1b:1c:1d:1e:1f,01:02:03,7200,1795676910,1,0,0,a&#x2cb&#x26c,0,{ \"x\": 1 }");
        assert_eq!(parse_row4(&row, &header(KEA22_HEADER)), Ok(sample()));
    }

    #[test]
    fn tombstone_matches_kea22_bytes() {
        let mut out = String::new();
        write_row(&mut out, &sample(), 0, false);
        assert_eq!(out, "192.0.2.11,1a:1b:1c:1d:1e:1f,01:02:03,0,1795669710,1,0,0,a&#x2cb&#x26c,0,{ \"x\": 1 }");
        let parsed = parse_row4(&out, &header(KEA22_HEADER)).expect("tombstone parses");
        assert_eq!(parsed.valid_lifetime, 0);
        assert_eq!(parsed.cltt, sample().cltt);
    }

    #[test]
    fn pool_id_header_round_trip() {
        let mut l = sample();
        l.pool_id = 7;
        l.client_id = None;
        l.user_context = None;
        l.hostname.clear();
        l.fqdn_fwd = true;
        l.state = LeaseState::Declined;
        let row = format_row4(&l, true);
        assert_eq!(row, "192.0.2.11,1a:1b:1c:1d:1e:1f,,7200,1795676910,1,1,0,,1,,7");
        let h = header4(true);
        assert_eq!(parse_row4(&row, &header(&h)), Ok(l.clone()));
        // Read under the 2.2 header the extra column is still taken as pool_id (as Kea 2.4 does).
        assert_eq!(parse_row4(&row, &header(KEA22_HEADER)).map(|x| x.pool_id), Ok(7));
        // But under the 2.4 header a row must have every column, as in Kea.
        let row22 = format_row4(&l, false);
        assert!(parse_row4(&row22, &header(&h)).is_err());
    }

    #[test]
    fn escaping_covers_control_and_high_bytes() {
        let mut l = sample();
        l.hostname = "x\ny,z&#x2c\u{e9}\u{7f}".to_string();
        l.user_context = Some("{\"k\": \"a,b\\n\"}".to_string());
        let row = format_row4(&l, false);
        assert!(!row.contains('\n'));
        assert!(row.contains("x&#x0ay&#x2cz&#x26#x2c&#xc3&#xa9&#x7f"), "{row}");
        assert_eq!(parse_row4(&row, &header(KEA22_HEADER)), Ok(l));
    }

    #[test]
    fn unescape_like_kea() {
        assert_eq!(unescape("a&#x2cb"), b"a,b");
        assert_eq!(unescape("a&#X2cb"), b"a&#X2cb");
        assert_eq!(unescape("a&#xzzb"), b"a&#xzzb");
        assert_eq!(unescape("tail&#x4"), b"tail&#x4");
        assert_eq!(unescape("&#x41&#x42"), b"AB");
        // Kea 2.2 wrote raw Latin-1 bytes; they survive as Latin-1 characters.
        assert_eq!(bytes_to_string(vec![b'z', 0xe9]), "z\u{e9}");
    }

    #[test]
    fn older_headers_take_defaults() {
        let v1 = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname";
        let l = parse_row4("10.0.0.1,01:02:03:04:05:06,,100,1100,3,1,1,h", &header(v1)).expect("v1 row");
        assert_eq!(l.state, LeaseState::Default);
        assert_eq!(l.user_context, None);
        assert_eq!(l.pool_id, 0);
        assert_eq!(l.cltt, 1000);
        let v2 = format!("{v1},state");
        let l = parse_row4("10.0.0.1,01:02:03:04:05:06,,100,1100,3,1,1,h,2", &header(&v2)).expect("v2 row");
        assert_eq!(l.state, LeaseState::ExpiredReclaimed);
        // Too short a header is not a lease file.
        assert!(parse_row4("10.0.0.1", &["address", "hwaddr"]).is_err());
        assert!(Layout::from_line("address,hwaddr,bogus").is_err());
        // A newer Kea's unknown extra column is ignored.
        let v9 = format!("{},future", header4(true));
        let l = parse_row4("10.0.0.1,01:02:03:04:05:06,,100,1100,3,1,1,h,0,,5,zz", &header(&v9)).expect("v9");
        assert_eq!(l.pool_id, 5);
    }

    #[test]
    fn rejects_what_kea_rejects() {
        let h = header(KEA22_HEADER);
        for bad in [
            "192.0.2.2,1a:1b:1c:1d:1e:1f,07,7200,1795676910,1,0,0,b,0,", // 1-byte client id
            "192.0.2.3,1a:1b:1c:1d:1e:1f,,7200,1795676910,1,true,0,c,0,", // bool as text
            "192.0.2.8,1a:1b:1c:1d:1e:1f,,7200,1795676910,1,0,0,h,0,[1]", // context not a map
            "192.0.2.13,1a:1b:1c:1d:1e:1f,,7200,1795676910,1,0,0,k,0",   // column missing
            "192.0.2.9,,,7200,1795676910,1,0,0,i,0,",                    // no identifier
            "192.0.2.300,1a:1b:1c:1d:1e:1f,,7200,1795676910,1,0,0,,0,",  // address
            "192.0.2.1,1a::1c,,7200,1795676910,1,0,0,,0,",               // hwaddr
            "192.0.2.1,1a:1b,,-1,1795676910,1,0,0,,0,",                  // lifetime
            "192.0.2.1,1a:1b,,7200,100,1,0,0,,0,",                       // expire < lifetime
            "192.0.2.1,1a:1b,,7200,1795676910,1,0,0,,9,",                // state
            "",
        ] {
            assert!(parse_row4(bad, &h).is_err(), "accepted {bad:?}");
        }
        // Accepted by Kea too: declined lease without identifiers, client id only, plain hex.
        assert!(parse_row4("192.0.2.9,,,7200,1795676910,1,0,0,i,1,", &h).is_ok());
        let l = parse_row4("192.0.2.1,,01:02,7200,1795676910,1,0,0,a,0,", &h).expect("client id only");
        assert_eq!(l.client_id, Some(vec![1, 2]));
        let l = parse_row4("192.0.2.7,1:2:3,0x102,7200,1795676910,1,0,0,g,0,", &h).expect("formatted hex");
        assert_eq!(l.hwaddr, vec![1, 2, 3]);
        assert_eq!(l.client_id, Some(vec![1, 2]));
    }
}
