//! What attendees (and organisers) do live: each action runs a domain service,
//! then publishes what changed to the event's live log as a typed
//! [`LiveItem`], with the right audience, so it reaches every connected
//! client on every node. The live socket and server functions both come here.

use protocol::ids::{AssetId, StageId};
use protocol::live::{ClientMsg, LiveItem};
use protocol::states::QaStatus;
use protocol::Channel;
use redis::aio::ConnectionManager;
use sqlx::PgPool;

use super::log::{self, Audience};
use super::participants::Actor;
use super::{captions, chat, dm, moderation, polls, qa, sessions, stages};
use crate::accounts::Organiser;
use crate::{ratelimit, Result};

/// What live actions need: the database, Redis, and the deployment's Redis
/// namespace (rate-limit counters).
#[derive(Clone)]
pub struct LiveDeps {
    /// PostgreSQL.
    pub pool: PgPool,
    /// Redis (auto-reconnecting).
    pub redis: ConnectionManager,
    /// Prefix of this deployment's rate-limit keys.
    pub namespace: String,
}

/// Runs one request of `by` from the live socket. `Enter` changes presence
/// only, `Seen` needs the connection's clock, and media signalling goes to a
/// media node: the socket handles these itself.
pub async fn act(deps: &LiveDeps, by: &Actor, msg: ClientMsg) -> Result<()> {
    let pool = &deps.pool;
    let ns = deps.namespace.as_str();
    let mut redis = deps.redis.clone();
    // Chat and DMs are limited inside their services (with mutes); asking,
    // voting and upvoting here, per person.
    let who = by.id.to_string();
    let (audience, item) = match msg {
        ClientMsg::Enter { .. }
        | ClientMsg::Seen { .. }
        | ClientMsg::MediaJoin { .. }
        | ClientMsg::MediaAnswer { .. }
        | ClientMsg::MediaCandidate { .. }
        | ClientMsg::MediaLeave { .. }
        | ClientMsg::MediaScreen { .. }
        | ClientMsg::MediaView { .. } => return Ok(()),
        ClientMsg::RequestScreen { session } => {
            ratelimit::hit(
                &mut redis,
                ns,
                &ratelimit::SCREEN_REQUESTS_PER_ATTENDEE,
                &who,
            )
            .await?;
            sessions::request_screen(pool, by, session).await?
        }
        ClientMsg::AnswerScreen {
            session,
            attendee,
            approve,
        } => sessions::answer_screen(pool, &mut redis, ns, by, session, attendee, approve).await?,
        ClientMsg::ControlSession {
            session,
            attendee,
            action,
        } => sessions::control(pool, &mut redis, ns, by, session, attendee, action).await?,
        ClientMsg::EndSession { session } => sessions::end(pool, by, session).await?,
        ClientMsg::RecordSession { session, on } => sessions::record(pool, by, session, on).await?,
        ClientMsg::Chat { channel, body } => {
            let m = chat::post(pool, &mut redis, ns, by, channel, &body).await?;
            (Audience::All, LiveItem::Chat { msg: m.view() })
        }
        ClientMsg::DeleteChat { id } => {
            let id = chat::delete(pool, by, id).await?;
            (Audience::All, LiveItem::ChatDeleted { id })
        }
        ClientMsg::Sanction {
            attendee,
            sanction,
            minutes,
        } => {
            let until = moderation::sanction(pool, by, attendee, sanction, minutes).await?;
            (
                Audience::Only {
                    ids: vec![attendee],
                },
                LiveItem::Sanction {
                    sanction,
                    until: until.map(|t| t.to_rfc3339()),
                },
            )
        }
        ClientMsg::Dm { to, body } => {
            let m = dm::send(pool, &mut redis, ns, by, to, &body).await?;
            (
                Audience::Only {
                    ids: vec![by.id, to],
                },
                LiveItem::Dm { msg: m.view() },
            )
        }
        ClientMsg::CreatePoll {
            channel,
            question,
            options,
            multi,
        } => {
            let p = polls::create(pool, by, channel, &question, &options, multi).await?;
            (Audience::All, LiveItem::Poll { poll: p.view() })
        }
        ClientMsg::Vote { poll, choices } => {
            ratelimit::hit(&mut redis, ns, &ratelimit::VOTES_PER_SENDER, &who).await?;
            let p = polls::vote(pool, by, poll, &choices).await?;
            (Audience::All, LiveItem::Poll { poll: p.view() })
        }
        ClientMsg::ClosePoll { poll } => {
            let p = polls::close(pool, by, poll).await?;
            (Audience::All, LiveItem::Poll { poll: p.view() })
        }
        ClientMsg::Ask { channel, body } => {
            ratelimit::hit(&mut redis, ns, &ratelimit::QUESTIONS_PER_SENDER, &who).await?;
            let q = qa::ask(pool, by, channel, &body).await?;
            (q.audience(), LiveItem::Question { question: q.view() })
        }
        ClientMsg::Upvote { question } => {
            ratelimit::hit(&mut redis, ns, &ratelimit::UPVOTES_PER_SENDER, &who).await?;
            let q = qa::upvote(pool, by, question).await?;
            (q.audience(), LiveItem::Question { question: q.view() })
        }
        ClientMsg::ModerateQuestion { question, status } => {
            let q = qa::moderate(pool, by, question, status).await?;
            let mut view = q.view();
            // A hidden question disappears for everyone who saw it; its text goes nowhere.
            let audience = if q.status == QaStatus::Hidden {
                view.body.clear();
                view.author.clear();
                Audience::All
            } else {
                q.audience()
            };
            (audience, LiveItem::Question { question: view })
        }
    };
    log::publish(&mut redis, by.event_id, audience, item).await?;
    Ok(())
}

/// An organiser changes what stage `stage` of event `slug` plays: a stream
/// URL (`kind` hls, embed or none), or one of the event's videos as
/// simulive from `starts_local` (see [`super::stages::set_simulive`]).
/// Every page showing the stage loads it again.
pub async fn change_stage_source(
    deps: &LiveDeps,
    by: &Organiser,
    slug: &str,
    stage: StageId,
    source: StageSource<'_>,
) -> Result<()> {
    let event = crate::events::get_for_org(&deps.pool, by, slug).await?;
    match source {
        StageSource::Url { kind, url } => {
            stages::set_source(&deps.pool, by, slug, stage, kind, url).await?;
        }
        StageSource::Simulive {
            asset,
            starts_local,
        } => {
            stages::set_simulive(&deps.pool, by, slug, stage, asset, starts_local).await?;
        }
    }
    let mut redis = deps.redis.clone();
    log::publish(
        &mut redis,
        event.id,
        Audience::All,
        LiveItem::StageChanged { stage },
    )
    .await?;
    Ok(())
}

/// A backstage host changes the stage's broadcast (see
/// [`stages::broadcast`]); pages showing the stage load it again. The host's
/// page then tells the media node who is on air.
pub async fn broadcast(
    deps: &LiveDeps,
    by: &Actor,
    stage: StageId,
    what: stages::Broadcast,
) -> Result<stages::Stage> {
    let updated = stages::broadcast(&deps.pool, by, stage, what).await?;
    let mut redis = deps.redis.clone();
    log::publish(
        &mut redis,
        by.event_id,
        Audience::All,
        LiveItem::StageChanged { stage },
    )
    .await?;
    Ok(updated)
}

/// What a stage is to play, as the organiser's form says it.
#[derive(Debug, Clone, Copy)]
pub enum StageSource<'a> {
    /// A stream or player URL (`kind` hls, embed or none).
    Url {
        /// `hls`, `embed` or `none`.
        kind: &'a str,
        /// The URL (ignored for none).
        url: &'a str,
    },
    /// One of the event's videos, from a local time in the event's zone
    /// (empty: now).
    Simulive {
        /// The video.
        asset: AssetId,
        /// `datetime-local` start, or empty.
        starts_local: &'a str,
    },
}

/// An organiser posts a caption line (Translations app) to a channel; every
/// attendee watching it sees the line.
pub async fn post_caption(
    deps: &LiveDeps,
    by: &Organiser,
    slug: &str,
    channel: Channel,
    language: &str,
    body: &str,
) -> Result<()> {
    let caption = captions::add(&deps.pool, by, slug, channel, language, body).await?;
    let item = LiveItem::Caption {
        channel,
        language: caption.language,
        body: caption.body,
    };
    let mut redis = deps.redis.clone();
    log::publish(&mut redis, caption.event, Audience::All, item).await?;
    Ok(())
}
