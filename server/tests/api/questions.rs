//! Custom registration questions: required, validated, stored with the order,
//! exported as CSV columns and shown in the order's detail.

use crate::helpers::{client, fns};
use crate::ticketing::app;

#[tokio::test]
async fn custom_questions_are_required_validated_stored_and_exported() {
    let app = app(false).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    for form in [
        vec![("label", "Company"), ("kind", "text"), ("required", "on")],
        vec![
            ("label", "Diet"),
            ("kind", "choice"),
            ("options", "Veg, Vegan, None"),
        ],
        vec![
            ("label", "I accept the code of conduct"),
            ("kind", "checkbox"),
            ("required", "on"),
        ],
    ] {
        let mut full = vec![("slug", slug.as_str())];
        full.extend(form);
        let (s, b) = app.call::<fns::CreateQuestion>(&org.client, &full).await;
        assert_eq!(s, 200, "{b}");
    }
    for (form, msg) in [
        (
            vec![("label", "Size"), ("kind", "choice"), ("options", "M")],
            "at least two",
        ),
        (
            vec![("label", "Size"), ("kind", "essay")],
            "text, choice or checkbox",
        ),
        (vec![("label", ""), ("kind", "text")], "required"),
    ] {
        let mut full = vec![("slug", slug.as_str())];
        full.extend(form);
        let (s, b) = app.call::<fns::CreateQuestion>(&org.client, &full).await;
        assert_eq!(s, 400, "{b}");
        assert!(b["message"].as_str().unwrap().contains(msg), "{b}");
    }
    let (s, page) = app
        .call::<fns::PublicEvent>(&client(), &[("slug", &slug)])
        .await;
    assert_eq!(s, 200);
    let qs = page["questions"].as_array().unwrap().clone();
    assert_eq!(qs.len(), 3);
    let id = |i: usize| format!("answers[q{}]", qs[i]["id"].as_str().unwrap());
    let (company, diet, coc) = (id(0), id(1), id(2));

    let base = [
        ("slug", slug.as_str()),
        ("name", "Quinn"),
        ("email", "quinn@example.org"),
    ];
    let attempt = |extra: Vec<(String, &'static str)>| {
        let mut form: Vec<(String, String)> = base
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        form.extend(extra.into_iter().map(|(k, v)| (k, v.to_string())));
        form
    };
    for (extra, msg) in [
        (vec![(coc.clone(), "on")], "please answer \"Company\""),
        (vec![(company.clone(), "ACME")], "please answer \"I accept"),
        (
            vec![
                (company.clone(), "ACME"),
                (coc.clone(), "on"),
                (diet.clone(), "Meat"),
            ],
            "not an option",
        ),
        (
            vec![
                (company.clone(), "ACME"),
                (coc.clone(), "on"),
                ("answers[qnope]".to_string(), "x"),
            ],
            "unknown question",
        ),
    ] {
        let form = attempt(extra);
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (s, b) = app.call::<fns::Register>(&client(), &pairs).await;
        assert_eq!(s, 400, "{b}");
        assert!(b["message"].as_str().unwrap().contains(msg), "{msg}: {b}");
    }
    let stored: (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM attendees), (SELECT count(*) FROM answers)")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, (0, 0), "a refused order stores nothing");

    let form = attempt(vec![
        (company.clone(), "ACME, Inc."),
        (diet.clone(), "Vegan"),
        (coc.clone(), "on"),
    ]);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (s, b) = app.call::<fns::Register>(&client(), &pairs).await;
    assert_eq!(s, 200, "{b}");
    let csv = org
        .client
        .get(format!(
            "{}/dashboard/events/{slug}/registrations.csv",
            app.base
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].ends_with(",Company,Diet,I accept the code of conduct"),
        "{csv}"
    );
    assert!(lines[1].ends_with(",\"ACME, Inc.\",Vegan,yes"), "{csv}");
    // The organiser's detail view of the order shows the answers too.
    let code = b["order_code"].as_str().unwrap();
    let (s, d) = app
        .call::<fns::RegistrationDetail>(
            &org.client,
            &[("slug", slug.as_str()), ("order_code", code)],
        )
        .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(
        d["answers"][0],
        serde_json::json!({"question": "Company", "answer": "ACME, Inc."})
    );
    assert_eq!(d["answers"].as_array().unwrap().len(), 3);

    // The registrations report (an analytics job): the same answers, from
    // `attendee.registered` alone, a column per question in the form's
    // order; a question left blank is an empty cell, a formula is defused.
    let form = attempt(vec![(company.clone(), "=SUM(A1)"), (coc.clone(), "on")]);
    let mut pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    pairs[1] = ("name", "Rosa");
    pairs[2] = ("email", "rosa@example.org");
    let (s, b) = app.call::<fns::Register>(&client(), &pairs).await;
    assert_eq!(s, 200, "{b}");
    crate::analytics::engagement_of(&app, &slug).await;
    let (header, mut records) = crate::analytics::made_report(
        &app,
        &org.client,
        &slug,
        "registrations",
        2,
        "registrations-report",
    )
    .await;
    let mut expected: Vec<String> = analytics::reports::REGISTRATION_COLUMNS
        .map(String::from)
        .to_vec();
    expected.extend(["Company", "Diet", "I accept the code of conduct"].map(String::from));
    assert_eq!(header, expected);
    records.sort_by(|a, b| a[1].cmp(&b[1]));
    let (ticket_type, currency): (String, String) = sqlx::query_as(
        "SELECT t.name, o.currency FROM orders o JOIN tickets k ON k.order_id = o.id
         JOIN ticket_types t ON t.id = k.ticket_type_id LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let registered_at = |email: &'static str| {
        let pool = app.pool.clone();
        async move {
            let at: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
                "SELECT (payload->>'occurred_at')::timestamptz FROM outbox
                 WHERE payload->>'type' = 'attendee.registered' AND payload->'data'->>'email' = $1",
            )
            .bind(email)
            .fetch_one(&pool)
            .await
            .unwrap();
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        }
    };
    let row = |name: &str, email: &str, at: String, answers: [&str; 3]| {
        let mut row = vec![name.to_owned(), email.to_owned(), at, ticket_type.clone()];
        row.extend(["1", "confirmed", "0", &currency].map(String::from));
        row.extend(answers.map(String::from));
        row
    };
    assert_eq!(
        records,
        vec![
            row(
                "Quinn",
                "quinn@example.org",
                registered_at("quinn@example.org").await,
                ["ACME, Inc.", "Vegan", "yes"]
            ),
            row(
                "Rosa",
                "rosa@example.org",
                registered_at("rosa@example.org").await,
                ["'=SUM(A1)", "", "yes"]
            ),
        ]
    );
}
