//! Usernames: the generated `last.first#NNNN` form and the rules for chosen ones.

use crate::error::Code;
use crate::fold::{fold_char, is_combining_mark};
use rand::{Rng, RngExt};

/// Shortest chosen username.
pub const USERNAME_MIN: usize = 3;
/// Longest username, chosen or generated.
pub const USERNAME_MAX: usize = 40;
/// Each sanitized name part is cut to this many characters, so a generated username
/// (`part.part#NNNN`) always fits in [`USERNAME_MAX`].
const PART_MAX: usize = 16;
/// Used when both names sanitize to nothing (e.g. names written only in non-Latin scripts).
const FALLBACK: &str = "user";

/// Sanitizes one name for a username: diacritics folded, lowercase, only `a-z0-9`, at most
/// 16 characters. Everything else (spaces, hyphens, apostrophes, other scripts) is dropped.
///
/// ```
/// assert_eq!(onboard_shared::sanitize_name_part("  Zoë-Anne O'Brien "), "zoeanneobrien");
/// assert_eq!(onboard_shared::sanitize_name_part("李"), "");
/// ```
pub fn sanitize_name_part(name: &str) -> String {
    let mut out = String::with_capacity(name.len().min(PART_MAX));
    for c in name.chars() {
        if is_combining_mark(c) {
            continue;
        }
        fold_char(c, &mut out);
        if out.len() >= PART_MAX {
            out.truncate(PART_MAX);
            break;
        }
    }
    out
}

/// The part of a generated username before `#`: `last.first`, sanitized. A name that
/// sanitizes to nothing is left out (`"doe"`), and when both do, the base is `"user"`.
///
/// ```
/// assert_eq!(onboard_shared::username_base("Jane", "Doe"), "doe.jane");
/// assert_eq!(onboard_shared::username_base("Élise", "Müller-Lüdenscheidt"), "mullerludenschei.elise");
/// assert_eq!(onboard_shared::username_base("明", "李"), "user");
/// ```
pub fn username_base(first_name: &str, last_name: &str) -> String {
    let last = sanitize_name_part(last_name);
    let first = sanitize_name_part(first_name);
    match (last.is_empty(), first.is_empty()) {
        (false, false) => format!("{last}.{first}"),
        (false, true) => last,
        (true, false) => first,
        (true, true) => FALLBACK.to_string(),
    }
}

/// What a generated username will look like, for live previews: `doe.jane#····`.
///
/// ```
/// assert_eq!(onboard_shared::preview_username("Jane", "Doe"), "doe.jane#····");
/// ```
pub fn preview_username(first_name: &str, last_name: &str) -> String {
    format!("{}#····", username_base(first_name, last_name))
}

/// A generated username: `last.first#NNNN` with four random digits, zero-padded.
/// The server calls this again with new digits when the name is already taken.
///
/// ```
/// let name = onboard_shared::generate_username("Jane", "Doe");
/// assert!(name.starts_with("doe.jane#") && name.len() == "doe.jane#0000".len());
/// assert!(onboard_shared::check_username(&name).is_empty());
/// ```
pub fn generate_username_with<R: Rng + ?Sized>(
    first_name: &str,
    last_name: &str,
    rng: &mut R,
) -> String {
    let n: u16 = rng.random_range(0..10_000);
    format!("{}#{n:04}", username_base(first_name, last_name))
}

/// [`generate_username_with`] using the operating system's (or browser's) random source.
pub fn generate_username(first_name: &str, last_name: &str) -> String {
    generate_username_with(first_name, last_name, &mut crate::os_rng())
}

/// The key two usernames are compared by: `SuperJane` and `superjane` are the same user.
pub fn normalize_username(username: &str) -> String {
    username.trim().to_ascii_lowercase()
}

/// Checks a chosen username (already trimmed): 3 to 40 characters from `A-Z a-z 0-9 . _ - #`,
/// starting with a letter or a digit. Returns the problems as (code, message) pairs; empty
/// when the username is fine.
///
/// ```
/// assert!(onboard_shared::check_username("SuperJane").is_empty());
/// assert!(!onboard_shared::check_username("jane doe").is_empty());
/// ```
pub fn check_username(username: &str) -> Vec<(Code, &'static str)> {
    let mut problems = Vec::new();
    let len = username.chars().count();
    if len < USERNAME_MIN {
        problems.push((Code::TooShort, "Must be at least 3 characters."));
    } else if len > USERNAME_MAX {
        problems.push((Code::TooLong, "Must be at most 40 characters."));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '#');
    if !username.chars().all(allowed) {
        problems.push((
            Code::UsernameInvalid,
            "Use only letters A-Z, digits and . _ - # (no spaces or accents).",
        ));
    } else if username
        .chars()
        .next()
        .is_some_and(|c| !c.is_ascii_alphanumeric())
    {
        problems.push((
            Code::UsernameInvalid,
            "Must start with a letter or a digit.",
        ));
    }
    problems
}

/// Whether [`check_username`] finds nothing, in one pass over the bytes (a valid username
/// is ASCII, so its bytes are its characters): the validation's fast path for a valid one.
pub(crate) fn is_valid_username(username: &str) -> bool {
    let b = username.as_bytes();
    (USERNAME_MIN..=USERNAME_MAX).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'#'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_orders_last_then_first() {
        assert_eq!(username_base("Jane", "Doe"), "doe.jane");
        assert_eq!(username_base("", "Doe"), "doe");
        assert_eq!(username_base("Jane", "  "), "jane");
        assert_eq!(username_base("", ""), "user");
        assert_eq!(
            username_base("José María", "García Márquez"),
            "garciamarquez.josemaria"
        );
    }

    #[test]
    fn decomposed_accents_fold_like_composed_ones() {
        assert_eq!(sanitize_name_part("E\u{301}lise"), "elise");
    }

    #[test]
    fn parts_are_capped() {
        let long = "a".repeat(100);
        assert_eq!(sanitize_name_part(&long).len(), PART_MAX);
        let name = generate_username(&long, &long);
        assert!(name.len() <= USERNAME_MAX, "{name}");
    }

    #[test]
    fn digits_are_zero_padded() {
        struct Zero;
        impl rand::TryRng for Zero {
            type Error = core::convert::Infallible;
            fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
                Ok(0)
            }
            fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
                Ok(0)
            }
            fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
                dst.fill(0);
                Ok(())
            }
        }
        assert_eq!(
            generate_username_with("Jane", "Doe", &mut Zero),
            "doe.jane#0000"
        );
    }

    #[test]
    fn chosen_username_rules() {
        assert!(check_username("SuperJane").is_empty());
        assert!(check_username("doe.jane#0042").is_empty());
        assert_eq!(check_username("ab")[0].0, Code::TooShort);
        assert_eq!(check_username(&"a".repeat(41))[0].0, Code::TooLong);
        assert_eq!(check_username("jane doe")[0].0, Code::UsernameInvalid);
        assert_eq!(check_username("zoë")[0].0, Code::UsernameInvalid);
        assert_eq!(check_username(".jane")[0].0, Code::UsernameInvalid);
        assert_eq!(normalize_username(" SuperJane "), "superjane");
    }

    #[test]
    fn the_fast_test_agrees_with_the_rules() {
        // A fixed xorshift sequence of short strings over allowed and refused characters.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % below as u64) as usize
        };
        let alphabet: Vec<char> = "aZ9._-# é\u{0}~/".chars().collect();
        for round in 0..100_000 {
            let len = next(if round % 2 == 0 { 8 } else { 45 });
            let name: String = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
            assert_eq!(
                is_valid_username(&name),
                check_username(&name).is_empty(),
                "{name:?}"
            );
        }
        for name in [
            "abc",
            "ab",
            &"a".repeat(40),
            &"a".repeat(41),
            "a#",
            "#ab",
            "9.b",
        ] {
            assert_eq!(
                is_valid_username(name),
                check_username(name).is_empty(),
                "{name:?}"
            );
        }
    }
}
