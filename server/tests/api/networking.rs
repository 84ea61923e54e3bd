//! Networking: the queue pairs two waiting attendees (across concurrent
//! askers, each at most once), never the same pair twice nor people kept
//! apart by a block, and by the organiser's matching rule; Connect swaps
//! cards when both press it; connections download as vCard and CSV; reports
//! reach the organisers.

use protocol::ids::AttendeeId;
use protocol::live::{LiveItem, ServerMsg};
use serde_json::Value;

use crate::attendees::{person, socket, Person};
use crate::helpers::{client, fns, spawn_web_only, TestApp};
use crate::live::wait_for;

async fn meet(app: &TestApp, slug: &str, p: &Person) -> Value {
    let (s, b) = app
        .call::<fns::MeetSomeone>(&p.client, &[("slug", slug)])
        .await;
    assert_eq!(s, 200, "{b}");
    b
}

#[tokio::test]
async fn two_waiting_attendees_meet_once_connect_and_swap_cards() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (s, b) = app
        .call::<fns::SetCallLength>(&org.client, &[("slug", &slug), ("call_secs", "5")])
        .await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = app
        .call::<fns::SetCallLength>(&org.client, &[("slug", &slug), ("call_secs", "20")])
        .await;
    assert_eq!(s, 200, "{b}");
    let (ada, bo, cy) = (
        person(&app, &slug, "Ada").await,
        person(&app, &slug, "Bo").await,
        person(&app, &slug, "Cy").await,
    );
    let (mut aws, mut bws) = (
        socket(&app, &slug, &ada).await,
        socket(&app, &slug, &bo).await,
    );

    assert_eq!(
        meet(&app, &slug, &ada).await,
        Value::Bool(false),
        "Ada waits"
    );
    assert_eq!(
        meet(&app, &slug, &bo).await,
        Value::Bool(true),
        "Bo meets Ada"
    );
    let matched = |m: &ServerMsg| {
        matches!(
            m,
            ServerMsg::Live {
                item: LiveItem::Matched { .. },
                ..
            }
        )
    };
    let ServerMsg::Live {
        item: LiveItem::Matched { meeting, with, .. },
        ..
    } = wait_for(&mut aws, "a match", matched).await
    else {
        unreachable!()
    };
    assert_eq!(with.id, bo.id);
    let ServerMsg::Live {
        item:
            LiveItem::Matched {
                with,
                meeting: same,
                ..
            },
        ..
    } = wait_for(&mut bws, "a match", matched).await
    else {
        unreachable!()
    };
    assert_eq!((with.id, same), (ada.id, meeting));
    let meeting = meeting.to_string();

    // Only the pair may join the call.
    let (s, _) = app
        .call::<fns::MeetingToken>(&ada.client, &[("slug", &slug), ("meeting", &meeting)])
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .call::<fns::MeetingToken>(&cy.client, &[("slug", &slug), ("meeting", &meeting)])
        .await;
    assert_eq!(s, 404);

    // Never the same pair twice: Ada and Bo both wait; Cy meets the one waiting longest.
    assert_eq!(meet(&app, &slug, &ada).await, Value::Bool(false));
    assert_eq!(meet(&app, &slug, &bo).await, Value::Bool(false));
    assert_eq!(meet(&app, &slug, &cy).await, Value::Bool(true));
    wait_for(&mut aws, "Ada meets Cy", |m| {
        matches!(m, ServerMsg::Live { item: LiveItem::Matched { with, .. }, .. } if with.id == cy.id)
    })
    .await;
    // Bo blocked Cy: Cy waits on, Bo too, never paired.
    let (s, b) = app
        .call::<fns::BlockPerson>(
            &bo.client,
            &[("slug", &slug), ("attendee", &cy.id.to_string())],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(meet(&app, &slug, &cy).await, Value::Bool(false));
    assert_eq!(meet(&app, &slug, &bo).await, Value::Bool(false));

    // Connect: the first waits, the second swaps cards.
    let (s, b) = app
        .call::<fns::SaveCard>(
            &bo.client,
            &[
                ("slug", &slug),
                ("headline", "Builds venues"),
                ("links", "javascript:alert(1)"),
            ],
        )
        .await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = app
        .call::<fns::SaveCard>(
            &bo.client,
            &[
                ("slug", &slug),
                ("headline", "Builds venues"),
                ("links", "https://example.org/bo"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, first) = app
        .call::<fns::ConnectWith>(&ada.client, &[("slug", &slug), ("meeting", &meeting)])
        .await;
    assert_eq!((s, first), (200, Value::Null));
    let (s, card) = app
        .call::<fns::ConnectWith>(&bo.client, &[("slug", &slug), ("meeting", &meeting)])
        .await;
    assert_eq!(s, 200, "{card}");
    assert_eq!(card["person"]["name"], "Ada");
    assert_eq!(card["email"], ada.email.as_str());
    let ServerMsg::Live {
        item: LiveItem::Connected { card, .. },
        ..
    } = wait_for(&mut aws, "Bo's card", |m| {
        matches!(
            m,
            ServerMsg::Live {
                item: LiveItem::Connected { .. },
                ..
            }
        )
    })
    .await
    else {
        unreachable!()
    };
    // Bo did not tick "share my email" on the form: his email stays his.
    assert_eq!(
        (card.person.name.as_str(), card.headline.as_str()),
        ("Bo", "Builds venues")
    );
    assert_eq!(card.email, None);
    assert_eq!(card.links, vec!["https://example.org/bo".to_owned()]);
    // Analytics: two meetings (Ada with Bo, then with Cy), one connection.
    let networking = crate::analytics::engagement_of(&app, &slug)
        .await
        .into_iter()
        .find(|a| a.area == "networking")
        .expect("networking's figures");
    assert_eq!((networking.meetings, networking.connections), (2, 1));

    // Downloads of Ada's connections; nobody else's.
    let vcf = ada
        .client
        .get(format!("{}/e/{slug}/connections.vcf", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(vcf.status(), 200);
    let text = vcf.text().await.unwrap();
    assert!(
        text.contains("FN:Bo\r\n") && text.contains("URL:https://example.org/bo"),
        "{text}"
    );
    let csv = ada
        .client
        .get(format!("{}/e/{slug}/connections.csv", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("name,headline,email,links\nBo,Builds venues,,https://example.org/bo"),
        "{csv}"
    );
    let stranger = client()
        .get(format!("{}/e/{slug}/connections.vcf", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 401);

    // A report reaches the organisers.
    let (s, b) = app
        .call::<fns::ReportPerson>(
            &ada.client,
            &[
                ("slug", &slug),
                ("attendee", &cy.id.to_string()),
                ("reason", " "),
            ],
        )
        .await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = app
        .call::<fns::ReportPerson>(
            &ada.client,
            &[
                ("slug", &slug),
                ("attendee", &cy.id.to_string()),
                ("reason", "Spam links"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, admin) = app
        .call::<fns::NetworkingAdmin>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(s, 200, "{admin}");
    assert_eq!(admin["call_secs"], 20);
    assert_eq!(admin["reports"][0]["reporter"], "Ada");
    assert_eq!(admin["reports"][0]["reported"], "Cy");
    assert_eq!(admin["reports"][0]["reason"], "Spam links");
    // Another organiser sees nothing of it.
    let other = app.organiser().await;
    let (s, _) = app
        .call::<fns::NetworkingAdmin>(&other.client, &[("slug", &slug)])
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn attendees_asking_at_once_are_each_paired_at_most_once() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let mut people = Vec::new();
    for i in 0..10 {
        people.push(person(&app, &slug, &format!("P{i}")).await);
    }
    let asks = people.iter().map(|p| meet(&app, &slug, p));
    let results = futures::future::join_all(asks).await;
    let matched = results.iter().filter(|r| **r == Value::Bool(true)).count();
    // Every one who was matched took exactly one waiting person.
    let (meetings, in_two): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM networking_meetings),
                (SELECT count(*) FROM (SELECT a FROM (SELECT first_id AS a FROM networking_meetings
                  UNION ALL SELECT second_id FROM networking_meetings) x GROUP BY a HAVING count(*) > 1) y)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(meetings as usize, matched);
    assert_eq!(in_two, 0, "nobody is in two meetings at once");
    assert_eq!(
        matched, 5,
        "ten askers, one at a time in Redis, make five pairs"
    );
}

/// Gives `p` the answer `value` to `question` (as the registration form would have).
async fn answer(app: &TestApp, p: &Person, question: uuid::Uuid, value: &str) {
    sqlx::query("INSERT INTO answers (attendee_id, question_id, value) VALUES ($1, $2, $3)")
        .bind(p.id)
        .bind(question)
        .bind(value)
        .execute(&app.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_organisers_rule_pairs_people_by_the_interest_they_chose() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let event: uuid::Uuid = sqlx::query_scalar("SELECT id FROM events WHERE slug = $1")
        .bind(&slug)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (interest, text) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    sqlx::query(
        "INSERT INTO questions (id, event_id, label, kind, options) VALUES
         ($1, $3, 'Interest', 'choice', '{Rust,Design}'), ($2, $3, 'Note', 'text', '{}')",
    )
    .bind(interest)
    .bind(text)
    .bind(event)
    .execute(&app.pool)
    .await
    .unwrap();
    let set = |rule: &'static str, q: String| {
        let (app, org, slug) = (&app, &org, slug.clone());
        async move {
            app.call::<fns::SetPairing>(
                &org.client,
                &[
                    ("slug", slug.as_str()),
                    ("rule", rule),
                    ("question", q.as_str()),
                ],
            )
            .await
        }
    };
    // Refused with a reason: an unknown rule, no question, a text question.
    for (rule, q) in [
        ("by_height", String::new()),
        ("same_answer", String::new()),
        ("same_answer", text.to_string()),
    ] {
        let (s, b) = set(rule, q).await;
        assert_eq!(s, 400, "{b}");
    }
    let (s, b) = set("same_answer", interest.to_string()).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = app
        .call::<fns::NetworkingAdmin>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["rule"], "same_answer", "{b}");
    assert_eq!(b["choice_questions"].as_array().unwrap().len(), 1, "{b}");

    let (ada, bo, cy) = (
        person(&app, &slug, "Ada").await,
        person(&app, &slug, "Bo").await,
        person(&app, &slug, "Cy").await,
    );
    answer(&app, &ada, interest, "Rust").await;
    answer(&app, &bo, interest, "Design").await;
    answer(&app, &cy, interest, "rust ").await;
    assert_eq!(meet(&app, &slug, &ada).await, Value::Bool(false));
    // Bo cares for design: Ada, who waits, is not for Bo.
    assert_eq!(
        meet(&app, &slug, &bo).await,
        Value::Bool(false),
        "different interests"
    );
    // Cy shares Ada's interest (answers compare trimmed, ignoring case).
    assert_eq!(
        meet(&app, &slug, &cy).await,
        Value::Bool(true),
        "same interest"
    );
    let pair: (AttendeeId, AttendeeId) =
        sqlx::query_as("SELECT first_id, second_id FROM networking_meetings")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(
        pair == (ada.id, cy.id) || pair == (cy.id, ada.id),
        "Ada met Cy: {pair:?}"
    );

    // Everyone holds the one ticket type: "different ticket types" pairs
    // nobody (Bo, who waits, asks again under the new rule).
    let (s, b) = set("other_ticket_type", String::new()).await;
    assert_eq!(s, 200, "{b}");
    let dee = person(&app, &slug, "Dee").await;
    assert_eq!(
        meet(&app, &slug, &dee).await,
        Value::Bool(false),
        "Bo waited under the old rule"
    );
    assert_eq!(
        meet(&app, &slug, &bo).await,
        Value::Bool(false),
        "Bo's ticket type is Dee's"
    );
    // "The same ticket type" pairs them, once they ask under it.
    let (s, b) = set("same_ticket_type", String::new()).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        meet(&app, &slug, &bo).await,
        Value::Bool(false),
        "Dee waited under the old rule"
    );
    assert_eq!(
        meet(&app, &slug, &dee).await,
        Value::Bool(true),
        "Dee meets Bo"
    );
}
