//! The Reception content organisers edit from the dashboard: agenda sessions,
//! speakers and sponsors (added, checked, removed), and stage sources.

use serde_json::Value;

use crate::attendees::person;
use crate::helpers::{fns, spawn_web_only, Organiser, TestApp};
use crate::stage::setup_stage;

/// Calls server function `S` as `org` with the event's slug and `form`.
async fn call<S: leptos::server_fn::ServerFn>(
    app: &TestApp,
    org: &Organiser,
    slug: &str,
    form: Vec<(&'static str, String)>,
) -> (u16, Value) {
    let mut full: Vec<(&str, &str)> = vec![("slug", slug)];
    full.extend(form.iter().map(|(k, v)| (*k, v.as_str())));
    app.call::<S>(&org.client, &full).await
}

#[tokio::test]
async fn organisers_edit_the_agenda_speakers_and_sponsors_that_reception_shows() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let stage = setup_stage(&app, &org, &slug).await;
    let (s, b) = call::<fns::AddSpeaker>(
        &app,
        &org,
        &slug,
        vec![
            ("name", "Grace".into()),
            ("photo_url", "javascript:x".into()),
        ],
    )
    .await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = call::<fns::AddSpeaker>(
        &app,
        &org,
        &slug,
        vec![
            ("name", "Grace".into()),
            ("headline", "Admiral".into()),
            ("bio", "Compilers.".into()),
            ("photo_url", "https://cdn.example.org/g.jpg".into()),
        ],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        call::<fns::AddSpeaker>(&app, &org, &slug, vec![("name", "Grace".into())])
            .await
            .0,
        409
    );
    let now = chrono::Utc::now();
    let local = |mins: i64| {
        (now + chrono::Duration::minutes(mins))
            .with_timezone(&chrono_tz::Europe::Berlin)
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };
    let (s, b) = call::<fns::AddSession>(
        &app,
        &org,
        &slug,
        vec![
            ("title", "Keynote".into()),
            ("starts", local(-10)),
            ("ends", local(50)),
            ("stage", stage.clone()),
            ("speakers", "Grace".into()),
        ],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = call::<fns::AddSession>(
        &app,
        &org,
        &slug,
        vec![
            ("title", "Panel".into()),
            ("starts", local(120)),
            ("ends", local(180)),
            ("speakers", "Nobody".into()),
        ],
    )
    .await;
    assert_eq!(
        (s, b["message"].as_str()),
        (400, Some("every speaker must be added as a speaker first"))
    );
    let (s, _) = call::<fns::AddSession>(
        &app,
        &org,
        &slug,
        vec![
            ("title", "Backwards".into()),
            ("starts", local(60)),
            ("ends", local(30)),
        ],
    )
    .await;
    assert_eq!(s, 400);
    for (title, starts, ends) in [("Panel", 120, 180), ("Later", 300, 330)] {
        let form = vec![
            ("title", title.into()),
            ("starts", local(starts)),
            ("ends", local(ends)),
        ];
        let (s, b) = call::<fns::AddSession>(&app, &org, &slug, form).await;
        assert_eq!(s, 200, "{title}: {b}");
    }
    let (s, b) = call::<fns::AddSponsor>(
        &app,
        &org,
        &slug,
        vec![("name", "Acme".into()), ("tier", "diamond".into())],
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        call::<fns::AddSponsor>(
            &app,
            &org,
            &slug,
            vec![
                ("name", "Acme".into()),
                ("tier", "gold".into()),
                ("url", "https://acme.example".into())
            ]
        )
        .await
        .0,
        200
    );
    // Another organisation cannot edit this event.
    let other = app.organiser().await;
    let (s, _) = app
        .call::<fns::AddSpeaker>(&other.client, &[("slug", &slug), ("name", "Mallory")])
        .await;
    assert_eq!(s, 404);

    let ada = person(&app, &slug, "Ada").await;
    let (s, r) = app
        .call::<fns::Reception>(&ada.client, &[("slug", &slug)])
        .await;
    assert_eq!(s, 200, "{r}");
    let agenda = r["agenda"].as_array().unwrap();
    let titles: Vec<&str> = agenda
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["Keynote", "Panel", "Later"]);
    assert_eq!(
        (
            agenda[0]["now"].as_bool(),
            agenda[1]["next"].as_bool(),
            agenda[2]["next"].as_bool()
        ),
        (Some(true), Some(true), Some(false))
    );
    assert_eq!(agenda[0]["speakers"][0], "Grace");
    assert_eq!(agenda[0]["stage"], "Main");
    assert_eq!(r["speakers"][0]["headline"], "Admiral");
    assert_eq!(r["sponsors"][0]["name"], "Acme");
}

#[tokio::test]
async fn organisers_remove_agenda_items_and_change_a_stage_source() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let stage = setup_stage(&app, &org, &slug).await;
    let (s, _) = app
        .call::<fns::AddSpeaker>(&org.client, &[("slug", &slug), ("name", "Linus")])
        .await;
    assert_eq!(s, 200);
    let (_, admin) = app
        .call::<fns::AgendaAdmin>(&org.client, &[("slug", &slug)])
        .await;
    let speaker = admin["speakers"][0]["id"].as_str().unwrap().to_owned();
    let other = app.organiser().await;
    let form = [
        ("slug", slug.as_str()),
        ("kind", "speaker"),
        ("id", speaker.as_str()),
    ];
    assert_eq!(
        app.call::<fns::RemoveAgendaItem>(&other.client, &form)
            .await
            .0,
        404
    );
    let bad = [
        ("slug", slug.as_str()),
        ("kind", "table"),
        ("id", speaker.as_str()),
    ];
    assert_eq!(
        app.call::<fns::RemoveAgendaItem>(&org.client, &bad).await.0,
        400
    );
    assert_eq!(
        app.call::<fns::RemoveAgendaItem>(&org.client, &form)
            .await
            .0,
        200
    );
    assert_eq!(
        app.call::<fns::RemoveAgendaItem>(&org.client, &form)
            .await
            .0,
        404
    );
    let (_, admin) = app
        .call::<fns::AgendaAdmin>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(admin["speakers"].as_array().unwrap().len(), 0);

    let set = |kind: &'static str, url: &'static str| {
        let (app, org, slug, stage) = (&app, &org, slug.clone(), stage.clone());
        async move {
            app.call::<fns::SetStageSource>(
                &org.client,
                &[
                    ("slug", &slug),
                    ("stage", &stage),
                    ("source_kind", kind),
                    ("source_url", url),
                ],
            )
            .await
            .0
        }
    };
    assert_eq!(set("embed", "data:text/html,x").await, 400);
    assert_eq!(
        set("embed", "https://player.example.org/embed/1").await,
        200
    );
    let (_, admin) = app
        .call::<fns::LiveAdmin>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(
        (
            admin["stages"][0]["source_kind"].as_str(),
            admin["stages"][0]["source_url"].as_str()
        ),
        (Some("embed"), Some("https://player.example.org/embed/1"))
    );
}

#[tokio::test]
async fn organisers_edit_sessions_speakers_and_sponsors_in_place() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let stage = setup_stage(&app, &org, &slug).await;
    for name in ["Grace", "Ada"] {
        let (s, b) = call::<fns::AddSpeaker>(&app, &org, &slug, vec![("name", name.into())]).await;
        assert_eq!(s, 200, "{b}");
    }
    let session = vec![
        ("title", "Keynote".into()),
        ("starts", "2027-05-01T10:00".into()),
        ("ends", "2027-05-01T11:00".into()),
        ("speakers", "Grace".into()),
    ];
    assert_eq!(
        call::<fns::AddSession>(&app, &org, &slug, session).await.0,
        200
    );
    let sponsor = vec![("name", "Acme".into()), ("tier", "gold".into())];
    assert_eq!(
        call::<fns::AddSponsor>(&app, &org, &slug, sponsor).await.0,
        200
    );
    let (_, admin) = call::<fns::AgendaAdmin>(&app, &org, &slug, vec![]).await;
    let id = |list: &str, i: usize| admin[list][i]["id"].as_str().unwrap().to_owned();
    let (session_id, grace, sponsor_id) = (id("agenda", 0), id("speakers", 1), id("sponsors", 0));
    assert_eq!(admin["speakers"][1]["label"], "Grace", "{admin}");

    // The session moves, gets a stage and another speaker.
    let edit = vec![
        ("id", session_id.clone()),
        ("title", "Opening keynote".into()),
        ("starts", "2027-05-01T09:30".into()),
        ("ends", "2027-05-01T10:15".into()),
        ("stage", stage.clone()),
        ("speakers", "Ada, Grace".into()),
        ("description", "Welcome.".into()),
    ];
    let (s, b) = call::<fns::UpdateSession>(&app, &org, &slug, edit).await;
    assert_eq!(s, 200, "{b}");
    // A speaker renamed keeps their sessions; a sponsor changes tier.
    let edit = vec![
        ("id", grace.clone()),
        ("name", "Grace Hopper".into()),
        ("headline", "Rear Admiral".into()),
    ];
    assert_eq!(
        call::<fns::UpdateSpeaker>(&app, &org, &slug, edit).await.0,
        200
    );
    let edit = vec![
        ("id", sponsor_id.clone()),
        ("name", "Acme Corp".into()),
        ("tier", "silver".into()),
        ("url", "https://acme.example".into()),
    ];
    assert_eq!(
        call::<fns::UpdateSponsor>(&app, &org, &slug, edit).await.0,
        200
    );

    let (_, admin) = call::<fns::AgendaAdmin>(&app, &org, &slug, vec![]).await;
    let row = &admin["agenda"][0];
    assert_eq!(
        (
            &row["title"],
            &row["starts"],
            &row["ends"],
            &row["stage"],
            &row["speakers"]
        ),
        (
            &Value::from("Opening keynote"),
            &Value::from("2027-05-01T09:30"),
            &Value::from("2027-05-01T10:15"),
            &Value::from(stage.as_str()),
            &Value::from("Ada, Grace Hopper")
        ),
        "{row}"
    );
    assert_eq!(admin["sponsors"][0]["label"], "Acme Corp (silver)");

    // Refusals: bad input, a name taken, a wrong id, another organisation.
    let backwards = vec![
        ("id", session_id.clone()),
        ("title", "X".into()),
        ("starts", "2027-05-01T11:00".into()),
        ("ends", "2027-05-01T10:00".into()),
    ];
    assert_eq!(
        call::<fns::UpdateSession>(&app, &org, &slug, backwards)
            .await
            .0,
        400
    );
    let taken = vec![("id", grace.clone()), ("name", "Ada".into())];
    assert_eq!(
        call::<fns::UpdateSpeaker>(&app, &org, &slug, taken).await.0,
        409
    );
    let unknown = vec![
        ("id", uuid::Uuid::new_v4().to_string()),
        ("name", "Nobody".into()),
        ("tier", "gold".into()),
    ];
    assert_eq!(
        call::<fns::UpdateSponsor>(&app, &org, &slug, unknown)
            .await
            .0,
        404
    );
    let other = app.organiser().await;
    let mine = vec![("id", grace), ("name", "Mallory".into())];
    assert_eq!(
        call::<fns::UpdateSpeaker>(&app, &other, &slug, mine)
            .await
            .0,
        404
    );
    let (_, admin) = call::<fns::AgendaAdmin>(&app, &org, &slug, vec![]).await;
    assert_eq!(admin["agenda"][0]["title"], "Opening keynote");
    assert_eq!(admin["speakers"][1]["label"], "Grace Hopper");
}
