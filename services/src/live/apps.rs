//! The App store (owner of `app_installs`): a catalogue of apps with
//! manifests, installed and configured per event by its organisers. Built-in
//! apps (Polls, Q&A, Translations) run inside Convene; a third-party app is a
//! URL shown in a sandboxed iframe and handed a short-lived context token
//! (EdDSA-signed JWT, see `crate::signing`) that it verifies with the public
//! key at `/.well-known/jwks.json`.

use protocol::ids::{AttendeeId, EventId, InstallId};
use protocol::states::{AppKind, AttendeeRole, Placement, SettingKind};
use sqlx::PgPool;
use tracing::instrument;

use crate::accounts::Organiser;
use crate::error::parse_state;
use crate::{events, signing, Error, Result};

/// Seconds a context token stays valid.
pub const TOKEN_TTL_SECS: i64 = 300;

/// A setting an app takes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Setting {
    /// Key in the config.
    pub key: &'static str,
    /// Label.
    pub label: &'static str,
    /// Its kind.
    pub kind: SettingKind,
    /// Must be given.
    pub required: bool,
}

/// An app's manifest.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Manifest {
    /// Which app.
    pub id: AppKind,
    /// Name.
    pub name: &'static str,
    /// What it does.
    pub description: &'static str,
    /// Where it appears.
    pub placements: &'static [Placement],
    /// Settings schema.
    pub settings: &'static [Setting],
}

/// The catalogue.
pub const CATALOGUE: &[Manifest] = &[
    Manifest {
        id: AppKind::Polls,
        name: "Polls",
        description: "Single- or multiple-choice polls with live results.",
        placements: &[Placement::Stage, Placement::Session],
        settings: &[],
    },
    Manifest {
        id: AppKind::Qa,
        name: "Q&A",
        description: "Attendees ask and upvote questions; moderators approve, answer or hide them.",
        placements: &[Placement::Stage, Placement::Session],
        settings: &[Setting {
            key: "premoderate",
            label: "Questions wait for a moderator's approval",
            kind: SettingKind::Bool,
            required: false,
        }],
    },
    Manifest {
        id: AppKind::Translations,
        name: "Translations",
        description: "Caption and translation text channels attendees pick by language.",
        placements: &[Placement::Stage],
        settings: &[Setting {
            key: "languages",
            label: "Languages (codes, comma-separated, e.g. en,de,fr)",
            kind: SettingKind::Text,
            required: true,
        }],
    },
    Manifest {
        id: AppKind::Embed,
        name: "Third-party app",
        description: "Any web app in a sandboxed frame beside the stage, told who is watching by a signed token.",
        placements: &[Placement::Stage, Placement::Booth],
        settings: &[
            Setting {
                key: "name",
                label: "Name",
                kind: SettingKind::Text,
                required: true,
            },
            Setting {
                key: "url",
                label: "App URL (https)",
                kind: SettingKind::Url,
                required: true,
            },
        ],
    },
];

/// The manifest of an app.
pub fn manifest(id: AppKind) -> &'static Manifest {
    CATALOGUE
        .iter()
        .find(|m| m.id == id)
        .expect("every app kind has a manifest in the catalogue")
}

/// Parses an app id as typed; unknown ids are "not found" in the catalogue.
pub fn parse_app(raw: &str) -> Result<AppKind> {
    raw.trim()
        .parse()
        .map_err(|_| Error::not_found(format!("no app '{}' in the catalogue", raw.trim())))
}

/// An installed app.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Install {
    /// Installation id.
    pub id: InstallId,
    /// Which app.
    pub app_id: AppKind,
    /// Its settings.
    pub config: serde_json::Value,
}

/// Checks `config` against the manifest's settings schema; returns the clean config.
pub fn validate_config(m: &Manifest, config: &serde_json::Value) -> Result<serde_json::Value> {
    let given = config.as_object().cloned().unwrap_or_default();
    let mut clean = serde_json::Map::new();
    for s in m.settings {
        let v = given.get(s.key);
        match (s.kind, v) {
            (_, None) | (_, Some(serde_json::Value::Null)) if s.required => {
                return Err(Error::invalid(format!("{} is required", s.label)))
            }
            (_, None) | (_, Some(serde_json::Value::Null)) => {}
            (SettingKind::Bool, Some(v)) => {
                let b = match v {
                    serde_json::Value::Bool(b) => *b,
                    serde_json::Value::String(s) => matches!(s.as_str(), "true" | "on" | "1"),
                    _ => return Err(Error::invalid(format!("{} must be true or false", s.label))),
                };
                clean.insert(s.key.into(), b.into());
            }
            (kind, Some(v)) => {
                let text = v.as_str().map(str::trim).unwrap_or_default();
                if text.is_empty() && s.required {
                    return Err(Error::invalid(format!("{} is required", s.label)));
                }
                if kind == SettingKind::Url
                    && !(text.starts_with("https://")
                        || text.starts_with("http://localhost")
                        || text.starts_with("http://127.0.0.1"))
                {
                    return Err(Error::invalid(format!(
                        "{} must be an https:// URL",
                        s.label
                    )));
                }
                if text.chars().count() > 500 {
                    return Err(Error::invalid(format!("{} is too long", s.label)));
                }
                clean.insert(s.key.into(), text.into());
            }
        }
    }
    Ok(serde_json::Value::Object(clean))
}

/// Installs (or reconfigures) an app in one of the organiser's events.
#[instrument(skip(pool, by, config), fields(org = %by.org_id))]
pub async fn install(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    app_id: &str,
    config: &serde_json::Value,
) -> Result<Install> {
    let event = events::get_for_org(pool, by, slug).await?;
    let m = manifest(parse_app(app_id)?);
    let config = validate_config(m, config)?;
    Ok(sqlx::query_as(
        "INSERT INTO app_installs (id, event_id, app_id, config) VALUES ($1, $2, $3, $4)
         ON CONFLICT (event_id, app_id) DO UPDATE SET config = EXCLUDED.config
         RETURNING id, app_id, config",
    )
    .bind(InstallId::new())
    .bind(event.id)
    .bind(m.id)
    .bind(&config)
    .fetch_one(pool)
    .await?)
}

/// Uninstalls an app from one of the organiser's events.
#[instrument(skip(pool, by), fields(org = %by.org_id))]
pub async fn uninstall(pool: &PgPool, by: &Organiser, slug: &str, app_id: &str) -> Result<()> {
    let event = events::get_for_org(pool, by, slug).await?;
    let app: AppKind = parse_state(app_id, "this app is not installed")
        .map_err(|_| Error::not_found("this app is not installed"))?;
    let done = sqlx::query("DELETE FROM app_installs WHERE event_id = $1 AND app_id = $2")
        .bind(event.id)
        .bind(app)
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found("this app is not installed"));
    }
    Ok(())
}

/// The event's installed apps.
pub async fn installed(pool: &PgPool, event: EventId) -> Result<Vec<Install>> {
    Ok(sqlx::query_as(
        "SELECT id, app_id, config FROM app_installs WHERE event_id = $1 ORDER BY created_at",
    )
    .bind(event)
    .fetch_all(pool)
    .await?)
}

/// The installation of `app_id`, or `Conflict` when the event does not have it.
pub async fn require_installed(pool: &PgPool, event: EventId, app_id: AppKind) -> Result<Install> {
    sqlx::query_as(
        "SELECT id, app_id, config FROM app_installs WHERE event_id = $1 AND app_id = $2",
    )
    .bind(event)
    .bind(app_id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| {
        Error::Conflict(format!(
            "the {} app is not installed in this event",
            manifest(app_id).name
        ))
    })
}

/// Who a context token is about.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// Issuer (Convene's public URL).
    pub issuer: &'a str,
    /// The app installation it is for (the audience).
    pub install: InstallId,
    /// Event.
    pub event: EventId,
    /// Attendee.
    pub attendee: AttendeeId,
    /// Attendee's name.
    pub name: &'a str,
    /// Their role in the event.
    pub role: AttendeeRole,
}

/// A signed, short-lived context token (compact JWT, EdDSA).
pub async fn context_token(pool: &PgPool, c: &Context<'_>) -> Result<String> {
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({
        "iss": c.issuer,
        "aud": c.install.to_string(),
        "sub": c.attendee.to_string(),
        "event": c.event.to_string(),
        "name": c.name,
        "role": c.role,
        "iat": now,
        "exp": now + TOKEN_TTL_SECS,
    });
    signing::sign_jwt(pool, &claims).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_follow_the_manifest() {
        let qa = manifest(AppKind::Qa);
        assert_eq!(
            validate_config(qa, &serde_json::json!({"premoderate": "on", "extra": 1})).unwrap(),
            serde_json::json!({"premoderate": true})
        );
        let embed = manifest(AppKind::Embed);
        assert!(validate_config(embed, &serde_json::json!({"name": "X"})).is_err());
        assert!(validate_config(
            embed,
            &serde_json::json!({"name": "X", "url": "javascript:alert(1)"})
        )
        .is_err());
        assert!(validate_config(
            embed,
            &serde_json::json!({"name": "X", "url": "https://app.example.org"})
        )
        .is_ok());
        assert!(parse_app("nope").is_err());
        for kind in AppKind::ALL {
            assert_eq!(manifest(*kind).id, *kind);
        }
    }
}
