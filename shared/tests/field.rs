//! Per-field checks (`validate_field_json`) against the whole payload's check, on every
//! corpus case and every path: the payload's members (recursively, through objects and
//! arrays), the paths of its errors and their parents, and the required fields. For each,
//! the field's answer must equal the whole answer's errors at or under that path (same
//! paths, codes, messages and order), with the context `field_context` names, and also with
//! the whole payload as the context.

use onboard_shared::{
    Code, FieldError, FormValue, PayloadKind, earlier_items, field_context, validate_field,
    validate_field_json, validate_sponsor_json, validate_user_json,
};
use onboard_shared::{SPONSOR_FIELDS, USER_FIELDS};
use serde_json::Value;
use std::collections::BTreeSet;

fn under(field: &str, path: &str) -> bool {
    path.is_empty()
        || field == path
        || field
            .strip_prefix(path)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

/// Every path inside `v` (below `path`).
fn walk(v: &Value, path: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                out.insert(p.clone());
                walk(child, &p, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                out.insert(p.clone());
                walk(child, &p, out);
            }
        }
        _ => {}
    }
}

/// The value at `path`, following the same steps as the paths `walk` made.
fn at<'v>(root: &'v Value, path: &str, known: &[&str]) -> Option<&'v Value> {
    let top = path.split(['.', '[']).next().unwrap();
    if !known.contains(&top) {
        return root.get(path);
    }
    let mut v = root;
    for part in path.split('.') {
        let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        v = v.get(key)?;
        while let Some(after) = rest.strip_prefix('[') {
            let (digits, tail) = after.split_once(']').unwrap();
            v = v.get(digits.parse::<usize>().unwrap())?;
            rest = tail;
        }
    }
    Some(v)
}

fn parents(field: &str, out: &mut BTreeSet<String>) {
    let mut p = field.to_string();
    loop {
        out.insert(p.clone());
        match p.rfind(['.', '[']) {
            Some(i) => p.truncate(i),
            None => break,
        }
    }
}

/// A value as a form holds it: a string as is, any other value as its JSON text.
fn form<'a>(v: Option<&'a Value>, json: Option<&'a str>) -> Option<FormValue<'a>> {
    match v {
        Some(Value::String(s)) => Some(FormValue::Text(s)),
        _ => json.map(FormValue::Json),
    }
}

#[test]
fn every_field_answer_equals_the_whole_answer_on_its_path() {
    let cases: Vec<Value> = serde_json::from_str(include_str!("../corpus/cases.json")).unwrap();
    let mut checked = 0;
    for case in &cases {
        let (kind, validate, known): (_, fn(&str) -> Vec<FieldError>, _) =
            match case["kind"].as_str().unwrap() {
                "user" => (PayloadKind::User, validate_user_json, USER_FIELDS),
                "sponsor" => (PayloadKind::Sponsor, validate_sponsor_json, SPONSOR_FIELDS),
                _ => continue,
            };
        let payload = &case["payload"];
        let text = serde_json::to_string(payload).unwrap();
        let whole = validate(&text);
        let capped = whole.iter().any(|e| e.code == Code::TooManyErrors);
        let mut paths = BTreeSet::from([String::new()]);
        if let Value::Object(m) = payload {
            for (k, v) in m {
                paths.insert(k.clone());
                if known.contains(&k.as_str()) {
                    walk(v, k, &mut paths);
                }
            }
            paths.extend(known.iter().map(|k| k.to_string()));
        }
        for e in &whole {
            let top = e.field.split(['.', '[']).next().unwrap();
            if known.contains(&top) {
                parents(&e.field, &mut paths);
            } else {
                paths.insert(e.field.clone());
            }
        }
        for path in &paths {
            let node = if path.is_empty() {
                Some(payload)
            } else {
                at(payload, path, known)
            };
            let value = node.map(|v| serde_json::to_string(v).unwrap());
            let want: Vec<FieldError> = whole
                .iter()
                .filter(|e| under(&e.field, path))
                .cloned()
                .collect();
            // The context the path needs, and nothing else.
            let needed = field_context(kind, path).and_then(|key| {
                let v = payload.get(key)?;
                Some(serde_json::json!({ key: v }).to_string())
            });
            let got = validate_field_json(kind, path, value.as_deref(), needed.as_deref());
            let name = case["name"].as_str().unwrap();
            // A capped whole answer lists only its first problems; the field's own list
            // starts with those of its path and may go on.
            let same = |got: &[FieldError]| match capped {
                false => got == want.as_slice(),
                true => got.starts_with(&want),
            };
            assert!(
                same(&got),
                "{name}: path {path:?}, context {needed:?}: {got:?} vs {want:?}"
            );
            // The whole payload as the context: the same answer.
            let got = validate_field_json(kind, path, value.as_deref(), Some(&text));
            assert!(
                same(&got),
                "{name}: path {path:?}, whole payload as context: {got:?}"
            );
            // As a form holds it (`validate_field`, the package's keystroke path): a string
            // as is, any other value as JSON text.
            let got = validate_field(kind, path, form(node, value.as_deref()), needed.as_deref());
            assert!(
                same(&got),
                "{name}: path {path:?}, as a form holds it: {got:?} vs {want:?}"
            );
            // For an item of a list, the slim context `earlier_items` allows: the earlier
            // items' one member, the item whole, null after it (the package sends that).
            if let (Some(key), Some((item, of))) =
                (field_context(kind, path), earlier_items(kind, path))
                && let Some(Value::Array(list)) = payload.get(key)
            {
                let slim: Vec<Value> = list
                    .iter()
                    .enumerate()
                    .map(|(j, s)| match s {
                        _ if j > item => Value::Null,
                        Value::Object(m) if j < item && m.contains_key(of) => Value::Object(
                            m.iter()
                                .filter(|(k, _)| *k == of)
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect(),
                        ),
                        _ => s.clone(),
                    })
                    .collect();
                let slim = serde_json::json!({ key: slim }).to_string();
                let got = validate_field_json(kind, path, value.as_deref(), Some(&slim));
                assert!(
                    same(&got),
                    "{name}: path {path:?}, slim context {slim}: {got:?} vs {want:?}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 1000, "{checked} paths checked");
}

#[test]
fn a_field_alone_needs_no_context() {
    let e = validate_field_json(PayloadKind::User, "email", Some(r#""jane@""#), None);
    assert_eq!(e.len(), 1);
    assert_eq!(
        (e[0].field.as_str(), e[0].code.as_str()),
        ("email", "email_invalid")
    );
    assert!(
        validate_field_json(PayloadKind::User, "email", Some(r#""jane@x.com""#), None).is_empty()
    );
    let e = validate_field_json(PayloadKind::User, "firstName", None, None);
    assert_eq!(e[0].code.as_str(), "required");
    // A speaker's e-mail repeating an earlier speaker's, from the context.
    let ctx = r#"{"speakers": [{"email": "A@x.com"}, {"email": "b@x.com"}]}"#;
    let e = validate_field_json(
        PayloadKind::Sponsor,
        "speakers[1].email",
        Some(r#""a@X.com""#),
        Some(ctx),
    );
    assert_eq!(
        (e[0].field.as_str(), e[0].code.as_str()),
        ("speakers[1].email", "duplicate_email")
    );
}
