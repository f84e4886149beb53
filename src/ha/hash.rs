//! Kea's load-balancing split (RFC 3074 section 6, as Kea's `QueryFilter` computes it): the
//! same client goes to the same server of a kakapo or a Kea pair.

/// RFC 3074's mixing table.
const MIX: [u8; 256] = [
    251, 175, 119, 215, 81, 14, 79, 191, 103, 49, 181, 143, 186, 157, 0, 232, 31, 32, 55, 60, 152, 58, 17, 237, 174,
    70, 160, 144, 220, 90, 57, 223, 59, 3, 18, 140, 111, 166, 203, 196, 134, 243, 124, 95, 222, 179, 197, 65, 180, 48,
    36, 15, 107, 46, 233, 130, 165, 30, 123, 161, 209, 23, 97, 16, 40, 91, 219, 61, 100, 10, 210, 109, 250, 127, 22,
    138, 29, 108, 244, 67, 207, 9, 178, 204, 74, 98, 126, 249, 167, 116, 34, 77, 193, 200, 121, 5, 20, 113, 71, 35,
    128, 13, 182, 94, 25, 226, 227, 199, 75, 27, 41, 245, 230, 224, 43, 225, 177, 26, 155, 150, 212, 142, 218, 115,
    241, 73, 88, 105, 39, 114, 62, 255, 192, 201, 145, 214, 168, 158, 221, 148, 154, 122, 12, 84, 82, 163, 44, 139,
    228, 236, 205, 242, 217, 11, 187, 146, 159, 64, 86, 239, 195, 42, 106, 198, 118, 112, 184, 172, 87, 2, 173, 117,
    176, 229, 247, 253, 137, 185, 99, 164, 102, 147, 45, 66, 231, 52, 141, 211, 194, 206, 246, 238, 56, 110, 78, 248,
    63, 240, 189, 93, 92, 51, 53, 183, 19, 171, 72, 50, 33, 104, 101, 69, 8, 252, 83, 120, 76, 135, 85, 54, 202, 125,
    188, 213, 96, 235, 136, 208, 162, 129, 190, 132, 156, 38, 47, 1, 7, 254, 24, 4, 216, 131, 89, 21, 28, 133, 37, 153,
    149, 80, 170, 68, 6, 169, 234, 151,
];

/// RFC 3074's hash of `key` as Kea computes it: seeded with the length, the key walked from its
/// last byte to its first.
pub fn loadb_hash(key: &[u8]) -> u8 {
    key.iter().rev().fold(key.len() as u8, |h, b| MIX[usize::from(h ^ b)])
}

/// The key a DHCPv4 query is split by: option 61's whole payload (type byte included) when
/// present, else the `chaddr` bytes without the hardware type (None: neither).
pub fn key4<'a>(client_id: Option<&'a [u8]>, chaddr: &'a [u8]) -> Option<&'a [u8]> {
    client_id.filter(|c| !c.is_empty()).or(Some(chaddr).filter(|c| !c.is_empty()))
}

/// The index of the active server (0: primary, 1: secondary) that answers `key`.
pub fn server_index(key: &[u8], active_servers: usize) -> usize {
    usize::from(loadb_hash(key)) % active_servers.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split(':').map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
    }

    /// Vectors Debian's Kea 2.2 confirmed (a load-balancing server in partner-down offering
    /// from the pool of the class it gave each client).
    #[test]
    fn kea_2_2_splits_these_clients_the_same_way() {
        let v4 = [
            ("aa:bb:cc:dd:ee:01", None, 227),
            ("aa:bb:cc:dd:ee:02", None, 242),
            ("aa:bb:cc:dd:ee:03", None, 52),
            ("aa:bb:cc:dd:ee:05", None, 148),
            ("aa:bb:cc:dd:ee:06", None, 131),
            ("aa:bb:cc:dd:ee:02", Some("01:aa:bb:cc:dd:ee:01"), 99),
            ("aa:bb:cc:dd:ee:01", Some("01:aa:bb:cc:dd:ee:02"), 46),
            ("aa:bb:cc:dd:ee:02", Some("01:aa:bb:cc:dd:ee:03"), 21),
            ("aa:bb:cc:dd:ee:01", Some("01:aa:bb:cc:dd:ee:06"), 148),
            ("aa:bb:cc:dd:ee:01", Some("01:aa:bb:cc:dd:ee:08"), 86),
            ("aa:bb:cc:dd:ee:02", Some("ff:aa:bb:cc:dd:ee:07"), 241),
            ("aa:bb:cc:dd:ee:02", Some("66:6f:6f"), 49),
        ];
        for (chaddr, cid, hash) in v4 {
            let (chaddr, cid) = (hex(chaddr), cid.map(hex));
            let key = key4(cid.as_deref(), &chaddr).unwrap();
            assert_eq!(loadb_hash(key), hash, "{chaddr:?} {cid:?}");
        }
        let v6 = [
            ("00:03:00:01:aa:bb:cc:dd:ee:01", 171),
            ("00:03:00:01:aa:bb:cc:dd:ee:05", 127),
            ("00:03:00:01:aa:bb:cc:dd:ee:0b", 192),
            ("00:03:00:01:aa:bb:cc:dd:ee:0d", 26),
            ("00:02:00:00:09:bf:00", 118),
            ("00:01:00:01:2a:3b:4c:5d:00:00:00:00:00:01", 191),
        ];
        for (duid, hash) in v6 {
            assert_eq!(loadb_hash(&hex(duid)), hash, "{duid}");
        }
        // Which server: 227 is odd (secondary), 242 even (primary).
        assert_eq!(server_index(&hex("aa:bb:cc:dd:ee:01"), 2), 1);
        assert_eq!(server_index(&hex("aa:bb:cc:dd:ee:02"), 2), 0);
        assert_eq!(key4(None, &[]), None);
    }
}
