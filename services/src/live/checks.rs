//! Pre-event checks (owner of `av_checks`): an attendee about to go on
//! screen (a speaker, say) checks their camera and microphone and makes a
//! call through the SFU, publishing into a room of their own; their browser
//! measures round trip, jitter and loss (from the node's receiver reports)
//! and outgoing bitrate. The numbers are judged here, on the server, with
//! advice for each; organisers see each speaker's latest check on the agenda.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use protocol::ids::{AttendeeId, EventId, SpeakerId, VideoSessionId};
use protocol::media::check_room;
use protocol::states::CheckVerdict;
use sqlx::PgPool;
use uuid::Uuid;

use super::participants::Actor;
use super::sessions::Grant;
use crate::{Error, Result};

/// What the browser measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    /// The camera gave a picture.
    pub camera: bool,
    /// The microphone gave sound.
    pub microphone: bool,
    /// Round-trip time to the media node, milliseconds.
    pub rtt_ms: f32,
    /// Jitter the node saw, milliseconds.
    pub jitter_ms: f32,
    /// Packets lost on the way, percent.
    pub loss_pct: f32,
    /// Outgoing video bitrate, kbit/s.
    pub bitrate_kbps: f32,
}

/// One measure with its verdict and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    /// `camera`, `microphone`, `rtt`, `jitter`, `loss` or `bitrate`.
    pub measure: &'static str,
    /// Its verdict.
    pub verdict: CheckVerdict,
    /// Advice (empty when good).
    pub advice: &'static str,
}

fn grade(value: f32, good: f32, fair: f32, lower_is_better: bool) -> CheckVerdict {
    let (g, f) = if lower_is_better {
        (value <= good, value <= fair)
    } else {
        (value >= good, value >= fair)
    };
    match (g, f) {
        (true, _) => CheckVerdict::Good,
        (false, true) => CheckVerdict::Fair,
        _ => CheckVerdict::Poor,
    }
}

/// Each measure's verdict and advice (thresholds of common video-call guidance).
pub fn judge(m: &Measured) -> Vec<Judged> {
    let on_off = |ok: bool| {
        if ok {
            CheckVerdict::Good
        } else {
            CheckVerdict::Poor
        }
    };
    let entry = |measure, verdict: CheckVerdict, advice| Judged {
        measure,
        verdict,
        advice: if verdict == CheckVerdict::Good {
            ""
        } else {
            advice
        },
    };
    vec![
        entry("camera", on_off(m.camera), "No picture from your camera: allow it in the browser, close other apps using it, or pick another camera."),
        entry("microphone", on_off(m.microphone), "No sound from your microphone: allow it in the browser, unmute it, or pick another microphone."),
        entry("rtt", grade(m.rtt_ms, 150.0, 300.0, true), "The round trip is long: use a wired connection or move closer to your Wi-Fi router; a VPN adds delay."),
        entry("jitter", grade(m.jitter_ms, 30.0, 60.0, true), "Your connection is uneven: stop downloads and other video on your network."),
        entry("loss", grade(m.loss_pct, 2.0, 5.0, true), "Packets are being lost: use a wired connection, or stop other traffic on your network."),
        entry("bitrate", grade(m.bitrate_kbps, 500.0, 150.0, false), "Little video gets out: close other uploads, or your picture will be blurry."),
    ]
}

/// The whole check's verdict: its worst measure.
pub fn overall(judged: &[Judged]) -> CheckVerdict {
    judged
        .iter()
        .map(|j| j.verdict)
        .max_by_key(|v| match v {
            CheckVerdict::Good => 0,
            CheckVerdict::Fair => 1,
            CheckVerdict::Poor => 2,
        })
        .unwrap_or(CheckVerdict::Good)
}

fn check_range(what: &str, v: f32, max: f32) -> Result<()> {
    if v.is_finite() && (0.0..=max).contains(&v) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{what} must be a number from 0 to {max}"
        )))
    }
}

/// A join token for `by`'s own check room (they publish; nobody else joins).
pub async fn grant(pool: &PgPool, by: &Actor) -> Result<Grant> {
    Grant::speaker(pool, by, check_room(by.id), None).await
}

/// How long a pre-event check counts for going on screen in a backstage.
pub const CHECK_COUNTS_FOR_HOURS: i32 = 24;

/// Whether `by` checked, in this event within [`CHECK_COUNTS_FOR_HOURS`],
/// with a camera and a microphone that worked.
pub async fn passed(pool: &PgPool, by: &Actor) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM av_checks
                        WHERE event_id = $1 AND attendee_id = $2 AND camera AND microphone
                          AND created_at > now() - make_interval(hours => $3))",
    )
    .bind(by.event_id)
    .bind(by.id)
    .bind(CHECK_COUNTS_FOR_HOURS)
    .fetch_one(pool)
    .await?)
}

/// Refuses `by` going on screen in session `id` when it is a stage's
/// backstage they host and they have not [`passed`] the check: what the
/// audience sees from a backstage has had its camera, microphone and
/// connection tested. Anyone else is left to the session's own rules.
pub async fn before_screen(pool: &PgPool, by: &Actor, id: VideoSessionId) -> Result<()> {
    let s = super::sessions::get(pool, by.event_id, id).await?;
    if !s.backstage || !super::sessions::is_host(pool, by, id).await? || passed(pool, by).await? {
        return Ok(());
    }
    Err(Error::Conflict(
        "take the pre-event check (camera, microphone and connection) before going on screen backstage"
            .into(),
    ))
}

/// Stores a check of `by` (as `speaker`, one of the event's, if given) and
/// returns the judged measures.
pub async fn save(
    pool: &PgPool,
    by: &Actor,
    speaker: Option<SpeakerId>,
    m: &Measured,
) -> Result<Vec<Judged>> {
    check_range("round trip (ms)", m.rtt_ms, 60_000.0)?;
    check_range("jitter (ms)", m.jitter_ms, 60_000.0)?;
    check_range("loss (%)", m.loss_pct, 100.0)?;
    check_range("bitrate (kbit/s)", m.bitrate_kbps, 1_000_000.0)?;
    if let Some(s) = speaker {
        let ours: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM speakers WHERE id = $1 AND event_id = $2)",
        )
        .bind(s)
        .bind(by.event_id)
        .fetch_one(pool)
        .await?;
        if !ours {
            return Err(Error::invalid("no such speaker in this event"));
        }
    }
    let judged = judge(m);
    sqlx::query(
        "INSERT INTO av_checks (id, event_id, attendee_id, speaker_id, camera, microphone, rtt_ms, jitter_ms, loss_pct, bitrate_kbps, verdict)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(Uuid::new_v4())
    .bind(by.event_id)
    .bind(by.id)
    .bind(speaker)
    .bind(m.camera)
    .bind(m.microphone)
    .bind(m.rtt_ms)
    .bind(m.jitter_ms)
    .bind(m.loss_pct)
    .bind(m.bitrate_kbps)
    .bind(overall(&judged))
    .execute(pool)
    .await?;
    Ok(judged)
}

/// A stored check as organisers see it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Latest {
    /// The speaker.
    pub speaker_id: SpeakerId,
    /// Who ran it.
    pub attendee_id: AttendeeId,
    /// Their name.
    #[sqlx(skip)]
    pub attendee_name: String,
    /// Its verdict.
    pub verdict: CheckVerdict,
    /// Round trip, ms.
    pub rtt_ms: f32,
    /// Outgoing bitrate, kbit/s.
    pub bitrate_kbps: f32,
    /// Loss, percent.
    pub loss_pct: f32,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Each speaker's latest check in the event.
pub async fn latest_by_speaker(
    pool: &PgPool,
    event: EventId,
) -> Result<HashMap<SpeakerId, Latest>> {
    let mut rows: Vec<Latest> = sqlx::query_as(
        "SELECT DISTINCT ON (speaker_id) speaker_id, attendee_id, verdict,
                rtt_ms, bitrate_kbps, loss_pct, created_at
         FROM av_checks
         WHERE event_id = $1 AND speaker_id IS NOT NULL
         ORDER BY speaker_id, created_at DESC",
    )
    .bind(event)
    .fetch_all(pool)
    .await?;
    let ids: Vec<AttendeeId> = rows.iter().map(|r| r.attendee_id).collect();
    let names = crate::registrations::attendees::names(pool, &ids).await?;
    for r in &mut rows {
        r.attendee_name = names.get(&r.attendee_id).cloned().unwrap_or_default();
    }
    Ok(rows.into_iter().map(|r| (r.speaker_id, r)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Measured {
        Measured {
            camera: true,
            microphone: true,
            rtt_ms: 20.0,
            jitter_ms: 3.0,
            loss_pct: 0.0,
            bitrate_kbps: 900.0,
        }
    }

    #[test]
    fn each_measure_is_judged_and_the_worst_decides() {
        let j = judge(&good());
        assert!(j
            .iter()
            .all(|j| j.verdict == CheckVerdict::Good && j.advice.is_empty()));
        assert_eq!(overall(&j), CheckVerdict::Good);
        let fair = judge(&Measured {
            rtt_ms: 200.0,
            ..good()
        });
        assert_eq!(overall(&fair), CheckVerdict::Fair);
        assert!(!fair
            .iter()
            .find(|j| j.measure == "rtt")
            .unwrap()
            .advice
            .is_empty());
        let poor = judge(&Measured {
            bitrate_kbps: 100.0,
            loss_pct: 3.0,
            ..good()
        });
        assert_eq!(overall(&poor), CheckVerdict::Poor);
        let no_camera = judge(&Measured {
            camera: false,
            ..good()
        });
        assert_eq!(overall(&no_camera), CheckVerdict::Poor);
    }

    #[test]
    fn numbers_out_of_range_are_refused() {
        assert!(check_range("x", f32::NAN, 10.0).is_err());
        assert!(check_range("x", -1.0, 10.0).is_err());
        assert!(check_range("x", 11.0, 10.0).is_err());
        assert!(check_range("x", 10.0, 10.0).is_ok());
    }
}
