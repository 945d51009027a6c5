//! Sampling: how one token is chosen from a row of logits.
//!
//! The model gives a score (logit) for every token of the vocabulary. Picking
//! the highest is *greedy* decoding: deterministic, and prone to loops. Drawing
//! from the softmax of the logits is livelier but sometimes picks nonsense from
//! the long tail. The samplers below sit between the two; they run as a chain
//! over a list of `(token id, logit)` candidates, in llama.cpp's default order:
//!
//! 0. [`logit_bias`] — add a fixed amount to chosen tokens' logits (a large
//!    negative one bans a token), as the OpenAI API's `logit_bias`;
//! 1. [`penalties`] — make recently seen tokens less likely;
//! 2. [`top_k`] — keep the `k` best candidates (and sort them);
//! 3. [`top_p`] — keep the smallest set holding probability mass `p`;
//! 4. [`min_p`] — drop candidates far less likely than the best one;
//! 5. [`temperature`] — sharpen (< 1) or flatten (> 1) what is left;
//! 6. draw one candidate from the softmax with a seeded random generator.
//!
//! Everything here works on plain `&[f32]`, one logit per vocabulary entry.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// One candidate token: its id and its (possibly adjusted) logit.
pub type Candidate = (u32, f32);

/// The knobs of the sampling chain. The defaults are llama.cpp's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplerConfig {
    /// Divides the logits before the draw; `<= 0` means greedy (argmax).
    pub temperature: f32,
    /// Keep only the `top_k` highest logits; 0 turns it off.
    pub top_k: usize,
    /// Nucleus sampling: keep the smallest set of tokens whose probability
    /// adds up to at least `top_p`; in (0, 1], 1 turns it off.
    pub top_p: f32,
    /// Drop tokens whose probability is below `min_p` times the best one's;
    /// in [0, 1], 0 turns it off.
    pub min_p: f32,
    /// Repetition penalty (CTRL-style) for tokens among the last
    /// `repeat_last_n`; > 0, 1 turns it off.
    pub repeat_penalty: f32,
    /// Subtracted once per occurrence in the last `repeat_last_n` tokens.
    pub frequency_penalty: f32,
    /// Subtracted once if the token occurs in the last `repeat_last_n` tokens.
    pub presence_penalty: f32,
    /// How many of the most recent tokens the penalties look at; 0 = none.
    pub repeat_last_n: usize,
    /// Seed of the random generator: the same seed reproduces a run.
    pub seed: u64,
    /// `(token id, bias)`: added to that token's logit before anything else
    /// (llama.cpp's first sampler); ids outside the vocabulary are ignored.
    pub logit_bias: Vec<(u32, f32)>,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig {
            temperature: 0.8,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repeat_penalty: 1.0,
            frequency_penalty: 0.0,
            presence_penalty: 0.0,
            repeat_last_n: 64,
            seed: 42,
            logit_bias: Vec::new(),
        }
    }
}

/// A sampler setting outside its valid range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("sampler setting `{name}` must be {expected}, got {value}")]
pub struct SamplerError {
    pub name: &'static str,
    pub value: f32,
    pub expected: &'static str,
}

impl SamplerConfig {
    /// Greedy decoding: always the most likely token (after penalties).
    pub fn greedy() -> Self {
        SamplerConfig {
            temperature: 0.0,
            ..SamplerConfig::default()
        }
    }

    /// Checks every setting's range; NaN is never valid.
    pub fn validate(&self) -> Result<(), SamplerError> {
        let check = |name, value: f32, ok: bool, expected| {
            if ok && !value.is_nan() {
                Ok(())
            } else {
                Err(SamplerError {
                    name,
                    value,
                    expected,
                })
            }
        };
        check(
            "temperature",
            self.temperature,
            self.temperature.is_finite(),
            "finite",
        )?;
        check(
            "top_p",
            self.top_p,
            self.top_p > 0.0 && self.top_p <= 1.0,
            "in (0, 1]",
        )?;
        check(
            "min_p",
            self.min_p,
            (0.0..=1.0).contains(&self.min_p),
            "in [0, 1]",
        )?;
        let repeat = self.repeat_penalty;
        check(
            "repeat_penalty",
            repeat,
            repeat > 0.0 && repeat.is_finite(),
            "finite and > 0",
        )?;
        let freq = self.frequency_penalty;
        check("frequency_penalty", freq, freq.is_finite(), "finite")?;
        let presence = self.presence_penalty;
        check("presence_penalty", presence, presence.is_finite(), "finite")?;
        for &(_, bias) in &self.logit_bias {
            check("logit_bias", bias, bias.is_finite(), "finite")?;
        }
        Ok(())
    }
}

/// The sampling chain plus its random generator.
#[derive(Debug, Clone)]
pub struct Sampler {
    config: SamplerConfig,
    rng: Xoshiro256StarStar,
}

impl Sampler {
    /// A sampler for `config`, which is validated first.
    pub fn new(config: SamplerConfig) -> Result<Self, SamplerError> {
        config.validate()?;
        let rng = Xoshiro256StarStar::seed_from_u64(config.seed);
        Ok(Sampler { config, rng })
    }

    pub fn config(&self) -> &SamplerConfig {
        &self.config
    }

    /// Chooses the next token from one row of `logits` (one per vocabulary
    /// entry); `history` is every token so far (prompt included), for the
    /// penalties.
    ///
    /// Never panics. NaN logits count as `-inf` and `+inf` as `f32::MAX`.
    /// If no logit is above `-inf` there is nothing to go by: the result is
    /// then the lowest id, 0 — as it is for an empty `logits`.
    /// History ids outside the vocabulary are ignored.
    pub fn sample(&mut self, logits: &[f32], history: &[u32]) -> u32 {
        match self.chain(logits, history) {
            Chosen::Greedy(id) => id,
            Chosen::Draw(cands) => self.draw(&cands),
        }
    }

    /// The distribution [`Sampler::sample`] draws from: each surviving
    /// candidate with its probability, best first (greedy: one token with
    /// probability 1). What llama.cpp reports as its post-sampling
    /// probabilities, and what the tests compare with it.
    pub fn probabilities(&self, logits: &[f32], history: &[u32]) -> Vec<(u32, f32)> {
        match self.chain(logits, history) {
            Chosen::Greedy(id) => vec![(id, 1.0)],
            Chosen::Draw(cands) => cands
                .iter()
                .map(|&(id, _)| id)
                .zip(softmax(&cands))
                .collect(),
        }
    }

    /// The chain up to the draw, in llama.cpp's default order.
    fn chain(&self, logits: &[f32], history: &[u32]) -> Chosen {
        let mut cands = candidates(logits);
        logit_bias(&mut cands, &self.config.logit_bias);
        penalties(&mut cands, history, &self.config);
        let hopeless = cands.iter().all(|&(_, logit)| logit == f32::NEG_INFINITY);
        if self.config.temperature <= 0.0 || hopeless {
            return Chosen::Greedy(greedy(&cands));
        }
        top_k(&mut cands, self.config.top_k);
        top_p(&mut cands, self.config.top_p);
        min_p(&mut cands, self.config.min_p);
        temperature(&mut cands, self.config.temperature);
        Chosen::Draw(cands)
    }

    /// Draws one candidate with probability softmax(logit).
    fn draw(&mut self, cands: &[Candidate]) -> u32 {
        // unnormalised weights; scaling the uniform draw by their total
        // spares a division per candidate
        let max = max_logit(cands);
        let weights: Vec<f64> = cands
            .iter()
            .map(|&(_, l)| f64::from(l - max).exp())
            .collect();
        let total: f64 = weights.iter().sum();
        let target = self.rng.next_f64() * total;
        let mut cumulative = 0.0;
        for (&(id, _), &w) in cands.iter().zip(&weights) {
            cumulative += w;
            if target < cumulative {
                return id;
            }
        }
        // rounding left `target` at the very top: take the last possible token
        let last = cands.iter().zip(&weights).rev().find(|&(_, &w)| w > 0.0);
        last.map_or(0, |(&(id, _), _)| id)
    }
}

/// What the chain leaves: a token already chosen (greedy draws no random
/// number), or the candidates to draw from.
enum Chosen {
    Greedy(u32),
    Draw(Vec<Candidate>),
}

/// One candidate per logit, in id order, with NaN made `-inf` and `+inf`
/// made the largest finite value (so that `logit - max` stays a number).
pub fn candidates(logits: &[f32]) -> Vec<Candidate> {
    let sane = |l: f32| {
        if l.is_nan() {
            f32::NEG_INFINITY
        } else {
            l.min(f32::MAX)
        }
    };
    logits
        .iter()
        .enumerate()
        .map(|(id, &l)| (id as u32, sane(l)))
        .collect()
}

/// Best first; equal logits by lowest id, so that every order is reproducible.
fn by_logit_desc(a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

fn max_logit(cands: &[Candidate]) -> f32 {
    cands
        .iter()
        .map(|&(_, l)| l)
        .fold(f32::NEG_INFINITY, f32::max)
}

// ANCHOR: greedy
/// Greedy decoding: the highest logit; on a tie, the lowest id. 0 if empty.
pub fn greedy(cands: &[Candidate]) -> u32 {
    cands
        .iter()
        .min_by(|a, b| by_logit_desc(a, b))
        .map_or(0, |&(id, _)| id)
}
// ANCHOR_END: greedy

/// Probabilities of the candidates: softmax of their logits, computed after
/// subtracting the largest so that `exp` cannot overflow. If every logit is
/// `-inf` the distribution is taken to be uniform.
pub fn softmax(cands: &[Candidate]) -> Vec<f32> {
    let max = max_logit(cands);
    if max == f32::NEG_INFINITY {
        return vec![1.0 / cands.len() as f32; cands.len()];
    }
    let exps: Vec<f64> = cands
        .iter()
        .map(|&(_, l)| f64::from(l - max).exp())
        .collect();
    let total: f64 = exps.iter().sum();
    exps.iter().map(|&e| (e / total) as f32).collect()
}

/// Adds each `(id, bias)` to that token's logit. A bias of -100 (the
/// OpenAI API's floor) puts a token far below any real one: banned in
/// practice. Expects `cands` in id order.
pub fn logit_bias(cands: &mut [Candidate], bias: &[(u32, f32)]) {
    for &(id, b) in bias {
        if let Some((_, logit)) = cands.get_mut(id as usize) {
            *logit += b;
        }
    }
}

// ANCHOR: penalties
/// Makes tokens seen among the last `repeat_last_n` of `history` less likely.
///
/// * repetition (CTRL, as llama.cpp): a positive logit is divided by the
///   penalty, a negative one multiplied — both move towards "less likely";
/// * frequency and presence (as the OpenAI API): subtract
///   `count * frequency_penalty + presence_penalty` from the logit.
///
/// Expects `cands` in id order (as [`candidates`] makes them).
pub fn penalties(cands: &mut [Candidate], history: &[u32], config: &SamplerConfig) {
    let recent = &history[history.len().saturating_sub(config.repeat_last_n)..];
    let off = config.repeat_penalty == 1.0
        && config.frequency_penalty == 0.0
        && config.presence_penalty == 0.0;
    if recent.is_empty() || off {
        return;
    }
    let mut counts: HashMap<u32, u32> = HashMap::new();
    for &id in recent {
        *counts.entry(id).or_default() += 1;
    }
    for (id, count) in counts {
        let Some((_, logit)) = cands.get_mut(id as usize) else {
            continue;
        };
        if *logit <= 0.0 {
            *logit *= config.repeat_penalty;
        } else {
            *logit /= config.repeat_penalty;
        }
        *logit -= count as f32 * config.frequency_penalty + config.presence_penalty;
    }
}
// ANCHOR_END: penalties

/// Keeps the `k` highest logits (all if `k` is 0) and sorts them best first.
/// The later steps rely on that order.
pub fn top_k(cands: &mut Vec<Candidate>, k: usize) {
    if k > 0 && k < cands.len() {
        // a partial sort: only the k best need ordering
        cands.select_nth_unstable_by(k - 1, by_logit_desc);
        cands.truncate(k);
    }
    cands.sort_unstable_by(by_logit_desc);
}

// ANCHOR: top_p
/// Nucleus sampling: keeps the smallest prefix of the (sorted, best first)
/// candidates whose probability adds up to at least `p`, and at least one.
pub fn top_p(cands: &mut Vec<Candidate>, p: f32) {
    if p >= 1.0 {
        return;
    }
    let mut mass = 0.0;
    let keep = softmax(cands).iter().position(|&prob| {
        mass += prob;
        mass >= p
    });
    cands.truncate(keep.map_or(cands.len(), |i| i + 1));
}
// ANCHOR_END: top_p

/// Drops candidates with probability below `min_p` times the best one's.
/// In logits: `p_i / p_max = exp(l_i - l_max)`, so the test needs no softmax.
/// Expects `cands` sorted best first; the best always stays.
pub fn min_p(cands: &mut Vec<Candidate>, min_p: f32) {
    if min_p <= 0.0 || cands.is_empty() {
        return;
    }
    let threshold = cands[0].1 + min_p.ln();
    let keep = cands
        .iter()
        .position(|&(_, l)| l < threshold)
        .unwrap_or(cands.len());
    cands.truncate(keep.max(1));
}

// ANCHOR: temperature
/// Divides the logits by `t`: below 1 the best tokens pull further ahead,
/// above 1 the distribution flattens. The largest logit is subtracted first
/// (softmax does not change) so that a tiny `t` sends the others to `-inf`
/// — the limit is greedy — instead of overflowing to `+inf`.
pub fn temperature(cands: &mut [Candidate], t: f32) {
    let max = max_logit(cands);
    for (_, logit) in cands.iter_mut() {
        *logit = (*logit - max) / t;
    }
}
// ANCHOR_END: temperature

/// A seed gathered from the OS's hash randomisation, for runs that need not
/// be reproducible (`SamplerConfig { seed: entropy_seed(), .. }`).
pub fn entropy_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

// ANCHOR: rng
/// xoshiro256** (Blackman & Vigna), seeded through splitmix64 as its authors
/// advise. Written out here rather than taken from a crate so that a seed
/// gives the same tokens on every platform and with every dependency version.
#[derive(Debug, Clone)]
struct Xoshiro256StarStar {
    s: [u64; 4],
}

impl Xoshiro256StarStar {
    fn seed_from_u64(seed: u64) -> Self {
        let mut state = seed;
        let mut splitmix64 = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Xoshiro256StarStar {
            s: [splitmix64(), splitmix64(), splitmix64(), splitmix64()],
        }
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1): the top 53 bits as the fraction of an f64.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}
// ANCHOR_END: rng

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain sampling: every filter off, temperature `t`.
    fn plain(t: f32, seed: u64) -> Sampler {
        let config = SamplerConfig {
            temperature: t,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            seed,
            ..Default::default()
        };
        Sampler::new(config).unwrap()
    }

    fn ids(cands: &[Candidate]) -> Vec<u32> {
        cands.iter().map(|&(id, _)| id).collect()
    }

    /// Logits whose softmax is exactly `probs`.
    fn logits_of(probs: &[f64]) -> Vec<f32> {
        probs.iter().map(|p| p.ln() as f32).collect()
    }

    /// Reference softmax of `logits / t`, in f64.
    fn reference_probs(logits: &[f32], t: f64) -> Vec<f64> {
        let max = logits.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
        let e: Vec<f64> = logits
            .iter()
            .map(|&l| ((l as f64 - max) / t).exp())
            .collect();
        let total: f64 = e.iter().sum();
        e.iter().map(|x| x / total).collect()
    }

    fn counts(sampler: &mut Sampler, logits: &[f32], n: usize) -> Vec<usize> {
        let mut c = vec![0; logits.len()];
        for _ in 0..n {
            c[sampler.sample(logits, &[]) as usize] += 1;
        }
        c
    }

    /// Pearson's chi-square statistic of observed counts against `probs`.
    fn chi_square(observed: &[usize], probs: &[f64]) -> f64 {
        let n: usize = observed.iter().sum();
        observed
            .iter()
            .zip(probs)
            .map(|(&o, &p)| (o as f64 - n as f64 * p).powi(2) / (n as f64 * p))
            .sum()
    }

    // 99.9% quantile of chi-square with 4 degrees of freedom
    const CHI2_4DF_999: f64 = 18.467;

    /// Logits from the sampler's own generator, for tests that need many.
    fn random_logits(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = Xoshiro256StarStar::seed_from_u64(seed);
        (0..n)
            .map(|_| (rng.next_f64() * 20.0 - 10.0) as f32)
            .collect()
    }

    #[test]
    fn greedy_picks_the_argmax_and_the_lowest_id_on_ties() {
        let mut s = Sampler::new(SamplerConfig::greedy()).unwrap();
        assert_eq!(s.sample(&[0.1, 2.5, -3.0, 2.4], &[]), 1);
        assert_eq!(s.sample(&[1.0, 3.0, 0.0, 3.0], &[]), 1);
        assert_eq!(s.sample(&[-5.0, -1.0, -2.0], &[]), 1);
        let logits = random_logits(1000, 7);
        let argmax = (0..1000)
            .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
            .unwrap() as u32;
        assert_eq!(s.sample(&logits, &[]), argmax);
    }

    #[test]
    fn greedy_applies_penalties_first() {
        let config = SamplerConfig {
            repeat_penalty: 2.0,
            ..SamplerConfig::greedy()
        };
        let mut s = Sampler::new(config).unwrap();
        // 3.0 / 2 = 1.5 < 2.0
        assert_eq!(s.sample(&[2.0, 3.0], &[1]), 0);
    }

    #[test]
    fn top_k_of_one_is_greedy() {
        let config = SamplerConfig {
            top_k: 1,
            temperature: 1.5,
            top_p: 1.0,
            min_p: 0.0,
            ..Default::default()
        };
        let mut s = Sampler::new(config).unwrap();
        let mut g = Sampler::new(SamplerConfig::greedy()).unwrap();
        for seed in 0..50 {
            let logits = random_logits(500, seed);
            assert_eq!(s.sample(&logits, &[]), g.sample(&logits, &[]));
        }
    }

    #[test]
    fn top_k_keeps_the_k_best_sorted() {
        let mut c = candidates(&[0.5, 3.0, -1.0, 2.0, 3.0, 0.0]);
        top_k(&mut c, 3);
        assert_eq!(c, vec![(1, 3.0), (4, 3.0), (3, 2.0)]);
        let mut all = candidates(&[0.5, 3.0, -1.0]);
        top_k(&mut all, 0);
        assert_eq!(ids(&all), vec![1, 0, 2]);
    }

    #[test]
    fn top_p_keeps_the_nucleus() {
        // probabilities 0.5, 0.25, 0.15, 0.1 (ids 2, 0, 3, 1 once sorted)
        let logits = logits_of(&[0.25, 0.1, 0.5, 0.15]);
        let nucleus = |p: f32| {
            let mut c = candidates(&logits);
            top_k(&mut c, 0);
            top_p(&mut c, p);
            ids(&c)
        };
        assert_eq!(nucleus(0.3), vec![2]); // 0.5 >= 0.3
        assert_eq!(nucleus(0.5 + 1e-4), vec![2, 0]); // 0.75
        assert_eq!(nucleus(0.7), vec![2, 0]);
        assert_eq!(nucleus(0.8), vec![2, 0, 3]); // 0.9
        assert_eq!(nucleus(0.95), vec![2, 0, 3, 1]);
        assert_eq!(nucleus(1.0), vec![2, 0, 3, 1]);
        assert_eq!(nucleus(1e-6), vec![2]); // always at least one
    }

    #[test]
    fn top_p_draws_only_from_the_nucleus_in_proportion() {
        // nucleus for p = 0.7 is {2, 0} with renormalised probabilities 2/3, 1/3
        let logits = logits_of(&[0.25, 0.1, 0.5, 0.15]);
        let config = SamplerConfig {
            temperature: 1.0,
            top_k: 0,
            top_p: 0.7,
            min_p: 0.0,
            ..Default::default()
        };
        let mut s = Sampler::new(config).unwrap();
        let c = counts(&mut s, &logits, 30_000);
        assert_eq!((c[1], c[3]), (0, 0));
        let frac = c[2] as f64 / 30_000.0;
        assert!((frac - 2.0 / 3.0).abs() < 0.01, "{frac}");
    }

    #[test]
    fn min_p_drops_tokens_far_below_the_best() {
        // probabilities 0.5, 0.3, 0.12, 0.06, 0.02: min_p 0.2 keeps p >= 0.1
        let logits = logits_of(&[0.12, 0.5, 0.02, 0.3, 0.06]);
        let kept = |m: f32| {
            let mut c = candidates(&logits);
            top_k(&mut c, 0);
            min_p(&mut c, m);
            ids(&c)
        };
        assert_eq!(kept(0.2), vec![1, 3, 0]);
        assert_eq!(kept(0.1), vec![1, 3, 0, 4]); // 0.06 >= 0.05
        assert_eq!(kept(0.5), vec![1, 3]); // 0.3 >= 0.25
        assert_eq!(kept(1.0), vec![1]);
        assert_eq!(kept(0.0), vec![1, 3, 0, 4, 2]);
    }

    #[test]
    fn plain_sampling_follows_the_softmax() {
        let logits = [2.0, 1.0, 0.5, 0.0, -1.0];
        for t in [0.5f32, 1.0, 2.0] {
            let c = counts(&mut plain(t, 1), &logits, 20_000);
            let chi2 = chi_square(&c, &reference_probs(&logits, t as f64));
            assert!(chi2 < CHI2_4DF_999, "t={t}: chi2 {chi2}, counts {c:?}");
        }
    }

    #[test]
    fn high_temperature_flattens_low_temperature_sharpens() {
        let logits = [2.0, 1.0, 0.5, 0.0, -1.0];
        // near-uniform at t = 100, and the draws agree
        let c = counts(&mut plain(100.0, 2), &logits, 20_000);
        assert!(chi_square(&c, &[0.2; 5]) < CHI2_4DF_999, "{c:?}");
        // the best token's share falls as t rises
        let best: Vec<usize> = [0.25f32, 0.5, 1.0, 2.0, 100.0]
            .iter()
            .map(|&t| counts(&mut plain(t, 3), &logits, 5000)[0])
            .collect();
        assert!(best.windows(2).all(|w| w[0] > w[1]), "{best:?}");
        // t -> 0 is greedy
        for t in [1e-3f32, 1e-20, f32::MIN_POSITIVE] {
            assert_eq!(counts(&mut plain(t, 4), &logits, 1000)[0], 1000, "t={t}");
        }
    }

    #[test]
    fn the_seed_reproduces_the_run() {
        let logits = random_logits(100, 9);
        let run = |seed| {
            let mut s = plain(1.0, seed);
            (0..200).map(|_| s.sample(&logits, &[])).collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }

    #[test]
    fn penalties_match_hand_computed_logits() {
        let config = SamplerConfig {
            repeat_penalty: 2.0,
            frequency_penalty: 0.1,
            presence_penalty: 0.5,
            repeat_last_n: 4,
            ..Default::default()
        };
        let mut c = candidates(&[2.0, -1.0, 0.5, 3.0]);
        // only the last 4 count: id 1 once, id 3 three times; id 0 is too old
        penalties(&mut c, &[0, 1, 3, 3, 3], &config);
        let expected = [
            2.0,                           // unseen
            -2.0 - (0.1 + 0.5),            // negative: -1 multiplied by 2
            0.5,                           // unseen
            3.0 / 2.0 - (3.0 * 0.1 + 0.5), // positive: divided
        ];
        for ((_, got), want) in c.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{c:?}");
        }
    }

    #[test]
    fn logit_bias_comes_first_and_bans_or_forces() {
        // +5 on id 2: 0.5 + 5 beats 3.0, so greedy picks it
        let config = SamplerConfig {
            logit_bias: vec![(2, 5.0), (99, 1.0)],
            ..SamplerConfig::greedy()
        };
        let mut s = Sampler::new(config).unwrap();
        assert_eq!(s.sample(&[2.0, -1.0, 0.5, 3.0], &[]), 2);
        // -100 on the best of random logits in [-10, 10): never drawn at t = 1
        let logits = random_logits(50, 11);
        let best = greedy(&candidates(&logits));
        let config = SamplerConfig {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            logit_bias: vec![(best, -100.0)],
            ..Default::default()
        };
        let mut s = Sampler::new(config.clone()).unwrap();
        assert!((0..5000).all(|_| s.sample(&logits, &[]) != best));
        // the distribution is the softmax of logit + bias
        let probs = s.probabilities(&logits, &[]);
        let mut biased = logits.clone();
        biased[best as usize] -= 100.0;
        let want = reference_probs(&biased, 1.0);
        for (id, p) in probs {
            assert!((p as f64 - want[id as usize]).abs() < 1e-6, "{id}");
        }
        // before the penalties: (2 + 2) / 2 = 2 < 2.5
        let config = SamplerConfig {
            logit_bias: vec![(0, 2.0)],
            repeat_penalty: 2.0,
            ..SamplerConfig::greedy()
        };
        let mut s = Sampler::new(config).unwrap();
        assert_eq!(s.sample(&[2.0, 2.5], &[0]), 1);
        let bad = SamplerConfig {
            logit_bias: vec![(0, f32::NAN)],
            ..Default::default()
        };
        assert_eq!(bad.validate().unwrap_err().name, "logit_bias");
    }

    #[test]
    fn penalties_are_off_by_default_and_ignore_unknown_ids() {
        let logits = [2.0, -1.0, 0.5];
        let mut c = candidates(&logits);
        penalties(&mut c, &[0, 1, 2, 2], &SamplerConfig::default());
        assert_eq!(c, candidates(&logits));
        let config = SamplerConfig {
            repeat_penalty: 1.3,
            repeat_last_n: 0,
            ..Default::default()
        };
        penalties(&mut c, &[0, 1, 2], &config);
        assert_eq!(c, candidates(&logits));
        let config = SamplerConfig {
            presence_penalty: 1.0,
            ..Default::default()
        };
        penalties(&mut c, &[7, u32::MAX, 2], &config);
        assert_eq!(c, vec![(0, 2.0), (1, -1.0), (2, -0.5)]);
    }

    #[test]
    fn degenerate_logits_do_not_panic() {
        let nan = f32::NAN;
        let ninf = f32::NEG_INFINITY;
        for mut s in [
            Sampler::new(SamplerConfig::default()).unwrap(),
            Sampler::new(SamplerConfig::greedy()).unwrap(),
            plain(1.0, 0),
        ] {
            // nothing to go by: the lowest id
            assert_eq!(s.sample(&[nan, nan, nan], &[1]), 0);
            assert_eq!(s.sample(&[ninf, ninf], &[]), 0);
            assert_eq!(s.sample(&[nan, ninf], &[]), 0);
            assert_eq!(s.sample(&[], &[3]), 0);
            // the one real logit wins
            for _ in 0..20 {
                assert_eq!(s.sample(&[nan, ninf, -50.0, nan], &[]), 2);
            }
            // +inf beats everything finite
            assert_eq!(s.sample(&[1e30, f32::INFINITY, 0.0], &[]), 1);
            assert_eq!(s.sample(&[f32::MAX, -f32::MAX, 0.0], &[0, 1, 2]), 0);
        }
    }

    #[test]
    fn softmax_is_stable_for_large_logits() {
        let p = softmax(&candidates(&[1000.0, 1000.0, -1000.0]));
        assert_eq!(p, vec![0.5, 0.5, 0.0]);
        assert_eq!(softmax(&candidates(&[f32::NEG_INFINITY; 4])), vec![0.25; 4]);
    }

    #[test]
    fn validate_rejects_bad_settings() {
        let bad = [
            SamplerConfig {
                top_p: 0.0,
                ..Default::default()
            },
            SamplerConfig {
                top_p: 1.5,
                ..Default::default()
            },
            SamplerConfig {
                top_p: f32::NAN,
                ..Default::default()
            },
            SamplerConfig {
                min_p: -0.1,
                ..Default::default()
            },
            SamplerConfig {
                min_p: 1.1,
                ..Default::default()
            },
            SamplerConfig {
                temperature: f32::NAN,
                ..Default::default()
            },
            SamplerConfig {
                temperature: f32::INFINITY,
                ..Default::default()
            },
            SamplerConfig {
                repeat_penalty: 0.0,
                ..Default::default()
            },
            SamplerConfig {
                repeat_penalty: -1.0,
                ..Default::default()
            },
            SamplerConfig {
                frequency_penalty: f32::NAN,
                ..Default::default()
            },
            SamplerConfig {
                presence_penalty: f32::INFINITY,
                ..Default::default()
            },
        ];
        for config in bad {
            assert!(Sampler::new(config.clone()).is_err(), "{config:?}");
        }
        let err = SamplerConfig {
            top_p: 2.0,
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "sampler setting `top_p` must be in (0, 1], got 2"
        );
        assert!(SamplerConfig::default().validate().is_ok());
        assert!(
            SamplerConfig {
                temperature: -1.0,
                top_p: 1.0,
                min_p: 0.0,
                ..Default::default()
            }
            .validate()
            .is_ok()
        );
    }

    #[test]
    fn rng_matches_the_rand_xoshiro_reference() {
        use rand_xoshiro::Xoshiro256StarStar as Reference;
        use rand_xoshiro::rand_core::{RngCore, SeedableRng};
        for seed in [0, 1, 42, u64::MAX] {
            let mut ours = Xoshiro256StarStar::seed_from_u64(seed);
            let mut reference = Reference::seed_from_u64(seed);
            for _ in 0..1000 {
                assert_eq!(ours.next_u64(), reference.next_u64());
            }
        }
    }

    #[test]
    fn uniform_draws_stay_in_the_unit_interval() {
        let mut rng = Xoshiro256StarStar::seed_from_u64(3);
        let draws: Vec<f64> = (0..10_000).map(|_| rng.next_f64()).collect();
        assert!(draws.iter().all(|&u| (0.0..1.0).contains(&u)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
    }
}
