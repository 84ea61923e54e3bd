//! Exports and lists that hold every order, however many: the CSV streams
//! keyset pages, the dashboard's list pages by cursor.

use std::collections::HashSet;

use crate::helpers::{fns, spawn_web_only};

#[tokio::test]
async fn every_order_is_exported_and_the_list_pages_through_them_all() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (s, b) = app.register(&slug, "first@example.org").await;
    assert_eq!(s, 200, "{b}");
    // Many more orders than a page (and than the 5 000 the list once stopped
    // at), several at the same instant: the cursor must tell them apart.
    const BULK: i64 = 5_300;
    sqlx::query(
        "WITH e AS (SELECT id FROM events WHERE slug = $1),
              tt AS (SELECT t.id FROM ticket_types t, e WHERE t.event_id = e.id LIMIT 1),
              a AS (INSERT INTO attendees (id, event_id, email, name)
                    SELECT gen_random_uuid(), e.id, 'bulk' || g || '@example.org', 'Bulk ' || g
                    FROM e, generate_series(1, $2) g RETURNING id, event_id, name),
              o AS (INSERT INTO orders (id, event_id, attendee_id, code, status, total_minor, currency, idempotency_key, created_at)
                    SELECT gen_random_uuid(), a.event_id, a.id, 'BULK' || lpad(substr(a.name, 6), 6, '0'), 'confirmed', 0, 'EUR',
                           'bulk-' || a.id, now() - (substr(a.name, 6)::int / 10) * interval '1 second'
                    FROM a RETURNING id, event_id, attendee_id, code)
         INSERT INTO tickets (id, event_id, attendee_id, ticket_type_id, code, order_id)
         SELECT gen_random_uuid(), o.event_id, o.attendee_id, tt.id, 'T' || o.code, o.id FROM o, tt",
    )
    .bind(&slug)
    .bind(BULK)
    .execute(&app.pool)
    .await
    .unwrap();

    let res = org
        .client
        .get(format!(
            "{}/dashboard/events/{slug}/registrations.csv",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csv = res.text().await.unwrap();
    let codes: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(codes.len() as i64, BULK + 1, "every order, once");
    assert_eq!(codes.iter().collect::<HashSet<_>>().len() as i64, BULK + 1);

    // The list: pages of 500, newest first, each after the last one's cursor.
    let mut seen = HashSet::new();
    let mut after = String::new();
    loop {
        let (s, page) = app
            .call::<fns::ListRegistrations>(&org.client, &[("slug", &slug), ("after", &after)])
            .await;
        assert_eq!(s, 200, "{page}");
        let page = page.as_array().unwrap().clone();
        for row in &page {
            assert!(
                seen.insert(row["order_code"].as_str().unwrap().to_owned()),
                "{row}"
            );
        }
        if page.len() < 500 {
            break;
        }
        after = page.last().unwrap()["cursor"].as_str().unwrap().to_owned();
    }
    assert_eq!(seen.len() as i64, BULK + 1);
    let (s, b) = app
        .call::<fns::ListRegistrations>(&org.client, &[("slug", &slug), ("after", "yesterday")])
        .await;
    assert_eq!(s, 400, "{b}");
}
