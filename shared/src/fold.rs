//! Folding letters to plain ASCII for usernames and slugs: "Zoë Łukasiewicz" -> "zoe lukasiewicz".
//!
//! A hand-written table rather than a Unicode normalization crate: it covers the Latin
//! letters people's names actually use (Latin-1, Latin Extended-A and the common
//! Extended-B letters, plus combining marks) in a few hundred bytes of wasm, where full
//! decomposition tables would cost tens of kilobytes. Letters outside it (Cyrillic, CJK...)
//! fold to nothing, and callers fall back to a neutral default.

/// Appends the ASCII lowercase folding of `c` to `out`: letters and digits, nothing else.
/// Returns false when `c` has no ASCII alphanumeric folding (punctuation, space, other scripts).
pub(crate) fn fold_char(c: char, out: &mut String) -> bool {
    if c.is_ascii_alphanumeric() {
        out.push(c.to_ascii_lowercase());
        return true;
    }
    let s: &str = match c {
        'À'..='Å' | 'à'..='å' | 'Ā'..='ą' | 'Ǎ' | 'ǎ' | 'Ǻ' | 'ǻ' | 'Ȁ'..='ȃ' | 'Ȧ' | 'ȧ' => {
            "a"
        }
        'Æ' | 'æ' | 'Ǽ' | 'ǽ' | 'Ǣ' | 'ǣ' => "ae",
        'Ç' | 'ç' | 'Ć'..='č' => "c",
        'Ð' | 'ð' | 'Ď'..='đ' => "d",
        'È'..='Ë' | 'è'..='ë' | 'Ē'..='ě' | 'Ȅ'..='ȇ' | 'Ȩ' | 'ȩ' => "e",
        'Ĝ'..='ģ' | 'Ǧ' | 'ǧ' | 'Ǵ' | 'ǵ' => "g",
        'Ĥ'..='ħ' | 'Ȟ' | 'ȟ' => "h",
        'Ì'..='Ï' | 'ì'..='ï' | 'Ĩ'..='ı' | 'Ǐ' | 'ǐ' | 'Ȉ'..='ȋ' => "i",
        'Ĳ' | 'ĳ' => "ij",
        'Ĵ' | 'ĵ' | 'ǰ' => "j",
        'Ķ' | 'ķ' | 'ĸ' | 'Ǩ' | 'ǩ' => "k",
        'Ĺ'..='ł' => "l",
        'Ñ' | 'ñ' | 'Ń'..='ŉ' | 'Ŋ' | 'ŋ' | 'Ǹ' | 'ǹ' => "n",
        'Ò'..='Ö'
        | 'Ø'
        | 'ò'..='ö'
        | 'ø'
        | 'Ō'..='ő'
        | 'Ǒ'
        | 'ǒ'
        | 'Ǿ'
        | 'ǿ'
        | 'Ȍ'..='ȏ'
        | 'Ȯ'..='ȱ' => "o",
        'Œ' | 'œ' => "oe",
        'Ŕ'..='ř' | 'Ȑ'..='ȓ' => "r",
        'Ś'..='š' | 'Ș' | 'ș' => "s",
        'ß' | 'ẞ' => "ss",
        'Ţ'..='ŧ' | 'Ț' | 'ț' => "t",
        'Þ' | 'þ' => "th",
        'Ù'..='Ü' | 'ù'..='ü' | 'Ũ'..='ų' | 'Ư' | 'ư' | 'Ǔ'..='ǜ' | 'Ȕ'..='ȗ' => "u",
        'Ŵ' | 'ŵ' => "w",
        'Ý' | 'ý' | 'ÿ' | 'Ŷ'..='Ÿ' | 'Ȳ' | 'ȳ' => "y",
        'Ź'..='ž' => "z",
        _ => return false,
    };
    out.push_str(s);
    true
}

/// Combining marks (U+0300..U+036F) carry accents in decomposed text ("e\u{301}"): they
/// are dropped without acting as a separator, so "e\u{301}lise" folds to "elise".
pub(crate) fn is_combining_mark(c: char) -> bool {
    ('\u{0300}'..='\u{036f}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(s: &str) -> String {
        let mut out = String::new();
        for c in s.chars() {
            fold_char(c, &mut out);
        }
        out
    }

    #[test]
    fn folds_common_latin_letters() {
        assert_eq!(fold("ÀÉÎÕÜçñøåæœßþđłžș"), "aeioucnoaaeoessthdlzs");
        assert_eq!(fold("Zoë Łukasiewicz"), "zoelukasiewicz");
    }

    #[test]
    fn other_scripts_fold_to_nothing() {
        assert_eq!(fold("李明 Ж"), "");
    }
}
