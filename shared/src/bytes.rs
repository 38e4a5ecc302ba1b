//! Byte tests eight at a time (SWAR: one `u64` holds eight bytes) for the hot scans: the
//! parser's string scan, text fields, URLs. A mask has the high bit set in each byte that
//! passes a test; only the lowest set byte is exact (a borrow can flag bytes above it), so
//! callers look at `first(mask)` alone.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The eight bytes at `i` (the caller checked `i + 8 <= b.len()`).
#[inline(always)]
pub(crate) fn word(b: &[u8], i: usize) -> u64 {
    // Byte by byte, which LLVM turns into one 8-byte load: `copy_from_slice` stayed a call
    // in the size-first wasm build (through a stack temporary), on every word of every scan.
    let b = &b[i..i + 8];
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// The four bytes at `i` (the caller checked `i + 4 <= b.len()`).
#[inline(always)]
fn word4(b: &[u8], i: usize) -> u32 {
    let b = &b[i..i + 4];
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Bytes equal to `c`.
#[inline(always)]
pub(crate) fn eq(w: u64, c: u8) -> u64 {
    let x = w ^ (ONES * u64::from(c));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Bytes below `n` (for `n <= 0x80`).
#[inline(always)]
pub(crate) fn below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS
}

/// Bytes of 0x80 and above (not ASCII): exact for every byte.
#[inline(always)]
pub(crate) fn high(w: u64) -> u64 {
    w & HIGHS
}

/// Index of the lowest flagged byte of a non-zero mask.
#[inline(always)]
pub(crate) fn first(mask: u64) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

/// `a == b` for the short strings of field names and keys, without a call to `memcmp`:
/// two overlapping loads compare 4 to 16 bytes.
#[inline(always)]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if (8..=16).contains(&n) {
        return word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8);
    }
    if (4..8).contains(&n) {
        return word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4);
    }
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_find_the_first_byte() {
        let b = b"ab\"c\\d\x01e\xc3f";
        let w = word(b, 0);
        assert_eq!(first(eq(w, b'"')), 2);
        assert_eq!(first(eq(w, b'\\')), 4);
        assert_eq!(first(below(w, 0x20)), 6);
        assert_eq!(eq(w, b'z'), 0);
        assert_eq!(first(high(word(b, 2))), 6);
    }

    #[test]
    fn same_as_slice_equality() {
        let words: Vec<&[u8]> = vec![
            b"",
            b"a",
            b"ab",
            b"abc",
            b"abcd",
            b"abce",
            b"email",
            b"emaix",
            b"firstName",
            b"firstNamf",
            b"lastName",
            b"endRegistration",
            b"endRegistratioN",
            b"a-sixteen-bytes!",
            b"a-seventeen-bytes",
            b"a-seventeen-bytez",
        ];
        for a in &words {
            for b in &words {
                assert_eq!(same(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }
}
