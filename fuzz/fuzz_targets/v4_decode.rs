//! DHCPv4 decoding must never panic, and whatever decodes must survive encode -> decode
//! unchanged (message type, xid and the option set), as must option 81 inside it.
#![no_main]
use kakapo::wire::v4::{code, ClientFqdn, Pkt4, RelayAgentInfo};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(p) = Pkt4::decode(data) else { return };
    let mut out = Vec::new();
    p.encode(&mut out);
    assert_eq!(out.len(), p.encoded_len());
    let q = Pkt4::decode(&out).expect("our own encoding decodes");
    assert_eq!(p.message_type(), q.message_type());
    assert_eq!(p.xid, q.xid);
    assert_eq!(p.options, q.options);
    assert_eq!(p, q);
    if let Some(rai) = p.options.get(code::RAI) {
        let _ = RelayAgentInfo::parse(rai);
    }
    if let Some(raw) = p.options.get(code::CLIENT_FQDN) {
        if let Ok(fqdn) = ClientFqdn::parse(raw) {
            assert_eq!(ClientFqdn::parse(&fqdn.encode()), Ok(fqdn));
        }
    }
});
