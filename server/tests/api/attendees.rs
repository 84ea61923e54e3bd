//! Attendees on the live socket, for the chat and stage tests: registered and
//! signed in, connected, and the typed items they receive.

use protocol::ids::AttendeeId;
use protocol::live::{ClientMsg, LiveItem, ServerMsg, PROTOCOL_VERSION};
use protocol::{Channel, ErrorKind};
use uuid::Uuid;

use crate::helpers::{client, fns, Organiser, TestApp};
use crate::live::{connect, recv, wait_for, Ws};

/// A registered, signed-in attendee.
pub struct Person {
    pub cookie: String,
    pub email: String,
    pub id: AttendeeId,
    pub client: reqwest::Client,
}

pub async fn person(app: &TestApp, slug: &str, name: &str) -> Person {
    let email = format!(
        "{}-{}@example.org",
        name.to_lowercase(),
        Uuid::new_v4().simple()
    );
    let (s, body) = app
        .call::<fns::Register>(
            &client(),
            &[("slug", slug), ("name", name), ("email", &email)],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert!(body["sign_in_link"].is_string(), "{body}");
    let id: Uuid = sqlx::query_scalar("SELECT id FROM attendees WHERE email = $1")
        .bind(&email)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    // Signed in as from the confirmation email: a verified attendee.
    let (c, cookie) = app.sign_in(slug, &app.emailed_link(id.into()).await).await;
    Person {
        cookie,
        email,
        id: id.into(),
        client: c,
    }
}

/// A connected socket whose hello has arrived (so the server is subscribed).
pub async fn socket(app: &TestApp, slug: &str, p: &Person) -> Ws {
    socket_hello(app, slug, p).await.0
}

/// A connected socket and its hello message.
pub async fn socket_hello(app: &TestApp, slug: &str, p: &Person) -> (Ws, ServerMsg) {
    let mut ws = connect(app, slug, Some(&p.cookie), &[], PROTOCOL_VERSION)
        .await
        .expect("connect");
    match recv(&mut ws).await {
        hello @ ServerMsg::Hello { .. } => (ws, hello),
        other => panic!("the first message must be hello, got {other:?}"),
    }
}

/// The next live item.
pub async fn next_item(ws: &mut Ws) -> LiveItem {
    match wait_for(ws, "a live item", |m| matches!(m, ServerMsg::Live { .. })).await {
        ServerMsg::Live { item, .. } => item,
        _ => unreachable!(),
    }
}

/// The next poll item (other items are skipped).
pub async fn next_poll(ws: &mut Ws) -> LiveItem {
    match wait_for(ws, "a poll", |m| {
        matches!(
            m,
            ServerMsg::Live {
                item: LiveItem::Poll { .. },
                ..
            }
        )
    })
    .await
    {
        ServerMsg::Live { item, .. } => item,
        _ => unreachable!(),
    }
}

/// The next question item (other items are skipped).
pub async fn next_question(ws: &mut Ws) -> LiveItem {
    match wait_for(ws, "a question", |m| {
        matches!(
            m,
            ServerMsg::Live {
                item: LiveItem::Question { .. },
                ..
            }
        )
    })
    .await
    {
        ServerMsg::Live { item, .. } => item,
        _ => unreachable!(),
    }
}

/// The next error message: its code as sent (`invalid`, `forbidden`, ...) and text.
pub async fn next_error(ws: &mut Ws) -> (String, String) {
    match wait_for(ws, "an error", |m| matches!(m, ServerMsg::Error { .. })).await {
        ServerMsg::Error { code, message } => (code_name(code), message),
        _ => unreachable!(),
    }
}

pub fn code_name(code: ErrorKind) -> String {
    serde_json::to_value(code)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

pub fn chat(body: &str) -> ClientMsg {
    ClientMsg::Chat {
        channel: Channel::Reception,
        body: body.into(),
    }
}

pub async fn make_moderator(app: &TestApp, org: &Organiser, slug: &str, p: &Person) {
    let id = p.id.to_string();
    let (s, b) = app
        .call::<fns::SetModerator>(&org.client, &[("slug", slug), ("attendee_id", &id)])
        .await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn the_people_list_comes_a_page_at_a_time_and_can_be_searched() {
    let app = crate::helpers::spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let me = person(&app, &slug, "Zed").await;
    // 250 more people, admitted with a confirmed free ticket.
    app.bulk_attendees(&slug, 250).await;
    let page = |q: &str, after: &str| {
        let form = [
            ("slug", slug.clone()),
            ("q", q.to_owned()),
            ("after", after.to_owned()),
        ];
        let (app, c) = (&app, me.client.clone());
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (s, b) = app.call::<fns::People>(&c, &form).await;
            assert_eq!(s, 200, "{b}");
            b.as_array().unwrap().clone()
        }
    };
    let names = |rows: &[serde_json::Value]| -> Vec<String> {
        rows.iter()
            .map(|r| r["person"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    // By name, 100 at a time, every person once.
    let mut all = Vec::new();
    let mut after = String::new();
    loop {
        let rows = page("", &after).await;
        assert!(rows.len() <= 100);
        all.extend(names(&rows));
        if rows.len() < 100 {
            break;
        }
        after = rows.last().unwrap()["person"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    assert_eq!(all.len(), 251);
    assert_eq!(all[0], "Person 001");
    assert_eq!(all[250], "Zed");
    let mut sorted = all.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(all, sorted);
    // The page the Reception carries is the first one.
    let (s, r) = app
        .call::<fns::Reception>(&me.client, &[("slug", &slug)])
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["people"].as_array().unwrap().len(), 100);
    // Search, any case; no match is an empty page.
    let want: Vec<String> = (120..130).map(|n| format!("Person {n}")).collect();
    assert_eq!(names(&page("PERSON 12", "").await), want);
    assert!(page("nobody-by-this-name", "").await.is_empty());
    let (s, _) = app
        .call::<fns::People>(&me.client, &[("slug", &slug), ("after", "not-an-id")])
        .await;
    assert_eq!(s, 400);
}
