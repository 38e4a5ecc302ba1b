//! Arbitrary sponsor names: slugify never panics, yields a slug, and is idempotent.
#![no_main]
use libfuzzer_sys::fuzz_target;
use onboard_shared::{is_slug, slugify};

fuzz_target!(|name: &str| {
    let slug = slugify(name);
    assert!(is_slug(&slug), "{slug:?}");
    assert_eq!(slugify(&slug), slug);
});
