//! DHCPv4 DORA messages: DISCOVER and REQUEST templates built once with kakapo's codec
//! (`kakapo::wire::v4::Pkt4`), then copied and patched in place (xid, chaddr, requested
//! address, server identifier); replies read in place without allocating.

use std::net::Ipv4Addr;

use kakapo::wire::v4::{code, MessageType, Pkt4, HEADER_LEN, MAGIC_COOKIE};

use crate::engine::{Proto, Reply};

const XID_AT: usize = 4;
const YIADDR_AT: usize = 16;
const CHADDR_AT: usize = 28;
const OPTIONS_AT: usize = HEADER_LEN + 4;
const PRL: &[u8] = &[code::SUBNET_MASK, code::ROUTERS, code::DNS, code::DOMAIN_NAME, code::LEASE_TIME];

/// DHCPv4 DORA, as a relay agent (`giaddr` set, one hop) or as directly attached clients
/// (broadcast flag set).
pub struct V4 {
    discover: Vec<u8>,
    request: Vec<u8>,
    requested_at: usize,
    server_id_at: usize,
    seed: u8,
}

/// The option payload `code` in the options area starting at `at`: (offset, length).
fn find_option(pkt: &[u8], at: usize, want: u8) -> Option<(usize, usize)> {
    let mut i = at;
    while let Some(&c) = pkt.get(i) {
        match c {
            code::PAD => i += 1,
            code::END => return None,
            _ => {
                let len = usize::from(*pkt.get(i + 1)?);
                if i + 2 + len > pkt.len() {
                    return None;
                }
                if c == want {
                    return Some((i + 2, len));
                }
                i += 2 + len;
            }
        }
    }
    None
}

impl V4 {
    /// Templates for clients behind the relay address `giaddr`, or directly attached when
    /// None. `seed` is the second octet of every client MAC (02:seed:cc:cc:cc:cc).
    pub fn new(giaddr: Option<Ipv4Addr>, seed: u8) -> V4 {
        let mut p = Pkt4 { hlen: 6, ..Pkt4::default() };
        match giaddr {
            Some(g) => {
                p.giaddr = g;
                p.hops = 1;
            }
            None => p.flags = kakapo::wire::v4::FLAG_BROADCAST,
        }
        p.set_message_type(MessageType::Discover);
        p.options.insert_slice(code::PRL, PRL);
        let mut discover = Vec::new();
        p.encode(&mut discover);
        p.set_message_type(MessageType::Request);
        p.options.insert_slice(code::REQUESTED_IP, &[0; 4]);
        p.options.insert_slice(code::SERVER_ID, &[0; 4]);
        let mut request = Vec::new();
        p.encode(&mut request);
        let requested_at = find_option(&request, OPTIONS_AT, code::REQUESTED_IP).expect("option 50 encoded").0;
        let server_id_at = find_option(&request, OPTIONS_AT, code::SERVER_ID).expect("option 54 encoded").0;
        V4 { discover, request, requested_at, server_id_at, seed }
    }

    fn mac(&self, client: u32) -> [u8; 6] {
        let c = client.to_be_bytes();
        [0x02, self.seed, c[0], c[1], c[2], c[3]]
    }

    fn put(&self, template: &[u8], client: u32, xid: u32, out: &mut [u8]) -> usize {
        let n = template.len();
        out[..n].copy_from_slice(template);
        out[XID_AT..XID_AT + 4].copy_from_slice(&xid.to_be_bytes());
        out[CHADDR_AT..CHADDR_AT + 6].copy_from_slice(&self.mac(client));
        n
    }
}

impl Proto for V4 {
    fn idx_bits(&self) -> u32 {
        22
    }

    fn gen_bits(&self) -> u32 {
        10
    }

    fn second_xid(&self, first: u32) -> u32 {
        // RFC 2131 4.4.1: the REQUEST answering an OFFER keeps the DISCOVER's xid.
        first
    }

    fn first(&self, client: u32, xid: u32, out: &mut [u8]) -> usize {
        self.put(&self.discover, client, xid, out)
    }

    fn classify(&self, pkt: &[u8]) -> Option<Reply> {
        if pkt.len() < OPTIONS_AT
            || pkt[0] != kakapo::wire::v4::BOOTREPLY
            || pkt[HEADER_LEN..OPTIONS_AT] != MAGIC_COOKIE
        {
            return None;
        }
        let xid = u32::from_be_bytes([pkt[4], pkt[5], pkt[6], pkt[7]]);
        let (at, len) = find_option(pkt, OPTIONS_AT, code::MESSAGE_TYPE)?;
        if len != 1 {
            return None;
        }
        let yiaddr_set = pkt[YIADDR_AT..YIADDR_AT + 4] != [0; 4];
        let (step, ok) = match MessageType::from_u8(pkt[at])? {
            MessageType::Offer => (1, yiaddr_set && find_option(pkt, OPTIONS_AT, code::SERVER_ID).is_some()),
            MessageType::Ack => (2, yiaddr_set),
            MessageType::Nak => (2, false),
            _ => return None,
        };
        Some(Reply { xid, step, ok })
    }

    fn is_for(&self, client: u32, pkt: &[u8]) -> bool {
        pkt.get(CHADDR_AT..CHADDR_AT + 6) == Some(&self.mac(client)[..])
    }

    fn second(&self, client: u32, xid: u32, offer: &[u8], out: &mut [u8]) -> usize {
        let n = self.put(&self.request, client, xid, out);
        out[self.requested_at..self.requested_at + 4].copy_from_slice(&offer[YIADDR_AT..YIADDR_AT + 4]);
        match find_option(offer, OPTIONS_AT, code::SERVER_ID) {
            Some((at, 4)) => out[self.server_id_at..self.server_id_at + 4].copy_from_slice(&offer[at..at + 4]),
            _ => return 0,
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The in-place reader and writer agree with the crate's decoder.
    #[test]
    fn templates_decode_and_replies_classify() {
        let v4 = V4::new(Some(Ipv4Addr::new(198, 18, 0, 2)), 7);
        let mut buf = [0u8; 1500];
        let n = v4.first(0x0102_0304, 0xdead_beef, &mut buf);
        let d = Pkt4::decode(&buf[..n]).unwrap();
        assert_eq!(d.message_type(), Some(MessageType::Discover));
        assert_eq!(
            (d.xid, d.hwaddr(), d.giaddr, d.hops),
            (0xdead_beef, &[2, 7, 1, 2, 3, 4][..], Ipv4Addr::new(198, 18, 0, 2), 1)
        );

        let mut offer = d.reply_to(MessageType::Offer);
        offer.yiaddr = Ipv4Addr::new(198, 18, 1, 9);
        offer.options.insert_slice(code::SERVER_ID, &[198, 18, 0, 1]);
        let mut wire = Vec::new();
        offer.encode(&mut wire);
        assert_eq!(v4.classify(&wire), Some(Reply { xid: 0xdead_beef, step: 1, ok: true }));
        assert!(v4.is_for(0x0102_0304, &wire));
        assert!(!v4.is_for(0x0102_0305, &wire));

        let n = v4.second(0x0102_0304, 0xdead_beef, &wire, &mut buf);
        let r = Pkt4::decode(&buf[..n]).unwrap();
        assert_eq!(r.message_type(), Some(MessageType::Request));
        assert_eq!(r.requested_ip(), Some(Ipv4Addr::new(198, 18, 1, 9)));
        assert_eq!(r.server_id(), Some(Ipv4Addr::new(198, 18, 0, 1)));
        assert_eq!(r.xid, 0xdead_beef);

        let mut ack = r.reply_to(MessageType::Ack);
        ack.yiaddr = Ipv4Addr::new(198, 18, 1, 9);
        wire.clear();
        ack.encode(&mut wire);
        assert_eq!(v4.classify(&wire), Some(Reply { xid: 0xdead_beef, step: 2, ok: true }));
        let nak = r.reply_to(MessageType::Nak);
        wire.clear();
        nak.encode(&mut wire);
        assert_eq!(v4.classify(&wire), Some(Reply { xid: 0xdead_beef, step: 2, ok: false }));
        assert_eq!(v4.classify(&buf[..n]), None, "a request is no reply");
    }
}
