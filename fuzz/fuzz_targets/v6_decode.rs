//! DHCPv6 decoding must never panic, and whatever decodes must survive encode -> decode
//! unchanged (relay levels and the inner message), as must the IA_NA and IA_PD inside it.
#![no_main]
use kakapo::wire::v6::{decode, encode, encoded_len, ia_nas, ia_pds, IaNa, IaPd};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(d) = decode(data) else { return };
    let mut out = Vec::new();
    encode(&d.inner, &d.relays, &mut out);
    assert_eq!(out.len(), encoded_len(&d.inner, &d.relays));
    // Decoding drops nothing, so our encoding has exactly the input's size.
    assert_eq!(out.len(), data.len());
    let again = decode(&out).expect("our own encoding decodes");
    assert_eq!(again, d);
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
});
