//! Arbitrary bytes as a PATCH /v1/users/{id} body against a stored user: never a panic,
//! a text that parses gets the same verdict as its value, a hostile patch stays capped, and
//! a valid patch yields a checked user whose changes are fields the patch names.
#![no_main]
use libfuzzer_sys::fuzz_target;
use onboard_shared::{
    ERRORS_MAX, check_user_patch, parse_json, validate_user_patch, validate_user_patch_json,
};

/// A speaker as GET returns it, highlighted, with socials and tags to merge into.
const EXISTING: &str = r#"{"id": "665f1c2e8b3e4a0012345678", "email": "jane@domain.com",
    "type": "Speaker", "firstName": "Jane", "lastName": "Doe", "username": "doe.jane#1234",
    "avatar": null, "job": "Tester", "tags": ["Mentor", "Host"], "timezone": "Europe/Paris",
    "socials": {"facebook": null, "twitter": "https://twitter.com/janedoe"},
    "options": {"highlight": true, "endRegistration": false},
    "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z"}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let errors = validate_user_patch_json(EXISTING, text);
    assert!(errors.len() <= ERRORS_MAX + 1);
    if let Ok(patch) = parse_json(text) {
        let existing = parse_json(EXISTING).unwrap();
        assert_eq!(errors, validate_user_patch(&existing, &patch));
        match check_user_patch(&existing, &patch) {
            Ok(p) => {
                assert!(errors.is_empty());
                assert!(p.changed.iter().all(|f| patch.get(f).is_some()), "{:?}", p.changed);
            }
            Err(e) => assert_eq!(e, errors),
        }
    }
});
