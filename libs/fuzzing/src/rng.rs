//! The generators' source of numbers, and byte mutations of generated text.

/// SplitMix64: small, fast and good enough to drive a generator. Everything a driver makes
/// follows from one 64-bit seed and the input's index.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The generator of input `index` of `seed`.
    pub fn for_input(seed: u64, index: u64) -> Rng {
        Rng::new(seed ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// One of `items`, which must not be empty.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// One to four byte mutations of `bytes`: a flipped bit, a deleted run, a repeated chunk, a
/// random byte, or one of `tokens` (the target's syntax: delimiters, keywords) inserted.
pub fn mutate_bytes(rng: &mut Rng, bytes: &mut Vec<u8>, tokens: &[&str]) {
    for _ in 0..1 + rng.below(4) {
        let len = bytes.len();
        let at = rng.below(len + 1);
        match rng.below(5) {
            0 if len > 0 => {
                let i = rng.below(len);
                bytes[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let end = (at + rng.below(8)).min(len);
                bytes.drain(at..end);
            }
            2 if len > 0 => {
                let end = (at + 1 + rng.below(16)).min(len);
                let chunk: Vec<u8> = bytes[at..end].to_vec();
                for _ in 0..1 + rng.below(3) {
                    bytes.splice(end..end, chunk.iter().copied());
                }
            }
            3 if len > 0 => {
                let i = rng.below(len);
                bytes[i] = rng.next_u64() as u8;
            }
            _ if !tokens.is_empty() => {
                let token = rng.pick(tokens).as_bytes();
                bytes.splice(at..at, token.iter().copied());
            }
            _ => bytes.insert(at, rng.next_u64() as u8),
        }
    }
}

/// [`mutate_bytes`] on text; bytes that are no longer UTF-8 become U+FFFD.
pub fn mutate_string(rng: &mut Rng, text: &mut String, tokens: &[&str]) {
    let mut bytes = std::mem::take(text).into_bytes();
    mutate_bytes(rng, &mut bytes, tokens);
    *text = String::from_utf8_lossy(&bytes).into_owned();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_numbers() {
        let (mut a, mut b) = (Rng::for_input(7, 3), Rng::for_input(7, 3));
        let first: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        assert_eq!(first, (0..8).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(first, (0..8).map(|_| Rng::for_input(7, 4).next_u64()).collect::<Vec<_>>());
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = Rng::new(1);
        assert_eq!(rng.below(0), 0);
        assert!((0..10_000).all(|_| rng.below(7) < 7));
        let hits = (0..10_000).filter(|_| rng.chance(25)).count();
        assert!((2_000..3_000).contains(&hits), "{hits}");
    }

    #[test]
    fn mutations_change_the_bytes_and_use_the_tokens() {
        let mut rng = Rng::new(9);
        let original = b"<presence entity=\"sip:a@b\"/>".to_vec();
        let (mut changed, mut with_token) = (0, 0);
        for _ in 0..1_000 {
            let mut bytes = original.clone();
            mutate_bytes(&mut rng, &mut bytes, &["@@TOKEN@@"]);
            changed += usize::from(bytes != original);
            with_token += usize::from(bytes.windows(9).any(|w| w == b"@@TOKEN@@"));
        }
        assert!(changed > 900 && with_token > 100, "{changed} {with_token}");
        let mut empty = Vec::new();
        mutate_bytes(&mut rng, &mut empty, &[]);
        assert!(!empty.is_empty());
        let mut text = String::from("abc");
        mutate_string(&mut rng, &mut text, &["\u{ff}"]);
        assert_ne!(text, "abc");
    }
}
