//! Time spent per area (`analytics::visits`): a scripted event's facts,
//! some consumed twice and one heartbeat after its leave, give the figures
//! worked out by hand below; consuming the whole log again gives the same.
//! Sales per ticket type and per day count what stands confirmed. A report
//! of every attendee's time per area is made in chunks and downloaded by the
//! event's organisers only.

use analytics::engagement::{self, AreaEngagement};
use analytics::visits::{funnel, per_area, AreaFigures, Funnel};
use chrono::{DateTime, TimeDelta, Utc};
use protocol::events::{
    AreaVisit, AttendeeRegistered, Envelope, Fact, OrderCancelled, OrderPaid, OrderPlaced,
    OrderRefunded,
};
use protocol::ids::{
    AttendeeId, ConnectionId, DomainEventId, EventId, OrderId, OrgId, PaymentId, ReportId, StageId,
    TicketTypeId,
};
use protocol::states::{CancelReason, OrderStatus, ReportKind};
use protocol::Area;

use crate::helpers::{fns, spawn_web_only, TestApp};

/// The script's clock: seconds after its start (in the past: a report is
/// made as things stand at the real now).
fn at(secs: i64) -> DateTime<Utc> {
    "2026-05-02T09:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::seconds(secs)
}

/// What a connection says of its area.
type Say = fn(AreaVisit) -> Fact;

struct Script {
    org: OrgId,
    event: EventId,
    log: Vec<Envelope>,
}

impl Script {
    fn say(
        &mut self,
        secs: i64,
        fact: fn(AreaVisit) -> Fact,
        who: AttendeeId,
        area: Area,
        conn: ConnectionId,
    ) {
        self.log.push(Envelope {
            id: DomainEventId::new(),
            version: 1,
            occurred_at: at(secs),
            org_id: self.org,
            event_id: self.event,
            fact: fact(AreaVisit {
                attendee_id: who,
                area,
                connection_id: conn,
            }),
        });
    }
}

#[tokio::test]
async fn time_per_area_joins_reconnects_ends_dead_connections_and_survives_a_replay() {
    let app = spawn_web_only().await;
    let (enter, leave, still): (Say, Say, Say) = (
        Fact::AttendeeEnteredArea,
        Fact::AttendeeLeftArea,
        Fact::AttendeeStillInArea,
    );
    let mut s = Script {
        org: OrgId::new(),
        event: EventId::new(),
        log: Vec::new(),
    };
    let stage = Area::Stage(StageId::new());
    let (ada, bo, cy, di) = (
        AttendeeId::new(),
        AttendeeId::new(),
        AttendeeId::new(),
        AttendeeId::new(),
    );
    let (a1, a2) = (ConnectionId::new(), ConnectionId::new());
    let (b1, b2, b3) = (
        ConnectionId::new(),
        ConnectionId::new(),
        ConnectionId::new(),
    );
    let (c1, d1) = (ConnectionId::new(), ConnectionId::new());

    // Ada: Reception 0–100, then the stage from 100; her socket drops at
    // 250 and resumes at 270 (it says it is still there), leaving at 420:
    // one visit, of 300 s (the 20 s between her sockets count nowhere).
    s.say(0, enter, ada, Area::Reception, a1);
    s.say(50, enter, bo, Area::Reception, b1);
    s.say(80, leave, bo, Area::Reception, b1);
    s.say(100, leave, ada, Area::Reception, a1);
    s.say(100, enter, ada, stage, a1);
    s.say(160, still, ada, stage, a1);
    // Bo again at 200, 120 s after he left (past the 90 s grace: a new visit),
    // with a second tab 210–230 inside it (no time or visit of its own).
    s.say(200, enter, bo, Area::Reception, b2);
    s.say(210, enter, bo, Area::Reception, b3);
    s.say(220, still, ada, stage, a1);
    s.say(230, leave, bo, Area::Reception, b3);
    s.say(250, leave, ada, stage, a1);
    s.say(260, leave, bo, Area::Reception, b2);
    s.say(270, still, ada, stage, a2);
    // Cy's node dies after her heartbeat at 360: no leave ever comes.
    s.say(300, enter, cy, stage, c1);
    s.say(360, still, cy, stage, c1);
    s.say(420, leave, ada, stage, a2);
    // Di arrives at 900 and is still there at 1000.
    s.say(900, enter, di, stage, d1);
    s.say(960, still, di, stage, d1);

    let consume = |log: Vec<Envelope>| {
        let pool = app.pool.clone();
        async move {
            for env in &log {
                analytics::ingest(&pool, env).await.unwrap();
            }
        }
    };
    consume(s.log.clone()).await;
    // Redelivered: an entry, a leave, and a heartbeat that falls in a stay
    // already closed. Nothing moves.
    let again = [s.log[0].clone(), s.log[10].clone(), s.log[5].clone()];
    consume(again.to_vec()).await;

    let want = vec![
        AreaFigures {
            area: stage.to_string(),
            visitors: 3,
            visits: 3,
            // Ada 100–250 and 270–420, Cy 300–360 (ended at her last
            // heartbeat), Di 900–1000.
            seconds: 300 + 60 + 100,
            // Ada and Cy together from 300 to 360.
            peak: 2,
            now: 1,
        },
        AreaFigures {
            area: "reception".into(),
            visitors: 2,
            visits: 3,
            // Ada 0–100; Bo 50–80 and 200–260.
            seconds: 100 + 30 + 60,
            peak: 2,
            now: 0,
        },
    ];
    let now = at(1000);
    assert_eq!(per_area(&app.pool, s.event, now).await.unwrap(), want);

    // Four attended; Ada alone spent five minutes on stage.
    assert_eq!(
        funnel(&app.pool, s.event, now).await.unwrap(),
        Funnel {
            attended: 4,
            engaged: 1
        }
    );

    // Cy's stay counts until the timeout passes: at 500 (140 s after her
    // heartbeat) she is still there, and her time runs to 500.
    let early = per_area(&app.pool, s.event, at(500)).await.unwrap();
    let stage_then = early.iter().find(|a| a.area == stage.to_string()).unwrap();
    assert_eq!((stage_then.now, stage_then.seconds), (1, 300 + 200));

    // Another event's facts are not this one's.
    assert!(per_area(&app.pool, EventId::new(), now)
        .await
        .unwrap()
        .is_empty());

    // Rebuilt from the log (the stays dropped, every fact consumed again in
    // order): the same figures.
    sqlx::query("DELETE FROM analytics.stays")
        .execute(&app.pool)
        .await
        .unwrap();
    consume(s.log.clone()).await;
    assert_eq!(per_area(&app.pool, s.event, now).await.unwrap(), want);
}

/// `h:mm:ss` of whole seconds, as reports write it.
fn clock_of(s: i64) -> String {
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// An `order.placed` of `quantity` tickets of `ticket_type` for `total`
/// cents, starting `status`, at `when`.
fn placed(
    s: &Script,
    when: &str,
    order: OrderId,
    ticket_type: TicketTypeId,
    quantity: i32,
    total: i64,
    status: OrderStatus,
) -> Envelope {
    fact_at(
        s,
        when,
        Fact::OrderPlaced(OrderPlaced {
            order_id: order,
            order_code: "ABC12".into(),
            attendee_id: AttendeeId::new(),
            ticket_type_id: ticket_type,
            quantity,
            status,
            total_minor: total,
            currency: "EUR".into(),
            discount_minor: 0,
            promo_code_id: None,
        }),
    )
}

fn fact_at(s: &Script, when: &str, fact: Fact) -> Envelope {
    Envelope {
        id: DomainEventId::new(),
        version: 1,
        occurred_at: when.parse().unwrap(),
        org_id: s.org,
        event_id: s.event,
        fact,
    }
}

#[tokio::test]
async fn sales_per_ticket_type_and_day_count_what_stands_confirmed() {
    let app = spawn_web_only().await;
    let s = Script {
        org: OrgId::new(),
        event: EventId::new(),
        log: Vec::new(),
    };
    let (day, vip) = (TicketTypeId::new(), TicketTypeId::new());
    let [o1, o2, o3, o4, o5] = [(); 5].map(|_| OrderId::new());
    use OrderStatus::{Confirmed, Pending};
    let log = vec![
        // 1 March in Paris (23:30 UTC on 28 February): two day tickets.
        placed(&s, "2027-02-28T23:30:00Z", o1, day, 2, 9800, Confirmed),
        // A VIP ticket paid later.
        placed(&s, "2027-03-01T10:00:00Z", o2, vip, 1, 25000, Pending),
        fact_at(
            &s,
            "2027-03-01T10:05:00Z",
            Fact::OrderPaid(OrderPaid {
                order_id: o2,
                payment_id: PaymentId::new(),
                amount_minor: 25000,
                currency: "EUR".into(),
                platform_fee_minor: 0,
            }),
        ),
        // Never paid: cancelled.
        placed(&s, "2027-03-02T09:00:00Z", o3, vip, 1, 25000, Pending),
        fact_at(
            &s,
            "2027-03-03T09:00:00Z",
            Fact::OrderCancelled(OrderCancelled {
                order_id: o3,
                reason: CancelReason::Unpaid,
            }),
        ),
        // Paid, cancelled by the organiser and refunded.
        placed(&s, "2027-03-03T09:00:00Z", o4, day, 1, 4900, Confirmed),
        fact_at(
            &s,
            "2027-03-03T12:00:00Z",
            Fact::OrderCancelled(OrderCancelled {
                order_id: o4,
                reason: CancelReason::Organiser,
            }),
        ),
        fact_at(
            &s,
            "2027-03-03T12:01:00Z",
            Fact::OrderRefunded(OrderRefunded {
                order_id: o4,
                amount_minor: 4900,
                currency: "EUR".into(),
            }),
        ),
        // One day ticket on 4 March.
        placed(&s, "2027-03-04T08:00:00Z", o5, day, 1, 4900, Confirmed),
    ];
    for env in log.iter().chain(&log[..3]) {
        analytics::ingest(&app.pool, env).await.unwrap();
    }

    let types = analytics::sales::per_type(&app.pool, s.event)
        .await
        .unwrap();
    let got: Vec<(TicketTypeId, i64, i64, i64)> = types
        .iter()
        .map(|t| (t.ticket_type_id, t.orders, t.tickets, t.revenue_minor))
        .collect();
    assert_eq!(got, vec![(vip, 1, 1, 25000), (day, 2, 3, 9800 + 4900)]);

    let days = analytics::sales::per_day(&app.pool, s.event, "Europe/Paris")
        .await
        .unwrap();
    let got: Vec<(String, i64)> = days.iter().map(|d| (d.day.to_string(), d.orders)).collect();
    assert_eq!(
        got,
        [
            ("2027-03-01", 2),
            ("2027-03-02", 0),
            ("2027-03-03", 0),
            ("2027-03-04", 1)
        ]
        .map(|(d, n)| (d.to_owned(), n))
    );
}

#[tokio::test]
async fn a_time_per_area_report_is_made_in_chunks_and_downloaded_by_the_events_organisers_only() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (event, org_id): (EventId, OrgId) =
        sqlx::query_as("SELECT id, org_id FROM events WHERE slug = $1")
            .bind(&slug)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let mut s = Script {
        org: org_id,
        event,
        log: Vec::new(),
    };
    // Ada, whose name would be a formula in a spreadsheet: Reception 0–90,
    // a stage since removed 90–3690 (an hour).
    let (ada, conn, stage) = (
        AttendeeId::new(),
        ConnectionId::new(),
        Area::Stage(StageId::new()),
    );
    let registered = fact_at(
        &s,
        "2026-05-02T08:59:00Z",
        Fact::AttendeeRegistered(AttendeeRegistered {
            attendee_id: ada,
            order_id: OrderId::new(),
            name: "=Ada".into(),
            email: "ada@example.org".into(),
            answers: vec![],
        }),
    );
    s.log.push(registered);
    s.say(0, Fact::AttendeeEnteredArea, ada, Area::Reception, conn);
    s.say(90, Fact::AttendeeLeftArea, ada, Area::Reception, conn);
    s.say(90, Fact::AttendeeEnteredArea, ada, stage, conn);
    s.say(3690, Fact::AttendeeLeftArea, ada, stage, conn);
    for env in &s.log {
        analytics::ingest(&app.pool, env).await.unwrap();
    }
    // And a crowd (written straight into analytics' tables): more pages
    // than one and more CSV than one chunk.
    const CROWD: i64 = 6_000;
    sqlx::query(
        "WITH crowd AS (SELECT gen_random_uuid() AS id, n FROM generate_series(1, $2) n),
         people AS (
            INSERT INTO analytics.attendees (attendee_id, event_id, name, email)
            SELECT id, $1, 'Attendee ' || n, 'a' || n || '@example.org' FROM crowd)
         INSERT INTO analytics.stays (event_id, attendee_id, area, connection_id, entered_at, left_at, last_seen_at)
         SELECT $1, id, 'reception', gen_random_uuid(), $3, $3 + interval '1 minute', $3 + interval '1 minute' FROM crowd",
    )
    .bind(event)
    .bind(CROWD as i32)
    .bind(at(0))
    .execute(&app.pool)
    .await
    .unwrap();

    // Asked for: queued; asked again meanwhile: refused.
    let (st, body) = app
        .call::<fns::RequestReport>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(st, 200, "{body}");
    let (st, body) = app
        .call::<fns::RequestReport>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(st, 409, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("being prepared"),
        "{body}"
    );
    let (_, listed) = app
        .call::<fns::Reports>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(listed[0]["status"], "queued", "{listed}");
    // Not ready: a 409 to download.
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    let url = format!("{}/dashboard/events/{slug}/reports/{id}.csv", app.base);
    assert_eq!(org.client.get(&url).send().await.unwrap().status(), 409);

    // The analytics worker's part, by hand: claimed once, made.
    let claimed = analytics::reports::claim(&app.pool).await.unwrap().unwrap();
    assert_eq!(claimed.id.to_string(), id);
    assert!(analytics::reports::claim(&app.pool)
        .await
        .unwrap()
        .is_none());
    analytics::reports::make(&app.pool, claimed).await.unwrap();
    let (_, listed) = app
        .call::<fns::Reports>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(listed[0]["status"], "ready", "{listed}");
    assert_eq!(
        (listed[0]["done"].as_i64(), listed[0]["total"].as_i64()),
        (Some(CROWD + 1), Some(CROWD + 1))
    );
    let download = listed[0]["download"].as_str().unwrap();
    assert_eq!(format!("{}{download}", app.base), url);
    let chunks: i64 = sqlx::query_scalar("SELECT count(*) FROM analytics.report_chunks")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(chunks >= 2, "{chunks} chunks");

    let res = org.client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = res.text().await.unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rows.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, analytics::reports::COLUMNS);
    let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(
        records.len() as i64,
        CROWD + 2,
        "the crowd once each, Ada twice"
    );
    let ada_rows: Vec<Vec<&str>> = records
        .iter()
        .filter(|r| &r[1] == "ada@example.org")
        .map(|r| r.iter().collect())
        .collect();
    assert_eq!(
        ada_rows,
        vec![
            vec![
                "'=Ada",
                "ada@example.org",
                "A removed stage",
                "1",
                "3600",
                "1:00:00",
                "2026-05-02T09:01:30Z",
                "2026-05-02T10:01:30Z"
            ],
            vec![
                "'=Ada",
                "ada@example.org",
                "Reception",
                "1",
                "90",
                "0:01:30",
                "2026-05-02T09:00:00Z",
                "2026-05-02T09:01:30Z"
            ],
        ]
    );

    // The per-area summary: a row per area, from the same figures.
    let (header, records) = made_report(&app, &org.client, &slug, "area_summary", 2, "areas").await;
    assert_eq!(header, analytics::reports::SUMMARY_COLUMNS);
    let crowd = (CROWD + 1).to_string();
    let seconds = (CROWD * 60 + 90).to_string();
    assert_eq!(
        records,
        vec![
            [
                "Reception",
                &crowd,
                &crowd,
                &seconds,
                &clock_of(CROWD * 60 + 90),
                &crowd,
                "0",
                "0",
                "0",
                "0",
                "0",
                "0",
                "0"
            ]
            .map(String::from)
            .to_vec(),
            [
                "A removed stage",
                "1",
                "1",
                "3600",
                "1:00:00",
                "1",
                "0",
                "0",
                "0",
                "0",
                "0",
                "0",
                "0"
            ]
            .map(String::from)
            .to_vec(),
        ]
    );

    // Another organisation's organiser, and no one signed in: nothing.
    let other = app.organiser().await;
    assert_eq!(other.client.get(&url).send().await.unwrap().status(), 404);
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 401);
    let (st, _) = app
        .call::<fns::Reports>(&other.client, &[("slug", &slug)])
        .await;
    assert_eq!(st, 404);
    // A bad id, an unknown one.
    let bad = format!("{}/dashboard/events/{slug}/reports/nope.csv", app.base);
    assert_eq!(org.client.get(&bad).send().await.unwrap().status(), 400);
    let unknown = format!(
        "{}/dashboard/events/{slug}/reports/{}.csv",
        app.base,
        ReportId::new()
    );
    assert_eq!(org.client.get(&unknown).send().await.unwrap().status(), 404);

    // Expired: gone from the list and the link, then purged with its chunks.
    sqlx::query("UPDATE analytics.reports SET expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(org.client.get(&url).send().await.unwrap().status(), 404);
    let (_, listed) = app
        .call::<fns::Reports>(&org.client, &[("slug", &slug)])
        .await;
    assert_eq!(listed, serde_json::json!([]));
    assert_eq!(analytics::reports::purge(&app.pool).await.unwrap(), 2);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM analytics.report_chunks")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_report_whose_worker_is_taken_over_is_written_once_and_one_that_keeps_failing_fails() {
    use analytics::reports::{claim, make, release, ATTEMPTS};
    let app = spawn_web_only().await;
    let (org, event) = (OrgId::new(), EventId::new());
    let names = std::collections::HashMap::new();
    let expire = |pool: sqlx::PgPool| async move {
        sqlx::query("UPDATE analytics.reports SET leased_until = now() - interval '1 second'")
            .execute(&pool)
            .await
            .unwrap();
    };
    let id = analytics::reports::request(&app.pool, org, event, ReportKind::TimePerArea, &names)
        .await
        .unwrap();
    // A's lease ends before it writes; B takes the report over.
    let a = claim(&app.pool).await.unwrap().unwrap();
    expire(app.pool.clone()).await;
    let b = claim(&app.pool).await.unwrap().unwrap();
    assert_eq!((a.id, b.id, a.attempts, b.attempts), (id, id, 1, 2));
    // A, waking up, writes nothing; B makes it.
    assert!(make(&app.pool, a).await.is_err());
    make(&app.pool, b).await.unwrap();
    assert_eq!(
        analytics::reports::ready(&app.pool, event, id)
            .await
            .unwrap(),
        (1, ReportKind::TimePerArea)
    );

    // A report whose making fails each time it is claimed is failed after
    // ATTEMPTS claims (a failure gives the claim back at once).
    let id = analytics::reports::request(&app.pool, org, event, ReportKind::TimePerArea, &names)
        .await
        .unwrap();
    for attempt in 1..=ATTEMPTS {
        let c = claim(&app.pool).await.unwrap().unwrap();
        assert_eq!((c.id, c.attempts), (id, attempt));
        release(&app.pool, c).await.unwrap();
    }
    let last = claim(&app.pool).await.unwrap().unwrap();
    make(&app.pool, last).await.unwrap();
    let (status,): (String,) = sqlx::query_as("SELECT status FROM analytics.reports WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "failed");
    assert!(matches!(
        analytics::reports::ready(&app.pool, event, id).await,
        Err(analytics::reports::Refusal::Failed)
    ));
    // The event may ask again.
    analytics::reports::request(&app.pool, org, event, ReportKind::TimePerArea, &names)
        .await
        .unwrap();
}

/// Asks for a report of `kind` as the organiser whose `client` this is, has
/// the analytics worker's part made by hand, checks the dashboard lists it
/// ready with `rows` rows and that it downloads as `{slug}-{file}.csv`; its
/// header and records.
pub async fn made_report(
    app: &TestApp,
    client: &reqwest::Client,
    slug: &str,
    kind: &str,
    rows: i64,
    file: &str,
) -> (Vec<String>, Vec<Vec<String>>) {
    let (st, body) = app
        .call::<fns::RequestReport>(client, &[("slug", slug), ("kind", kind)])
        .await;
    assert_eq!(st, 200, "{body}");
    let claimed = analytics::reports::claim(&app.pool).await.unwrap().unwrap();
    analytics::reports::make(&app.pool, claimed).await.unwrap();
    let (_, listed) = app.call::<fns::Reports>(client, &[("slug", slug)]).await;
    assert_eq!(
        (&listed[0]["kind"], &listed[0]["status"], &listed[0]["done"]),
        (
            &serde_json::json!(kind),
            &serde_json::json!("ready"),
            &serde_json::json!(rows)
        ),
        "{listed}"
    );
    let url = format!("{}{}", app.base, listed[0]["download"].as_str().unwrap());
    let res = client.get(&url).send().await.unwrap();
    let disposition = res.headers()["content-disposition"].to_str().unwrap();
    assert!(
        disposition.ends_with(&format!("{slug}-{file}.csv\"")),
        "{disposition}"
    );
    let text = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let records = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, records)
}

/// Consumes every message of the outbox into analytics, in order (again
/// and again harmlessly: ingestion is idempotent), and returns the
/// engagement of the event `slug`.
pub async fn engagement_of(app: &TestApp, slug: &str) -> Vec<AreaEngagement> {
    let payloads: Vec<serde_json::Value> =
        sqlx::query_scalar("SELECT payload FROM outbox ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    for p in payloads {
        let env: Envelope = serde_json::from_value(p).unwrap();
        analytics::ingest(&app.pool, &env).await.unwrap();
    }
    let event: EventId = sqlx::query_scalar("SELECT id FROM events WHERE slug = $1")
        .bind(slug)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    engagement::per_area(&app.pool, event).await.unwrap()
}

/// Everything analytics shows of one event at one moment.
#[derive(Debug, PartialEq)]
struct Shown {
    areas: Vec<AreaFigures>,
    funnel: Funnel,
    sales: Vec<analytics::sales::TypeSales>,
    engagement: Vec<AreaEngagement>,
}

async fn shown(app: &TestApp, event: EventId, now: DateTime<Utc>) -> Shown {
    Shown {
        areas: per_area(&app.pool, event, now).await.unwrap(),
        funnel: funnel(&app.pool, event, now).await.unwrap(),
        sales: analytics::sales::per_type(&app.pool, event).await.unwrap(),
        engagement: engagement::per_area(&app.pool, event).await.unwrap(),
    }
}

/// A scripted event of every kind of fact analytics keeps.
fn a_whole_event() -> Script {
    let mut s = Script {
        org: OrgId::new(),
        event: EventId::new(),
        log: Vec::new(),
    };
    let (enter, leave, still): (Say, Say, Say) = (
        Fact::AttendeeEnteredArea,
        Fact::AttendeeLeftArea,
        Fact::AttendeeStillInArea,
    );
    let stage = StageId::new();
    let (ada, bo) = (AttendeeId::new(), AttendeeId::new());
    let (a1, b1) = (ConnectionId::new(), ConnectionId::new());
    let ticket_type = TicketTypeId::new();
    let (kept, cancelled) = (OrderId::new(), OrderId::new());
    for (order, who) in [(kept, ada), (cancelled, bo)] {
        s.log.push(fact_at(
            &s,
            "2026-05-01T10:00:00Z",
            Fact::AttendeeRegistered(AttendeeRegistered {
                attendee_id: who,
                order_id: order,
                name: "Someone".into(),
                email: "someone@example.org".into(),
                answers: vec![],
            }),
        ));
        let p = placed(
            &s,
            "2026-05-01T10:00:00Z",
            order,
            ticket_type,
            1,
            2_000,
            OrderStatus::Confirmed,
        );
        s.log.push(p);
    }
    let cancel = fact_at(
        &s,
        "2026-05-01T11:00:00Z",
        Fact::OrderCancelled(OrderCancelled {
            order_id: cancelled,
            reason: CancelReason::Organiser,
        }),
    );
    s.log.push(cancel);
    s.say(0, enter, ada, Area::Reception, a1);
    s.say(100, leave, ada, Area::Reception, a1);
    s.say(100, enter, ada, Area::Stage(stage), a1);
    s.say(50, enter, bo, Area::Stage(stage), b1);
    s.say(110, still, bo, Area::Stage(stage), b1);
    s.say(400, leave, bo, Area::Stage(stage), b1);
    s.say(700, leave, ada, Area::Stage(stage), a1);
    let channel = protocol::Channel::Stage(stage);
    let poll = protocol::ids::PollId::new();
    let pair = protocol::events::Meeting {
        meeting_id: protocol::ids::MeetingId::new(),
        first_id: ada,
        second_id: bo,
    };
    let facts = [
        (
            60,
            Fact::MessagePosted(protocol::events::MessagePosted {
                message_id: protocol::ids::MessageId::new(),
                channel,
                author_id: bo,
            }),
        ),
        // A vote changed is one voter.
        (
            70,
            Fact::PollVoted(protocol::events::PollVoted {
                poll_id: poll,
                channel,
                attendee_id: bo,
            }),
        ),
        (
            80,
            Fact::PollVoted(protocol::events::PollVoted {
                poll_id: poll,
                channel,
                attendee_id: bo,
            }),
        ),
        (
            90,
            Fact::QuestionAsked(protocol::events::QuestionAsked {
                question_id: protocol::ids::QaQuestionId::new(),
                channel,
                attendee_id: ada,
            }),
        ),
        (
            120,
            Fact::DataPoints(protocol::events::DataPoints {
                attendee_id: bo,
                area: Area::Stage(stage),
                connection_id: b1,
                watched_ms: 30_000,
                hidden_ms: 0,
                heights: vec![360, 720],
            }),
        ),
        (800, Fact::Met(pair.clone())),
        // Told twice (a redelivery): one connection.
        (950, Fact::Connected(pair.clone())),
        (950, Fact::Connected(pair)),
    ];
    for (secs, fact) in facts {
        let e = Envelope {
            id: DomainEventId::new(),
            version: 1,
            occurred_at: at(secs),
            org_id: s.org,
            event_id: s.event,
            fact,
        };
        s.log.push(e);
    }
    s
}

/// Applying a log in one batch (set-based, in rounds) gives exactly what
/// applying it message by message gives.
#[tokio::test]
async fn a_whole_event_in_one_batch_shows_what_it_shows_message_by_message() {
    let app = spawn_web_only().await;
    let s = a_whole_event();
    let now = at(1000);
    for env in &s.log {
        analytics::ingest(&app.pool, env).await.unwrap();
    }
    let one_by_one = shown(&app, s.event, now).await;
    assert!(!one_by_one.areas.is_empty(), "{one_by_one:?}");
    sqlx::query(
        "TRUNCATE analytics.activity_facts, analytics.stays, analytics.order_states,
                  analytics.attendees, analytics.interactions, analytics.watching",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_ne!(shown(&app, s.event, now).await, one_by_one);
    // All of it at once (a connection's entry, heartbeats and leave in one
    // batch), and then again, as a redelivery.
    analytics::ingest_batch(&app.pool, &s.log).await.unwrap();
    assert_eq!(shown(&app, s.event, now).await, one_by_one);
    analytics::ingest_batch(&app.pool, &s.log).await.unwrap();
    assert_eq!(shown(&app, s.event, now).await, one_by_one);
}

/// The analytics worker consumes `s`'s log from the bus; the figures are
/// then emptied in part by hand, and a rebuild from the log restores them.
async fn rebuild_restores_the_figures(app: &TestApp, s: &Script) {
    let mut conn = app.pool.acquire().await.unwrap();
    bus::outbox::append_all(&mut conn, &s.log).await.unwrap();
    drop(conn);
    let now = at(1000);
    // By hand: Ada 100 s in Reception, 600 on stage; Bo 350 on stage.
    let want_areas = per_area(&app.pool, s.event, now).await.unwrap();
    assert!(want_areas.is_empty(), "nothing consumed yet");
    let pool = app.pool.clone();
    let event = s.event;
    app.eventually(60, "the event's figures", || {
        let pool = pool.clone();
        async move {
            let e = engagement::per_area(&pool, event).await.unwrap();
            e.iter()
                .any(|a| a.area == "networking" && a.connections == 1)
        }
    })
    .await;
    let before = shown(app, s.event, now).await;
    let stage = before
        .areas
        .iter()
        .find(|a| a.area.starts_with("stage:"))
        .expect("the stage");
    assert_eq!((stage.visitors, stage.seconds), (2, 600 + 350));
    // Both spent five minutes or more on the stage.
    assert_eq!(
        before.funnel,
        Funnel {
            attended: 2,
            engaged: 2
        }
    );
    assert_eq!(before.sales.len(), 1);
    assert_eq!(
        (before.sales[0].orders, before.sales[0].revenue_minor),
        (1, 2_000)
    );
    let on_stage = before
        .engagement
        .iter()
        .find(|a| a.area.starts_with("stage:"))
        .unwrap();
    assert_eq!(
        (on_stage.messages, on_stage.votes, on_stage.questions),
        (1, 1, 1)
    );
    assert_eq!(
        (
            on_stage.watchers,
            on_stage.watched_seconds,
            on_stage.quality_changes
        ),
        (1, 30, 2)
    );
    let networking = before
        .engagement
        .iter()
        .find(|a| a.area == "networking")
        .unwrap();
    assert_eq!((networking.meetings, networking.connections), (1, 1));

    // Aggregates damaged (say, by a bug since fixed): the figures are wrong.
    sqlx::query("DELETE FROM analytics.stays WHERE area <> 'reception'")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM analytics.interactions WHERE kind = 'vote'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_ne!(shown(app, s.event, now).await, before);

    let generation = analytics::rebuild::start(&app.pool, &app.pool, &app.deps.bus)
        .await
        .unwrap();
    assert_eq!(generation, 1);
    app.eventually(60, "the same figures after the rebuild", || async {
        shown(app, s.event, now).await == before
    })
    .await;
}

#[tokio::test]
async fn a_rebuild_from_the_embedded_log_gives_the_same_figures() {
    let mut settings = crate::helpers::test_settings().await;
    settings.kafka = None;
    let workers = crate::helpers::Workers {
        relay: true,
        analytics: true,
        webhooks: false,
    };
    let app = crate::helpers::spawn_with(settings, workers).await;
    rebuild_restores_the_figures(&app, &a_whole_event()).await;
    // The first generation's position is forgotten (it would hold back the
    // outbox's purge); the second's is kept.
    let pool = app.pool.clone();
    app.eventually(10, "only the new generation's position", || {
        let pool = pool.clone();
        async move {
            let groups: Vec<String> = sqlx::query_scalar(
                "SELECT consumer_group FROM bus_offsets WHERE consumer_group LIKE 'convene-analytics%'",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            groups == ["convene-analytics.1"]
        }
    })
    .await;
    // A log that lost its first messages cannot be rebuilt from: nothing
    // is emptied.
    sqlx::query("DELETE FROM outbox WHERE position = 1")
        .execute(&app.pool)
        .await
        .unwrap();
    let refused = analytics::rebuild::start(&app.pool, &app.pool, &app.deps.bus).await;
    assert!(
        matches!(refused, Err(analytics::rebuild::Refusal::TrimmedLog)),
        "{refused:?}"
    );
    assert_eq!(analytics::rebuild::generation(&app.pool).await.unwrap(), 1);
    let stays: i64 = sqlx::query_scalar("SELECT count(*) FROM analytics.stays")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(stays > 0);
}

#[tokio::test]
async fn a_rebuild_through_kafka_gives_the_same_figures() {
    let app = crate::helpers::spawn_app().await;
    assert_eq!(app.deps.bus.kind(), "kafka");
    rebuild_restores_the_figures(&app, &a_whole_event()).await;
}

#[tokio::test]
async fn pages_report_what_they_saw_over_the_live_socket_within_bounds() {
    use protocol::live::ClientMsg;
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let ada = crate::attendees::person(&app, &slug, "Ada").await;
    let mut ws = crate::attendees::socket(&app, &slug, &ada).await;
    let seen = |area: Area, watched_ms: u32| ClientMsg::Seen {
        area,
        watched_ms,
        hidden_ms: 0,
        heights: vec![],
    };
    // Another area than the socket's: refused.
    crate::live::send(&mut ws, &seen(Area::Networking, 1_000)).await;
    assert_eq!(crate::attendees::next_error(&mut ws).await.0, "invalid");
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    // An hour claimed a second or so after connecting: cut to that time.
    crate::live::send(&mut ws, &seen(Area::Reception, 3_600_000)).await;
    // Straight after: too soon.
    crate::live::send(&mut ws, &seen(Area::Reception, 1_000)).await;
    assert_eq!(
        crate::attendees::next_error(&mut ws).await.0,
        "rate_limited"
    );
    drop(ws);
    let reception = engagement_of(&app, &slug)
        .await
        .into_iter()
        .find(|a| a.area == "reception")
        .expect("Ada's report");
    assert_eq!(reception.watchers, 1);
    assert!(
        (1..=5).contains(&reception.watched_seconds),
        "cut to the time since connecting: {reception:?}"
    );
}

#[tokio::test]
async fn a_page_whose_socket_is_down_reports_by_beacon_on_the_same_clock() {
    use protocol::live::{Beacon, ClientMsg, ServerMsg};
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let ada = crate::attendees::person(&app, &slug, "Ada").await;
    let bob = crate::attendees::person(&app, &slug, "Bob").await;
    let (mut ws, hello) = crate::attendees::socket_hello(&app, &slug, &ada).await;
    let ServerMsg::Hello {
        connection: Some(connection),
        ..
    } = hello
    else {
        panic!("the hello names the connection: {hello:?}");
    };
    let url = format!("{}/e/{slug}/seen", app.base);
    let beacon = |area: Area, watched_ms: u32| {
        serde_json::to_string(&Beacon {
            connection,
            area,
            watched_ms,
            hidden_ms: 0,
            heights: vec![],
        })
        .unwrap()
    };
    let post = |client: &reqwest::Client, body: String| {
        client
            .post(&url)
            .header("content-type", "text/plain;charset=UTF-8")
            .body(body)
            .send()
    };
    let refusal = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap();
        (
            status,
            body["message"].as_str().unwrap_or_default().to_owned(),
        )
    };

    // Half a minute claimed on the socket two seconds in: cut to about 2 s.
    tokio::time::sleep(std::time::Duration::from_millis(2_000)).await;
    let seen = ClientMsg::Seen {
        area: Area::Reception,
        watched_ms: 30_000,
        hidden_ms: 0,
        heights: vec![],
    };
    crate::live::send(&mut ws, &seen).await;
    // The socket drops; the page closes a second and a half later and its
    // beacon claims an hour: cut to the time since the socket's report.
    ws.close(None).await.unwrap();
    drop(ws);
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    // Once the socket has closed, its clock is kept minutes, not an hour,
    // and a beacon does not extend that.
    let redis = app.deps.redis.clone();
    let clock = format!("{}seen-clock:{connection}", app.settings.redis_namespace);
    let ttl = |mut redis: redis::aio::ConnectionManager, clock: String| async move {
        redis::cmd("TTL")
            .arg(clock)
            .query_async::<i64>(&mut redis)
            .await
            .unwrap()
    };
    app.eventually(10, "the closed socket's clock kept minutes", || {
        let (redis, clock) = (redis.clone(), clock.clone());
        async move { (1..=300).contains(&ttl(redis, clock).await) }
    })
    .await;
    let r = post(&ada.client, beacon(Area::Reception, 3_600_000))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert!((1..=300).contains(&ttl(redis.clone(), clock.clone()).await));
    // The same again straight after: that time is claimed already.
    let r = post(&ada.client, beacon(Area::Reception, 1_000))
        .await
        .unwrap();
    assert_eq!(refusal(r).await.0, 429);
    // Another attendee naming Ada's connection; another area; no JSON; no
    // one signed in: each refused, none recorded.
    let (status, message) = refusal(
        post(&bob.client, beacon(Area::Reception, 1_000))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404, "{message}");
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let (status, message) = refusal(
        post(&ada.client, beacon(Area::Networking, 1_000))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, message.contains("area")), (400, true), "{message}");
    let (status, message) = refusal(
        post(&ada.client, "{\"connection\":1}".into())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, message.contains("a beacon is JSON")),
        (400, true),
        "{message}"
    );
    let r = post(&reqwest::Client::new(), beacon(Area::Reception, 1_000))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);

    let reports: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE payload->>'type' = 'attendee.data_points'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(reports, 2, "the socket's report and the first beacon");
    let reception = engagement_of(&app, &slug)
        .await
        .into_iter()
        .find(|a| a.area == "reception")
        .expect("Ada's reports");
    assert_eq!(reception.watchers, 1);
    // About 2 s and 1.5 s, each with at most a tenth more: not 30 s or an hour.
    assert!(
        (3..=5).contains(&reception.watched_seconds),
        "each report cut to the time since the previous one: {reception:?}"
    );
}

/// Analytics' tables, columns, indexes and constraints in `pool`.
async fn analytics_schema(pool: &sqlx::PgPool) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT 'column ' || table_name || '.' || column_name,
                data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
         FROM information_schema.columns WHERE table_schema = 'analytics'
         UNION ALL
         SELECT 'index ' || indexname, indexdef FROM pg_indexes WHERE schemaname = 'analytics'
         UNION ALL
         SELECT 'constraint ' || conname, pg_get_constraintdef(oid) FROM pg_constraint
         WHERE connamespace = 'analytics'::regnamespace
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_database_of_its_own_gets_the_same_analytics_schema_and_the_figures() {
    let mut settings = crate::helpers::test_settings().await;
    settings.kafka = None;
    let own = format!("{}_analytics", settings.database_url);
    settings.analytics_database_url = Some(own.clone());
    let workers = crate::helpers::Workers {
        relay: true,
        analytics: true,
        webhooks: false,
    };
    let app = crate::helpers::spawn_with(settings, workers).await;
    let analytics_pool = app.deps.analytics.clone();
    // The same tables as the main migrations make in the shared database
    // (less their backfills), so one code reads either.
    let shared = analytics_schema(&app.pool).await;
    assert!(shared.len() > 40, "{shared:?}");
    assert_eq!(analytics_schema(&analytics_pool).await, shared);

    // A registration reaches the figures through the analytics database
    // alone: the shared database's analytics tables stay empty.
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (st, body) = app.register(&slug, "grace@example.org").await;
    assert_eq!(st, 200, "{body}");
    let (client, url) = (org.client.clone(), app.url_of::<fns::EventFigures>());
    app.eventually(30, "one registration in the figures", || {
        let (client, url, slug) = (client.clone(), url.clone(), slug.clone());
        async move {
            let body: serde_json::Value = client
                .post(&url)
                .form(&[("slug", slug)])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["registrations"] == 1
        }
    })
    .await;
    let count = |pool: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM analytics.order_states")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(count(analytics_pool.clone()).await, 1);
    assert_eq!(count(app.pool.clone()).await, 0);
}
