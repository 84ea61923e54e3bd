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
    app.bulk_attendees(&slug, BULK).await;

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
