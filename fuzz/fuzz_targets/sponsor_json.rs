//! Arbitrary bytes as a POST /v1/sponsors body: parsing and validation must never panic, and
//! a text that parses must give the same verdict as its value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use onboard_shared::{check_sponsor, parse_json, validate_sponsor, validate_sponsor_json};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let errors = validate_sponsor_json(text);
    if let Ok(value) = parse_json(text) {
        assert_eq!(errors, validate_sponsor(&value));
        // A valid payload yields a typed sponsor; an invalid one at least one error.
        assert_eq!(check_sponsor(&value).is_ok(), errors.is_empty());
    }
});
