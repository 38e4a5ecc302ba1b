//! Property tests: the generators never panic on arbitrary Unicode, and what they generate
//! always passes the rulebook's own validation.

use onboard_shared::{
    PasswordPolicy, SLUG_MAX, USERNAME_MAX, check_user, check_username, generate_username, is_slug,
    parse_json, preview_username, sanitize_name_part, slugify, username_base, validate_sponsor,
    validate_user,
};
use proptest::prelude::*;
use serde_json::json;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn sanitizing_never_panics_and_stays_in_alphabet(name in any::<String>()) {
        let part = sanitize_name_part(&name);
        prop_assert!(part.len() <= 16);
        prop_assert!(part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    }

    #[test]
    fn generated_usernames_pass_validation(first in any::<String>(), last in any::<String>()) {
        let name = generate_username(&first, &last);
        prop_assert!(name.len() <= USERNAME_MAX);
        prop_assert!(check_username(&name).is_empty(), "{name:?}: {:?}", check_username(&name));
        prop_assert!(name.starts_with(&username_base(&first, &last)));
        prop_assert!(preview_username(&first, &last).ends_with("#····"));
    }

    #[test]
    fn generated_usernames_are_accepted_in_a_payload(first in "\\PC{1,30}", last in "\\PC{1,30}") {
        let payload = json!({
            "email": "jane@domain.com", "type": "Attendee", "firstName": "Jane", "lastName": "Doe",
            "username": generate_username(&first, &last),
        });
        prop_assert_eq!(validate_user(&payload), vec![]);
    }

    #[test]
    fn slugify_never_panics_and_yields_a_slug(name in any::<String>()) {
        let slug = slugify(&name);
        prop_assert!(is_slug(&slug), "{slug:?}");
        prop_assert!(slug.len() <= SLUG_MAX);
        prop_assert_eq!(slugify(&slug), slug.clone(), "slugify is idempotent");
    }

    #[test]
    fn generated_passwords_pass_their_policy(
        length in 8usize..=128, lower: bool, upper: bool, digits: bool, symbols: bool,
    ) {
        prop_assume!(lower || upper || digits || symbols);
        let policy = PasswordPolicy { length, lowercase: lower, uppercase: upper, digits, symbols };
        let pw = policy.generate();
        prop_assert_eq!(pw.chars().count(), length);
        prop_assert!(policy.check(&pw).is_empty(), "{pw}");
    }

    #[test]
    fn validation_never_panics_on_arbitrary_json(text in any::<String>()) {
        if let Ok(value) = parse_json(&text) {
            let _ = validate_user(&value);
            let _ = validate_sponsor(&value);
        }
    }

    #[test]
    fn names_are_kept_as_given_when_valid(first in "[\\p{L}\\p{Emoji} '-]{1,50}", last in "[\\p{L}\\p{M} ]{1,50}") {
        prop_assume!(!first.trim().is_empty() && !last.trim().is_empty());
        let payload = json!({"email": "jane@domain.com", "type": "Speaker", "firstName": first, "lastName": last});
        let user = check_user(&payload);
        prop_assert!(user.is_ok(), "{:?}", user);
        let user = user.unwrap();
        prop_assert_eq!(user.first_name, first.trim());
        prop_assert_eq!(user.last_name, last.trim());
    }
}
