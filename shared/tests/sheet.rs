//! The spreadsheet mapping: every header both former tables knew (the page's and the
//! CLI's) still maps, in four languages; rows become the payloads `check_users` expects.

use onboard_shared::{
    Code, SheetOptions, check_users, field_for_header, map_headers, rows_to_users, sheet_rows,
    suggest_url,
};
use serde_json::json;

fn path(header: &str) -> Option<&'static str> {
    field_for_header(header).map(|f| f.path)
}

#[test]
fn every_header_of_the_former_page_and_cli_tables_still_maps() {
    let table: &[(&str, &str)] = &[
        (
            "email",
            "email emailaddress mail mailaddress courriel adresseemail adressemail adressecourriel adresseelectronique",
        ),
        (
            "type",
            "type usertype role participanttype typeutilisateur typedutilisateur",
        ),
        ("firstName", "firstname first givenname forename prenom"),
        (
            "lastName",
            "lastname last surname familyname nom nomdefamille",
        ),
        (
            "username",
            "username user login pseudo handle nomdutilisateur identifiant",
        ),
        ("avatar", "avatar avatarurl photo picture image"),
        ("description", "description bio biography biographie about"),
        (
            "job",
            "job jobtitle title position poste fonction metier titre",
        ),
        (
            "company",
            "company organization organisation employer entreprise societe",
        ),
        ("tags", "tags tag labels groups etiquettes etiquette"),
        ("timezone", "timezone tz fuseauhoraire fuseau"),
        ("country", "country pays"),
        ("city", "city town ville"),
        (
            "status",
            "status professionalstatus situation statut situationprofessionnelle",
        ),
        (
            "website",
            "website web site homepage siteweb siteinternet url",
        ),
        ("socials.facebook", "facebook socialsfacebook"),
        ("socials.linkedin", "linkedin socialslinkedin"),
        ("socials.twitter", "twitter x socialstwitter"),
        ("socials.youtube", "youtube socialsyoutube"),
        (
            "options.highlight",
            "highlight highlighted optionshighlight miseenavant",
        ),
        (
            "options.endRegistration",
            "endregistration optionsendregistration skipreview",
        ),
    ];
    for (field, names) in table {
        for n in names.split(' ') {
            assert_eq!(path(n), Some(*field), "{n}");
        }
    }
}

#[test]
fn headers_fold_case_accents_spaces_and_punctuation_in_four_languages() {
    for (h, f) in [
        ("E-mail", "email"),
        ("  EMAIL ", "email"),
        ("Adresse e-mail", "email"),
        ("E-Mail-Adresse", "email"),
        ("Correo electrónico", "email"),
        ("Prénom", "firstName"),
        ("Vorname", "firstName"),
        ("Nombre", "firstName"),
        ("Apellido", "lastName"),
        ("Nachname", "lastName"),
        ("Job title", "job"),
        ("Poste", "job"),
        ("Métier", "job"),
        ("Puesto", "job"),
        ("LinkedIn URL", "socials.linkedin"),
        ("Socials.LinkedIn", "socials.linkedin"),
        ("Website URL", "website"),
        ("Website address", "website"),
        ("Twitter handle", "socials.twitter"),
        ("Bio", "description"),
        ("Biography", "description"),
        ("Town", "city"),
        ("Ville", "city"),
        ("Stadt", "city"),
        ("Zeitzone", "timezone"),
        ("Fuseau horaire", "timezone"),
        ("Étiquettes", "tags"),
        ("Name", "fullName"),
        ("Full name", "fullName"),
        ("Nom complet", "fullName"),
        ("Nombre completo", "fullName"),
        ("Vollständiger Name", "fullName"),
    ] {
        assert_eq!(path(h), Some(f), "{h}");
    }
    for h in [
        "Shoe size",
        "Company URL",
        "Company address",
        "",
        "Имя",
        "Ticket Type",
    ] {
        assert_eq!(path(h), None, "{h}");
    }
}

#[test]
fn a_full_name_column_is_used_only_without_first_and_last_name_columns() {
    assert_eq!(
        map_headers(&["Name", "Email", "First name"]),
        [None, Some("email"), Some("firstName")]
    );
    assert_eq!(
        map_headers(&["Name", "Email", "Email address"]),
        [Some("fullName"), Some("email"), None]
    );
}

#[test]
fn full_names_split_at_the_comma_or_before_the_last_word() {
    let users = rows_to_users(
        &["Full name", "Email"],
        &[
            ["Doe, Jane", "jane@example.com"],
            ["Jane van Doe", "jvd@example.com"],
            ["Cher", "cher@example.com"],
        ],
        &SheetOptions::default(),
    )
    .unwrap();
    assert_eq!(
        (&users[0]["firstName"], &users[0]["lastName"]),
        (&json!("Jane"), &json!("Doe"))
    );
    assert_eq!(
        (&users[1]["firstName"], &users[1]["lastName"]),
        (&json!("Jane van"), &json!("Doe"))
    );
    assert_eq!(users[2]["firstName"], "Cher");
    assert!(users[2].get("lastName").is_none());
    // Cher has no last name: the rulebook says so, nothing is invented.
    let verdicts = check_users(&users);
    assert_eq!(verdicts[2].as_ref().unwrap_err()[0].field, "type");
    let rows = sheet_rows(
        &["Name", "Email"],
        &[["Doe, Jane", "j@example.com"]],
        &SheetOptions::default(),
    )
    .unwrap();
    assert!(rows[0].split_name);
}

#[test]
fn cells_become_typed_values_and_defaults_fill_empty_fields() {
    let options = SheetOptions {
        defaults: vec![("type".into(), "Speaker".into())],
        ..Default::default()
    };
    let users = rows_to_users(
        &[
            "Courriel",
            "Prénom",
            "Nom",
            "Étiquettes",
            "Mise en avant",
            "Type",
            "LinkedIn",
            "Extra",
        ],
        &[
            vec![
                "a@example.com",
                " Élodie ",
                "Dupré",
                "Atelier, Mentor | VIP;",
                "oui",
                "",
                "https://linkedin.com/in/e",
                "x",
            ],
            vec![
                "b@example.com",
                "Marc",
                "Martin",
                "",
                "peut-être",
                "Attendee",
            ],
        ],
        &options,
    )
    .unwrap();
    assert_eq!(
        users[0],
        json!({"email": "a@example.com", "type": "Speaker", "firstName": "Élodie", "lastName": "Dupré",
               "tags": ["Atelier", "Mentor", "VIP"], "socials": {"linkedin": "https://linkedin.com/in/e"},
               "options": {"highlight": true}})
    );
    assert_eq!(users[1]["options"]["highlight"], "peut-être");
    assert_eq!(users[1]["type"], "Attendee");
    let verdicts = check_users(&users);
    assert!(verdicts[0].is_ok(), "{:?}", verdicts[0]);
    assert_eq!(verdicts[1].as_ref().unwrap_err()[0].code, Code::WrongType);
}

#[test]
fn a_column_of_ticket_types_maps_to_type_by_a_value_table() {
    let options = SheetOptions {
        columns: Some(vec![Some("email".into()), Some("type".into())]),
        type_values: vec![("Speaker Pass".into(), "Speaker".into())],
        other_type: Some("Attendee".into()),
        defaults: vec![("type".into(), "Attendee".into())],
    };
    let users = rows_to_users(
        &["Email", "Ticket Type"],
        &[
            ["a@example.com", "speaker pass"],
            ["b@example.com", "General Admission"],
            ["c@example.com", ""],
        ],
        &options,
    )
    .unwrap();
    let types: Vec<&str> = users.iter().map(|u| u["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["Speaker", "Attendee", "Attendee"]);
    let bad = SheetOptions {
        columns: Some(vec![Some("shoe".into())]),
        ..Default::default()
    };
    assert!(
        rows_to_users(&["x"], &[["y"]], &bad)
            .unwrap_err()
            .contains("not a field")
    );
}

#[test]
fn the_json_text_of_a_row_is_its_value() {
    let rows = sheet_rows(
        &[
            "Email",
            "Twitter",
            "Facebook",
            "Highlight",
            "Skip review",
            "Tags",
            "Bio",
        ],
        &[[
            "a@example.com",
            "@ada",
            "https://fb.com/a",
            "yes",
            "no",
            "a,\"b\"",
            "line\none \\ two",
        ]],
        &SheetOptions::default(),
    )
    .unwrap();
    let mut text = String::new();
    rows[0].write_json(&mut text);
    let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed, rows[0].to_value());
    assert_eq!(
        parsed["options"],
        json!({"highlight": true, "endRegistration": false})
    );
}

#[test]
fn url_corrections_are_offered_only_for_plain_intents() {
    for (field, value, want) in [
        (
            "socials.linkedin",
            "linkedin.com/in/ada",
            Some("https://linkedin.com/in/ada"),
        ),
        ("website", "www.ada.dev", Some("https://www.ada.dev")),
        ("website", "http://ada.dev/x", Some("https://ada.dev/x")),
        (
            "socials.twitter",
            "@ada_l",
            Some("https://twitter.com/ada_l"),
        ),
        ("socials.twitter", "@", None),
        ("socials.linkedin", "@ada", None),
        ("website", "https://ada.dev", None),
        ("website", "ada", None),
        ("website", "ftp://ada.dev", None),
        ("website", "ada dev.com", None),
        ("company", "ada.dev", None),
    ] {
        assert_eq!(
            suggest_url(field, value).as_deref(),
            want,
            "{field} {value}"
        );
    }
}

#[test]
fn cells_a_csv_writer_marked_as_text_read_back_as_written() {
    use onboard_shared::csv_safe_cell;
    let values = [
        "=HYPERLINK(\"x\")",
        "-dash",
        "@handle",
        "'t Hooft",
        "+33 1 2",
    ];
    let cells: Vec<String> = values
        .iter()
        .map(|v| csv_safe_cell(v).into_owned())
        .collect();
    let headers = [
        "Email",
        "Type",
        "First name",
        "Last name",
        "Company",
        "Tags",
    ];
    // An export marks the tags cell as a whole: the mark comes off before it is split.
    let tags = csv_safe_cell(&format!("{}; {}", values[2], values[4])).into_owned();
    let row = ["a@b.co", "Attendee", &cells[0], &cells[1], &cells[3], &tags];
    let users = rows_to_users(&headers, &[row], &SheetOptions::default()).unwrap();
    assert_eq!(
        users[0],
        json!({"email": "a@b.co", "type": "Attendee", "firstName": values[0],
               "lastName": values[1], "company": "'t Hooft", "tags": ["@handle", "+33 1 2"]})
    );
}
