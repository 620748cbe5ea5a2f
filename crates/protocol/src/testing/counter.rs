//! Counting one bits per position over many words, for the privacy check.

/// Per-bit counts of ones over many words at each position, kept bit-sliced: plane j
/// holds bit j of every count, and adding a word is a ripple-carry add across planes
/// (a few operations per word instead of one per bit).
pub struct BitCounter {
    planes: Vec<[u64; COUNTER_BITS]>,
}

/// Enough for counts up to 2^10 − 1 trials.
const COUNTER_BITS: usize = 10;

impl BitCounter {
    pub fn new(words: usize) -> BitCounter {
        BitCounter {
            planes: vec![[0; COUNTER_BITS]; words],
        }
    }

    pub fn add(&mut self, words: &[u64]) {
        for (planes, &w) in self.planes.iter_mut().zip(words) {
            let mut carry = w;
            for plane in planes.iter_mut() {
                if carry == 0 {
                    break;
                }
                let next = *plane & carry;
                *plane ^= carry;
                carry = next;
            }
            assert_eq!(carry, 0, "more trials than the counter holds");
        }
    }

    /// The count of bit `b` of word `k` at index `64k + b`.
    pub fn counts(&self) -> Vec<i64> {
        self.planes
            .iter()
            .flat_map(|planes| {
                (0..64).map(move |bit| {
                    (0..COUNTER_BITS)
                        .map(|j| (((planes[j] >> bit) & 1) as i64) << j)
                        .sum::<i64>()
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bit_counter_counts_every_bit() {
        let words: Vec<Vec<u64>> = (0..300u64)
            .map(|t| vec![t, !t, t.wrapping_mul(0x9e37_79b9_7f4a_7c15)])
            .collect();
        let mut counter = BitCounter::new(3);
        words.iter().for_each(|w| counter.add(w));
        let counts = counter.counts();
        for k in 0..3 {
            for bit in 0..64 {
                let naive = words.iter().filter(|w| (w[k] >> bit) & 1 == 1).count();
                assert_eq!(counts[64 * k + bit], naive as i64, "word {k} bit {bit}");
            }
        }
    }
}
