//! Rows of Kea's `kea-leases6.csv` (`CSVLeaseFile6` over `VersionedCSVFile`; Kea ARM 9.2.2.1
//! "Memfile - Basic Storage for Leases"), byte-compatible with what Kea 2.2 writes and reads.
//! Escaping, hex and number parsing are the v4 file's ([`super::csv`]).

use std::fmt::Write as _;
use std::net::Ipv6Addr;

use super::csv::{
    bytes_to_string, escape_into, parse_bool, parse_client_id, parse_colon_hex, parse_num, parse_user_context,
    push_colon_hex, split_fields, unescape, validate_header,
};
use crate::lease::{Lease6, LeaseState, LeaseType6};

/// The v6 lease file columns in Kea's order (schema "5.0"; `pool_id` is Kea 2.4+).
pub const COLUMNS6: [&str; 18] = [
    "address",
    "duid",
    "valid_lifetime",
    "expire",
    "subnet_id",
    "pref_lifetime",
    "lease_type",
    "iaid",
    "prefix_len",
    "fqdn_fwd",
    "fqdn_rev",
    "hostname",
    "hwaddr",
    "state",
    "user_context",
    "hwtype",
    "hwaddr_source",
    "pool_id",
];

/// Kea's `setMinimumValidColumns("hostname")`: older headers must still have schema 1.0.
const MIN_COLUMNS6: usize = 12;
const COL_HWADDR: usize = 12;
const COL_STATE: usize = 13;
const COL_USER_CONTEXT: usize = 14;
const COL_HWTYPE: usize = 15;
const COL_HWADDR_SOURCE: usize = 16;
const COL_POOL_ID: usize = 17;
/// Kea's `HWAddr::MAX_HWADDR_LEN`.
const MAX_HWADDR_LEN: usize = 20;
/// Kea's `DUID::MAX_DUID_LEN` (128 bytes of identifier + 2 of type); Kea refuses empty DUIDs.
pub(crate) const DUID_LEN: std::ops::RangeInclusive<usize> = 1..=130;
/// Kea's `DUID::EMPTY()`: the placeholder DUID of a declined lease.
const EMPTY_DUID: [u8; 1] = [0];
/// Kea's `HWAddr::HTYPE_ETHER`, the hwtype of rows from schemas before 5.0.
const HTYPE_ETHER: u16 = 1;

/// The header line kakapo writes: Kea 2.2's 17 columns, or Kea 2.4+'s 18 with `pool_id`.
pub fn header6(pool_id_column: bool) -> String {
    COLUMNS6[..width(pool_id_column)].join(",")
}

fn width(pool_id_column: bool) -> usize {
    if pool_id_column {
        COLUMNS6.len()
    } else {
        COLUMNS6.len() - 1
    }
}

/// How the columns of one v6 file's header map onto [`COLUMNS6`] (Kea's `validateHeader`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout6 {
    known: usize,
    width: usize,
}

impl Layout6 {
    /// Validates a header like Kea: a prefix of the known columns, at least through `hostname`.
    pub(crate) fn from_header<S: AsRef<str>>(header: &[S]) -> Result<Layout6, String> {
        let (known, width) = validate_header(header, &COLUMNS6, MIN_COLUMNS6)?;
        Ok(Layout6 { known, width })
    }

    /// Parses a header line.
    pub(crate) fn from_line(line: &str) -> Result<Layout6, String> {
        let cols: Vec<&str> = line.split(',').collect();
        Layout6::from_header(&cols)
    }

    /// True when rows appended under this header look exactly like the ones we write.
    pub(crate) fn is_exactly(&self, pool_id_column: bool) -> bool {
        self.known == self.width && self.width == width(pool_id_column)
    }

    /// Parses one data row like `CSVLeaseFile6::next`; missing newer columns take Kea's
    /// defaults, extra ones beyond the known schema are ignored.
    pub(crate) fn parse(&self, line: &str) -> Result<Lease6, String> {
        let (f, n) = split_fields::<{ COLUMNS6.len() }>(line, self.known, self.width)?;
        let present = |i: usize| i < n;

        let address: Ipv6Addr = f[0].parse().map_err(|_| format!("invalid address '{}'", f[0]))?;
        // Kea's DUID::fromText takes colon-separated or plain hex.
        let duid = parse_client_id(f[1]).map_err(|e| format!("invalid duid '{}': {e}", f[1]))?;
        if !DUID_LEN.contains(&duid.len()) {
            return Err(format!("duid '{}' must be 1 to 130 bytes long", f[1]));
        }
        let valid_lifetime: u32 = parse_num(f[2], "valid_lifetime")?;
        let expire: u64 = parse_num(f[3], "expire")?;
        let cltt = expire
            .checked_sub(u64::from(valid_lifetime))
            .ok_or_else(|| format!("expire {expire} is earlier than valid_lifetime {valid_lifetime}"))?;
        let subnet_id: u32 = parse_num(f[4], "subnet_id")?;
        let preferred_lifetime: u32 = parse_num(f[5], "pref_lifetime")?;
        let code: u32 = parse_num(f[6], "lease_type")?;
        let lease_type =
            LeaseType6::from_code(code).ok_or_else(|| format!("unsupported lease_type {code} (IA_NA 0, IA_PD 2)"))?;
        let iaid: u32 = parse_num(f[7], "iaid")?;
        let prefix_len: u8 = parse_num(f[8], "prefix_len")?;
        if prefix_len > 128 {
            return Err(format!("invalid prefix_len {prefix_len}"));
        }
        let fqdn_fwd = parse_bool(f[9], "fqdn_fwd")?;
        let fqdn_rev = parse_bool(f[10], "fqdn_rev")?;
        let hostname = bytes_to_string(unescape(f[11]));
        let hwaddr = if present(COL_HWADDR) {
            parse_colon_hex(f[COL_HWADDR]).map_err(|e| format!("invalid hwaddr '{}': {e}", f[COL_HWADDR]))?
        } else {
            Vec::new()
        };
        if hwaddr.len() > MAX_HWADDR_LEN {
            return Err(format!("hwaddr '{}' is longer than {MAX_HWADDR_LEN} bytes", f[COL_HWADDR]));
        }
        let state = if present(COL_STATE) {
            let code: u32 = parse_num(f[COL_STATE], "state")?;
            LeaseState::from_code(code).ok_or_else(|| format!("unknown lease state {code}"))?
        } else {
            LeaseState::Default
        };
        let user_context = if present(COL_USER_CONTEXT) { parse_user_context(f[COL_USER_CONTEXT])? } else { None };
        // Kea's readHWAddr reads the type and source only along with an address.
        let (hwtype, hwaddr_source) = if hwaddr.is_empty() {
            (0, 0)
        } else {
            let hwtype = match present(COL_HWTYPE).then(|| f[COL_HWTYPE]).filter(|s| !s.is_empty()) {
                Some(s) => parse_num(s, "hwtype")?,
                None => HTYPE_ETHER,
            };
            let source = match present(COL_HWADDR_SOURCE).then(|| f[COL_HWADDR_SOURCE]).filter(|s| !s.is_empty()) {
                Some(s) => parse_num(s, "hwaddr_source")?,
                None => 0,
            };
            (hwtype, source)
        };
        let pool_id = if present(COL_POOL_ID) { parse_num(f[COL_POOL_ID], "pool_id")? } else { 0 };
        if duid == EMPTY_DUID && state != LeaseState::Declined {
            return Err("the empty DUID is only valid for declined leases".to_string());
        }
        Ok(Lease6 {
            address,
            prefix_len,
            lease_type,
            duid,
            iaid,
            valid_lifetime,
            preferred_lifetime,
            cltt,
            subnet_id,
            pool_id,
            fqdn_fwd,
            fqdn_rev,
            hostname,
            hwaddr,
            hwtype,
            hwaddr_source,
            state,
            user_context,
        })
    }
}

/// Formats one row (no newline) under kakapo's header: Kea 2.2's columns, plus `pool_id` when
/// `pool_id_column` is set (Kea 2.4+; `CSVLeaseFile6::append`).
pub fn format_row6(lease: &Lease6, pool_id_column: bool) -> String {
    let mut out = String::with_capacity(160);
    write_row6(&mut out, lease, false, pool_id_column);
    out
}

/// Parses one row written under `header` (column names from the file's first line), the way
/// Kea's `CSVLeaseFile6::next` does.
pub fn parse_row6(line: &str, header: &[&str]) -> Result<Lease6, String> {
    Layout6::from_header(header)?.parse(line)
}

/// Appends a row to `out`; `tombstone` writes Kea's deletion row instead (valid and preferred
/// lifetimes 0, so `expire` is the old cltt).
pub(crate) fn write_row6(out: &mut String, lease: &Lease6, tombstone: bool, pool_id_column: bool) {
    let (valid, preferred) = if tombstone { (0, 0) } else { (lease.valid_lifetime, lease.preferred_lifetime) };
    let expire = lease.cltt.saturating_add(u64::from(valid));
    // Writing into a String cannot fail.
    let _ = write!(out, "{},", lease.address);
    push_colon_hex(out, &lease.duid);
    let _ = write!(
        out,
        ",{valid},{expire},{},{preferred},{},{},{},{},{},",
        lease.subnet_id,
        lease.lease_type.code(),
        lease.iaid,
        lease.prefix_len,
        u8::from(lease.fqdn_fwd),
        u8::from(lease.fqdn_rev)
    );
    escape_into(out, &lease.hostname);
    out.push(',');
    push_colon_hex(out, &lease.hwaddr);
    let _ = write!(out, ",{},", lease.state.code());
    if let Some(ctx) = &lease.user_context {
        escape_into(out, ctx);
    }
    // Kea writes hwtype and hwaddr_source only when the lease has a hardware address.
    if lease.hwaddr.is_empty() {
        out.push_str(",,");
    } else {
        let _ = write!(out, ",{},{}", lease.hwtype, lease.hwaddr_source);
    }
    if pool_id_column {
        let _ = write!(out, ",{}", lease.pool_id);
    }
}

/// Kea's loader discards these leases (`CSVLeaseFile6::next`, `DUID`), so they are refused
/// before being acknowledged.
pub(crate) fn storable6(lease: &Lease6) -> Result<(), String> {
    if !DUID_LEN.contains(&lease.duid.len()) {
        return Err("DUID must be 1 to 130 bytes long".to_string());
    }
    if lease.duid == EMPTY_DUID && lease.state != LeaseState::Declined {
        return Err("the empty DUID is only valid for declined leases".to_string());
    }
    if lease.hwaddr.len() > MAX_HWADDR_LEN {
        return Err("hardware address longer than 20 bytes".to_string());
    }
    if lease.prefix_len > 128 {
        return Err(format!("prefix length {} is over 128", lease.prefix_len));
    }
    if let Some(ctx) = &lease.user_context {
        if !ctx.is_empty() && !matches!(serde_json::from_str(ctx), Ok(serde_json::Value::Object(_))) {
            return Err("user context is not a JSON map".to_string());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header Kea 2.2 wrote here (`kea-dhcp6` 2.2.0, `lease6-add`).
    const KEA22_HEADER: &str = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source";
    /// Rows Kea 2.2 wrote for two `lease6-add`s (an IA_NA with everything set, an IA_PD /56),
    /// a declined IA_NA, and the `lease6-del` of that one.
    const KEA22_NA: &str = "2001:db8:1::100,01:02:03:04:05:06,3600,1795676452,1,1800,0,1234,128,1,0,a&#x2cb&#x26c,1a:1b:1c:1d:1e:1f,0,{ \"s\": \"p&#x2cq\"&#x2c \"x\": 1 },1,0";
    const KEA22_PD: &str = "2001:db8:8:100::,00:03:00:01:aa:bb:cc:dd:ee:ff,7200,1795680053,1,7200,2,7,56,0,0,,,0,,,";
    const KEA22_DECLINED: &str = "2001:db8:1::101,0a:0b:0c,7200,1795680053,1,7200,0,1,128,0,0,,,1,,,";
    const KEA22_DEL: &str = "2001:db8:1::101,0a:0b:0c,0,1795672853,1,0,0,1,128,0,0,,,1,,,";

    fn na() -> Lease6 {
        Lease6 {
            address: "2001:db8:1::100".parse().expect("address"),
            prefix_len: 128,
            lease_type: LeaseType6::Na,
            duid: vec![1, 2, 3, 4, 5, 6],
            iaid: 1234,
            valid_lifetime: 3600,
            preferred_lifetime: 1800,
            cltt: 1_795_672_852,
            subnet_id: 1,
            pool_id: 0,
            fqdn_fwd: true,
            fqdn_rev: false,
            hostname: "a,b&c".to_string(),
            hwaddr: vec![0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f],
            hwtype: 1,
            hwaddr_source: 0,
            state: LeaseState::Default,
            user_context: Some("{ \"s\": \"p,q\", \"x\": 1 }".to_string()),
        }
    }

    fn pd() -> Lease6 {
        Lease6 {
            address: "2001:db8:8:100::".parse().expect("address"),
            prefix_len: 56,
            lease_type: LeaseType6::Pd,
            duid: vec![0, 3, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff],
            iaid: 7,
            valid_lifetime: 7200,
            preferred_lifetime: 7200,
            cltt: 1_795_672_853,
            subnet_id: 1,
            pool_id: 0,
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname: String::new(),
            hwaddr: Vec::new(),
            hwtype: 0,
            hwaddr_source: 0,
            state: LeaseState::Default,
            user_context: None,
        }
    }

    fn declined() -> Lease6 {
        Lease6 {
            address: "2001:db8:1::101".parse().expect("address"),
            prefix_len: 128,
            lease_type: LeaseType6::Na,
            duid: vec![0x0a, 0x0b, 0x0c],
            iaid: 1,
            state: LeaseState::Declined,
            ..pd()
        }
    }

    fn header(s: &str) -> Vec<&str> {
        s.split(',').collect()
    }

    #[test]
    fn headers_match_kea() {
        assert_eq!(header6(false), KEA22_HEADER);
        assert_eq!(header6(true), format!("{KEA22_HEADER},pool_id"));
    }

    #[test]
    fn rows_match_kea22_bytes() {
        let h = header(KEA22_HEADER);
        for (lease, row) in [(na(), KEA22_NA), (pd(), KEA22_PD), (declined(), KEA22_DECLINED)] {
            assert_eq!(format_row6(&lease, false), row);
            assert_eq!(parse_row6(row, &h), Ok(lease));
        }
    }

    #[test]
    fn tombstone_matches_kea22_bytes() {
        let mut out = String::new();
        write_row6(&mut out, &declined(), true, false);
        assert_eq!(out, KEA22_DEL);
        let parsed = parse_row6(&out, &header(KEA22_HEADER)).expect("tombstone parses");
        assert_eq!((parsed.valid_lifetime, parsed.preferred_lifetime), (0, 0));
        assert_eq!(parsed.cltt, declined().cltt);
    }

    #[test]
    fn pool_id_header_round_trip() {
        let mut l = pd();
        l.pool_id = 9;
        l.hwaddr = vec![1, 2, 3, 4, 5, 6];
        l.hwtype = 6;
        l.hwaddr_source = 4;
        let row = format_row6(&l, true);
        assert_eq!(row, "2001:db8:8:100::,00:03:00:01:aa:bb:cc:dd:ee:ff,7200,1795680053,1,7200,2,7,56,0,0,,01:02:03:04:05:06,0,,6,4,9");
        let h = header6(true);
        assert_eq!(parse_row6(&row, &header(&h)), Ok(l.clone()));
        // Under the 2.2 header the extra column is still taken as pool_id (as Kea 2.4 does).
        assert_eq!(parse_row6(&row, &header(KEA22_HEADER)).map(|x| x.pool_id), Ok(9));
        // Under the 2.4 header a row must have every column.
        assert!(parse_row6(&format_row6(&l, false), &header(&h)).is_err());
    }

    #[test]
    fn older_headers_take_defaults() {
        let v1 = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname";
        let l = parse_row6("2001:db8::5,0x0102,100,1100,3,50,0,9,128,1,1,h", &header(v1)).expect("v1 row");
        assert_eq!(
            (l.duid.clone(), l.cltt, l.state, l.hwaddr.clone()),
            (vec![1, 2], 1000, LeaseState::Default, vec![])
        );
        let v4 = format!("{v1},hwaddr,state,user_context");
        let l = parse_row6("2001:db8::5,01:02,100,1100,3,50,2,9,60,0,0,h,0a:0b,2,{}", &header(&v4)).expect("v4 row");
        // A hardware address from before schema 5.0 is Ethernet of unknown source.
        assert_eq!((l.hwaddr.clone(), l.hwtype, l.hwaddr_source), (vec![10, 11], 1, 0));
        assert_eq!((l.lease_type, l.prefix_len, l.state), (LeaseType6::Pd, 60, LeaseState::ExpiredReclaimed));
        assert_eq!(l.user_context.as_deref(), Some("{}"));
        // A newer Kea's unknown extra column is ignored.
        let v9 = format!("{},future", header6(true));
        let l = parse_row6(&format!("{},5,zz", &KEA22_PD), &header(&v9)).expect("v9");
        assert_eq!(l.pool_id, 5);
        assert!(Layout6::from_line("address,duid,bogus").is_err());
        // A v4 header is not a v6 header.
        assert!(Layout6::from_line(&super::super::csv::header4(false)).is_err());
    }

    #[test]
    fn rejects_what_kea_rejects() {
        let h = header(KEA22_HEADER);
        for bad in [
            "2001:db8:1::1,,3600,1795676452,1,1800,0,1,128,0,0,,,0,,,", // no duid
            "2001:db8:1::1,00,3600,1795676452,1,1800,0,1,128,0,0,,,0,,,", // empty DUID, not declined
            "2001:db8:1::1,01:02,3600,1795676452,1,1800,1,1,128,0,0,,,0,,,", // IA_TA
            "2001:db8:1::1,01:02,3600,1795676452,1,1800,3,1,128,0,0,,,0,,,", // type
            "2001:db8:1::1,01:02,3600,1795676452,1,1800,0,1,129,0,0,,,0,,,", // prefix_len
            "2001:db8:1::1,01:02,3600,100,1,1800,0,1,128,0,0,,,0,,,",   // expire < lifetime
            "2001:db8:1::1,01:02,3600,1795676452,1,1800,0,1,128,0,0,,,0,[1],,", // context
            "2001:db8:1::1,01:02,3600,1795676452,1,1800,0,1,128,0,0,,,0,,", // column missing
            "192.0.2.1,01:02,3600,1795676452,1,1800,0,1,128,0,0,,,0,,,", // v4 address
            "2001:db8:1::1,01:02,3600,1795676452,1,1800,0,1,128,0,0,,01,0,,x,", // hwtype
            "",
        ] {
            assert!(parse_row6(bad, &h).is_err(), "accepted {bad:?}");
        }
        // The empty DUID of a declined lease is fine.
        let l = parse_row6("2001:db8:1::1,00,3600,1795676452,1,1800,0,1,128,0,0,,,1,,,", &h).expect("declined");
        assert_eq!(l.duid, vec![0]);
    }

    #[test]
    fn refuses_unloadable_leases() {
        assert_eq!(storable6(&na()), Ok(()));
        for bad in [
            Lease6 { duid: vec![], ..na() },
            Lease6 { duid: vec![0], ..na() },
            Lease6 { duid: vec![1; 131], ..na() },
            Lease6 { prefix_len: 129, ..pd() },
            Lease6 { user_context: Some("[]".into()), ..na() },
        ] {
            assert!(storable6(&bad).is_err(), "{bad:?}");
        }
        assert_eq!(storable6(&Lease6 { duid: vec![0], ..declined() }), Ok(()));
    }
}
