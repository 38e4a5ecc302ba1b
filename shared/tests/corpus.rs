//! The conformance corpus (shared/corpus/cases.json) run natively. The wasm package's
//! tests and the server's tests run the same file: all three must report the same
//! (field, code) pairs for every case.

use onboard_shared::{
    FieldError, validate_speaker, validate_speaker_json, validate_sponsor, validate_sponsor_json,
    validate_sponsor_patch, validate_sponsor_patch_json, validate_user, validate_user_json,
    validate_user_patch, validate_user_patch_json,
};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Case {
    name: String,
    kind: String,
    #[serde(default)]
    payload: Value,
    #[serde(default)]
    text: String,
    /// `user_patch`, `sponsor_patch`: the record as `GET` returns it, and the merge patch.
    #[serde(default)]
    existing: Value,
    #[serde(default)]
    patch: Value,
    errors: Vec<Expected>,
}

#[derive(Deserialize, Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Expected {
    field: String,
    code: String,
}

fn pairs(errors: &[FieldError]) -> Vec<Expected> {
    let mut v: Vec<Expected> = errors
        .iter()
        .map(|e| Expected {
            field: e.field.clone(),
            code: e.code.as_str().to_string(),
        })
        .collect();
    v.sort();
    v
}

fn cases() -> Vec<Case> {
    serde_json::from_str(include_str!("../corpus/cases.json")).expect("corpus is valid JSON")
}

#[test]
fn every_corpus_case_matches() {
    let mut failures = Vec::new();
    for case in cases() {
        let errors = match case.kind.as_str() {
            "user" => validate_user(&case.payload),
            "sponsor" => validate_sponsor(&case.payload),
            "user_json" => validate_user_json(&case.text),
            "sponsor_json" => validate_sponsor_json(&case.text),
            "user_patch" => validate_user_patch(&case.existing, &case.patch),
            "user_patch_json" => validate_user_patch_json(&case.existing.to_string(), &case.text),
            "sponsor_patch" => validate_sponsor_patch(&case.existing, &case.patch),
            "speaker" => validate_speaker(&case.payload),
            other => panic!("unknown kind {other} in case {}", case.name),
        };
        let mut expected = case.errors.clone();
        expected.sort();
        let got = pairs(&errors);
        if got != expected {
            failures.push(format!(
                "{}:\n  expected {expected:?}\n  got      {got:?}\n  ({errors:?})",
                case.name
            ));
        }
        // Every error carries a message a person can read.
        assert!(errors.iter().all(|e| e.message.len() > 5), "{}", case.name);
    }
    assert!(
        failures.is_empty(),
        "{} corpus case(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn payload_cases_give_the_same_verdict_as_json_text() {
    // The JSON-string entry point must agree with the parsed-value one.
    for case in cases()
        .into_iter()
        .filter(|c| c.kind == "user" || c.kind == "sponsor")
    {
        let text = serde_json::to_string(&case.payload).unwrap();
        let (a, b) = if case.kind == "user" {
            (validate_user(&case.payload), validate_user_json(&text))
        } else {
            (
                validate_sponsor(&case.payload),
                validate_sponsor_json(&text),
            )
        };
        assert_eq!(a, b, "{}", case.name);
    }
}

#[test]
fn patch_and_speaker_cases_give_the_same_verdict_as_json_text() {
    for case in cases() {
        let (value, text) = match case.kind.as_str() {
            "user_patch" => (
                validate_user_patch(&case.existing, &case.patch),
                validate_user_patch_json(&case.existing.to_string(), &case.patch.to_string()),
            ),
            "sponsor_patch" => (
                validate_sponsor_patch(&case.existing, &case.patch),
                validate_sponsor_patch_json(&case.existing.to_string(), &case.patch.to_string()),
            ),
            "speaker" => (
                validate_speaker(&case.payload),
                validate_speaker_json(&case.payload.to_string()),
            ),
            _ => continue,
        };
        // Same list, same order: the server answers with the first, the package the second.
        assert_eq!(value, text, "{}", case.name);
    }
}

#[test]
fn the_corpus_covers_every_validation_code() {
    let text = include_str!("../corpus/cases.json");
    for code in [
        "required",
        "wrong_type",
        "unknown_field",
        "blank",
        "too_long",
        "too_short",
        "invalid_characters",
        "invalid_choice",
        "email_invalid",
        "url_not_https",
        "url_invalid",
        "not_integer",
        "out_of_range",
        "color_invalid",
        "timezone_invalid",
        "speaker_only",
        "duplicate_email",
        "username_invalid",
        "invalid_json",
        "read_only",
        "slug_invalid",
        "too_many_errors",
    ] {
        assert!(
            text.contains(&format!("\"code\": \"{code}\"")),
            "no corpus case for {code}"
        );
    }
}
