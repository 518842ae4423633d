//! geochip's own, fully specified random numbers, so the same seed gives the same chips in the
//! browser (wasm32) and natively, on every platform and in every future version.
//!
//! * [`SplitMix64`] (Steele, Lea & Flood 2014; Vigna's `splitmix64.c`): the state advances by
//!   the golden-ratio constant `0x9E3779B97F4A7C15` and each output is the state run through
//!   the 64-bit finaliser `z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
//!   z = (z ^ (z >> 27)) * 0x94D049BB133111EB; z ^ (z >> 31)` (all arithmetic wrapping).
//! * Bounded integers ([`SplitMix64::below`]): Lemire's multiply-shift with rejection
//!   (unbiased): `m = x · n` as a 128-bit product; while the low 64 bits are below
//!   `2⁶⁴ mod n`, draw a new `x`; the answer is the high 64 bits.
//! * Sub-streams ([`stream_key`]): stream `k` of seed `s` is the `(k+1)`-th output of
//!   `SplitMix64(s)`, computed in O(1) as `mix(s + (k+1)·γ)`. A random chip `i` draws from
//!   `SplitMix64(stream_key(seed, i))`; the shuffle of epoch `e` takes its round keys from
//!   `SplitMix64(stream_key(seed, e))`. Random access never needs earlier draws.
//! * [`Permutation`]: a keyed bijection of `[0, n)` evaluated per index in O(1) memory: a
//!   balanced Feistel network of [`Permutation::ROUNDS`] rounds on `2h` bits (`h` the smallest
//!   half-width with `2^(2h) ≥ n`, at least 1), round function `mix(R ^ key_r) & (2^h − 1)`,
//!   `(L, R) ← (R, L ^ F(R))`, with cycle-walking (re-encrypt while the result is `≥ n`, fewer
//!   than 4 steps on average). This shuffles 10⁸ chips without storing a permutation.

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 finaliser (a bijection of `u64`).
///
/// ```
/// assert_eq!(geochip::slice::rng::mix(0), 0);
/// assert_eq!(geochip::slice::rng::mix(0x9E37_79B9_7F4A_7C15), 16294208416658607535);
/// ```
pub const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The key of sub-stream `k` of `seed`: the `(k+1)`-th output of `SplitMix64::new(seed)`.
///
/// ```
/// use geochip::slice::rng::{stream_key, SplitMix64};
/// let mut g = SplitMix64::new(7);
/// let third = { g.next_u64(); g.next_u64(); g.next_u64() };
/// assert_eq!(stream_key(7, 2), third);
/// ```
pub const fn stream_key(seed: u64, k: u64) -> u64 {
    mix(seed.wrapping_add(k.wrapping_add(1).wrapping_mul(GAMMA)))
}

/// The SplitMix64 generator (see the module docs for the exact algorithm).
///
/// ```
/// // Reference outputs of Vigna's splitmix64.c seeded with 1234567.
/// let mut g = geochip::slice::rng::SplitMix64::new(1234567);
/// assert_eq!(g.next_u64(), 6457827717110365317);
/// assert_eq!(g.next_u64(), 3203168211198807973);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose state starts at `seed`.
    ///
    /// ```
    /// let a = geochip::slice::rng::SplitMix64::new(1);
    /// assert_ne!(a, geochip::slice::rng::SplitMix64::new(2));
    /// ```
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    ///
    /// ```
    /// let mut g = geochip::slice::rng::SplitMix64::new(0);
    /// assert_eq!(g.next_u64(), 16294208416658607535);
    /// ```
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }

    /// A uniform integer in `[0, n)` (Lemire's method with rejection, unbiased); 0 when `n` is 0.
    ///
    /// ```
    /// let mut g = geochip::slice::rng::SplitMix64::new(42);
    /// for _ in 0..100 {
    ///     assert!(g.below(7) < 7);
    /// }
    /// assert_eq!(g.below(0), 0);
    /// ```
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        let mut low = m as u64;
        if low < n {
            let threshold = n.wrapping_neg() % n;
            while low < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
                low = m as u64;
            }
        }
        (m >> 64) as u64
    }
}

/// A seeded bijection of `[0, n)` with O(1) memory and O(1) expected time per index (a Feistel
/// network with cycle-walking, see the module docs).
///
/// ```
/// use geochip::slice::rng::Permutation;
/// let p = Permutation::new(10, 42, 0);
/// let mut seen: Vec<u64> = (0..10).map(|i| p.apply(i)).collect();
/// seen.sort();
/// assert_eq!(seen, (0..10).collect::<Vec<_>>());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permutation {
    n: u64,
    half_bits: u32,
    keys: [u64; Permutation::ROUNDS],
}

impl Permutation {
    /// Number of Feistel rounds.
    pub const ROUNDS: usize = 6;

    /// The permutation of `[0, n)` for `seed` and `epoch` (round keys from
    /// `SplitMix64(stream_key(seed, epoch))`).
    ///
    /// ```
    /// use geochip::slice::rng::Permutation;
    /// let a = Permutation::new(1000, 1, 0);
    /// let b = Permutation::new(1000, 1, 1);
    /// assert!((0..1000).any(|i| a.apply(i) != b.apply(i)));
    /// ```
    pub fn new(n: u64, seed: u64, epoch: u64) -> Self {
        let bits = if n <= 1 {
            0
        } else {
            64 - (n - 1).leading_zeros()
        };
        let half_bits = bits.div_ceil(2).max(1);
        let mut g = SplitMix64::new(stream_key(seed, epoch));
        let mut keys = [0u64; Self::ROUNDS];
        for k in &mut keys {
            *k = g.next_u64();
        }
        Self { n, half_bits, keys }
    }

    /// The domain size `n`.
    ///
    /// ```
    /// assert_eq!(geochip::slice::rng::Permutation::new(5, 0, 0).len(), 5);
    /// ```
    pub fn len(&self) -> u64 {
        self.n
    }

    /// True when the domain is empty.
    ///
    /// ```
    /// assert!(geochip::slice::rng::Permutation::new(0, 0, 0).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    fn encrypt(&self, x: u64) -> u64 {
        let h = self.half_bits;
        let mask = (1u64 << h) - 1;
        let (mut l, mut r) = (x >> h, x & mask);
        for key in self.keys {
            let f = mix(r ^ key) & mask;
            (l, r) = (r, l ^ f);
        }
        (l << h) | r
    }

    /// The image of `i` (`i` itself when `i ≥ n`, so the call never loops).
    ///
    /// ```
    /// let p = geochip::slice::rng::Permutation::new(3, 9, 0);
    /// assert!(p.apply(2) < 3);
    /// assert_eq!(p.apply(5), 5);
    /// ```
    pub fn apply(&self, i: u64) -> u64 {
        if i >= self.n || self.n <= 1 {
            return i;
        }
        let mut y = self.encrypt(i);
        while y >= self.n {
            y = self.encrypt(y);
        }
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_outputs() {
        // Vigna's splitmix64.c / Rosetta Code "Pseudo-random numbers/Splitmix64", seed 1234567.
        let mut g = SplitMix64::new(1234567);
        let got: Vec<u64> = (0..5).map(|_| g.next_u64()).collect();
        assert_eq!(
            got,
            vec![
                6457827717110365317,
                3203168211198807973,
                9817491932198370423,
                4593380528125082431,
                16408922859458223821
            ]
        );
        let mut g = SplitMix64::new(0);
        assert_eq!(
            [g.next_u64(), g.next_u64(), g.next_u64()],
            [
                16294208416658607535,
                7960286522194355700,
                487617019471545679
            ]
        );
    }

    #[test]
    fn below_is_roughly_uniform_and_in_range() {
        let mut g = SplitMix64::new(3);
        let mut counts = [0u32; 6];
        for _ in 0..60_000 {
            let v = g.below(6);
            counts[usize::try_from(v).unwrap()] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
        // n = 2^64 - 1 exercises the rejection threshold.
        assert!(g.below(u64::MAX) < u64::MAX);
    }

    #[test]
    fn permutation_is_a_bijection_for_many_sizes() {
        for n in [1u64, 2, 3, 4, 5, 7, 16, 17, 100, 1000, 4097] {
            let p = Permutation::new(n, 11, 2);
            let mut seen = vec![false; usize::try_from(n).unwrap()];
            for i in 0..n {
                let j = usize::try_from(p.apply(i)).unwrap();
                assert!(!seen[j], "n={n}: {j} twice");
                seen[j] = true;
            }
        }
    }

    #[test]
    fn permutation_depends_on_seed_and_epoch_only() {
        let n = 500;
        let a: Vec<u64> = (0..n).map(|i| Permutation::new(n, 5, 0).apply(i)).collect();
        let a2: Vec<u64> = (0..n).map(|i| Permutation::new(n, 5, 0).apply(i)).collect();
        let b: Vec<u64> = (0..n).map(|i| Permutation::new(n, 6, 0).apply(i)).collect();
        let c: Vec<u64> = (0..n).map(|i| Permutation::new(n, 5, 1).apply(i)).collect();
        assert_eq!(a, a2);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, (0..n).collect::<Vec<_>>());
    }

    #[test]
    fn permutation_reference_values() {
        // Pinned outputs: any change to the algorithm changes every user's shuffles.
        let p = Permutation::new(10, 42, 0);
        let got: Vec<u64> = (0..10).map(|i| p.apply(i)).collect();
        assert_eq!(got, PINNED_10_42_0.to_vec());
    }

    /// From an independent Python transcription of the module docs (see
    /// `tests/fixtures/xbatcher/PROVENANCE.md`, `feistel_ref.py`).
    const PINNED_10_42_0: [u64; 10] = [3, 8, 4, 9, 1, 2, 6, 7, 5, 0];
}
