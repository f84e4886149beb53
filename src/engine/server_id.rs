//! The DHCPv6 server identifier (RFC 8415 section 11; Kea ARM 9.2.31 "Server Identifier in
//! DHCPv6"): which DUID the server builds from `server-id`, the DUID stored by an earlier run
//! and the host's link-layer address, and the text form Kea keeps in `kea-dhcp6-serverid`.
//!
//! Pure: the caller reads the file and the interfaces and writes the result back, so the rules
//! (stored values fill what the configuration leaves open) are tested without a host.

use crate::config::model::{ServerIdConfig, ServerIdType};

/// DUID-LLT and DUID-LL time base: seconds from the Unix epoch to 2000-01-01 (RFC 8415 11.2).
pub const DUID_TIME_EPOCH: u64 = 946_684_800;
/// The enterprise number Kea uses for DUID-EN when none is configured (ISC).
pub const ENTERPRISE_ID_ISC: u32 = 2495;
/// Length of the random identifier of a generated DUID-EN.
pub const EN_IDENTIFIER_LEN: usize = 6;
/// Kea's name of the file that keeps the server DUID, in the data directory.
pub const SERVER_ID_FILE: &str = "kea-dhcp6-serverid";

/// Why no server DUID can be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ServerIdError {
    /// LLT or LL without a configured identifier and no usable interface hardware address.
    #[error("no interface with a link-layer address to build the server DUID from; set server-id.identifier")]
    NoLinkLayerAddress,
}

/// A DUID read back from `kea-dhcp6-serverid`, split into its parts (RFC 8415 11.2-11.4).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stored {
    Llt { htype: u16, time: u32, ll: Vec<u8> },
    En { enterprise: u32, id: Vec<u8> },
    Ll { htype: u16, ll: Vec<u8> },
    Other,
}

fn split(duid: &[u8]) -> Stored {
    let be16 = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]);
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    match duid {
        [0, 1, rest @ ..] if rest.len() > 6 => {
            Stored::Llt { htype: be16(rest), time: be32(&rest[2..]), ll: rest[6..].to_vec() }
        }
        [0, 2, rest @ ..] if rest.len() > 4 => Stored::En { enterprise: be32(rest), id: rest[4..].to_vec() },
        [0, 3, rest @ ..] if rest.len() > 2 => Stored::Ll { htype: be16(rest), ll: rest[2..].to_vec() },
        _ => Stored::Other,
    }
}

/// Builds the server DUID the way Kea's DUID factory does: every part the configuration leaves
/// at its "unset" value (`identifier` empty, `time`/`htype`/`enterprise-id` zero) is taken from
/// the stored DUID of the same type, then from the host (`link`: hardware type and address of
/// the first usable interface) or the clock (`now_unix`) or `random` (EN identifier).
pub fn server_duid(
    cfg: &ServerIdConfig,
    stored: Option<&[u8]>,
    link: Option<(u16, &[u8])>,
    now_unix: u64,
    random: u64,
) -> Result<Vec<u8>, ServerIdError> {
    let stored = stored.map(split).unwrap_or(Stored::Other);
    let now_time = u32::try_from(now_unix.saturating_sub(DUID_TIME_EPOCH)).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(14);
    match cfg.kind {
        ServerIdType::Llt => {
            let (s_htype, s_time, s_ll) = match stored {
                Stored::Llt { htype, time, ll } => (htype, time, ll),
                _ => (0, 0, Vec::new()),
            };
            let (htype, ll) = pick_link(cfg, s_htype, s_ll, link)?;
            let time = [cfg.time, s_time].into_iter().find(|t| *t != 0).unwrap_or(now_time);
            out.extend_from_slice(&1u16.to_be_bytes());
            out.extend_from_slice(&htype.to_be_bytes());
            out.extend_from_slice(&time.to_be_bytes());
            out.extend_from_slice(&ll);
        }
        ServerIdType::Ll => {
            let (s_htype, s_ll) = match stored {
                Stored::Ll { htype, ll } => (htype, ll),
                _ => (0, Vec::new()),
            };
            let (htype, ll) = pick_link(cfg, s_htype, s_ll, link)?;
            out.extend_from_slice(&3u16.to_be_bytes());
            out.extend_from_slice(&htype.to_be_bytes());
            out.extend_from_slice(&ll);
        }
        ServerIdType::En => {
            let (s_ent, s_id) = match stored {
                Stored::En { enterprise, id } => (enterprise, id),
                _ => (0, Vec::new()),
            };
            let enterprise = [cfg.enterprise_id, s_ent].into_iter().find(|e| *e != 0).unwrap_or(ENTERPRISE_ID_ISC);
            let id = if !cfg.identifier.is_empty() {
                cfg.identifier.clone()
            } else if !s_id.is_empty() {
                s_id
            } else {
                random.to_be_bytes()[..EN_IDENTIFIER_LEN].to_vec()
            };
            out.extend_from_slice(&2u16.to_be_bytes());
            out.extend_from_slice(&enterprise.to_be_bytes());
            out.extend_from_slice(&id);
        }
    }
    Ok(out)
}

fn pick_link(
    cfg: &ServerIdConfig,
    s_htype: u16,
    s_ll: Vec<u8>,
    link: Option<(u16, &[u8])>,
) -> Result<(u16, Vec<u8>), ServerIdError> {
    let (ll, ll_htype) = if !cfg.identifier.is_empty() {
        (cfg.identifier.clone(), 0)
    } else if !s_ll.is_empty() {
        (s_ll, s_htype)
    } else {
        let (h, a) = link.ok_or(ServerIdError::NoLinkLayerAddress)?;
        (a.to_vec(), h)
    };
    // Hardware type 1 (Ethernet) when neither the configuration nor the source names one.
    let htype = [cfg.htype, ll_htype].into_iter().find(|h| *h != 0).unwrap_or(1);
    Ok((htype, ll))
}

/// Kea's text form of a DUID: lower-case hex octets joined by colons, as in the stored file.
pub fn to_text(duid: &[u8]) -> String {
    let mut s = String::with_capacity(duid.len() * 3);
    for (i, b) in duid.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Parses the stored text form (colons optional, one or two hex digits per octet, surrounding
/// whitespace ignored); None for anything else, which makes the caller build a fresh DUID.
pub fn from_text(text: &str) -> Option<Vec<u8>> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let parts: Vec<&str> = if t.contains(':') {
        t.split(':').collect()
    } else {
        if t.len() % 2 != 0 {
            return None;
        }
        (0..t.len()).step_by(2).map(|i| t.get(i..i + 2)).collect::<Option<Vec<_>>>()?
    };
    let out: Option<Vec<u8>> =
        parts.iter().map(|p| if p.is_empty() || p.len() > 2 { None } else { u8::from_str_radix(p, 16).ok() }).collect();
    // RFC 8415 11.1: a DUID is a 2-octet type plus at most 128 octets.
    out.filter(|d| d.len() >= 3 && d.len() <= 130)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0xfc, 0, 0, 0, 1];
    const NOW: u64 = 1_795_676_728;

    #[test]
    fn kea_written_file_is_read_back_and_kept() {
        // Written by kea-dhcp6 2.2 on first start (LLT from eth0), verbatim, no newline.
        let kea = "00:01:00:01:32:9a:96:b8:02:fc:00:00:00:01";
        let stored = from_text(kea).unwrap();
        let d = server_duid(&ServerIdConfig::default(), Some(&stored), Some((1, &[9; 6])), NOW + 999, 0).unwrap();
        assert_eq!(to_text(&d), kea);
    }

    #[test]
    fn fresh_llt_uses_the_interface_and_the_2000_epoch() {
        let d = server_duid(&ServerIdConfig::default(), None, Some((1, &MAC)), NOW, 0).unwrap();
        assert_eq!(to_text(&d), "00:01:00:01:32:9a:96:b8:02:fc:00:00:00:01");
    }

    #[test]
    fn configured_parts_win_over_the_stored_ones() {
        let stored = from_text("00:01:00:01:32:9a:96:b8:02:fc:00:00:00:01").unwrap();
        let cfg = ServerIdConfig { time: 0x0102_0304, ..ServerIdConfig::default() };
        let d = server_duid(&cfg, Some(&stored), None, NOW, 0).unwrap();
        assert_eq!(to_text(&d), "00:01:00:01:01:02:03:04:02:fc:00:00:00:01");
        let cfg = ServerIdConfig { identifier: vec![0xaa, 0xbb], htype: 6, ..ServerIdConfig::default() };
        let d = server_duid(&cfg, Some(&stored), None, NOW, 0).unwrap();
        assert_eq!(to_text(&d), "00:01:00:06:32:9a:96:b8:aa:bb");
    }

    #[test]
    fn a_type_change_ignores_the_stored_duid() {
        let stored = from_text("00:01:00:01:32:9a:96:b8:02:fc:00:00:00:01").unwrap();
        let cfg = ServerIdConfig { kind: ServerIdType::En, ..ServerIdConfig::default() };
        let d = server_duid(&cfg, Some(&stored), None, NOW, 0x1122_3344_5566_7788).unwrap();
        assert_eq!(to_text(&d), "00:02:00:00:09:bf:11:22:33:44:55:66");
        let again = server_duid(&cfg, Some(&d), None, NOW, 42).unwrap();
        assert_eq!(again, d, "a stored EN is kept");
        let cfg = ServerIdConfig { kind: ServerIdType::Ll, ..ServerIdConfig::default() };
        let d = server_duid(&cfg, Some(&stored), Some((1, &MAC)), NOW, 0).unwrap();
        assert_eq!(to_text(&d), "00:03:00:01:02:fc:00:00:00:01");
    }

    #[test]
    fn no_link_address_is_an_error_for_llt_and_ll() {
        let e = server_duid(&ServerIdConfig::default(), None, None, NOW, 0).unwrap_err();
        assert_eq!(e, ServerIdError::NoLinkLayerAddress);
    }

    #[test]
    fn bad_text_is_refused() {
        for t in ["", "zz:01:02", "00:01", "0:1:2:3:", "000102030"] {
            assert_eq!(from_text(t), None, "{t:?}");
        }
        assert_eq!(from_text(" 000102 \n"), Some(vec![0, 1, 2]));
    }
}
