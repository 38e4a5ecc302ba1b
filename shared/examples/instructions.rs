//! Runs one validation entry point many times on a payload read from stdin, for counting
//! instructions per call with callgrind (bench/results.md, "Native instructions"):
//!
//! ```sh
//! cargo build --release -p onboard-shared --example instructions
//! node -e 'const c = require("./shared/corpus/cases.json");
//!   process.stdout.write(JSON.stringify(c.find((x) => x.name === "seed sample user is valid").payload))' > /tmp/user.json
//! for n in 1 2001; do valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$n \
//!   target/release/examples/instructions user $n < /tmp/user.json; done
//! ```
//!
//! (instructions of the 2001-call run minus those of the 1-call run) / 2000 is the cost of
//! one call, without process start-up and reading the input. Where they go, by function:
//!
//! ```sh
//! CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_TARGET_DIR=target/prof \
//!   cargo build --release -p onboard-shared --example instructions
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.prof \
//!   target/prof/release/examples/instructions user 2001 < /tmp/user.json
//! callgrind_annotate --inclusive=yes /tmp/cg.prof   # divide by 2000 (2001 calls)
//! ```

use std::hint::black_box;
use std::io::Read;

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "user".into());
    let n: usize = args.next().map_or(1, |s| s.parse().expect("a call count"));
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .expect("a payload on stdin");
    let validate: fn(&str) -> Vec<onboard_shared::FieldError> = match kind.as_str() {
        "user" => onboard_shared::validate_user_json,
        "sponsor" => onboard_shared::validate_sponsor_json,
        other => panic!("kind is user or sponsor, not {other}"),
    };
    let mut errors = 0;
    for _ in 0..n {
        errors += validate(black_box(&text)).len();
    }
    println!("{errors}");
}
