//! Who may call what: every endpoint (every server function and every plain
//! HTTP route) called as each of six roles, against one event of one
//! organisation. The same table is in docs/ARCHITECTURE.md ("Endpoints and
//! roles"); this test is its proof, and it fails when a server function is
//! added without a row here.
//!
//! Each role calls with its own cookies on a client that keeps them whatever
//! the server answers, so a call that signs someone in or out as a side
//! effect does not change who the next call is made as (log-outs run last).

use std::collections::BTreeSet;

use leptos::server_fn::ServerFn;
use uuid::Uuid;

use crate::helpers::{client, client_with_cookie, fns, TestApp};
use crate::live::connect;

/// What a role gets from an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Is {
    /// Served (any answer but 401, 403, a 404 hiding the event, or 5xx; a
    /// 4xx about the input is still service).
    Served,
    /// 401: not signed in as what the endpoint needs.
    Unauthorised,
    /// 403: signed in, but not allowed.
    Forbidden,
    /// 404 "no such event": another organisation's event does not exist for them.
    Hidden,
}
use Is::*;

/// The roles, in the order of every row: anonymous, attendee of this event,
/// attendee of another event, organiser (member) of this event's
/// organisation, organiser of another organisation, owner of this one.
const ROLES: [&str; 6] = [
    "anonymous",
    "attendee",
    "other attendee",
    "member",
    "other organiser",
    "owner",
];

const ANYONE: [Is; 6] = [Served; 6];
/// A signed path (media): a bad signature is forbidden whoever follows it.
const SIGNED: [Is; 6] = [Forbidden; 6];
/// Needs a credential in the request (a link's token, a signature): a bad one
/// is refused whoever sends it.
const TOKEN: [Is; 6] = [Unauthorised; 6];
const EVENT_ORGANISERS: [Is; 6] = [
    Unauthorised,
    Unauthorised,
    Unauthorised,
    Served,
    Hidden,
    Served,
];
const ANY_ORGANISER: [Is; 6] = [
    Unauthorised,
    Unauthorised,
    Unauthorised,
    Served,
    Served,
    Served,
];
const OWNERS: [Is; 6] = [
    Unauthorised,
    Unauthorised,
    Unauthorised,
    Forbidden,
    Served,
    Served,
];
/// The hosts of a video session (the attendee here hosts none).
const SESSION_HOSTS: [Is; 6] = [
    Unauthorised,
    Forbidden,
    Forbidden,
    Unauthorised,
    Unauthorised,
    Unauthorised,
];
/// Owners of the event's organisation (members see, owners manage).
const EVENT_OWNERS: [Is; 6] = [
    Unauthorised,
    Unauthorised,
    Unauthorised,
    Forbidden,
    Hidden,
    Served,
];
const EVENT_ATTENDEES: [Is; 6] = [
    Unauthorised,
    Served,
    Forbidden,
    Unauthorised,
    Unauthorised,
    Unauthorised,
];

/// Classifies an answer.
fn is(status: u16, body: &str) -> Is {
    match status {
        401 => Unauthorised,
        403 => Forbidden,
        404 if body.contains("no such event") => Hidden,
        s if s >= 500 => panic!("{s}: {body}"),
        _ => Served,
    }
}

/// An organiser session cookie (`name=value`) for `email`.
async fn organiser_cookie(app: &TestApp, email: &str, password: &str) -> String {
    let res = client()
        .post(app.url_of::<fns::Login>())
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap();
    assert!(
        res.status().as_u16() < 400,
        "log-in of {email}: {}",
        res.status()
    );
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("convene_session=") && !c.starts_with("convene_session=;"))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

/// One endpoint: how to call it, and what each role gets.
struct Row {
    name: String,
    call: Call,
    expect: [Is; 6],
}

enum Call {
    /// A server function at this path with this form (`{n}` in a value is
    /// replaced by a number unique to the call).
    Fn(&'static str, Vec<(&'static str, String)>),
    /// A plain HTTP request.
    Get(String),
    Post(String, Vec<(&'static str, String)>),
    /// Another method with a raw body (`{n}` replaced as above).
    Send(&'static str, String, String),
    /// The live socket of the event.
    Socket(String),
}

fn f<S: ServerFn>(form: &[(&'static str, &str)]) -> Call {
    Call::Fn(
        S::PATH,
        form.iter().map(|(k, v)| (*k, v.to_string())).collect(),
    )
}

#[tokio::test]
async fn every_endpoint_serves_exactly_the_roles_it_is_for() {
    let app = crate::helpers::spawn_web_only().await;
    let owner = app.organiser().await;
    let slug = app.event(&owner).await;
    let stranger = app.organiser().await;
    let elsewhere = app.event(&stranger).await;

    // The event's things the rows point at.
    let (s, b) = app
        .call::<fns::CreateStage>(
            &owner.client,
            &[("slug", &slug), ("name", "Main"), ("source_kind", "none")],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let stage: Uuid = sqlx::query_scalar("SELECT id FROM stages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let stage = stage.to_string();
    let (s, b) = app
        .call::<fns::CreateVideoSession>(
            &owner.client,
            &[
                ("slug", &slug),
                ("title", "Roundtable"),
                ("description", ""),
                ("capacity", "10"),
                ("max_on_screen", "4"),
                ("on_screen", "anyone"),
                ("agenda_session", ""),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let session: Uuid = sqlx::query_scalar("SELECT id FROM video_sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let session = session.to_string();
    let nobody = Uuid::new_v4().to_string();
    let (s, b) = app
        .call::<fns::CreateTicketType>(
            &owner.client,
            &[
                ("slug", &slug),
                ("name", "Paid"),
                ("price", "10"),
                ("quota", "50"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let paid: Uuid = sqlx::query_scalar("SELECT id FROM ticket_types WHERE name = 'Paid'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let paid = paid.to_string();
    let (s, pending) = app
        .call::<fns::Register>(
            &client(),
            &[
                ("slug", &slug),
                ("name", "Pat"),
                ("email", "pat@example.org"),
                ("ticket_type_id", &paid),
            ],
        )
        .await;
    assert_eq!(s, 200, "{pending}");
    let pending = pending["order_code"].as_str().unwrap().to_owned();
    // A ticket type with a sale: removing it hides it, again and again.
    let (s, b) = app
        .call::<fns::CreateTicketType>(&owner.client, &[("slug", &slug), ("name", "Extra")])
        .await;
    assert_eq!(s, 200, "{b}");
    let extra: Uuid = sqlx::query_scalar("SELECT id FROM ticket_types WHERE name = 'Extra'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let extra = extra.to_string();
    let (s, b) = app
        .call::<fns::Register>(
            &client(),
            &[
                ("slug", &slug),
                ("name", "Xen"),
                ("email", "xen@example.org"),
                ("ticket_type_id", &extra),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, free) = app.register(&slug, "fay@example.org").await;
    assert_eq!(s, 200, "{free}");
    let free = free["order_code"].as_str().unwrap().to_owned();

    // The roles' cookies.
    let (_, attendee) = app.attendee(&slug).await;
    let (_, other_attendee) = app.attendee(&elsewhere).await;
    let attendee_id: Uuid = sqlx::query_scalar(
        "SELECT a.id FROM attendees a JOIN events e ON e.id = a.event_id
         WHERE e.slug = $1 AND a.email LIKE 'att-%' LIMIT 1",
    )
    .bind(&slug)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let attendee_id = attendee_id.to_string();
    let member_email = format!("member-{}@example.org", Uuid::new_v4().simple());
    let (s, b) = app
        .call::<fns::InviteMember>(&owner.client, &[("email", &member_email)])
        .await;
    assert_eq!(s, 200, "{b}");
    let invite: Uuid = sqlx::query_scalar("SELECT id FROM team_invites WHERE email = $1::citext")
        .bind(&member_email)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let token = services::team::issue_invite_token(&app.pool, invite.into())
        .await
        .unwrap()
        .unwrap()
        .token;
    let (s, b) = app
        .call::<fns::AcceptInvite>(
            &client(),
            &[
                ("token", &token),
                ("name", "Mem"),
                ("password", "member password"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let cookies = [
        String::new(),
        attendee,
        other_attendee,
        organiser_cookie(&app, &member_email, "member password").await,
        organiser_cookie(&app, &stranger.email, "a long password").await,
        organiser_cookie(&app, &owner.email, "a long password").await,
    ];
    // A colleague the owner may remove (each call tries; one succeeds).
    let bystander = Uuid::new_v4().to_string();

    let e = || slug.clone();
    // Well formed, and nobody's.
    let unknown_token = services::tokens::new_token();
    let rows: Vec<Row> = vec![
        // The public side.
        row::<fns::PublicEvent>(ANYONE, &[("slug", &e())]),
        row::<fns::Register>(
            ANYONE,
            &[
                ("slug", &e()),
                ("name", "Reg"),
                ("email", "reg{n}@example.org"),
            ],
        ),
        row::<fns::JoinWaitlist>(
            ANYONE,
            &[
                ("slug", &e()),
                ("ticket_type_id", &paid),
                ("name", "W"),
                ("email", "w{n}@example.org"),
            ],
        ),
        row::<fns::BuyerOrder>(ANYONE, &[("slug", &e()), ("code", &pending)]),
        row::<fns::SendSignInLink>(ANYONE, &[("slug", &e()), ("email", "lost{n}@example.org")]),
        row::<fns::Pay>(
            ANYONE,
            &[
                ("order_code", &pending),
                ("card_number", "4000000000000002"),
            ],
        ),
        row::<fns::Whoami>(ANYONE, &[]),
        row::<fns::Signup>(
            ANYONE,
            &[
                ("name", "New"),
                ("organisation", "New {n}"),
                ("email", "new{n}@example.org"),
                ("password", "a long password"),
            ],
        ),
        row::<fns::Login>(
            ANYONE,
            &[("email", &owner.email), ("password", "a long password")],
        ),
        row::<fns::RequestPasswordReset>(ANYONE, &[("email", "forgot{n}@example.org")]),
        row::<fns::ResetPassword>(
            TOKEN,
            &[
                ("token", &unknown_token),
                ("password", "a new long password"),
            ],
        ),
        row::<fns::Invitation>(TOKEN, &[("token", &unknown_token)]),
        row::<fns::AcceptInvite>(
            TOKEN,
            &[
                ("token", &unknown_token),
                ("name", "X"),
                ("password", "a long password"),
            ],
        ),
        Row {
            name: "GET /e/{slug}/join".into(),
            call: Call::Get(format!("/e/{slug}/join?token=x")),
            expect: ANYONE,
        },
        Row {
            name: "POST /e/{slug}/join".into(),
            call: Call::Post(
                format!("/e/{slug}/join"),
                vec![("token", unknown_token.clone())],
            ),
            expect: TOKEN,
        },
        Row {
            name: "GET /.well-known/jwks.json".into(),
            call: Call::Get("/.well-known/jwks.json".into()),
            expect: ANYONE,
        },
        Row {
            name: "GET /readyz".into(),
            call: Call::Get("/readyz".into()),
            expect: ANYONE,
        },
        Row {
            name: "POST /media/v1/recordings".into(),
            call: Call::Post("/media/v1/recordings".into(), vec![]),
            expect: TOKEN,
        },
        Row {
            name: "POST /media/v1/recordings/tracks".into(),
            call: Call::Post("/media/v1/recordings/tracks".into(), vec![]),
            expect: TOKEN,
        },
        Row {
            name: "POST /webhooks/payments/test".into(),
            call: Call::Post("/webhooks/payments/test".into(), vec![]),
            expect: TOKEN,
        },
        // The attendee's event.
        row::<fns::Reception>(EVENT_ATTENDEES, &[("slug", &e())]),
        row::<fns::StageInfo>(EVENT_ATTENDEES, &[("slug", &e()), ("stage", &stage)]),
        row::<fns::ServerClock>(ANYONE, &[]),
        row::<fns::SimuliveMedia>(EVENT_ATTENDEES, &[("slug", &e()), ("stage", &stage)]),
        // A broadcast: any attendee asks (a stage that is not live answers
        // 409); only the backstage's hosts see or run it.
        row::<fns::StageWatch>(EVENT_ATTENDEES, &[("slug", &e()), ("stage", &stage)]),
        row::<fns::BackstageOf>(SESSION_HOSTS, &[("slug", &e()), ("session", &session)]),
        row::<fns::StageBroadcast>(
            EVENT_ATTENDEES,
            &[
                ("slug", &e()),
                ("stage", &stage),
                ("action", "go_live"),
                ("on_air", ""),
                ("layout", "solo"),
            ],
        ),
        // Replay: attendees see what is published to them, anyone the public part.
        row::<fns::ReplayList>(ANYONE, &[("slug", &e())]),
        row::<fns::ReplayVideo>(ANYONE, &[("slug", &e()), ("id", &nobody)]),
        row::<fns::ReplayProgress>(
            EVENT_ATTENDEES,
            &[
                ("slug", &e()),
                ("id", &nobody),
                ("position_ms", "0"),
                ("watched_ms", "0"),
            ],
        ),
        row::<fns::MyProfile>(EVENT_ATTENDEES, &[("slug", &e())]),
        // Video sessions, the pre-event check and networking.
        row::<fns::VideoSession>(EVENT_ATTENDEES, &[("slug", &e()), ("id", &session)]),
        row::<fns::SessionPeople>(EVENT_ATTENDEES, &[("slug", &e()), ("id", &session)]),
        row::<fns::SessionToken>(
            EVENT_ATTENDEES,
            &[("slug", &e()), ("id", &session), ("on_screen", "false")],
        ),
        row::<fns::KeepOnScreen>(EVENT_ATTENDEES, &[("slug", &e()), ("id", &session)]),
        row::<fns::LeaveScreen>(EVENT_ATTENDEES, &[("slug", &e()), ("id", &session)]),
        row::<fns::CheckInfo>(EVENT_ATTENDEES, &[("slug", &e())]),
        row::<fns::CheckToken>(EVENT_ATTENDEES, &[("slug", &e())]),
        row::<fns::SaveCheck>(
            EVENT_ATTENDEES,
            &[
                ("slug", &e()),
                ("speaker", ""),
                ("camera", "true"),
                ("microphone", "true"),
                ("rtt_ms", "20"),
                ("jitter_ms", "2"),
                ("loss_pct", "0"),
                ("bitrate_kbps", "700"),
            ],
        ),
        row::<fns::NetworkingInfo>(EVENT_ATTENDEES, &[("slug", &e())]),
        row::<fns::MeetSomeone>(EVENT_ATTENDEES, &[("slug", &e())]),
        row::<fns::StopWaiting>(EVENT_ATTENDEES, &[("slug", &e())]),
        row::<fns::MeetingToken>(EVENT_ATTENDEES, &[("slug", &e()), ("meeting", &nobody)]),
        row::<fns::ConnectWith>(EVENT_ATTENDEES, &[("slug", &e()), ("meeting", &nobody)]),
        row::<fns::SaveCard>(
            EVENT_ATTENDEES,
            &[("slug", &e()), ("headline", "Hi"), ("links", "")],
        ),
        row::<fns::BlockPerson>(EVENT_ATTENDEES, &[("slug", &e()), ("attendee", &nobody)]),
        row::<fns::ReportPerson>(
            EVENT_ATTENDEES,
            &[("slug", &e()), ("attendee", &nobody), ("reason", "Spam")],
        ),
        Row {
            name: "GET /e/{slug}/connections.vcf".into(),
            call: Call::Get(format!("/e/{slug}/connections.vcf")),
            expect: EVENT_ATTENDEES,
        },
        Row {
            name: "GET /e/{slug}/connections.csv".into(),
            call: Call::Get(format!("/e/{slug}/connections.csv")),
            expect: EVENT_ATTENDEES,
        },
        row::<fns::SessionsAdmin>(EVENT_ORGANISERS, &[("slug", &e())]),
        row::<fns::CreateVideoSession>(
            EVENT_ORGANISERS,
            &[
                ("slug", &e()),
                ("title", "Another"),
                ("description", ""),
                ("capacity", "10"),
                ("max_on_screen", "2"),
                ("on_screen", "hosts"),
                ("agenda_session", ""),
            ],
        ),
        row::<fns::SetSessionHost>(
            EVENT_ORGANISERS,
            &[
                ("slug", &e()),
                ("id", &session),
                ("attendee", &attendee_id),
                ("host", "true"),
            ],
        ),
        row::<fns::RemoveVideoSession>(EVENT_ORGANISERS, &[("slug", &e()), ("id", &nobody)]),
        row::<fns::NetworkingAdmin>(EVENT_ORGANISERS, &[("slug", &e())]),
        row::<fns::SetCallLength>(EVENT_ORGANISERS, &[("slug", &e()), ("call_secs", "120")]),
        row::<fns::SetPairing>(
            EVENT_ORGANISERS,
            &[
                ("slug", &e()),
                ("rule", "same_ticket_type"),
                ("question", ""),
            ],
        ),
        Row {
            name: "GET /e/{slug}/avatars/{attendee}/{version}".into(),
            call: Call::Get(format!("/e/{slug}/avatars/{attendee_id}/1")),
            expect: EVENT_ATTENDEES,
        },
        Row {
            name: "POST /e/{slug}/profile/avatar".into(),
            call: Call::Post(format!("/e/{slug}/profile/avatar"), vec![]),
            expect: EVENT_ATTENDEES,
        },
        Row {
            name: "POST /e/{slug}/seen".into(),
            call: Call::Post(format!("/e/{slug}/seen"), vec![]),
            expect: EVENT_ATTENDEES,
        },
        Row {
            name: "POST /e/{slug}/profile/avatar/remove".into(),
            call: Call::Post(format!("/e/{slug}/profile/avatar/remove"), vec![]),
            expect: EVENT_ATTENDEES,
        },
        row::<fns::People>(EVENT_ATTENDEES, &[("slug", &e()), ("q", "a")]),
        row::<fns::ChatHistory>(EVENT_ATTENDEES, &[("slug", &e()), ("channel", "reception")]),
        row::<fns::DmHistory>(EVENT_ATTENDEES, &[("slug", &e()), ("with", &attendee_id)]),
        Row {
            name: "GET /ws/e/{slug}".into(),
            call: Call::Socket(slug.clone()),
            expect: EVENT_ATTENDEES,
        },
        // The organisation.
        row::<fns::Dashboard>(ANY_ORGANISER, &[]),
        row::<fns::CreateEvent>(
            ANY_ORGANISER,
            &[
                ("name", "Another"),
                ("slug", "another-{n}"),
                ("description", ""),
                ("starts", "2027-05-01T10:00"),
                ("ends", "2027-05-01T18:00"),
                ("time_zone", "UTC"),
            ],
        ),
        row::<fns::Team>(ANY_ORGANISER, &[]),
        row::<fns::CheckoutInfo>(ANY_ORGANISER, &[]),
        row::<fns::InviteMember>(OWNERS, &[("email", "colleague{n}@example.org")]),
        row::<fns::RemoveMember>(OWNERS, &[("id", &bystander)]),
        row::<fns::BuyPlan>(
            OWNERS,
            &[("plan", "starter"), ("card_number", "4000000000000002")],
        ),
        // The organisation's event.
        row::<fns::EventOverview>(EVENT_ORGANISERS, &[("slug", &e())]),
        row::<fns::CreateTicketType>(EVENT_ORGANISERS, &[("slug", &e()), ("name", "Type {n}")]),
        row::<fns::UpdateTicketType>(
            EVENT_ORGANISERS,
            &[
                ("slug", &e()),
                ("id", &paid),
                ("name", "Paid"),
                ("price", "10"),
                ("quota", "50"),
            ],
        ),
        row::<fns::RemoveTicketType>(EVENT_ORGANISERS, &[("slug", &e()), ("id", &extra)]),
        row::<fns::CreatePromoCode>(
            EVENT_ORGANISERS,
            &[
                ("slug", &e()),
                ("code", "CODE{n}"),
                ("kind", "percent"),
                ("value", "10"),
            ],
        ),
        row::<fns::EnterAsHost>(EVENT_ORGANISERS, &[("slug", &e())]),
        row::<fns::EventFigures>(EVENT_ORGANISERS, &[("slug", &e())]),
        row::<fns::Reports>(EVENT_ORGANISERS, &[("slug", &e())]),
        row::<fns::RequestReport>(EVENT_ORGANISERS, &[("slug", &e())]),
        row::<fns::SetBranding>(EVENT_ORGANISERS, &[("slug", &e()), ("accent", "#1d4ed8")]),
        row::<fns::WithdrawPromoCode>(EVENT_ORGANISERS, &[("slug", &e()), ("id", &bystander)]),
        row::<fns::UpdateEvent>(
            EVENT_ORGANISERS,
            &[
                ("slug", &e()),
                ("name", "Renamed {n}"),
                ("description", ""),
                ("starts", "2027-09-01T10:00"),
                ("ends", "2027-09-02T18:00"),
                ("time_zone", "Europe/Madrid"),
            ],
        ),
        row::<fns::SetEmbedOrigins>(
            EVENT_ORGANISERS,
            &[("slug", &e()), ("origins", "https://shop.example.org")],
        ),
        row::<fns::AgendaAdmin>(EVENT_ORGANISERS, &[("slug", &e())]),
        row::<fns::AddSpeaker>(EVENT_ORGANISERS, &[("slug", &e()), ("name", "Speaker {n}")]),
        row::<fns::AddSession>(
            EVENT_ORGANISERS,
            &[
                ("slug", &e()),
                ("title", "Talk {n}"),
                ("starts", "2027-05-01T10:00"),
                ("ends", "2027-05-01T11:00"),
            ],
        ),
        row::<fns::AddSponsor>(
            EVENT_ORGANISERS,
            &[("slug", &e()), ("name", "Sponsor {n}"), ("tier", "gold")],
        ),
        row::<fns::UpdateSpeaker>(
            EVENT_ORGANISERS,
            &[("slug", &e()), ("id", &bystander), ("name", "Speaker")],
        ),
        row::<fns::UpdateSession>(
            EVENT_ORGANISERS,
            &[
                ("slug", &e()),
                ("id", &bystander),
                ("title", "Talk"),
                ("starts", "2027-05-01T10:00"),
                ("ends", "2027-05-01T11:00"),
            ],
        ),
        row::<fns::UpdateSponsor>(
            EVENT_ORGANISERS,
            &[
                ("slug", &e()),
                ("id", &bystander),
                ("name", "Sponsor"),
                ("tier", "gold"),
            ],
        ),
        row::<fns::RemoveAgendaItem>(
            EVENT_ORGANISERS,
            &[("slug", &e()), ("kind", "speaker"), ("id", &bystander)],
        ),
        row::<fns::ListRegistrations>(EVENT_ORGANISERS, &[("slug", &e())]),
        row::<fns::RegistrationDetail>(EVENT_ORGANISERS, &[("slug", &e()), ("order_code", &free)]),
        row::<fns::TicketTypeNames>(EVENT_ORGANISERS, &[("slug", &e())]),
        row::<fns::ApproveOrder>(EVENT_ORGANISERS, &[("slug", &e()), ("order_code", &free)]),
        row::<fns::CancelOrder>(EVENT_ORGANISERS, &[("slug", &e()), ("order_code", &free)]),
        row::<fns::LiveAdmin>(EVENT_ORGANISERS, &[("slug", &e())]),
        row::<fns::CreateStage>(
            EVENT_ORGANISERS,
            &[
                ("slug", &e()),
                ("name", "Stage {n}"),
                ("source_kind", "none"),
            ],
        ),
        row::<fns::SetStageSource>(
            EVENT_ORGANISERS,
            &[("slug", &e()), ("stage", &stage), ("source_kind", "none")],
        ),
        row::<fns::RenameStage>(
            EVENT_ORGANISERS,
            &[("slug", &e()), ("stage", &stage), ("name", "Main")],
        ),
        row::<fns::RemoveStage>(EVENT_ORGANISERS, &[("slug", &e()), ("stage", &bystander)]),
        row::<fns::InstallApp>(EVENT_ORGANISERS, &[("slug", &e()), ("app", "polls")]),
        row::<fns::UninstallApp>(EVENT_ORGANISERS, &[("slug", &e()), ("app", "polls")]),
        row::<fns::PostCaption>(
            EVENT_ORGANISERS,
            &[
                ("slug", &e()),
                ("stage", &stage),
                ("language", "en"),
                ("body", "Hello"),
            ],
        ),
        row::<fns::StaffCandidates>(EVENT_ORGANISERS, &[("slug", &e())]),
        row::<fns::SetModerator>(
            EVENT_ORGANISERS,
            &[("slug", &e()), ("attendee_id", &attendee_id)],
        ),
        row::<fns::ListQuestions>(EVENT_ORGANISERS, &[("slug", &e())]),
        row::<fns::CreateQuestion>(
            EVENT_ORGANISERS,
            &[("slug", &e()), ("label", "Diet {n}"), ("kind", "text")],
        ),
        row::<fns::UpdateQuestion>(
            EVENT_ORGANISERS,
            &[("slug", &e()), ("id", &bystander), ("label", "Diet")],
        ),
        row::<fns::RemoveQuestion>(EVENT_ORGANISERS, &[("slug", &e()), ("id", &bystander)]),
        Row {
            name: "GET /dashboard/events/{slug}/registrations.csv".into(),
            call: Call::Get(format!("/dashboard/events/{slug}/registrations.csv")),
            expect: EVENT_ORGANISERS,
        },
        Row {
            name: "GET /dashboard/events/{slug}/reports/{id}.csv".into(),
            call: Call::Get(format!("/dashboard/events/{slug}/reports/{nobody}.csv")),
            expect: EVENT_ORGANISERS,
        },
        row::<fns::EventVideos>(EVENT_ORGANISERS, &[("slug", &e())]),
        row::<fns::RemoveVideo>(EVENT_ORGANISERS, &[("slug", &e()), ("id", &nobody)]),
        row::<fns::PreviewVideo>(EVENT_ORGANISERS, &[("slug", &e()), ("id", &nobody)]),
        row::<fns::ListWebhooks>(EVENT_ORGANISERS, &[("slug", &e())]),
        row::<fns::WebhookLog>(EVENT_ORGANISERS, &[("slug", &e()), ("id", &nobody)]),
        row::<fns::AddWebhook>(
            EVENT_OWNERS,
            &[
                ("slug", &e()),
                ("url", "https://hooks.example.com/{n}"),
                ("types[0]", "order.paid"),
            ],
        ),
        row::<fns::SwitchWebhook>(
            EVENT_OWNERS,
            &[("slug", &e()), ("id", &nobody), ("on", "false")],
        ),
        row::<fns::RotateWebhookSecret>(EVENT_OWNERS, &[("slug", &e()), ("id", &nobody)]),
        row::<fns::TestWebhook>(EVENT_OWNERS, &[("slug", &e()), ("id", &nobody)]),
        row::<fns::ResendWebhook>(
            EVENT_OWNERS,
            &[("slug", &e()), ("id", &nobody), ("message", &nobody)],
        ),
        row::<fns::ReplayWebhook>(
            EVENT_OWNERS,
            &[
                ("slug", &e()),
                ("id", &nobody),
                ("since", "2026-01-01T00:00"),
            ],
        ),
        row::<fns::RemoveWebhook>(EVENT_OWNERS, &[("slug", &e()), ("id", &nobody)]),
        row::<fns::PublishVideo>(
            EVENT_ORGANISERS,
            &[("slug", &e()), ("id", &nobody), ("replay", "public")],
        ),
        row::<fns::SetStageSimulive>(
            EVENT_ORGANISERS,
            &[("slug", &e()), ("stage", &stage), ("asset", &nobody)],
        ),
        Row {
            name: "GET /dashboard/events/{slug}/assets".into(),
            call: Call::Get(format!("/dashboard/events/{slug}/assets")),
            expect: EVENT_ORGANISERS,
        },
        Row {
            name: "POST /dashboard/events/{slug}/assets".into(),
            call: Call::Send(
                "POST",
                format!("/dashboard/events/{slug}/assets"),
                r#"{"filename": "talk{n}.mp4", "size": 10}"#.into(),
            ),
            expect: EVENT_ORGANISERS,
        },
        Row {
            name: "GET /dashboard/events/{slug}/assets/{id}".into(),
            call: Call::Get(format!("/dashboard/events/{slug}/assets/{nobody}")),
            expect: EVENT_ORGANISERS,
        },
        Row {
            name: "PATCH /dashboard/events/{slug}/assets/{id}".into(),
            call: Call::Send(
                "PATCH",
                format!("/dashboard/events/{slug}/assets/{nobody}"),
                "0123456789".into(),
            ),
            expect: EVENT_ORGANISERS,
        },
        Row {
            name: "PUT /dashboard/events/{slug}/assets/{id}/captions".into(),
            call: Call::Send(
                "PUT",
                format!("/dashboard/events/{slug}/assets/{nobody}/captions"),
                "WEBVTT\n".into(),
            ),
            expect: EVENT_ORGANISERS,
        },
        Row {
            name: "GET /dashboard/events/{slug}/assets/{id}/preview".into(),
            call: Call::Get(format!("/dashboard/events/{slug}/assets/{nobody}/preview")),
            expect: EVENT_ORGANISERS,
        },
        Row {
            name: "DELETE /dashboard/events/{slug}/assets/{id}".into(),
            call: Call::Send(
                "DELETE",
                format!("/dashboard/events/{slug}/assets/{nobody}"),
                String::new(),
            ),
            expect: EVENT_ORGANISERS,
        },
        Row {
            name: "GET /media/{token}/{file}".into(),
            call: Call::Get("/media/bm90LWEtdG9rZW4/master.m3u8".into()),
            expect: SIGNED,
        },
        // Signing out, last.
        row::<fns::AttendeeLogout>(ANYONE, &[("slug", &e())]),
        row::<fns::Logout>(ANYONE, &[]),
    ];

    // Every server function has its row.
    let covered: BTreeSet<&str> = rows
        .iter()
        .filter_map(|r| match &r.call {
            Call::Fn(path, _) => Some(*path),
            _ => None,
        })
        .collect();
    let all: BTreeSet<&str> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path)
        .collect();
    let missing: Vec<_> = all.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "server functions without a row: {missing:?}"
    );

    let mut n = 0;
    let mut wrong = Vec::new();
    for r in &rows {
        for (role, cookie) in cookies.iter().enumerate() {
            n += 1;
            let got = call(&app, &r.call, cookie, n).await;
            if got.0 != r.expect[role] {
                wrong.push(format!(
                    "{} as {}: expected {:?}, got {:?} ({})",
                    r.name, ROLES[role], r.expect[role], got.0, got.1
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {n} cells wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

fn row<S: ServerFn>(expect: [Is; 6], form: &[(&'static str, &str)]) -> Row {
    Row {
        name: S::PATH.rsplit('/').next().unwrap_or(S::PATH).to_owned(),
        call: f::<S>(form),
        expect,
    }
}

/// Makes the call as the holder of `cookie`; what they got, and the answer.
async fn call(app: &TestApp, call: &Call, cookie: &str, n: usize) -> (Is, String) {
    let c = if cookie.is_empty() {
        client()
    } else {
        client_with_cookie(cookie)
    };
    let unique = |v: &str| v.replace("{n}", &n.to_string());
    let res = match call {
        Call::Fn(path, form) => {
            let form: Vec<(&str, String)> = form.iter().map(|(k, v)| (*k, unique(v))).collect();
            c.post(format!("{}{path}", app.base))
                .form(&form)
                .send()
                .await
        }
        Call::Get(path) => c.get(format!("{}{path}", app.base)).send().await,
        Call::Post(path, form) => {
            c.post(format!("{}{path}", app.base))
                .form(form)
                .send()
                .await
        }
        Call::Send(method, path, body) => {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            c.request(method, format!("{}{path}", app.base))
                .header("upload-offset", "0")
                .body(unique(body))
                .send()
                .await
        }
        Call::Socket(slug) => {
            let cookie = (!cookie.is_empty()).then_some(cookie);
            return match connect(app, slug, cookie, &[], protocol::live::PROTOCOL_VERSION).await {
                Ok(_) => (Served, "upgraded".into()),
                Err(status) => (is(status, ""), format!("{status}")),
            };
        }
    }
    .unwrap();
    let status = res.status().as_u16();
    let body = res.text().await.unwrap();
    (
        is(status, &body),
        format!("{status} {}", body.chars().take(160).collect::<String>()),
    )
}
