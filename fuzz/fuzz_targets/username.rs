//! Arbitrary first and last names: username generation never panics and always yields a
//! username its own validation accepts.
#![no_main]
use libfuzzer_sys::fuzz_target;
use onboard_shared::{check_username, generate_username, preview_username, sanitize_name_part, USERNAME_MAX};

fuzz_target!(|names: (&str, &str)| {
    let (first, last) = names;
    let part = sanitize_name_part(first);
    assert!(part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    let name = generate_username(first, last);
    assert!(name.len() <= USERNAME_MAX, "{name}");
    assert!(check_username(&name).is_empty(), "{name}");
    assert!(preview_username(first, last).ends_with("#····"));
    let _ = check_username(first);
});
