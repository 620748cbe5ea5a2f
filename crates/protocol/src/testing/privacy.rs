//! The privacy check: a party's view of a protocol, and a two-sample test of whether
//! that view depends on what the other parties hold.
//!
//! Semi-honest privacy says a receiver's view can be simulated from what it is entitled
//! to know. Every protocol here is built so that, with the receiver's own seeds, shares
//! and input held fixed, its view is a fresh uniform pad that does not depend on the
//! other parties' secrets. A test therefore:
//!
//! 1. holds fixed everything the receiver knows (its seeds — see
//!    [`trial_seeds`](super::trial_seeds) — its shares, its input);
//! 2. runs `TRIALS` trials with a first assignment of the other parties' secrets and
//!    `TRIALS` more with a second, drawing in each trial afresh only the seeds the
//!    receiver does not hold;
//! 3. records the receiver's [`View`]: every message it receives, from every sender
//!    (the helper's corrections included), plus what it computes from them (the values
//!    it opens, its output share), so that "view minus what the receiver can compute" is
//!    in the record too;
//! 4. compares the two samples with [`distinguish`].
//!
//! The statistic: for every bit of every word of the view, and every bit of the sum,
//! difference and XOR of every pair of words, the number of trials in which it is one,
//! compared between the two samples. The pairwise features are what a single opening
//! cannot show: two openings under one reused pad differ by the difference of the
//! secrets, and an opened value minus a pad the receiver was sent is the secret. A leak
//! of the usual kinds (a zero pad, a reused pad, a pad from a seed the receiver holds)
//! makes some feature a function of the secret alone: constant within each sample and
//! different between them, a count difference of `TRIALS`. In an honest run both
//! samples come from the same distribution, and Hoeffding's inequality bounds the chance
//! that any of the F features differs by more than `d` counts by `2F·exp(−d²/N)` for N
//! trials per sample; the threshold sets that bound to [`FALSE_ALARM`], far below the
//! differences a leak produces. All seeds are fixed, so every run is the same run.

use super::counter::BitCounter;
use cryptflow_ring::Party;
use std::fmt;

/// Trials per sample: a constant-versus-constant leak differs by 256 counts, a
/// constant-versus-uniform one by about 128, against a threshold of about 90.
pub const TRIALS: u64 = 256;

/// The bound on the chance that an honest run is reported as a leak.
pub const FALSE_ALARM: f64 = 1e-6;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Received(Party),
    Derived,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Part {
    source: Source,
    label: &'static str,
    words: Vec<u64>,
}

/// Everything one party saw in one run, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct View {
    parts: Vec<Part>,
}

impl View {
    /// A message the receiver got from `from`.
    pub fn receive(&mut self, from: Party, label: &'static str, words: &[u64]) {
        self.push(Source::Received(from), label, words);
    }

    /// A value the receiver computes from what it holds and received (an opened value,
    /// its output share): recorded so that relations involving it are tested too.
    pub fn derive(&mut self, label: &'static str, words: &[u64]) {
        self.push(Source::Derived, label, words);
    }

    fn push(&mut self, source: Source, label: &'static str, words: &[u64]) {
        self.parts.push(Part {
            source,
            label,
            words: words.to_vec(),
        });
    }

    /// Every `stride`-th word of each part (from its first): a view of a batch too
    /// wide for the pairwise statistic, kept to the elements a test is about (e.g. the
    /// first of each chunk). A sub-view of an honest view is independent of the
    /// secrets too, so a leak in it is a leak.
    pub fn sampled(&self, stride: usize) -> View {
        View {
            parts: self
                .parts
                .iter()
                .map(|p| Part {
                    words: p.words.iter().step_by(stride).copied().collect(),
                    ..p.clone()
                })
                .collect(),
        }
    }

    /// Words received from `from` (the derived values not counted).
    pub fn words_from(&self, from: Party) -> usize {
        self.parts
            .iter()
            .filter(|p| p.source == Source::Received(from))
            .map(|p| p.words.len())
            .sum()
    }

    fn layout(&self) -> Vec<(Source, &'static str, usize)> {
        self.parts
            .iter()
            .map(|p| (p.source, p.label, p.words.len()))
            .collect()
    }

    fn words(&self) -> Vec<u64> {
        self.parts
            .iter()
            .flat_map(|p| p.words.iter().copied())
            .collect()
    }

    /// The name of word `index`, e.g. "masked input E #2[3] from P1 (client)" (the
    /// number tells apart parts with the same label and source).
    fn word_name(&self, mut index: usize) -> String {
        for (i, p) in self.parts.iter().enumerate() {
            if index < p.words.len() {
                let same = |q: &&Part| q.source == p.source && q.label == p.label;
                let ordinal = self.parts[..i].iter().filter(same).count() + 1;
                let label = if self.parts.iter().filter(same).count() > 1 {
                    format!("{} #{ordinal}", p.label)
                } else {
                    p.label.to_string()
                };
                return match p.source {
                    Source::Received(from) => format!("{label}[{index}] from {from}"),
                    Source::Derived => format!("derived {label}[{index}]"),
                };
            }
            index -= p.words.len();
        }
        unreachable!("word index beyond the view")
    }
}

/// Evidence that a view depends on a secret.
#[derive(Clone, Debug, PartialEq)]
pub enum Leak {
    /// The two samples' views differ in shape (which messages, of which lengths).
    Layout(String),
    /// A feature whose frequency differs between the samples beyond the threshold.
    Feature {
        feature: String,
        /// Trials in which the feature was one, per sample.
        ones: [i64; 2],
        threshold: f64,
    },
}

impl fmt::Display for Leak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Leak::Layout(detail) => write!(f, "the view's layout depends on the secret: {detail}"),
            Leak::Feature {
                feature,
                ones,
                threshold,
            } => write!(
                f,
                "{feature} is one in {} vs {} trials (threshold {threshold:.1})",
                ones[0], ones[1]
            ),
        }
    }
}

/// Runs `run(secret, trial)` for `TRIALS` trials with each of the two secrets (trials
/// `0..TRIALS` for the first, `TRIALS..2·TRIALS` for the second, so the samples are
/// independent) and compares the views. `run` must draw only what the receiver does not
/// know from `trial`.
pub fn check_privacy<S: ?Sized>(
    secrets: [&S; 2],
    mut run: impl FnMut(&S, u64) -> View,
) -> Result<(), Leak> {
    let first: Vec<View> = (0..TRIALS).map(|t| run(secrets[0], t)).collect();
    let second: Vec<View> = (TRIALS..2 * TRIALS).map(|t| run(secrets[1], t)).collect();
    distinguish(&first, &second)
}

/// Asserts that `result` reports a leak, and clearly: a feature beyond the threshold by
/// half as much again, so the catch does not hinge on the particular fixed seeds.
#[track_caller]
pub fn assert_caught(result: Result<(), Leak>, what: &str) {
    match result {
        Ok(()) => panic!("{what}: the privacy check missed the leak"),
        Err(Leak::Layout(_)) => {}
        Err(Leak::Feature {
            ones, threshold, ..
        }) => assert!(
            (ones[0] - ones[1]).abs() as f64 >= 1.5 * threshold,
            "{what}: caught only narrowly ({ones:?} against {threshold:.1})"
        ),
    }
}

/// The word of each feature of a view: the words, then for each pair i < j their sum,
/// difference and XOR.
fn features(words: &[u64], out: &mut Vec<u64>) {
    out.clear();
    out.extend_from_slice(words);
    for (i, &a) in words.iter().enumerate() {
        for &b in &words[i + 1..] {
            out.extend([a.wrapping_add(b), a.wrapping_sub(b), a ^ b]);
        }
    }
}

fn feature_name(view: &View, words: usize, index: usize) -> String {
    if index < words {
        return view.word_name(index);
    }
    let mut rest = index - words;
    for i in 0..words {
        let pairs = 3 * (words - i - 1);
        if rest < pairs {
            let (j, op) = (i + 1 + rest / 3, ["+", "−", "⊕"][rest % 3]);
            return format!("({}) {op} ({})", view.word_name(i), view.word_name(j));
        }
        rest -= pairs;
    }
    unreachable!("feature index beyond the view")
}

/// The two-sample test described in the module documentation.
pub fn distinguish(first: &[View], second: &[View]) -> Result<(), Leak> {
    assert!(
        !first.is_empty() && first.len() == second.len(),
        "two samples of equal size"
    );
    let layout = first[0].layout();
    if let Some(v) = first.iter().chain(second).find(|v| v.layout() != layout) {
        return Err(Leak::Layout(format!("{layout:?} vs {:?}", v.layout())));
    }
    let words = first[0].words().len();
    let feature_words = words + 3 * words * words.saturating_sub(1) / 2;
    let mut buffer = Vec::with_capacity(feature_words);
    let counts = [first, second].map(|views| {
        let mut counter = BitCounter::new(feature_words);
        for view in views {
            features(&view.words(), &mut buffer);
            counter.add(&buffer);
        }
        counter.counts()
    });
    let n = first.len() as f64;
    let tests = (64 * feature_words).max(1) as f64;
    let threshold = (n * (2.0 * tests / FALSE_ALARM).ln()).sqrt();
    // The first feature with the largest difference, so the report is stable.
    let (mut worst, mut pair) = (0, [0i64, 0]);
    for (i, (&a, &b)) in counts[0].iter().zip(&counts[1]).enumerate() {
        if (a - b).abs() > (pair[0] - pair[1]).abs() {
            (worst, pair) = (i, [a, b]);
        }
    }
    if ((pair[0] - pair[1]).abs() as f64) <= threshold {
        return Ok(());
    }
    let name = feature_name(&first[0], words, worst / 64);
    Err(Leak::Feature {
        feature: format!("bit {} of {name}", worst % 64),
        ones: pair,
        threshold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptflow_ring::{Prg, Seed};

    fn view(words: &[u64]) -> View {
        let mut v = View::default();
        v.receive(Party::Client, "m", words);
        v
    }

    fn uniform(seed: u64, n: usize) -> Vec<View> {
        let mut prg = Prg::new(Seed::from_u64(seed));
        (0..TRIALS).map(|_| view(&prg.u64s(n))).collect()
    }

    #[test]
    fn repeated_labels_are_numbered_in_reports() {
        let mut v = View::default();
        v.receive(Party::Client, "E", &[1]);
        v.derive("E", &[2]);
        v.receive(Party::Client, "E", &[3, 4]);
        let names: Vec<String> = (0..4).map(|i| v.word_name(i)).collect();
        assert_eq!(
            names,
            [
                "E #1[0] from P1 (client)",
                "derived E[0]",
                "E #2[0] from P1 (client)",
                "E #2[1] from P1 (client)"
            ]
        );
        assert_eq!(
            feature_name(&v, 4, 4 + 9 + 3 + 1),
            "(derived E[0]) − (E #2[1] from P1 (client))"
        );
        assert_eq!(v.words_from(Party::Client), 3);
    }

    #[test]
    fn two_uniform_samples_are_indistinguishable() {
        assert_eq!(distinguish(&uniform(1, 6), &uniform(2, 6)), Ok(()));
    }

    #[test]
    fn a_secret_in_the_clear_is_found_and_named() {
        let mut leaky = uniform(3, 6);
        leaky.iter_mut().for_each(|v| v.parts[0].words[4] = 1 << 9);
        let zero: Vec<View> = uniform(4, 6)
            .into_iter()
            .map(|mut v| {
                v.parts[0].words[4] = 0;
                v
            })
            .collect();
        let err = distinguish(&zero, &leaky).unwrap_err();
        assert!(
            matches!(&err, Leak::Feature { feature, ones: [0, 256], .. } if feature == "bit 9 of m[4] from P1 (client)"),
            "{err}"
        );
    }

    #[test]
    fn a_reused_pad_is_found_through_the_pair_difference() {
        // Each word alone is uniform in both samples; only m[0] − m[1] = secret shows.
        let reuse = |secret: u64, seed: u64| -> Vec<View> {
            let mut prg = Prg::new(Seed::from_u64(seed));
            (0..TRIALS)
                .map(|_| {
                    let pad = prg.next_u64();
                    view(&[pad.wrapping_add(secret), pad, prg.next_u64()])
                })
                .collect()
        };
        let err = distinguish(&reuse(0, 5), &reuse(0x1234, 6)).unwrap_err();
        assert!(
            err.to_string().contains("(m[0] from P1 (client)) − (m[1]"),
            "{err}"
        );
    }

    #[test]
    fn a_length_that_depends_on_the_secret_is_a_leak() {
        assert!(matches!(
            distinguish(&uniform(1, 3), &uniform(2, 4)),
            Err(Leak::Layout(_))
        ));
    }
}
