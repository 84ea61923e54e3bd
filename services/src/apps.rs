//! The App store: a catalogue of apps with manifests, installed and configured
//! per event by its organisers. Built-in apps (Polls, Q&A, Translations) run
//! inside Convene; a third-party app is a URL shown in a sandboxed iframe and
//! handed a short-lived context token (EdDSA-signed JWT) that it verifies with
//! the public key at `/.well-known/jwks.json`.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::Utc;
use ed25519_dalek::{Signer, SigningKey};
use rand::RngCore;
use sqlx::PgPool;
use uuid::Uuid;

use crate::accounts::Organiser;
use crate::{events, Error, Result};

/// Id of the Polls app.
pub const POLLS: &str = "polls";
/// Id of the Q&A app.
pub const QA: &str = "qa";
/// Id of the Translations app.
pub const TRANSLATIONS: &str = "translations";
/// Id of the third-party app kind (an iframe).
pub const EMBED: &str = "embed";

/// Seconds a context token stays valid.
pub const TOKEN_TTL_SECS: i64 = 300;

/// A setting an app takes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Setting {
    /// Key in the config.
    pub key: &'static str,
    /// Label.
    pub label: &'static str,
    /// `bool`, `text` or `url`.
    pub kind: &'static str,
    /// Must be given.
    pub required: bool,
}

/// An app's manifest.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Manifest {
    /// Id.
    pub id: &'static str,
    /// Name.
    pub name: &'static str,
    /// What it does.
    pub description: &'static str,
    /// Where it appears: `stage`, `session`, `booth`.
    pub placements: &'static [&'static str],
    /// Settings schema.
    pub settings: &'static [Setting],
}

/// The catalogue.
pub const CATALOGUE: &[Manifest] = &[
    Manifest {
        id: POLLS,
        name: "Polls",
        description: "Single- or multiple-choice polls with live results.",
        placements: &["stage", "session"],
        settings: &[],
    },
    Manifest {
        id: QA,
        name: "Q&A",
        description: "Attendees ask and upvote questions; moderators approve, answer or hide them.",
        placements: &["stage", "session"],
        settings: &[Setting {
            key: "premoderate",
            label: "Questions wait for a moderator's approval",
            kind: "bool",
            required: false,
        }],
    },
    Manifest {
        id: TRANSLATIONS,
        name: "Translations",
        description: "Caption and translation text channels attendees pick by language.",
        placements: &["stage"],
        settings: &[Setting {
            key: "languages",
            label: "Languages (codes, comma-separated, e.g. en,de,fr)",
            kind: "text",
            required: true,
        }],
    },
    Manifest {
        id: EMBED,
        name: "Third-party app",
        description: "Any web app in a sandboxed frame beside the stage, told who is watching by a signed token.",
        placements: &["stage", "booth"],
        settings: &[
            Setting {
                key: "name",
                label: "Name",
                kind: "text",
                required: true,
            },
            Setting {
                key: "url",
                label: "App URL (https)",
                kind: "url",
                required: true,
            },
        ],
    },
];

/// The manifest of `id`.
pub fn manifest(id: &str) -> Result<&'static Manifest> {
    CATALOGUE
        .iter()
        .find(|m| m.id == id)
        .ok_or_else(|| Error::not_found(format!("no app '{id}' in the catalogue")))
}

/// An installed app.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Install {
    /// Installation id.
    pub id: Uuid,
    /// App id.
    pub app_id: String,
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
            ("bool", Some(v)) => {
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
                if kind == "url"
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
pub async fn install(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    app_id: &str,
    config: &serde_json::Value,
) -> Result<Install> {
    let event = events::get_for_org(pool, by.org_id, slug).await?;
    let m = manifest(app_id)?;
    let config = validate_config(m, config)?;
    Ok(sqlx::query_as(
        "INSERT INTO app_installs (id, event_id, app_id, config) VALUES ($1, $2, $3, $4)
         ON CONFLICT (event_id, app_id) DO UPDATE SET config = EXCLUDED.config
         RETURNING id, app_id, config",
    )
    .bind(Uuid::new_v4())
    .bind(event.id)
    .bind(m.id)
    .bind(&config)
    .fetch_one(pool)
    .await?)
}

/// Uninstalls an app from one of the organiser's events.
pub async fn uninstall(pool: &PgPool, by: &Organiser, slug: &str, app_id: &str) -> Result<()> {
    let event = events::get_for_org(pool, by.org_id, slug).await?;
    let done = sqlx::query("DELETE FROM app_installs WHERE event_id = $1 AND app_id = $2")
        .bind(event.id)
        .bind(app_id)
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found("this app is not installed"));
    }
    Ok(())
}

/// The event's installed apps.
pub async fn installed(pool: &PgPool, event: Uuid) -> Result<Vec<Install>> {
    Ok(sqlx::query_as(
        "SELECT id, app_id, config FROM app_installs WHERE event_id = $1 ORDER BY created_at",
    )
    .bind(event)
    .fetch_all(pool)
    .await?)
}

/// The installation of `app_id`, or `Conflict` when the event does not have it.
pub async fn require_installed(pool: &PgPool, event: Uuid, app_id: &str) -> Result<Install> {
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
            manifest(app_id).map(|m| m.name).unwrap_or(app_id)
        ))
    })
}

/// The current signing key, created on first use.
async fn signing_key(pool: &PgPool) -> Result<(String, SigningKey)> {
    let row: Option<(String, Vec<u8>)> =
        sqlx::query_as("SELECT kid, secret FROM signing_keys ORDER BY created_at DESC LIMIT 1")
            .fetch_optional(pool)
            .await?;
    let (kid, secret) = match row {
        Some(r) => r,
        None => {
            let mut secret = vec![0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut secret);
            let kid = format!("k{}", &Uuid::new_v4().simple().to_string()[..12]);
            // Two nodes racing here: the first insert wins, both then read it.
            sqlx::query("INSERT INTO signing_keys (kid, secret) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM signing_keys)")
                .bind(&kid)
                .bind(&secret)
                .execute(pool)
                .await?;
            sqlx::query_as("SELECT kid, secret FROM signing_keys ORDER BY created_at DESC LIMIT 1")
                .fetch_one(pool)
                .await?
        }
    };
    let bytes: [u8; 32] = secret
        .try_into()
        .map_err(|_| Error::Internal("signing key has the wrong length".into()))?;
    Ok((kid, SigningKey::from_bytes(&bytes)))
}

/// The public keys as a JWK set.
pub async fn jwks(pool: &PgPool) -> Result<serde_json::Value> {
    let (kid, key) = signing_key(pool).await?;
    Ok(serde_json::json!({
        "keys": [{
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
            "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
        }]
    }))
}

/// Who the token is about.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// Issuer (Convene's public URL).
    pub issuer: &'a str,
    /// The app installation it is for (the audience).
    pub install: Uuid,
    /// Event.
    pub event: Uuid,
    /// Attendee.
    pub attendee: Uuid,
    /// Attendee's name.
    pub name: &'a str,
    /// `attendee` or `moderator`.
    pub role: &'a str,
}

/// A signed, short-lived context token (compact JWT, EdDSA).
pub async fn context_token(pool: &PgPool, c: &Context<'_>) -> Result<String> {
    let (kid, key) = signing_key(pool).await?;
    let now = Utc::now().timestamp();
    let header = serde_json::json!({ "alg": "EdDSA", "typ": "JWT", "kid": kid });
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
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims)?)
    );
    let signature = key.sign(signing_input.as_bytes());
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_follow_the_manifest() {
        let qa = manifest(QA).unwrap();
        assert_eq!(
            validate_config(qa, &serde_json::json!({"premoderate": "on", "extra": 1})).unwrap(),
            serde_json::json!({"premoderate": true})
        );
        let embed = manifest(EMBED).unwrap();
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
        assert!(manifest("nope").is_err());
    }
}
