//! A bounded, deterministic mutation run over real configurations on the stable toolchain
//! (libFuzzer via cargo-fuzz runs in CI when nightly is present): no input may panic.

use std::path::Path;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\"",
    b"/*",
    b"//",
    b"#",
    b"\\u",
    b"-",
    b".5",
    b"1e99",
    b"99999999999999999999",
    b"null",
    b"\"subnet\": \"192.0.2.0/33\"",
    b"\"pool\": \"1.2.3.4 - 0.0.0.0\"",
    b"\"id\": -1",
    b"\"data\": \"0x\"",
    b"\"code\": 70000",
    b"\"type\": \"record\"",
    b"\n",
];

fn mutate(rng: &mut XorShift, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(5) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                v.splice(at..at, t.iter().copied());
            }
            2 if at < v.len() => {
                let n = rng.below(16).min(v.len() - at);
                v.drain(at..at + n);
            }
            3 => v.truncate(at),
            _ => {
                let n = rng.below(64);
                let src = rng.below(seed.len().max(1));
                let end = (src + n).min(seed.len());
                let chunk = seed[src.min(end)..end].to_vec();
                v.splice(at..at, chunk);
            }
        }
    }
    v
}

#[test]
fn mutated_configurations_never_panic() {
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["tests/fixtures/broken", "tests/fixtures/good/modular", "config"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
            seeds.push(std::fs::read(e.path()).unwrap());
        }
    }
    for dir in ["kea4", "kea6", "ddns", "agent"] {
        if let Ok(rd) = std::fs::read_dir(Path::new("/usr/share/doc/kea/examples").join(dir)) {
            for e in rd.flatten() {
                let b = std::fs::read(e.path()).unwrap();
                if b.len() < 20_000 {
                    seeds.push(b);
                }
            }
        }
    }
    assert!(seeds.len() > 10);
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let rounds = 30_000;
    for i in 0..rounds {
        let seed = &seeds[i % seeds.len()];
        let input = mutate(&mut rng, seed);
        kakapo::config::fuzz::text(&input);
        kakapo::config::fuzz::model(&input);
    }
}
