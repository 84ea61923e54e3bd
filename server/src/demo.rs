//! `convene demo`: an example organisation, organiser and event (idempotent).

use chrono::{Duration, Utc};
use services::accounts::{sign_up, SignUp};
use services::events::NewEvent;
use services::live::{agenda, apps, stages};
use sqlx::PgPool;

/// Demo organiser's email.
pub const EMAIL: &str = "demo@convene.test";
/// Demo organiser's password (public: demo data only).
pub const PASSWORD: &str = "demo-password-2026";
/// Demo event's slug.
pub const SLUG: &str = "demo";

/// Seeds the demo data unless the demo event exists.
pub async fn seed(pool: &PgPool) -> anyhow::Result<()> {
    if services::events::get_public(pool, SLUG).await.is_ok() {
        tracing::info!("demo event already present at /e/{SLUG}");
        return Ok(());
    }
    let organiser = match services::accounts::log_in(pool, EMAIL, PASSWORD).await {
        Ok(signed_in) => signed_in.who,
        Err(_) => {
            let input = SignUp {
                name: "Demo Organiser",
                organisation: "Convene Demo",
                email: EMAIL,
                password: PASSWORD,
            };
            sign_up(pool, input).await?.who
        }
    };
    let start = (Utc::now() + Duration::days(7))
        .format("%Y-%m-%dT09:00")
        .to_string();
    let end = (Utc::now() + Duration::days(8))
        .format("%Y-%m-%dT17:00")
        .to_string();
    let input = NewEvent {
        name: "Convene Demo Summit",
        slug: SLUG,
        description:
            "Two days of talks, sessions and networking about running great hybrid events.\n\
                      Register with any email to get a ticket and enter the Reception.",
        starts_local: &start,
        ends_local: &end,
        time_zone: "Europe/London",
    };
    // The demo organisation is on the biggest plan, so demo visitors never hit limits.
    services::billing::plans::set_plan(pool, organiser.org_id, "growth").await?;
    services::event_setup::create_event(pool, &organiser, input).await?;
    // A stage with the live apps, speakers, an agenda and a sponsor.
    // Its own look: a logo from this site and a teal accent.
    services::events::set_branding(pool, &organiser, SLUG, "/favicon.svg", "", "#0f766e").await?;
    let stage = stages::create(pool, &organiser, SLUG, "Main stage", "none", "").await?;
    for (app, config) in [
        ("polls", serde_json::json!({})),
        ("qa", serde_json::json!({})),
        ("translations", serde_json::json!({"languages": "en,fr"})),
    ] {
        apps::install(pool, &organiser, SLUG, app, &config).await?;
    }
    for (name, headline) in [
        ("Grace Hopper", "Rear Admiral, computer scientist"),
        ("Ada Lovelace", "Mathematician"),
    ] {
        let speaker = agenda::SpeakerInput {
            name,
            headline,
            bio: "",
            photo_url: "",
        };
        agenda::add_speaker(pool, &organiser, SLUG, speaker).await?;
    }
    let day = (Utc::now() + Duration::days(7))
        .format("%Y-%m-%d")
        .to_string();
    for (title, from, to, speakers) in [
        ("Opening keynote", "09:30", "10:15", "Grace Hopper"),
        (
            "Designing hybrid events",
            "10:30",
            "11:30",
            "Ada Lovelace, Grace Hopper",
        ),
    ] {
        let session = agenda::NewSession {
            title,
            description: "",
            starts_local: &format!("{day}T{from}"),
            ends_local: &format!("{day}T{to}"),
            stage: Some(stage.id),
            speakers,
        };
        agenda::add_session(pool, &organiser, SLUG, session).await?;
    }
    let sponsor = agenda::SponsorInput {
        name: "Convene",
        tier: "gold",
        url: "https://example.org",
        logo_url: "",
    };
    agenda::add_sponsor(pool, &organiser, SLUG, sponsor).await?;
    tracing::info!("demo event seeded at /e/{SLUG}; organiser {EMAIL}");
    Ok(())
}
