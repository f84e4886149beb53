//! DHCPv6 SARR messages as a relay agent: the RELAY-FORW(SOLICIT) template is built once with
//! kakapo's codec (`kakapo::wire::v6`), then copied and patched (peer address, transaction
//! id, DUID); the REQUEST is written into a fixed buffer from the ADVERTISE's server
//! identifier, IA_NA and IA_PD, copied as they came. Replies are read in place.

use std::net::Ipv6Addr;

use kakapo::wire::v6::{self, code, MessageType, Options6, Pkt6, RelayMsg, RELAY_HEADER_LEN};

use crate::engine::{Proto, Reply};

const PEER_AT: usize = 18;
/// RELAY_MSG's length field (the relay level carries no other option).
const RELAY_MSG_LEN_AT: usize = RELAY_HEADER_LEN + 2;
/// The client message inside the RELAY_MSG option.
const INNER_AT: usize = RELAY_HEADER_LEN + 4;
const ORO: &[u8] = &[0, 23, 0, 24];
/// The second step's transaction id differs from the first's in the top bit (RFC 8415
/// 18.2.2: a REQUEST is a new transaction).
const SECOND: u32 = 1 << 23;

/// DHCPv6 SOLICIT-ADVERTISE-REQUEST-REPLY through one relay level.
pub struct V6 {
    solicit: Vec<u8>,
    duid_mac_at: usize,
    pd: bool,
    seed: u8,
}

/// The options area `area`: (code, payload range) of the first option `want`.
fn find(pkt: &[u8], from: usize, to: usize, want: u16) -> Option<(usize, usize)> {
    let mut i = from;
    while i + 4 <= to {
        let c = u16::from_be_bytes([pkt[i], pkt[i + 1]]);
        let len = usize::from(u16::from_be_bytes([pkt[i + 2], pkt[i + 3]]));
        if i + 4 + len > to {
            return None;
        }
        if c == want {
            return Some((i + 4, i + 4 + len));
        }
        i += 4 + len;
    }
    None
}

/// The client message inside a RELAY-REPL: (start, end).
fn inner(pkt: &[u8]) -> Option<(usize, usize)> {
    if pkt.len() < RELAY_HEADER_LEN || pkt[0] != MessageType::RelayRepl.as_u8() {
        return None;
    }
    let (s, e) = find(pkt, RELAY_HEADER_LEN, pkt.len(), code::RELAY_MSG)?;
    (e - s >= 4).then_some((s, e))
}

/// True when the IA option payload `pkt[s..e]` holds a `sub` option (IAADDR or IAPREFIX).
fn ia_has(pkt: &[u8], ia: Option<(usize, usize)>, sub: u16) -> bool {
    ia.is_some_and(|(s, e)| e - s >= 12 && find(pkt, s + 12, e, sub).is_some())
}

fn put_option(out: &mut [u8], at: &mut usize, c: u16, payload: &[u8]) -> Option<()> {
    let end = *at + 4 + payload.len();
    let dst = out.get_mut(*at..end)?;
    dst[..2].copy_from_slice(&c.to_be_bytes());
    dst[2..4].copy_from_slice(&(payload.len() as u16).to_be_bytes());
    dst[4..].copy_from_slice(payload);
    *at = end;
    Some(())
}

impl V6 {
    /// Clients on the link `link_addr` (the relay's address there), with an IA_PD besides
    /// the IA_NA when `pd`. `seed` is the second octet of every client MAC in the DUID-LL.
    pub fn new(link_addr: Ipv6Addr, pd: bool, seed: u8) -> V6 {
        let mut sol = Pkt6::new(MessageType::Solicit, 0);
        // DUID-LL (RFC 8415 11.4), Ethernet, MAC patched per client.
        sol.options.push_slice(code::CLIENTID, &[0, 3, 0, 1, 2, seed, 0, 0, 0, 0]);
        sol.options.push_slice(code::ELAPSED_TIME, &[0, 0]);
        sol.options.push_slice(code::ORO, ORO);
        sol.options.push_slice(code::IA_NA, &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        if pd {
            sol.options.push_slice(code::IA_PD, &[0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
        }
        let relay = RelayMsg {
            msg_type: MessageType::RelayForw,
            hop_count: 0,
            link_addr,
            peer_addr: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0),
            options: Options6::new(),
        };
        let mut solicit = Vec::new();
        v6::encode(&sol, &[relay], &mut solicit);
        let (s, _) = find(&solicit, INNER_AT + 4, solicit.len(), code::CLIENTID).expect("client id encoded");
        V6 { solicit, duid_mac_at: s + 4, pd, seed }
    }

    fn mac(&self, client: u32) -> [u8; 6] {
        let c = client.to_be_bytes();
        [0x02, self.seed, c[0], c[1], c[2], c[3]]
    }

    /// The client's link-local address, from its MAC (modified EUI-64, RFC 4291 app. A).
    fn peer(&self, client: u32) -> [u8; 16] {
        let m = self.mac(client);
        [0xfe, 0x80, 0, 0, 0, 0, 0, 0, m[0] ^ 2, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]]
    }
}

impl Proto for V6 {
    fn idx_bits(&self) -> u32 {
        19
    }

    fn gen_bits(&self) -> u32 {
        4
    }

    fn second_xid(&self, first: u32) -> u32 {
        first | SECOND
    }

    fn first(&self, client: u32, xid: u32, out: &mut [u8]) -> usize {
        let n = self.solicit.len();
        out[..n].copy_from_slice(&self.solicit);
        out[PEER_AT..PEER_AT + 16].copy_from_slice(&self.peer(client));
        out[INNER_AT + 1..INNER_AT + 4].copy_from_slice(&xid.to_be_bytes()[1..]);
        out[self.duid_mac_at..self.duid_mac_at + 6].copy_from_slice(&self.mac(client));
        n
    }

    fn classify(&self, pkt: &[u8]) -> Option<Reply> {
        let (s, e) = inner(pkt)?;
        let xid = u32::from_be_bytes([0, pkt[s + 1], pkt[s + 2], pkt[s + 3]]);
        let step = match MessageType::from_u8(pkt[s])? {
            MessageType::Advertise => 1,
            MessageType::Reply => 2,
            _ => return None,
        };
        let na = find(pkt, s + 4, e, code::IA_NA);
        let mut ok = ia_has(pkt, na, code::IAADDR);
        if self.pd {
            ok &= ia_has(pkt, find(pkt, s + 4, e, code::IA_PD), code::IAPREFIX);
        }
        if step == 1 {
            ok &= find(pkt, s + 4, e, code::SERVERID).is_some();
        }
        Some(Reply { xid, step, ok })
    }

    fn is_for(&self, client: u32, pkt: &[u8]) -> bool {
        let Some((s, e)) = inner(pkt) else { return false };
        matches!(find(pkt, s + 4, e, code::CLIENTID), Some((a, b)) if b - a == 10 && pkt[a + 4..b] == self.mac(client))
    }

    fn second(&self, client: u32, xid: u32, adv: &[u8], out: &mut [u8]) -> usize {
        let Some((s, e)) = inner(adv) else { return 0 };
        let Some(sid) = find(adv, s + 4, e, code::SERVERID) else { return 0 };
        out[..INNER_AT].copy_from_slice(&self.solicit[..INNER_AT]);
        out[PEER_AT..PEER_AT + 16].copy_from_slice(&self.peer(client));
        out[INNER_AT] = MessageType::Request.as_u8();
        out[INNER_AT + 1..INNER_AT + 4].copy_from_slice(&xid.to_be_bytes()[1..]);
        let mut at = INNER_AT + 4;
        let mut duid = [0, 3, 0, 1, 0, 0, 0, 0, 0, 0];
        duid[4..].copy_from_slice(&self.mac(client));
        let mut write = || -> Option<()> {
            put_option(out, &mut at, code::CLIENTID, &duid)?;
            put_option(out, &mut at, code::SERVERID, &adv[sid.0..sid.1])?;
            put_option(out, &mut at, code::ELAPSED_TIME, &[0, 0])?;
            put_option(out, &mut at, code::ORO, ORO)?;
            // The IAs as advertised, addresses and prefixes included (RFC 8415 18.2.2).
            for ia in [code::IA_NA, code::IA_PD] {
                if ia == code::IA_PD && !self.pd {
                    continue;
                }
                let (a, b) = find(adv, s + 4, e, ia)?;
                put_option(out, &mut at, ia, &adv[a..b])?;
            }
            Some(())
        };
        if write().is_none() {
            return 0;
        }
        let len = u16::try_from(at - INNER_AT).unwrap_or(u16::MAX);
        out[RELAY_MSG_LEN_AT..RELAY_MSG_LEN_AT + 2].copy_from_slice(&len.to_be_bytes());
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kakapo::wire::v6::{IaAddr, IaNa};

    fn reply(req: &v6::Decoded6, t: MessageType, pd: bool) -> Vec<u8> {
        let mut p = req.inner.reply_to(t);
        p.options.push_slice(code::SERVERID, &[0, 1, 0, 1, 9, 9, 9, 9, 1, 2, 3, 4, 5, 6]);
        p.options.push_slice(code::CLIENTID, req.inner.client_id().unwrap());
        let mut na = IaNa::new(1, 1000, 2000);
        na.addrs.push(IaAddr {
            addr: "2001:2::1:5".parse().unwrap(),
            preferred: 3000,
            valid: 4000,
            status: None,
            other: Vec::new(),
        });
        let mut buf = Vec::new();
        na.encode(&mut buf);
        p.options.push_slice(code::IA_NA, &buf);
        if pd {
            // IA_PD: iaid 2, T1, T2, one IAPREFIX 2001:2:0:8000::/80.
            let mut pfx = vec![0, 0, 0x0b, 0xb8, 0, 0, 0x0f, 0xa0, 80];
            pfx.extend_from_slice(&"2001:2:0:8000::".parse::<Ipv6Addr>().unwrap().octets());
            let mut ia = vec![0, 0, 0, 2, 0, 0, 3, 0xe8, 0, 0, 7, 0xd0];
            ia.extend_from_slice(&code::IAPREFIX.to_be_bytes());
            ia.extend_from_slice(&(pfx.len() as u16).to_be_bytes());
            ia.extend_from_slice(&pfx);
            p.options.push_slice(code::IA_PD, &ia);
        }
        let layer = req.relays[0].reply_layer();
        let mut out = Vec::new();
        v6::encode(&p, &[layer], &mut out);
        out
    }

    #[test]
    fn sarr_messages_agree_with_the_codec() {
        for pd in [false, true] {
            let v = V6::new("2001:2::2".parse().unwrap(), pd, 3);
            let mut buf = [0u8; 1536];
            let n = v.first(0x0a0b0c, 0x12_3456, &mut buf);
            let d = v6::decode(&buf[..n]).unwrap();
            assert_eq!(d.relays.len(), 1);
            assert_eq!(d.relays[0].link_addr, "2001:2::2".parse::<Ipv6Addr>().unwrap());
            assert_eq!(d.relays[0].peer_addr, "fe80::3:ff:fe0a:b0c".parse::<Ipv6Addr>().unwrap());
            assert_eq!((d.inner.msg_type, d.inner.xid), (MessageType::Solicit, 0x12_3456));
            assert_eq!(d.inner.client_id(), Some(&[0, 3, 0, 1, 2, 3, 0, 0x0a, 0x0b, 0x0c][..]));
            assert_eq!(d.inner.options.contains(code::IA_PD), pd);

            let adv = reply(&d, MessageType::Advertise, pd);
            assert_eq!(v.classify(&adv), Some(Reply { xid: 0x12_3456, step: 1, ok: true }));
            assert!(v.is_for(0x0a0b0c, &adv));
            assert!(!v.is_for(0x0a0b0d, &adv));
            let n = v.second(0x0a0b0c, v.second_xid(0x12_3456), &adv, &mut buf);
            assert!(n > 0);
            let r = v6::decode(&buf[..n]).unwrap();
            assert_eq!((r.inner.msg_type, r.inner.xid), (MessageType::Request, 0x92_3456));
            assert_eq!(r.relays[0].peer_addr, d.relays[0].peer_addr);
            assert_eq!(r.inner.server_id(), Some(&[0, 1, 0, 1, 9, 9, 9, 9, 1, 2, 3, 4, 5, 6][..]));
            let na = IaNa::parse(r.inner.options.get(code::IA_NA).unwrap()).unwrap();
            assert_eq!(na.addrs[0].addr, "2001:2::1:5".parse::<Ipv6Addr>().unwrap());
            assert_eq!(r.inner.options.contains(code::IA_PD), pd);

            let rep = reply(&r, MessageType::Reply, pd);
            assert_eq!(v.classify(&rep), Some(Reply { xid: 0x92_3456, step: 2, ok: true }));
            if pd {
                // An answer without the prefix is a rejection when a prefix was asked for.
                let no_pd = reply(&r, MessageType::Reply, false);
                assert_eq!(v.classify(&no_pd), Some(Reply { xid: 0x92_3456, step: 2, ok: false }));
            }
        }
    }
}
