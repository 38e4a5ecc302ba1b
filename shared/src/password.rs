//! Generated passwords, by a configurable policy.

use crate::error::Code;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &[u8] = b"0123456789";
/// No quotes, backslash or space: a password must survive being pasted into an e-mail,
/// a shell or a CSV cell.
const SYMBOLS: &[u8] = b"!#$%&()*+,-./:;<=>?@[]^_{|}~";

/// Which characters a generated password has. The default is the platform's: 20 characters
/// with at least one lowercase letter, uppercase letter, digit and symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PasswordPolicy {
    /// Total length, 8..=128.
    pub length: usize,
    /// At least one of `a-z`.
    pub lowercase: bool,
    /// At least one of `A-Z`.
    pub uppercase: bool,
    /// At least one of `0-9`.
    pub digits: bool,
    /// At least one of `!#$%&()*+,-./:;<=>?@[]^_{|}~`.
    pub symbols: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            length: 20,
            lowercase: true,
            uppercase: true,
            digits: true,
            symbols: true,
        }
    }
}

/// Shortest length a policy may ask for.
pub const PASSWORD_MIN: usize = 8;
/// Longest length a policy may ask for.
pub const PASSWORD_MAX: usize = 128;

impl PasswordPolicy {
    /// A policy from JSON text such as `{"length": 12, "symbols": false}`, read as its serde
    /// form is: missing fields keep their default, unknown ones are ignored, a field of the
    /// wrong type is an error. The wasm package reads JS objects this way, as JSON text,
    /// without serde in the module.
    ///
    /// ```
    /// use onboard_shared::PasswordPolicy;
    /// let p = PasswordPolicy::from_json(r#"{"length": 12, "symbols": false}"#).unwrap();
    /// assert_eq!((p.length, p.symbols, p.digits), (12, false, true));
    /// assert!(PasswordPolicy::from_json(r#"{"length": "12"}"#).is_err());
    /// ```
    pub fn from_json(text: &str) -> Result<PasswordPolicy, String> {
        use crate::node::{Kind, Node, Object};
        let doc = crate::doc::parse(text).map_err(|e| e.to_string())?;
        let Kind::Object(obj) = doc.kind() else {
            return Err("expected an object".into());
        };
        let mut policy = PasswordPolicy::default();
        if let Some(v) = obj.get("length") {
            policy.length = match v.kind() {
                Kind::Int(n) => usize::try_from(n).map_err(|_| "`length` must not be negative")?,
                _ => return Err("`length` must be a whole number".into()),
            };
        }
        for (key, flag) in [
            ("lowercase", &mut policy.lowercase),
            ("uppercase", &mut policy.uppercase),
            ("digits", &mut policy.digits),
            ("symbols", &mut policy.symbols),
        ] {
            if let Some(v) = obj.get(key) {
                let Kind::Bool(b) = v.kind() else {
                    return Err(format!("`{key}` must be true or false"));
                };
                *flag = b;
            }
        }
        Ok(policy)
    }

    /// Checks the policy itself: 8..=128 characters and at least one character class.
    pub fn validate(&self) -> Result<(), &'static str> {
        if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&self.length) {
            return Err("password length must be between 8 and 128");
        }
        if self.classes().is_empty() {
            return Err("a password policy needs at least one character class");
        }
        Ok(())
    }

    fn classes(&self) -> Vec<&'static [u8]> {
        let mut v: Vec<&'static [u8]> = Vec::with_capacity(4);
        for (on, set) in [
            (self.lowercase, LOWER),
            (self.uppercase, UPPER),
            (self.digits, DIGITS),
            (self.symbols, SYMBOLS),
        ] {
            if on {
                v.push(set);
            }
        }
        v
    }

    /// Generates a password: one character from each required class, the rest drawn
    /// uniformly from all of them, then shuffled so the required ones are not in front. It
    /// never starts with `=`, `+`, `-` or `@`, which a spreadsheet would run as a formula.
    ///
    /// Panics when the policy is invalid (see [`PasswordPolicy::validate`]).
    ///
    /// ```
    /// use onboard_shared::PasswordPolicy;
    /// let policy = PasswordPolicy::default();
    /// let pw = policy.generate();
    /// assert_eq!(pw.len(), 20);
    /// assert!(policy.check(&pw).is_empty());
    /// ```
    pub fn generate_with<R: Rng + ?Sized>(&self, rng: &mut R) -> String {
        self.validate().expect("invalid password policy");
        let classes = self.classes();
        let all: Vec<u8> = classes.concat();
        let mut bytes: Vec<u8> = classes
            .iter()
            .map(|set| set[rng.random_range(0..set.len())])
            .collect();
        while bytes.len() < self.length {
            bytes.push(all[rng.random_range(0..all.len())]);
        }
        for i in (1..bytes.len()).rev() {
            bytes.swap(i, rng.random_range(0..=i));
        }
        // A spreadsheet runs a cell starting with = + - @ as a formula (CSV injection), and
        // passwords travel in CSV files: the first character is never one of those. Swap
        // in a safe character from a random later place (the password keeps its characters,
        // so every required class stays); only a password made of nothing else redraws it.
        let unsafe_first = |b: &u8| crate::csv::FORMULA_START.contains(b);
        if unsafe_first(&bytes[0]) {
            let safe: Vec<usize> = (1..bytes.len())
                .filter(|&i| !unsafe_first(&bytes[i]))
                .collect();
            if safe.is_empty() {
                let pool: Vec<u8> = all.iter().copied().filter(|b| !unsafe_first(b)).collect();
                bytes[0] = pool[rng.random_range(0..pool.len())];
            } else {
                bytes.swap(0, safe[rng.random_range(0..safe.len())]);
            }
        }
        bytes.into_iter().map(char::from).collect()
    }

    /// [`PasswordPolicy::generate_with`] using the operating system's (or browser's) CSPRNG.
    pub fn generate(&self) -> String {
        self.generate_with(&mut crate::os_rng())
    }

    /// What `password` lacks under this policy, as (code, message) pairs; empty when it passes.
    pub fn check(&self, password: &str) -> Vec<(Code, &'static str)> {
        let mut problems = Vec::new();
        if password.chars().count() < self.length {
            problems.push((
                Code::TooShort,
                "Password is shorter than the policy requires.",
            ));
        }
        let has = |set: &[u8]| password.bytes().any(|b| set.contains(&b));
        let rules = [
            (self.lowercase, LOWER, "Password needs a lowercase letter."),
            (self.uppercase, UPPER, "Password needs an uppercase letter."),
            (self.digits, DIGITS, "Password needs a digit."),
            (self.symbols, SYMBOLS, "Password needs a symbol."),
        ];
        for (on, set, msg) in rules {
            if on && !has(set) {
                problems.push((Code::PasswordWeak, msg));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy() {
        let p = PasswordPolicy::default();
        for _ in 0..200 {
            let pw = p.generate();
            assert_eq!(pw.len(), 20);
            assert!(p.check(&pw).is_empty(), "{pw}");
        }
    }

    #[test]
    fn custom_policy_only_uses_its_classes() {
        let p = PasswordPolicy {
            length: 12,
            symbols: false,
            uppercase: false,
            ..Default::default()
        };
        let pw = p.generate();
        assert_eq!(pw.len(), 12);
        assert!(
            pw.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
            "{pw}"
        );
    }

    #[test]
    fn invalid_policies_are_refused() {
        let short = PasswordPolicy {
            length: 4,
            ..Default::default()
        };
        assert!(short.validate().is_err());
        let none = PasswordPolicy {
            lowercase: false,
            uppercase: false,
            digits: false,
            symbols: false,
            ..Default::default()
        };
        assert!(none.validate().is_err());
    }

    #[test]
    fn check_reports_missing_classes() {
        let p = PasswordPolicy::default();
        let problems = p.check("abcdefghijklmnopqrst");
        assert_eq!(problems.len(), 3);
        assert_eq!(p.check("short")[0].0, Code::TooShort);
    }

    #[test]
    fn no_password_starts_like_a_formula() {
        // About 4 % of passwords started with one of these before; 20,000 draws would
        // have shown some 800.
        let policies = [
            PasswordPolicy::default(),
            PasswordPolicy {
                length: 8,
                lowercase: false,
                uppercase: false,
                digits: false,
                ..Default::default()
            },
        ];
        for p in policies {
            for _ in 0..10_000 {
                let pw = p.generate();
                assert!(!pw.starts_with(['=', '+', '-', '@', '\t', '\r']), "{pw}");
                assert!(p.check(&pw).is_empty(), "{pw}");
            }
        }
    }

    #[test]
    fn passwords_differ() {
        let p = PasswordPolicy::default();
        assert_ne!(p.generate(), p.generate());
    }
}
