//! Spreadsheet cells that are data, never formulas (OWASP, "CSV Injection").
//!
//! A spreadsheet runs a cell starting with `=`, `+`, `-` or `@` (and, in some, after a
//! leading tab or carriage return) as a formula: a name like `=HYPERLINK(...)` in an export
//! could leak data or run commands on the organizer's machine. Every CSV the product writes
//! passes each cell through [`csv_safe_cell`], which puts a `'` in front of such a cell (the
//! spreadsheet's own "this is text" mark); the importer reads cells back through
//! [`csv_cell_value`], so an exported file imports to exactly what was exported.

use std::borrow::Cow;

/// The characters that make a spreadsheet read a cell as a formula.
pub(crate) const FORMULA_START: &[u8] = b"=+-@\t\r";

/// Does the cell, after any `'`s, start with a formula character? Those are the cells that
/// get a `'` in front: a formula, and text that already starts with `'`s before one (so
/// that [`csv_cell_value`] can tell the two apart).
fn needs_mark(cell: &str) -> bool {
    let rest = cell.trim_start_matches('\'');
    rest.as_bytes()
        .first()
        .is_some_and(|b| FORMULA_START.contains(b))
}

/// The cell as a spreadsheet must receive it: unchanged, or with a `'` in front when it
/// would run as a formula. (Quoting the cell for CSV is the CSV writer's job, after this.)
///
/// ```
/// use onboard_shared::csv_safe_cell;
/// assert_eq!(csv_safe_cell("=HYPERLINK(\"https://x.co\")"), "'=HYPERLINK(\"https://x.co\")");
/// assert_eq!(csv_safe_cell("-a3Fz"), "'-a3Fz");
/// assert_eq!(csv_safe_cell("Jane"), "Jane");
/// assert_eq!(csv_safe_cell("'t Hooft"), "'t Hooft");
/// ```
pub fn csv_safe_cell(cell: &str) -> Cow<'_, str> {
    if needs_mark(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The value a cell written by [`csv_safe_cell`] holds: the mark taken off again. Text that
/// merely starts with `'` (`'t Hooft`) is kept as it is.
///
/// ```
/// use onboard_shared::{csv_cell_value, csv_safe_cell};
/// for value in ["=1+1", "'=1+1", "''@x", "'t Hooft", "Jane", "", "-"] {
///     assert_eq!(csv_cell_value(&csv_safe_cell(value)), value);
/// }
/// ```
pub fn csv_cell_value(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_mark(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_formula_start_is_marked_and_round_trips() {
        for &b in FORMULA_START {
            let cell = format!("{}cmd|' /C calc'!A0", char::from(b));
            let safe = csv_safe_cell(&cell);
            assert!(safe.starts_with('\''), "{cell:?}");
            assert_eq!(csv_cell_value(&safe), cell);
        }
        // Every string over a small alphabet survives the round trip.
        let alphabet = ['\'', '=', 'a', '-', ' '];
        let mut cells = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = cells
                .iter()
                .flat_map(|c| alphabet.iter().map(move |a| format!("{c}{a}")))
                .collect();
            cells.extend(longer);
        }
        for cell in &cells {
            let safe = csv_safe_cell(cell);
            assert_eq!(csv_cell_value(&safe), cell, "{cell:?}");
            let first = safe.trim_start_matches('\'').as_bytes().first().copied();
            let marked = safe.starts_with('\'');
            assert!(
                marked || !first.is_some_and(|b| FORMULA_START.contains(&b)),
                "{safe:?}"
            );
        }
    }
}
