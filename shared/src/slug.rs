//! Sponsor slugs: "Super Sponsor" -> "super-sponsor".

use crate::fold::{fold_char, is_combining_mark};

/// Longest slug; longer names are cut at a word boundary.
pub const SLUG_MAX: usize = 64;
/// Used when a name has no letter or digit that folds to ASCII.
const FALLBACK: &str = "sponsor";

/// Turns a sponsor name into its URL slug: diacritics folded, lowercase ASCII letters and
/// digits, every other run of characters a single `-`, no leading or trailing `-`, at most
/// 64 characters. `&` reads as "and". A name with nothing left becomes `"sponsor"`.
///
/// ```
/// use onboard_shared::slugify;
/// assert_eq!(slugify("Super Sponsor"), "super-sponsor");
/// assert_eq!(slugify("  Café & Crème!!  "), "cafe-and-creme");
/// assert_eq!(slugify("株式会社"), "sponsor");
/// ```
pub fn slugify(name: &str) -> String {
    let mut out = String::with_capacity(name.len().min(SLUG_MAX + 8));
    let mut pending_dash = false;
    for c in name.chars() {
        if is_combining_mark(c) {
            continue;
        }
        if c == '&' {
            if !out.is_empty() {
                out.push('-');
            }
            out.push_str("and");
            pending_dash = true;
            continue;
        }
        let before = out.len();
        if pending_dash && !out.is_empty() {
            out.push('-');
        }
        let dash_len = out.len() - before;
        if fold_char(c, &mut out) {
            pending_dash = false;
        } else {
            out.truncate(out.len() - dash_len);
            pending_dash = true;
        }
        if out.len() > SLUG_MAX {
            break;
        }
    }
    if out.len() > SLUG_MAX {
        // Cut at the last word boundary that fits, or hard at the limit for one long word.
        let cut = out[..=SLUG_MAX]
            .rfind('-')
            .filter(|&i| i > 0)
            .unwrap_or(SLUG_MAX);
        out.truncate(cut);
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str(FALLBACK);
    }
    out
}

/// The `n`th choice of slug for a sponsor whose `base` slug is taken: `base` itself for
/// `n <= 1`, then `base-2`, `base-3`... with `base` cut (at the end, never leaving a
/// trailing `-`) so the result still fits in [`SLUG_MAX`].
///
/// ```
/// use onboard_shared::slug_with_suffix;
/// assert_eq!(slug_with_suffix("super-sponsor", 1), "super-sponsor");
/// assert_eq!(slug_with_suffix("super-sponsor", 2), "super-sponsor-2");
/// let long = "a".repeat(64);
/// assert_eq!(slug_with_suffix(&long, 12), format!("{}-12", "a".repeat(61)));
/// ```
pub fn slug_with_suffix(base: &str, n: u32) -> String {
    if n <= 1 {
        return base.to_string();
    }
    let suffix = format!("-{n}");
    // Slugs are ASCII, so a byte cut is a char cut.
    let keep = SLUG_MAX.saturating_sub(suffix.len()).min(base.len());
    format!("{}{suffix}", base[..keep].trim_end_matches('-'))
}

/// Is `s` a slug that [`slugify`] could have produced (used to check `?slug=` queries)?
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= SLUG_MAX
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.as_bytes().windows(2).any(|w| w == b"--")
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples() {
        assert_eq!(slugify("Super Sponsor"), "super-sponsor");
        assert_eq!(slugify("ACME, Inc."), "acme-inc");
        assert_eq!(slugify("--a--b--"), "a-b");
        assert_eq!(slugify("R&D"), "r-and-d");
        assert_eq!(slugify("Zoë's Café"), "zoe-s-cafe");
        assert_eq!(slugify(""), "sponsor");
        assert_eq!(slugify("🚀"), "sponsor");
    }

    #[test]
    fn long_names_cut_at_a_word() {
        let s = slugify(&"word ".repeat(40));
        assert!(s.len() <= SLUG_MAX && s.ends_with("word"), "{s}");
        let s = slugify(&"x".repeat(200));
        assert_eq!(s.len(), SLUG_MAX);
    }

    #[test]
    fn suffixed_slugs_fit_and_stay_slugs() {
        let long = slugify(&"word ".repeat(40));
        for n in [1, 2, 9, 10, 99, 100, 12345] {
            let s = slug_with_suffix(&long, n);
            assert!(s.len() <= SLUG_MAX && is_slug(&s), "{s}");
        }
        // A cut that lands on a dash does not leave "--".
        let dashy = format!("{}-b", "a".repeat(61));
        assert_eq!(slug_with_suffix(&dashy, 2), format!("{}-2", "a".repeat(61)));
        // Every suffix gives a distinct slug.
        let all: std::collections::HashSet<String> =
            (1..200).map(|n| slug_with_suffix(&long, n)).collect();
        assert_eq!(all.len(), 199);
    }

    #[test]
    fn output_is_a_slug() {
        for name in ["Super Sponsor", "  ", "a & b", "ÉÉ--ÉÉ", "1-2-3"] {
            assert!(is_slug(&slugify(name)), "{name}");
        }
    }
}
