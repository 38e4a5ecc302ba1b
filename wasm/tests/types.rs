//! The package's TypeScript declarations (the `typescript_custom_section`s of src/lib.rs,
//! shipped verbatim in index.d.ts) against the rulebook's own types: a `Code`, a catalogue
//! field, a status or a password-policy option added in Rust and missing in TypeScript (or
//! the reverse) fails here.

use onboard_shared::{Code, FIELDS, FieldKind, PasswordPolicy, STATUSES, kind_name};
use serde::de::{self, Deserializer, Visitor};

const SOURCE: &str = include_str!("../src/lib.rs");

/// The quoted strings of `export type NAME = ... ;`.
fn union(name: &str) -> Vec<String> {
    let start = format!("export type {name} =");
    let at = SOURCE.find(&start).unwrap_or_else(|| panic!("no {start}"));
    let body = &SOURCE[at + start.len()..];
    let body = &body[..body.find(';').unwrap()];
    body.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The member names of `export interface NAME { ... }`, nested objects as `parent.key`.
fn members(name: &str) -> Vec<String> {
    let start = format!("export interface {name} {{");
    let at = SOURCE.find(&start).unwrap_or_else(|| panic!("no {start}"));
    let mut out = Vec::new();
    let mut parents: Vec<String> = Vec::new();
    for line in SOURCE[at + start.len()..].lines() {
        let line = line.trim();
        if line.starts_with('}') {
            if parents.pop().is_none() {
                break;
            }
            continue;
        }
        if line.starts_with("/**") || line.starts_with('*') || line.is_empty() {
            continue;
        }
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim_end_matches('?');
        let path = match parents.last() {
            Some(p) => format!("{p}.{key}"),
            None => key.to_string(),
        };
        if rest.trim_end().ends_with('{') {
            parents.push(path);
        } else {
            out.push(path);
        }
    }
    out
}

/// Every variant name of a serde enum, as serde spells it on the wire.
fn variants<'de, T: serde::Deserialize<'de>>() -> Vec<&'static str> {
    struct Grab(Option<&'static [&'static str]>);
    impl<'de> Deserializer<'de> for &mut Grab {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not an enum"))
        }
        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _: &'static str,
            names: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = Some(names);
            Err(de::Error::custom("names taken"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map struct
            identifier ignored_any
        }
    }
    let mut grab = Grab(None);
    let _ = T::deserialize(&mut grab);
    grab.0.expect("an enum").to_vec()
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

#[test]
fn every_error_code_is_in_the_typescript_union_and_nothing_else() {
    let rust = variants::<Code>();
    assert!(rust.len() > 20, "{rust:?}");
    // `as_str` is what the package writes; serde's names are what the server writes.
    for name in &rust {
        let code: Code = serde_json::from_value(serde_json::json!(name)).unwrap();
        assert_eq!(code.as_str(), *name);
    }
    assert_eq!(
        sorted(union("ErrorCode")),
        sorted(rust.iter().map(|s| s.to_string()).collect())
    );
}

#[test]
fn the_import_fields_and_kinds_are_the_catalogues() {
    let paths: Vec<String> = FIELDS.iter().map(|f| f.path.to_string()).collect();
    assert_eq!(union("ImportField"), paths);
    let mut kinds: Vec<&str> = Vec::new();
    for f in FIELDS {
        if !kinds.contains(&kind_name(f.kind)) {
            kinds.push(kind_name(f.kind));
        }
    }
    assert_eq!(
        sorted(union("FieldKind")),
        sorted(kinds.iter().map(|s| s.to_string()).collect())
    );
    assert!(FIELDS.iter().any(|f| f.kind == FieldKind::FullName));
}

#[test]
fn the_payload_interfaces_have_the_catalogues_fields() {
    let user: Vec<String> = FIELDS
        .iter()
        .filter(|f| f.kind != FieldKind::FullName)
        .map(|f| f.path.to_string())
        .collect();
    assert_eq!(members("UserPayload"), user);
    assert_eq!(members("SheetUser"), user);
    let speaker: Vec<String> = FIELDS
        .iter()
        .filter_map(|f| f.speaker.map(str::to_string))
        .collect();
    assert_eq!(members("SpeakerPayload"), speaker);
}

#[test]
fn statuses_types_and_password_options_match() {
    let statuses: Vec<String> = STATUSES.iter().map(|(s, _)| s.to_string()).collect();
    assert_eq!(union("UserStatus"), statuses);
    let types: Vec<String> = variants::<onboard_shared::UserType>()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(union("UserType"), types);
    let policy = serde_json::to_value(PasswordPolicy::default()).unwrap();
    let keys: Vec<String> = policy.as_object().unwrap().keys().cloned().collect();
    assert_eq!(sorted(members("PasswordPolicy")), sorted(keys));
}
