//! Checked sizes. Shapes and geometries come from model files and from peers, so every
//! product or sum of dimensions is computed with overflow checks and held under a cap
//! before any kernel uses the unchecked accessors (which are then safe).

use thiserror::Error;

/// The most elements any one tensor (or im2col matrix) may hold: 2^31 words, 16 GiB.
/// The largest tensors of the models we know (VGG19's first fully connected weight,
/// 103 M elements) are 20× below it; a shape beyond it is corrupt or hostile.
pub const MAX_ELEMENTS: usize = 1 << 31;

/// A size that does not fit.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SizeError {
    #[error("the size of {what} overflows")]
    Overflow { what: &'static str },
    #[error("{what} would hold {elements} elements, more than the limit of {MAX_ELEMENTS}")]
    TooLarge { what: &'static str, elements: usize },
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("{what}: {reason}")]
    Invalid {
        what: &'static str,
        reason: &'static str,
    },
}

/// The product of `dims`, checked against overflow and [`MAX_ELEMENTS`].
pub fn elements(what: &'static str, dims: &[usize]) -> Result<usize, SizeError> {
    let n = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or(SizeError::Overflow { what })?;
    capped(what, n)
}

/// Like [`elements`], and refuses zero.
pub fn nonempty_elements(what: &'static str, dims: &[usize]) -> Result<usize, SizeError> {
    match elements(what, dims)? {
        0 => Err(SizeError::Empty { what }),
        n => Ok(n),
    }
}

/// `n` if it is within [`MAX_ELEMENTS`].
pub fn capped(what: &'static str, n: usize) -> Result<usize, SizeError> {
    if n > MAX_ELEMENTS {
        Err(SizeError::TooLarge { what, elements: n })
    } else {
        Ok(n)
    }
}

/// `a + b + c`, checked.
pub(crate) fn sum3(what: &'static str, a: usize, b: usize, c: usize) -> Result<usize, SizeError> {
    a.checked_add(b)
        .and_then(|s| s.checked_add(c))
        .ok_or(SizeError::Overflow { what })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_are_checked_and_capped() {
        assert_eq!(elements("t", &[2, 3, 4]), Ok(24));
        assert_eq!(elements("t", &[]), Ok(1));
        assert_eq!(elements("t", &[0, 5]), Ok(0));
        assert_eq!(
            nonempty_elements("t", &[0, 5]),
            Err(SizeError::Empty { what: "t" })
        );
        assert_eq!(
            elements("t", &[usize::MAX, 2]),
            Err(SizeError::Overflow { what: "t" })
        );
        assert_eq!(
            elements("t", &[1 << 16, 1 << 16]),
            Err(SizeError::TooLarge {
                what: "t",
                elements: 1 << 32
            })
        );
        assert_eq!(elements("t", &[1 << 16, 1 << 15]), Ok(MAX_ELEMENTS));
    }
}
