//! The text entry points parse with the rulebook's own borrowed parser (src/doc.rs), the
//! server with `parse_json` (serde_json). They must agree: the same texts accepted, and on
//! those the same errors as validating the parsed `Value`. Checked on the corpus payloads
//! with random edits (which makes mostly invalid JSON) and on random JSON documents.

use onboard_shared::{
    Code, FieldError, parse_json, validate_speaker, validate_speaker_json, validate_sponsor,
    validate_sponsor_json, validate_sponsor_patch, validate_sponsor_patch_json, validate_user,
    validate_user_json, validate_user_patch, validate_user_patch_json,
};
use proptest::prelude::*;
use serde_json::Value;

fn corpus_texts() -> Vec<String> {
    let cases: Vec<Value> = serde_json::from_str(include_str!("../corpus/cases.json")).unwrap();
    cases
        .iter()
        .map(|c| match c.get("text").and_then(Value::as_str) {
            Some(text) => text.to_string(),
            // A patch case's text is its patch.
            None if c.get("patch").is_some() => serde_json::to_string_pretty(&c["patch"]).unwrap(),
            None => serde_json::to_string_pretty(&c["payload"]).unwrap(),
        })
        .collect()
}

/// What serde_json's path says about `text`.
fn reference(text: &str, validate: fn(&Value) -> Vec<FieldError>) -> Option<Vec<FieldError>> {
    parse_json(text).ok().map(|v| validate(&v))
}

/// The records the patch checks run against: a speaker with every field, and a sponsor.
const EXISTING_USER: &str = r#"{"id": "x", "email": "jane@domain.com", "type": "Speaker",
    "firstName": "Jane", "lastName": "Doe", "username": "doe.jane#1234", "job": "Tester",
    "tags": ["Mentor"], "socials": {"twitter": "https://x.com/j", "youtube": null},
    "options": {"highlight": true}, "createdAt": "t"}"#;
const EXISTING_SPONSOR: &str = r#"{"id": "x", "name": "Super", "slug": "super", "level": 3,
    "logo": "https://domain.com/l.png", "options": {"highlight": true}, "speakers": []}"#;

fn user_patch_json(text: &str) -> Vec<FieldError> {
    validate_user_patch_json(EXISTING_USER, text)
}
fn user_patch(v: &Value) -> Vec<FieldError> {
    validate_user_patch(&parse_json(EXISTING_USER).unwrap(), v)
}
fn sponsor_patch_json(text: &str) -> Vec<FieldError> {
    validate_sponsor_patch_json(EXISTING_SPONSOR, text)
}
fn sponsor_patch(v: &Value) -> Vec<FieldError> {
    validate_sponsor_patch(&parse_json(EXISTING_SPONSOR).unwrap(), v)
}

fn assert_same(text: &str) {
    for (fast, slow) in [
        (
            validate_user_json as fn(&str) -> Vec<FieldError>,
            validate_user as fn(&Value) -> Vec<FieldError>,
        ),
        (validate_sponsor_json, validate_sponsor),
        (user_patch_json, user_patch),
        (sponsor_patch_json, sponsor_patch),
        (validate_speaker_json, validate_speaker),
    ] {
        let got = fast(text);
        match reference(text, slow) {
            Some(want) => assert_eq!(got, want, "{text:?}"),
            None => {
                assert_eq!(got.len(), 1, "{text:?}: {got:?}");
                assert_eq!(got[0].code, Code::InvalidJson, "{text:?}: {got:?}");
            }
        }
    }
}

#[test]
fn corpus_texts_agree() {
    for text in corpus_texts() {
        assert_same(&text);
    }
}

#[test]
fn tricky_texts_agree() {
    for text in [
        "",
        " ",
        "null",
        "{}",
        "[]",
        "{\"a\":1}x",
        "{\"a\":01}",
        "{\"a\":-}",
        "{\"a\":1.}",
        "{\"a\":.5}",
        "{\"a\":1e}",
        "{\"a\":1e+}",
        "{\"a\":-0}",
        "{\"a\":-0.0}",
        "{\"level\":3.0}",
        "{\"level\":1e400}",
        "{\"level\":-1e400}",
        "{\"level\":1e-400}",
        "{\"level\":18446744073709551616}",
        "{\"level\":9223372036854775808}",
        "{\"level\":-9223372036854775809}",
        "{\"level\":9007199254740993}",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\udc00\"}",
        "{\"a\":\"\\ud800\\u0041\"}",
        "{\"a\":\"\\ud83c\\udf89\"}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\u{1}\"}",
        "{\"a\":\"\\u00e9\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":\"\\u12G4\"}",
        "{\"a\":tru}",
        "{\"a\":nul}",
        "{\"a\" 1}",
        "{a:1}",
        "{\"a\":1,}",
        "[1,]",
        "[1 2]",
        "{\"a\":1 \"b\":2}",
        "{\"a\":1,\"a\":2}",
        "\u{feff}{}",
        "{\"email\":\"a@b.co\",\"email\":\"a@b.co\"}",
        "\t\n\r {} \n",
        "{\"firstName\":\"Ja\\u0000ne\"}",
        "{\"level\":18446744073709551616.0}",
        "{\"level\":184467440737095516150.5}",
        "{\"level\":1.00000000000000000001}",
        "{\"level\":2.99999999999999999999}",
        "{\"level\":1e-400}",
        "{\"level\":1.7976931348623157e308}",
        "{\"level\":1.7976931348623159e308}",
        "{\"level\":0e99999999999}",
        "{\"level\":1e99999999999}",
        "{\"level\":-1e-99999999999}",
        "{\"level\":3e0}",
        "{\"level\":0.3e1}",
        "{\"level\":300e-2}",
        "{\"level\":-0}",
        "{\"level\":18446744073709551616.0}",
        "{\"level\":184467440737095516150.5}",
        "{\"level\":1.00000000000000000001}",
        "{\"level\":2.99999999999999999999}",
        "{\"level\":1e-400}",
        "{\"level\":1.7976931348623157e308}",
        "{\"level\":1.7976931348623159e308}",
        "{\"level\":0e99999999999}",
        "{\"level\":1e99999999999}",
        "{\"level\":-1e-99999999999}",
        "{\"level\":3e0}",
        "{\"level\":0.3e1}",
        "{\"level\":300e-2}",
        "{\"level\":-0}",
        "{\"tags\":[\"a\",\"A\",\"\\u0041\"]}",
    ] {
        assert_same(text);
    }
    let deep = |n: usize| "[".repeat(n) + &"]".repeat(n);
    for n in [127, 128, 129, 10_000] {
        assert_same(&format!("{{\"tags\":{}}}", deep(n)));
    }
    let mut big = String::from("{");
    for i in 0..300 {
        big.push_str(&format!("\"k{i}\":{i},"));
    }
    assert_same(&(big.clone() + "\"k7\":1}"));
    assert_same(&(big + "\"email\":\"a@b.co\"}"));
}

#[test]
fn capped_lists_agree() {
    // Issue 17, finding 3: hostile payloads of many problems. Both paths stop at the same
    // entry, with the same `too_many_errors` at the end.
    let keys = |n: usize, prefix: &str| -> String {
        (0..n)
            .map(|i| format!("\"{prefix}{}\":null", (n - i) * 7919 % 100_003))
            .collect::<Vec<_>>()
            .join(",")
    };
    let texts = [
        format!("{{{}}}", keys(5000, "k")),
        format!("{{\"socials\":{{{}}},{}}}", keys(300, "s"), keys(50, "k")),
        format!(
            "{{\"options\":{{{}}},\"speakers\":[{{{}}}]}}",
            keys(60, "o"),
            keys(60, "p")
        ),
        format!("{{\"tags\":[{}]}}", vec!["\"\""; 50].join(",")),
        format!(
            "{{\"speakers\":[{}]}}",
            vec!["{\"email\":\"x\",\"tags\":[\"\"],\"avatar\":\"http://a\"}"; 100].join(",")
        ),
    ];
    for text in &texts {
        assert_same(text);
        let errors = validate_user_json(text);
        assert!(
            errors.len() <= onboard_shared::ERRORS_MAX + 1,
            "{}",
            errors.len()
        );
    }
    let capped = validate_sponsor_json(&texts[4]);
    assert_eq!(capped.len(), onboard_shared::ERRORS_MAX + 1);
    assert_eq!(capped.last().unwrap().code, Code::TooManyErrors);

    // A bulk request: at most BULK_ERRORS_MAX over its rows, each invalid row keeps one.
    let row = format!("{{{}}}", keys(200, "k"));
    let rows = format!("[{}]", vec![row.as_str(); 1000].join(","));
    let fast = onboard_shared::validate_users_json(&rows);
    let values: Vec<Value> = serde_json::from_str(&rows).unwrap();
    let slow: Vec<Vec<FieldError>> = onboard_shared::check_users(&values)
        .into_iter()
        .map(|r| r.err().unwrap_or_default())
        .collect();
    assert_eq!(fast, slow);
    let total: usize = fast.iter().map(Vec::len).sum();
    assert!(
        total <= onboard_shared::BULK_ERRORS_MAX + fast.len(),
        "{total}"
    );
    assert!(fast.iter().all(|e| !e.is_empty()));
    assert_eq!(fast[999], [fast[999][0].clone()]);
    assert_eq!(fast[999][0].code, Code::TooManyErrors);
}

/// Edits that make JSON interesting: structure characters, escapes, digits, duplicates.
const PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ",",
    ":",
    "\\",
    "\\u",
    "\\ud800",
    "0",
    "1",
    "-",
    ".",
    "e",
    "E",
    "+",
    " ",
    "\n",
    "null",
    "true",
    "é",
    "\u{0}",
    "\"email\":\"x@y.co\",",
    "1e400",
    "01",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn edited_corpus_texts_agree(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..3, prop::sample::select(PIECES)), 1..4),
    ) {
        let texts = corpus_texts();
        let mut text = texts[which.index(texts.len())].clone();
        for (at, op, piece) in edits {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            match op {
                0 => text.insert_str(i, piece),
                1 => {
                    let mut j = (i + piece.len()).min(text.len());
                    while !text.is_char_boundary(j) {
                        j += 1;
                    }
                    text.replace_range(i..j, "");
                }
                _ => {
                    let mut j = (i + 1).min(text.len());
                    while !text.is_char_boundary(j) {
                        j += 1;
                    }
                    text.replace_range(i..j, piece);
                }
            }
        }
        assert_same(&text);
    }

    #[test]
    fn random_documents_agree(value in json_value(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&value) } else { serde_json::to_string(&value) };
        assert_same(&text.unwrap());
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "email",
        "type",
        "firstName",
        "lastName",
        "tags",
        "level",
        "name",
        "logo",
        "speakers",
        "options",
        "highlight",
        "timezone",
        "color",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-10.0f64..10.0).prop_map(Value::from),
        "[ -~éA-Z\u{0}-\u{1f}]{0,12}".prop_map(Value::from),
        prop::sample::select(vec![
            "a@b.co",
            "Attendee",
            "Speaker",
            "https://x.com",
            "Europe/Paris",
            "#fff"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6).prop_map(|m| Value::Object(
                m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}
