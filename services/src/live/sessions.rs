//! Video sessions (owner of `video_sessions`, `video_session_hosts`,
//! `video_session_removals` and `session_recordings`): rooms of the SFU
//! where attendees watch and choose to go on screen. Organisers create them;
//! the event's moderators and each session's assigned hosts run them, and
//! record them ([`record`]): everyone in the session is told, and the media
//! node records everyone on screen.
//!
//! Who may publish is decided here, when a join token is granted: viewers get
//! a receive-only token; going on screen needs the session's policy (anyone,
//! approved by a host, hosts only) and a free place under its on-screen
//! limit. Places are a Redis sorted set of attendees scored by when their
//! place lapses: the page renews it while on screen ([`keep_on_screen`]), so
//! a browser that dies frees its place within [`SCREEN_LEASE_SECS`]. Two
//! people taking the last place at once is the race the [`TAKE_PLACE`]
//! script prevents (count and add in one step).

use protocol::ids::{AgendaSessionId, AttendeeId, EventId, VideoSessionId};
use protocol::live::{LiveItem, Person};
use protocol::media::{session_room, MediaRole};
use protocol::states::{OnScreenPolicy, ScreenPlace, SessionAction};
use protocol::Area;
use redis::aio::ConnectionManager;
use sqlx::PgPool;
use tracing::instrument;

use super::log::Audience;
use super::participants::Actor;
use super::presence;
use crate::accounts::Organiser;
use crate::error::parse_state;
use crate::{events, signing, Error, Result};

/// How long a place on screen lasts unless renewed (the page renews it every
/// third of this).
pub const SCREEN_LEASE_SECS: i64 = 45;

/// A video session.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct VideoSession {
    /// Its id.
    pub id: VideoSessionId,
    /// Title.
    pub title: String,
    /// Plain-text description.
    pub description: String,
    /// People in it at once, watching or on screen.
    pub capacity: i32,
    /// People on screen at once.
    pub max_on_screen: i32,
    /// Who may go on screen.
    pub on_screen: OnScreenPolicy,
    /// The agenda entry it belongs to, if any.
    pub agenda_session_id: Option<AgendaSessionId>,
    /// A host ended it.
    pub ended: bool,
    /// A stage's backstage: only its hosts (the speakers) enter, Reception
    /// does not list it, and it never ends (the stage does).
    pub backstage: bool,
    /// A host is recording it.
    pub recording: bool,
}

/// What an organiser fills in for a session (form strings, parsed here).
#[derive(Debug, Clone, Default)]
pub struct SessionForm {
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Capacity (a number).
    pub capacity: String,
    /// On-screen limit (a number).
    pub max_on_screen: String,
    /// `anyone`, `request` or `hosts`.
    pub on_screen: String,
    /// An agenda entry's id, or empty.
    pub agenda_session: String,
}

struct Parsed {
    title: String,
    description: String,
    capacity: i32,
    max_on_screen: i32,
    on_screen: OnScreenPolicy,
    agenda: Option<AgendaSessionId>,
}

fn number(field: &str, raw: &str, min: i32, max: i32) -> Result<i32> {
    raw.trim()
        .parse::<i32>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| Error::invalid(format!("{field} must be a number from {min} to {max}")))
}

fn parse(form: &SessionForm) -> Result<Parsed> {
    let title = crate::domain::parse_name("title", &form.title, 200)?;
    let description = form.description.trim().to_owned();
    if description.chars().count() > 4000 {
        return Err(Error::invalid(
            "the description must be at most 4000 characters",
        ));
    }
    let capacity = number("capacity", &form.capacity, 2, 10_000)?;
    let max_on_screen = number("people on screen", &form.max_on_screen, 1, 49)?;
    if max_on_screen > capacity {
        return Err(Error::invalid(
            "people on screen cannot be more than the capacity",
        ));
    }
    let on_screen = parse_state(
        &form.on_screen,
        "who may go on screen must be anyone, request or hosts",
    )?;
    let agenda = match form.agenda_session.trim() {
        "" => None,
        raw => Some(
            raw.parse()
                .map_err(|_| Error::invalid("no such agenda entry"))?,
        ),
    };
    Ok(Parsed {
        title,
        description,
        capacity,
        max_on_screen,
        on_screen,
        agenda,
    })
}

const COLUMNS: &str = "id, title, description, capacity, max_on_screen, on_screen, agenda_session_id, ended_at IS NOT NULL AS ended, backstage, recording IS NOT NULL AS recording";

/// Adds a session to one of the organiser's events.
#[instrument(skip(pool, by, form), fields(org = %by.org_id))]
pub async fn create(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    form: &SessionForm,
) -> Result<VideoSession> {
    let event = events::get_for_org(pool, by, slug).await?;
    let p = parse(form)?;
    if let Some(agenda) = p.agenda {
        let ours: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM agenda_sessions WHERE id = $1 AND event_id = $2)",
        )
        .bind(agenda)
        .bind(event.id)
        .fetch_one(pool)
        .await?;
        if !ours {
            return Err(Error::invalid("no such agenda entry"));
        }
    }
    Ok(sqlx::query_as(&format!(
        "INSERT INTO video_sessions (id, event_id, title, description, capacity, max_on_screen, on_screen, agenda_session_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
    ))
    .bind(VideoSessionId::new())
    .bind(event.id)
    .bind(&p.title)
    .bind(&p.description)
    .bind(p.capacity)
    .bind(p.max_on_screen)
    .bind(p.on_screen)
    .bind(p.agenda)
    .fetch_one(pool)
    .await?)
}

/// Makes the backstage of a stage called `stage`: a session its hosts go on
/// screen in (up to nine at once), nobody else enters.
pub async fn create_backstage(
    conn: &mut sqlx::PgConnection,
    event: EventId,
    stage: &str,
) -> Result<VideoSessionId> {
    let id = VideoSessionId::new();
    sqlx::query(
        "INSERT INTO video_sessions (id, event_id, title, capacity, max_on_screen, on_screen, backstage)
         VALUES ($1, $2, $3, 50, 9, 'hosts', true)",
    )
    .bind(id)
    .bind(event)
    .bind(format!("Backstage: {stage}").chars().take(200).collect::<String>())
    .execute(conn)
    .await?;
    Ok(id)
}

/// Removes the backstage of a stage that is gone.
pub async fn drop_backstage(conn: &mut sqlx::PgConnection, id: VideoSessionId) -> Result<()> {
    sqlx::query("DELETE FROM video_sessions WHERE id = $1 AND backstage")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes a session of one of the organiser's events (not a backstage:
/// its stage keeps it).
#[instrument(skip(pool, by), fields(org = %by.org_id))]
pub async fn delete(pool: &PgPool, by: &Organiser, slug: &str, id: VideoSessionId) -> Result<()> {
    let event = events::get_for_org(pool, by, slug).await?;
    if get(pool, event.id, id).await?.backstage {
        return Err(Error::Conflict(
            "this is a stage's backstage; it stays with its stage".into(),
        ));
    }
    let gone = sqlx::query("DELETE FROM video_sessions WHERE id = $1 AND event_id = $2")
        .bind(id)
        .bind(event.id)
        .execute(pool)
        .await?
        .rows_affected();
    if gone == 0 {
        return Err(Error::not_found("no such session"));
    }
    Ok(())
}

/// The event's sessions, oldest first.
pub async fn list(pool: &PgPool, event: EventId) -> Result<Vec<VideoSession>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM video_sessions WHERE event_id = $1 ORDER BY created_at, id"
    ))
    .bind(event)
    .fetch_all(pool)
    .await?)
}

/// One session of the event.
pub async fn get(pool: &PgPool, event: EventId, id: VideoSessionId) -> Result<VideoSession> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM video_sessions WHERE id = $1 AND event_id = $2"
    ))
    .bind(id)
    .bind(event)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found("no such session"))
}

/// Whether the event has this session (its chat channel exists).
pub async fn exists(pool: &PgPool, event: EventId, id: VideoSessionId) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM video_sessions WHERE id = $1 AND event_id = $2)",
    )
    .bind(id)
    .bind(event)
    .fetch_one(pool)
    .await?)
}

/// Makes attendee `attendee` a host of session `id` (or no longer one).
#[instrument(skip(pool, by), fields(org = %by.org_id))]
pub async fn set_host(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    id: VideoSessionId,
    attendee: AttendeeId,
    host: bool,
) -> Result<()> {
    let event = events::get_for_org(pool, by, slug).await?;
    get(pool, event.id, id).await?;
    if host {
        crate::registrations::attendees::in_event(pool, event.id, attendee)
            .await?
            .ok_or_else(|| Error::not_found("no such attendee"))?;
        sqlx::query(
            "INSERT INTO video_session_hosts (session_id, attendee_id) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(attendee)
        .execute(pool)
        .await?;
    } else {
        sqlx::query("DELETE FROM video_session_hosts WHERE session_id = $1 AND attendee_id = $2")
            .bind(id)
            .bind(attendee)
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// The assigned hosts of a session (the event's moderators host every session too).
pub async fn hosts(pool: &PgPool, id: VideoSessionId) -> Result<Vec<AttendeeId>> {
    Ok(sqlx::query_scalar(
        "SELECT attendee_id FROM video_session_hosts WHERE session_id = $1 ORDER BY attendee_id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?)
}

/// Whether `by` hosts session `id`.
pub async fn is_host(pool: &PgPool, by: &Actor, id: VideoSessionId) -> Result<bool> {
    Ok(by.moderator() || hosts(pool, id).await?.contains(&by.id))
}

async fn require_host(pool: &PgPool, by: &Actor, id: VideoSessionId) -> Result<VideoSession> {
    let s = get(pool, by.event_id, id).await?;
    if !is_host(pool, by, id).await? {
        return Err(Error::Forbidden(
            "only the session's hosts can do this".into(),
        ));
    }
    Ok(s)
}

/// Checks that `by` hosts session `id` and `attendee` is in its event; the attendee.
async fn host_acting_on(
    pool: &PgPool,
    by: &Actor,
    id: VideoSessionId,
    attendee: AttendeeId,
) -> Result<crate::registrations::attendees::Attendee> {
    require_host(pool, by, id).await?;
    crate::registrations::attendees::in_event(pool, by.event_id, attendee)
        .await?
        .ok_or_else(|| Error::not_found("no such attendee"))
}

/// A join token and what it allows.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The media room.
    pub room: String,
    /// Viewer, speaker or host.
    pub role: MediaRole,
    /// The signed join token (good for a minute).
    pub token: String,
}

impl Grant {
    /// A token for `by` to publish in `room` (their own check room, a
    /// meeting) until `until`, when the media node ends their connection.
    pub async fn speaker(
        pool: &PgPool,
        by: &Actor,
        room: String,
        until: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Grant> {
        let role = MediaRole::Speaker;
        // Whole seconds, rounded up: the node never ends the call before its end.
        let until = until.map(|t| t.timestamp() + i64::from(t.timestamp_subsec_nanos() > 0));
        let token = signing::media_join_token(pool, by.event_id, &room, by.id, role, until).await?;
        Ok(Grant { room, role, token })
    }
}

fn screen_key(ns: &str, id: VideoSessionId) -> String {
    format!("{ns}vs:{id}:screen")
}

fn approved_key(ns: &str, id: VideoSessionId) -> String {
    format!("{ns}vs:{id}:approved")
}

/// Takes (or renews) a place on screen: drops lapsed places, then adds the
/// attendee if they hold one already or fewer than the limit are taken.
/// KEYS[1] the places; ARGV: now, lapses at, limit, attendee. Returns 1 if
/// the attendee has a place.
const TAKE_PLACE: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[4]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
  redis.call('EXPIRE', KEYS[1], 86400)
  return 1
end
return 0
";

/// A token for `by` to watch the speakers on air in backstage `id` (the
/// caller checked that its stage is live).
pub async fn audience_grant(pool: &PgPool, by: &Actor, id: VideoSessionId) -> Result<Grant> {
    let role = MediaRole::Audience;
    let room = session_room(id);
    let token = signing::media_join_token(pool, by.event_id, &room, by.id, role, None).await?;
    Ok(Grant { room, role, token })
}

/// A join token for `by` in session `id`: to watch, or (`on_screen`) to
/// appear on screen as the session allows.
#[instrument(skip(pool, redis, ns, by), fields(attendee = %by.id))]
pub async fn grant(
    pool: &PgPool,
    redis: &mut ConnectionManager,
    ns: &str,
    by: &Actor,
    id: VideoSessionId,
    on_screen: bool,
) -> Result<Grant> {
    let s = get(pool, by.event_id, id).await?;
    if s.ended {
        return Err(Error::Conflict("this session has ended".into()));
    }
    if removed(pool, id, by.id).await? {
        return Err(Error::Forbidden(
            "a host removed you from this session".into(),
        ));
    }
    let host = is_host(pool, by, id).await?;
    if s.backstage && !host {
        return Err(Error::Forbidden(
            "only the stage's speakers enter its backstage".into(),
        ));
    }
    let here = presence::snapshot(redis, by.event_id)
        .await?
        .areas
        .iter()
        .find(|a| a.area == Area::Session(id))
        .map(|a| a.people)
        .unwrap_or(0);
    // The asker's own socket is in the area already, so more than capacity means full.
    if !host && here > s.capacity as u64 {
        return Err(Error::Conflict(format!(
            "this session is full ({} people)",
            s.capacity
        )));
    }
    let role = match (on_screen, host) {
        (false, true) => MediaRole::WatchingHost,
        (false, false) => MediaRole::Viewer,
        (true, true) => MediaRole::Host,
        (true, false) => {
            match s.on_screen {
                OnScreenPolicy::Anyone => {}
                OnScreenPolicy::Hosts => {
                    return Err(Error::Forbidden(
                        "only the hosts go on screen in this session".into(),
                    ))
                }
                OnScreenPolicy::Request => {
                    let ok: bool = redis::cmd("SISMEMBER")
                        .arg(approved_key(ns, id))
                        .arg(by.id.to_string())
                        .query_async(redis)
                        .await?;
                    if !ok {
                        return Err(Error::Forbidden(
                            "ask to go on screen first; a host approves".into(),
                        ));
                    }
                }
            }
            MediaRole::Speaker
        }
    };
    if on_screen && !take_place(redis, ns, &s, by.id).await? {
        return Err(Error::Conflict(format!(
            "{} people are on screen, the most this session allows; try again when someone leaves the screen",
            s.max_on_screen
        )));
    }
    let room = session_room(id);
    let token = signing::media_join_token(pool, by.event_id, &room, by.id, role, None).await?;
    Ok(Grant { room, role, token })
}

async fn take_place(
    redis: &mut ConnectionManager,
    ns: &str,
    s: &VideoSession,
    who: AttendeeId,
) -> Result<bool> {
    let now = chrono::Utc::now().timestamp();
    let took: i64 = redis::Script::new(TAKE_PLACE)
        .key(screen_key(ns, s.id))
        .arg(now)
        .arg(now + SCREEN_LEASE_SECS)
        .arg(s.max_on_screen)
        .arg(who.to_string())
        .invoke_async(redis)
        .await?;
    Ok(took == 1)
}

/// Renews `by`'s place on screen, or says why they no longer hold one.
/// Removal is told apart so that the page stops there rather than asking
/// to watch (which a removed attendee may not).
pub async fn keep_on_screen(
    pool: &PgPool,
    redis: &mut ConnectionManager,
    ns: &str,
    by: &Actor,
    id: VideoSessionId,
) -> Result<ScreenPlace> {
    let s = get(pool, by.event_id, id).await?;
    let held: Option<f64> = redis::cmd("ZSCORE")
        .arg(screen_key(ns, id))
        .arg(by.id.to_string())
        .query_async(redis)
        .await?;
    if held.is_none() || s.ended {
        // `control` stores a removal before it frees the place, so a place
        // lost to removal is always seen as one here.
        return Ok(if removed(pool, id, by.id).await? {
            ScreenPlace::Removed
        } else {
            ScreenPlace::Lost
        });
    }
    // Removed between the look above and now: `take_place` would give the
    // place back.
    if removed(pool, id, by.id).await? {
        return Ok(ScreenPlace::Removed);
    }
    Ok(if take_place(redis, ns, &s, by.id).await? {
        ScreenPlace::Held
    } else {
        ScreenPlace::Lost
    })
}

/// Gives up `by`'s place on screen.
pub async fn leave_screen(
    redis: &mut ConnectionManager,
    ns: &str,
    by: AttendeeId,
    id: VideoSessionId,
) -> Result<()> {
    let () = redis::cmd("ZREM")
        .arg(screen_key(ns, id))
        .arg(by.to_string())
        .query_async(redis)
        .await?;
    Ok(())
}

async fn removed(pool: &PgPool, id: VideoSessionId, who: AttendeeId) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM video_session_removals WHERE session_id = $1 AND attendee_id = $2)",
    )
    .bind(id)
    .bind(who)
    .fetch_one(pool)
    .await?)
}

/// What a session request changed, and who hears of it.
pub type Outcome = (Audience, LiveItem);

/// `by` asks the hosts to let them on screen.
pub async fn request_screen(pool: &PgPool, by: &Actor, id: VideoSessionId) -> Result<Outcome> {
    let s = get(pool, by.event_id, id).await?;
    if s.on_screen != OnScreenPolicy::Request {
        return Err(Error::invalid("this session does not take requests"));
    }
    let mut ids = hosts(pool, id).await?;
    ids.push(by.id);
    Ok((
        Audience::Moderators { ids },
        LiveItem::ScreenRequest {
            session: id,
            attendee: by.person(),
            approved: None,
        },
    ))
}

/// A host approves or refuses `attendee`'s request to go on screen.
pub async fn answer_screen(
    pool: &PgPool,
    redis: &mut ConnectionManager,
    ns: &str,
    by: &Actor,
    id: VideoSessionId,
    attendee: AttendeeId,
    approve: bool,
) -> Result<Outcome> {
    let asker = host_acting_on(pool, by, id, attendee).await?;
    let key = approved_key(ns, id);
    let op = if approve { "SADD" } else { "SREM" };
    let () = redis::cmd(op)
        .arg(&key)
        .arg(attendee.to_string())
        .query_async(redis)
        .await?;
    let () = redis::cmd("EXPIRE")
        .arg(&key)
        .arg(86_400)
        .query_async(redis)
        .await?;
    let mut ids = hosts(pool, id).await?;
    ids.push(attendee);
    Ok((
        Audience::Moderators { ids },
        LiveItem::ScreenRequest {
            session: id,
            attendee: Person {
                id: asker.id,
                name: asker.name,
                avatar: asker.avatar,
            },
            approved: Some(approve),
        },
    ))
}

/// A host mutes `attendee`, takes them off screen or removes them. Taking
/// off screen frees their place and withdraws an approval; removal also
/// keeps them out of the session. The web node that relays their media
/// closes it on seeing the item.
#[allow(clippy::too_many_arguments)]
pub async fn control(
    pool: &PgPool,
    redis: &mut ConnectionManager,
    ns: &str,
    by: &Actor,
    id: VideoSessionId,
    attendee: AttendeeId,
    action: SessionAction,
) -> Result<Outcome> {
    if attendee == by.id {
        return Err(Error::invalid("hosts cannot do this to themselves"));
    }
    host_acting_on(pool, by, id, attendee).await?;
    // The removal is stored before the place is freed: their page, renewing
    // the place in between, learns it was removed rather than asking to
    // watch (see `keep_on_screen`).
    if action == SessionAction::Remove {
        sqlx::query(
            "INSERT INTO video_session_removals (session_id, attendee_id, removed_by)
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(attendee)
        .bind(by.id)
        .execute(pool)
        .await?;
    }
    if matches!(action, SessionAction::OffScreen | SessionAction::Remove) {
        leave_screen(redis, ns, attendee, id).await?;
        let () = redis::cmd("SREM")
            .arg(approved_key(ns, id))
            .arg(attendee.to_string())
            .query_async(redis)
            .await?;
    }
    Ok((
        Audience::Only {
            ids: vec![attendee],
        },
        LiveItem::SessionControl {
            session: id,
            action,
        },
    ))
}

/// A host starts (`on`) or stops recording the session; everyone in it is
/// told (their pages say it records). Starting names the recording to come
/// (see [`recording`]); a session records once at a time, a backstage only
/// with its stage's broadcast, and an ended session not at all.
#[instrument(skip(pool, by), fields(attendee = %by.id))]
pub async fn record(pool: &PgPool, by: &Actor, id: VideoSessionId, on: bool) -> Result<Outcome> {
    let s = require_host(pool, by, id).await?;
    if s.backstage {
        return Err(Error::Conflict(
            "a backstage is recorded with its stage's broadcast".into(),
        ));
    }
    let changed = if on {
        sqlx::query_scalar::<_, uuid::Uuid>(
            "WITH s AS (
                UPDATE video_sessions SET recording = gen_random_uuid()
                WHERE id = $1 AND recording IS NULL AND ended_at IS NULL RETURNING *
             ), r AS (
                INSERT INTO session_recordings (id, session_id, session_title, event_id, started_at)
                SELECT recording, id, title, event_id, now() FROM s
             )
             SELECT recording FROM s",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
    } else {
        sqlx::query_scalar(
            "UPDATE video_sessions SET recording = NULL
             WHERE id = $1 AND recording IS NOT NULL RETURNING id",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
    };
    if changed.is_none() {
        return Err(Error::Conflict(match (on, s.ended) {
            (true, true) => "the session has ended".into(),
            (true, false) => "the session is being recorded already".into(),
            (false, _) => "the session is not being recorded".into(),
        }));
    }
    Ok((
        Audience::All,
        LiveItem::SessionRecording {
            session: id,
            recording: on,
        },
    ))
}

/// What the media node holding session `id`'s room should hear from a host
/// there: record, with the token to hand the recording over with, or stop.
/// None: `by` does not host it, or it is a backstage (whose recording
/// follows its stage, [`super::stages::air`]). The web node sends it when a
/// host joins the room and after the recording starts or stops, so the
/// browser never carries the token.
pub async fn record_signal(
    pool: &PgPool,
    by: &Actor,
    id: VideoSessionId,
) -> Result<Option<protocol::media::ToNode>> {
    let current: Option<(bool, Option<uuid::Uuid>)> = sqlx::query_as(
        "SELECT backstage, recording FROM video_sessions WHERE id = $1 AND event_id = $2",
    )
    .bind(id)
    .bind(by.event_id)
    .fetch_optional(pool)
    .await?;
    let Some((false, recording)) = current else {
        return Ok(None);
    };
    if !is_host(pool, by, id).await? {
        return Ok(None);
    }
    let token = match recording {
        Some(r) => Some(crate::assets::recording_token(pool, r.into()).await?),
        None => None,
    };
    Ok(Some(protocol::media::ToNode::Record {
        recording: recording.map(|r| r.to_string()),
        token,
    }))
}

/// A session's recording, as named when it started.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRecording {
    /// The recording (its first part's media asset's id to be).
    pub id: protocol::ids::AssetId,
    /// The event.
    pub event_id: EventId,
    /// The session (None: removed since).
    pub session_id: Option<VideoSessionId>,
    /// The session's title.
    pub session_title: String,
    /// When it started.
    pub started_at: chrono::DateTime<chrono::Utc>,
}

/// The session recording `id` (None: none was named so).
pub async fn recording(
    pool: &PgPool,
    id: protocol::ids::AssetId,
) -> Result<Option<SessionRecording>> {
    Ok(sqlx::query_as(
        "SELECT id, event_id, session_id, session_title, started_at FROM session_recordings WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// A host ends the session for everyone (a backstage does not end: its
/// stage's broadcast does).
pub async fn end(pool: &PgPool, by: &Actor, id: VideoSessionId) -> Result<Outcome> {
    if require_host(pool, by, id).await?.backstage {
        return Err(Error::Conflict(
            "a backstage does not end; end the stage's broadcast instead".into(),
        ));
    }
    // Its recording ends with it (the media node stops when the room empties).
    sqlx::query(
        "UPDATE video_sessions SET ended_at = now(), recording = NULL
         WHERE id = $1 AND ended_at IS NULL",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok((Audience::All, LiveItem::SessionEnded { session: id }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> SessionForm {
        SessionForm {
            title: "Roundtable".into(),
            capacity: "20".into(),
            max_on_screen: "6".into(),
            on_screen: "anyone".into(),
            ..Default::default()
        }
    }

    #[test]
    fn forms_are_parsed_with_messages() {
        let p = parse(&form()).unwrap();
        assert_eq!((p.capacity, p.max_on_screen), (20, 6));
        assert_eq!(p.on_screen, OnScreenPolicy::Anyone);
        let bad = |f: SessionForm| parse(&f).err().unwrap().to_string();
        assert!(bad(SessionForm {
            capacity: "lots".into(),
            ..form()
        })
        .contains("capacity must be a number"));
        assert!(bad(SessionForm {
            max_on_screen: "30".into(),
            ..form()
        })
        .contains("cannot be more than the capacity"));
        assert!(bad(SessionForm {
            on_screen: "everyone".into(),
            ..form()
        })
        .contains("anyone, request or hosts"));
        assert!(bad(SessionForm {
            title: " ".into(),
            ..form()
        })
        .contains("title is required"));
    }
}
