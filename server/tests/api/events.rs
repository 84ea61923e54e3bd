use crate::helpers::{client, event_form, fns, spawn_web_only};

#[tokio::test]
async fn organiser_creates_an_event_and_sees_it_in_the_dashboard() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let res = org
        .client
        .post(app.url_of::<fns::CreateEvent>())
        .form(&event_form("rustconf-2027"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["location"], "/dashboard/events/rustconf-2027");

    let (status, body) = app.call::<fns::Dashboard>(&org.client, &[]).await;
    assert_eq!(status, 200);
    let events = body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["slug"], "rustconf-2027");
    // 09:00 in Berlin, shown in the event's zone.
    assert!(
        events[0]["starts"].as_str().unwrap().contains("09:00 CEST"),
        "{body}"
    );

    let (starts, tz): (chrono::DateTime<chrono::Utc>, String) =
        sqlx::query_as("SELECT starts_at, time_zone FROM events")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(starts.to_rfc3339(), "2027-05-01T07:00:00+00:00");
    assert_eq!(tz, "Europe/Berlin");

    let (status, body) = app
        .call::<fns::EventOverview>(&org.client, &[("slug", "rustconf-2027")])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["event"]["name"], "RustConf Hybrid");
    assert_eq!(body["figures"]["registrations"], 0);
}

#[tokio::test]
async fn invalid_events_are_refused_with_reasons_and_nothing_is_stored() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    app.event(&org).await; // one good event to keep
    let mut cases = Vec::new();
    let mut f = event_form("bad-1");
    f[3].1 = "2027-05-03T09:00"; // starts after it ends
    cases.push((f, 400, "end after it starts"));
    let mut f = event_form("bad-2");
    f[5].1 = "Mars/Olympus";
    cases.push((f, 400, "not a known time zone"));
    let mut f = event_form("bad-3");
    f[3].1 = "next tuesday";
    cases.push((f, 400, "must look like"));
    cases.push((event_form("No Spaces Allowed"), 400, "slug must be"));
    let mut f = event_form("bad-4");
    f[0].1 = "";
    cases.push((f, 400, "name is required"));
    for (form, status, msg) in cases {
        let (got, body) = app.call::<fns::CreateEvent>(&org.client, &form).await;
        assert_eq!(got, status, "{form:?}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(msg),
            "{form:?}: {body}"
        );
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn slugs_are_unique_across_organisations() {
    let app = spawn_web_only().await;
    let a = app.organiser().await;
    let b = app.organiser().await;
    let (s, _) = app
        .call::<fns::CreateEvent>(&a.client, &event_form("shared-name"))
        .await;
    assert_eq!(s, 200);
    let (s, body) = app
        .call::<fns::CreateEvent>(&b.client, &event_form("shared-name"))
        .await;
    assert_eq!(s, 409, "{body}");
    assert!(body["message"].as_str().unwrap().contains("already taken"));
}

#[tokio::test]
async fn another_organisation_cannot_see_or_use_the_event() {
    let app = spawn_web_only().await;
    let a = app.organiser().await;
    let b = app.organiser().await;
    let slug = app.event(&a).await;

    let (status, body) = app
        .call::<fns::EventOverview>(&b.client, &[("slug", &slug)])
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = app.call::<fns::Dashboard>(&b.client, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body["events"].as_array().unwrap().len(), 0);
    // Anonymous callers are asked to log in.
    let (status, _) = app
        .call::<fns::EventOverview>(&client(), &[("slug", &slug)])
        .await;
    assert_eq!(status, 401);
    let (status, _) = app
        .call::<fns::CreateEvent>(&client(), &event_form("anon-event"))
        .await;
    assert_eq!(status, 401);
    // The owner still sees it.
    let (status, _) = app
        .call::<fns::EventOverview>(&a.client, &[("slug", &slug)])
        .await;
    assert_eq!(status, 200);
}
