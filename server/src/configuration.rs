//! Layered configuration: built-in defaults, then an optional TOML file, then
//! `CONVENE_*` environment variables (`__` separates nested keys, e.g.
//! `CONVENE_KAFKA__BROKERS=127.0.0.1:9092`).

use bus::KafkaSettings;
use serde::Deserialize;

/// All settings of the `convene` binary.
#[derive(Clone, Deserialize)]
pub struct Settings {
    /// PostgreSQL URL.
    pub database_url: String,
    /// Analytics' own PostgreSQL database; absent means the `analytics`
    /// schema of `database_url`. A database of its own is filled from the
    /// log (`convene rebuild-analytics`).
    #[serde(default)]
    pub analytics_database_url: Option<String>,
    /// Maximum PostgreSQL connections of this process.
    pub database_max_connections: u32,
    /// Redis URL.
    pub redis_url: String,
    /// Prefix of rate-limit keys in Redis (separates deployments sharing a Redis).
    pub redis_namespace: String,
    /// Public base URL (links; `https://` turns on `Secure` cookies).
    pub public_url: String,
    /// Path of the Leptos runtime options file.
    pub leptos_config: String,
    /// Seed the demo event when `convene all` starts (with an organiser whose
    /// password is public: refused on an https site unless
    /// `allow_demo_over_https`).
    pub demo: bool,
    /// Lets the demo seed run on an `https://` public URL (a public demo site).
    #[serde(default)]
    pub allow_demo_over_https: bool,
    /// Which payment provider takes card payments (none unless configured).
    #[serde(default)]
    pub payments: PaymentsConfig,
    /// Platform fee on paid orders, in basis points of the total.
    pub platform_fee_bps: i64,
    /// Fixed platform fee per paid order, in minor units.
    pub platform_fee_fixed_minor: i64,
    /// Test-only: sell tickets without quota locks, to show the race they
    /// prevent. Refused unless the public URL is a loopback address.
    pub unsafe_disable_quota_locking: bool,
    /// Kafka-protocol broker; absent means the in-process bus.
    pub kafka: Option<KafkaConfig>,
    /// SMTP relay for emails; absent means emails are logged as skipped.
    pub smtp: Option<SmtpConfig>,
    /// The HTTP edge: timeouts, body limit, trusted proxies.
    #[serde(default)]
    pub http: crate::http::EdgeSettings,
    /// The media role (the SFU) and how web nodes find it.
    #[serde(default)]
    pub media: MediaSettings,
    /// Where media assets live (`[assets]`, `CONVENE_ASSETS__*`).
    #[serde(default)]
    pub assets: AssetSettings,
    /// Organisers' webhooks (`[webhooks]`, `CONVENE_WEBHOOKS__*`).
    #[serde(default)]
    pub webhooks: WebhookSettings,
}

/// Webhooks part of the settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WebhookSettings {
    /// Lets endpoints point at this machine and private networks
    /// (development and tests; refused unless the public URL is loopback).
    pub allow_private_targets: bool,
    /// Multiplies the retry schedule (1.0; tests shorten it; refused below
    /// 1.0 unless the public URL is loopback).
    pub retry_scale: f64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            allow_private_targets: false,
            retry_scale: 1.0,
        }
    }
}

impl Settings {
    /// Where webhooks may go: https only on an https site.
    pub fn webhook_targets(&self) -> services::webhooks::Targets {
        services::webhooks::Targets {
            require_https: self.public_url.starts_with("https://"),
            allow_private: self.webhooks.allow_private_targets,
        }
    }
}

/// Media assets part of the settings.
#[derive(Clone, Deserialize)]
#[serde(default)]
pub struct AssetSettings {
    /// The object store: `file:///a/directory` (the default is
    /// `~/.local/share/convene/assets`) or `s3://bucket/prefix`.
    pub store: String,
    /// The store's settings in `object_store`'s keys (`aws_endpoint`,
    /// `aws_region`, `aws_access_key_id`, `aws_secret_access_key`,
    /// `aws_allow_http`; `CONVENE_ASSETS__OPTIONS__AWS_ENDPOINT`…); the
    /// `AWS_*` environment fills in what they leave out.
    pub options: std::collections::BTreeMap<String, String>,
}

impl std::fmt::Debug for AssetSettings {
    /// The store and the names of its options: their values may be secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssetSettings")
            .field("store", &self.store)
            .field("options", &self.options.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Default for AssetSettings {
    fn default() -> Self {
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".local/share"))
            })
            .unwrap_or_else(std::env::temp_dir);
        AssetSettings {
            store: format!("file://{}", base.join("convene/assets").display()),
            options: Default::default(),
        }
    }
}

/// Media part of the settings (`[media]`, `CONVENE_MEDIA__*`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct MediaSettings {
    /// Whether `convene all` runs the media role too.
    pub in_all: bool,
    /// Where the media role listens for signalling from web nodes.
    pub listen: String,
    /// How web nodes reach that listener (default `http://<listen>`).
    pub url: Option<String>,
    /// The address peer connections bind and announce to browsers: an
    /// explicit address (a wildcard would leave out loopback).
    pub ip: std::net::IpAddr,
    /// The UDP ports peer connections take, `40000-40999` (absent: any),
    /// for a firewall to open exactly those.
    #[serde(deserialize_with = "port_range")]
    pub udp_ports: Option<media::network::PortRange>,
    /// The address browsers are told to reach when `ip` is behind a 1:1 NAT
    /// (a cloud machine's public address; absent: `ip`).
    pub announce_ip: Option<std::net::IpAddr>,
    /// Ask publishers for their camera in simulcast layers (on by default;
    /// each subscriber gets the layer its tile needs).
    pub simulcast: bool,
    /// Let subscribers' bandwidth estimates (REMB) cap their simulcast
    /// layers (off by default: Chromium's REMB climbs slowly and reads a
    /// busy CPU as congestion; see `media::simulcast`).
    pub simulcast_bandwidth: bool,
    /// Where the media role reads the platform's public keys (default
    /// `<public_url>/.well-known/jwks.json`).
    pub jwks_url: Option<String>,
    /// TURN servers browsers may relay through (`[media.turn]`).
    pub turn: Option<TurnSettings>,
    /// Where the media role makes recordings (default: a `convene-recordings`
    /// folder in the system's temporary directory); a finished one is sent
    /// to the web nodes and its folder removed.
    pub recordings_dir: Option<std::path::PathBuf>,
    /// Where finished recordings are sent (default
    /// `<public_url>/media/v1/recordings`).
    pub recordings_url: Option<String>,
    /// Stage viewers this media role takes over WebRTC, over all its
    /// stages; past it they watch the HLS stream of the live mix (absent:
    /// no limit; see docs/BENCHMARKS.md for what a node holds).
    pub max_webrtc_viewers: Option<usize>,
    /// Whether a recorded broadcast is also mixed live and streamed as HLS
    /// (the viewers past `max_webrtc_viewers` watch it).
    pub live_hls: bool,
    /// Where the live mix's segments and playlist are uploaded (default
    /// `<public_url>/media/v1/live`).
    pub live_url: Option<String>,
}

/// TURN part of the media settings (`CONVENE_MEDIA__TURN__URLS`, `__SECRET`).
#[derive(Clone, Deserialize)]
pub struct TurnSettings {
    /// Comma-separated `turn:` URLs (empty: no TURN).
    pub urls: String,
    /// The secret shared with the TURN server (coturn's `static-auth-secret`).
    pub secret: String,
    /// How long each attendee's credentials last, seconds.
    #[serde(default = "default_turn_ttl")]
    pub ttl_secs: i64,
}

fn default_turn_ttl() -> i64 {
    3600
}

impl std::fmt::Debug for TurnSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnSettings")
            .field("urls", &self.urls)
            .field("secret", &"***")
            .field("ttl_secs", &self.ttl_secs)
            .finish()
    }
}

impl TurnSettings {
    /// The TURN servers, if any URL is set.
    pub fn to_turn(&self) -> Option<services::live::turn::Turn> {
        let urls: Vec<String> = self
            .urls
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        (!urls.is_empty()).then(|| services::live::turn::Turn {
            urls,
            secret: self.secret.clone(),
            ttl_secs: self.ttl_secs,
        })
    }
}

impl Default for MediaSettings {
    fn default() -> Self {
        MediaSettings {
            in_all: true,
            listen: "127.0.0.1:3200".into(),
            url: None,
            ip: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            udp_ports: None,
            announce_ip: None,
            simulcast: true,
            simulcast_bandwidth: false,
            jwks_url: None,
            turn: None,
            recordings_dir: None,
            recordings_url: None,
            max_webrtc_viewers: Some(DEFAULT_MAX_WEBRTC_VIEWERS),
            live_hls: true,
            live_url: None,
        }
    }
}

/// Stage viewers a media role takes over WebRTC by default: what one core
/// forwards for a stage of two speakers with room to spare (docs/BENCHMARKS.md).
pub const DEFAULT_MAX_WEBRTC_VIEWERS: usize = 200;

/// Reads `udp_ports`, refusing a malformed range at startup.
fn port_range<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<media::network::PortRange>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    text.filter(|t| !t.trim().is_empty())
        .map(|t| t.parse().map_err(serde::de::Error::custom))
        .transpose()
}

impl MediaSettings {
    /// How web nodes reach this media role.
    pub fn url(&self) -> String {
        self.url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }
}

/// Which payment provider the platform uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentProviderKind {
    /// No card payments: paid tickets and plans are refused with a message.
    #[default]
    None,
    /// The built-in test provider (test cards, a fake bank page): demos and
    /// tests only, since anyone who knows the cards can "pay".
    Test,
}

/// Payments part of the settings (`[payments]`, `CONVENE_PAYMENTS__*`).
#[derive(Clone, Default, Deserialize)]
pub struct PaymentsConfig {
    /// The provider.
    #[serde(default)]
    pub provider: PaymentProviderKind,
    /// Secret the test provider signs its webhooks with: at least 32
    /// characters, never the example value (never logged).
    #[serde(default)]
    pub test_webhook_secret: Option<String>,
    /// Lets the test provider run on an `https://` public URL (a public
    /// staging site); refused otherwise, since it sells for nothing.
    #[serde(default)]
    pub allow_test_provider_over_https: bool,
}

impl std::fmt::Debug for PaymentsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentsConfig")
            .field("provider", &self.provider)
            .field(
                "test_webhook_secret",
                &self.test_webhook_secret.as_ref().map(|_| "***"),
            )
            .field(
                "allow_test_provider_over_https",
                &self.allow_test_provider_over_https,
            )
            .finish()
    }
}

/// The secret this repository once shipped as the default: public, so refused.
const PUBLISHED_TEST_SECRET: &str = "convene-test-provider-dev-secret";

impl Settings {
    /// Refuses settings that would be unsafe to serve with; the message says
    /// which setting to change.
    pub fn check(&self) -> Result<(), String> {
        if self.payments.provider == PaymentProviderKind::Test {
            let secret = self.payments.test_webhook_secret.as_deref().unwrap_or("");
            if secret.len() < 32 || secret == PUBLISHED_TEST_SECRET {
                return Err("the test payment provider needs payments.test_webhook_secret \
                     (CONVENE_PAYMENTS__TEST_WEBHOOK_SECRET): a random value of at least 32 characters"
                    .into());
            }
            if self.public_url.starts_with("https://")
                && !self.payments.allow_test_provider_over_https
            {
                return Err(format!(
                    "the test payment provider sells tickets for nothing; it is refused on {} \
                     unless payments.allow_test_provider_over_https is set",
                    self.public_url
                ));
            }
        }
        if self.unsafe_disable_quota_locking && !is_loopback(&self.public_url) {
            return Err(format!(
                "unsafe_disable_quota_locking oversells tickets; it exists for tests on this \
                 machine and is refused on {}",
                self.public_url
            ));
        }
        if !(self.webhooks.retry_scale.is_finite()
            && (0.0..=1.0).contains(&self.webhooks.retry_scale))
        {
            return Err("webhooks.retry_scale must be a number from 0 to 1".into());
        }
        if (self.webhooks.allow_private_targets || self.webhooks.retry_scale < 1.0)
            && !is_loopback(&self.public_url)
        {
            return Err(format!(
                "webhooks.allow_private_targets and a webhooks.retry_scale below 1 exist for \
                 tests on this machine and are refused on {}",
                self.public_url
            ));
        }
        if self.demo && self.public_url.starts_with("https://") && !self.allow_demo_over_https {
            return Err(format!(
                "the demo seed creates an organiser whose password is public; it is refused on {} \
                 unless allow_demo_over_https is set",
                self.public_url
            ));
        }
        Ok(())
    }
}

/// Whether `url`'s host is this machine (127.0.0.0/8, ::1 or localhost).
fn is_loopback(url: &str) -> bool {
    let authority = url
        .split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or(""))
        .unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// SMTP part of the settings.
#[derive(Clone, Deserialize)]
pub struct SmtpConfig {
    /// Relay host.
    pub host: String,
    /// Relay port.
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// Sender, e.g. `Convene <tickets@example.org>`.
    #[serde(default = "default_smtp_from")]
    pub from: String,
    /// `none` (plain), `starttls` or `tls`.
    #[serde(default)]
    pub security: services::notifications::SmtpSecurity,
    /// SMTP AUTH user name.
    #[serde(default)]
    pub username: Option<String>,
    /// SMTP AUTH password (never logged).
    #[serde(default)]
    pub password: Option<String>,
    /// Path of an extra CA certificate (PEM) to trust, for a relay with a private CA.
    #[serde(default)]
    pub tls_root_cert: Option<String>,
}

impl SmtpConfig {
    /// A plain relay without authentication.
    pub fn plain(host: &str, port: u16, from: &str) -> Self {
        SmtpConfig {
            host: host.into(),
            port,
            from: from.into(),
            security: Default::default(),
            username: None,
            password: None,
            tls_root_cert: None,
        }
    }

    /// The mailer for these settings.
    pub fn mailer(&self) -> services::Result<services::notifications::Mailer> {
        let credentials = match (&self.username, &self.password) {
            (Some(u), Some(p)) => Some((u.as_str(), p.as_str())),
            _ => None,
        };
        let pem = match &self.tls_root_cert {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                services::Error::Internal(format!("smtp tls_root_cert {path}: {e}"))
            })?),
            None => None,
        };
        services::notifications::Mailer::with(services::notifications::MailerSettings {
            host: &self.host,
            port: self.port,
            from: &self.from,
            security: self.security,
            credentials,
            root_cert_pem: pem.as_deref(),
        })
    }
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("from", &self.from)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("tls_root_cert", &self.tls_root_cert)
            .finish()
    }
}

fn default_smtp_port() -> u16 {
    25
}

fn default_smtp_from() -> String {
    "Convene <no-reply@convene.test>".into()
}

/// Kafka part of the settings.
#[derive(Clone, Deserialize)]
pub struct KafkaConfig {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// Prefix of every topic and consumer group name.
    #[serde(default)]
    pub topic_prefix: String,
    /// Partitions of the topics the platform creates.
    #[serde(default = "default_partitions")]
    pub partitions: i32,
    /// Further librdkafka properties for TLS and SASL, e.g. `[kafka.client]
    /// security_protocol = "SASL_SSL"`; `_` stands for `.` so that they can be
    /// set from the environment (`CONVENE_KAFKA__CLIENT__SASL_PASSWORD`).
    #[serde(default)]
    pub client: std::collections::BTreeMap<String, String>,
}

fn default_partitions() -> i32 {
    6
}

impl KafkaConfig {
    /// The bus settings.
    pub fn to_bus(&self) -> KafkaSettings {
        KafkaSettings {
            brokers: self.brokers.clone(),
            topic_prefix: self.topic_prefix.clone(),
            partitions: self.partitions,
            client: self
                .client
                .iter()
                .map(|(k, v)| (k.replace('_', "."), v.clone()))
                .collect(),
        }
    }
}

// The client properties are shown as the bus shows them: without secrets.
impl std::fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_bus().fmt(f)
    }
}

// Secrets (URLs with passwords) never reach the logs.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &redact(&self.database_url))
            .field(
                "analytics_database_url",
                &self.analytics_database_url.as_deref().map(redact),
            )
            .field("redis_url", &redact(&self.redis_url))
            .field("public_url", &self.public_url)
            .field("kafka", &self.kafka)
            .field("smtp", &self.smtp)
            .field("payments", &self.payments)
            .field("demo", &self.demo)
            .field("allow_demo_over_https", &self.allow_demo_over_https)
            .field(
                "unsafe_disable_quota_locking",
                &self.unsafe_disable_quota_locking,
            )
            .field("platform_fee_bps", &self.platform_fee_bps)
            .field("http", &self.http)
            .field("media", &self.media)
            .field("assets", &self.assets)
            .field("webhooks", &self.webhooks)
            .finish()
    }
}

/// Hides the password of a `scheme://user:password@host` URL.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Loads settings: defaults, then `file` (if given and present), then `CONVENE_*`.
pub fn load(file: Option<&str>) -> Result<Settings, config::ConfigError> {
    load_with_env(file, None)
}

/// Like [`load`], with the environment taken from `env` instead of the process (tests).
pub fn load_with_env(
    file: Option<&str>,
    env: Option<std::collections::HashMap<String, String>>,
) -> Result<Settings, config::ConfigError> {
    let mut builder = config::Config::builder()
        .set_default(
            "database_url",
            "postgres://postgres:postgres@127.0.0.1:5432/convene",
        )?
        .set_default("database_max_connections", 20)?
        .set_default("redis_url", "redis://127.0.0.1:6379")?
        .set_default("redis_namespace", "convene:")?
        .set_default("public_url", "http://127.0.0.1:3000")?
        .set_default("leptos_config", "Leptos.toml")?
        .set_default("demo", false)?
        .set_default("unsafe_disable_quota_locking", false)?
        .set_default("platform_fee_bps", 250)?
        .set_default("platform_fee_fixed_minor", 0)?;
    if let Some(path) = file {
        builder = builder.add_source(config::File::with_name(path).required(true));
    } else {
        builder = builder.add_source(config::File::with_name("convene").required(false));
    }
    let mut settings: Settings = builder
        .add_source(
            config::Environment::with_prefix("CONVENE")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                .source(env),
        )
        .build()?
        .try_deserialize()?;
    if settings
        .kafka
        .as_ref()
        .is_some_and(|k| k.brokers.trim().is_empty())
    {
        settings.kafka = None;
    }
    if settings
        .smtp
        .as_ref()
        .is_some_and(|s| s.host.trim().is_empty())
    {
        settings.smtp = None;
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }

    #[test]
    fn environment_overrides_defaults() {
        let env = [
            ("CONVENE_DATABASE_URL", "postgres://x@db/convene"),
            ("CONVENE_KAFKA__BROKERS", "127.0.0.1:9092"),
            ("CONVENE_KAFKA__TOPIC_PREFIX", "dev."),
            ("CONVENE_DEMO", "true"),
        ];
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let s = load_with_env(None, Some(env)).unwrap();
        assert_eq!(s.database_url, "postgres://x@db/convene");
        let kafka = s.kafka.unwrap();
        assert_eq!(
            (
                kafka.brokers.as_str(),
                kafka.topic_prefix.as_str(),
                kafka.partitions
            ),
            ("127.0.0.1:9092", "dev.", 6)
        );
        assert!(s.demo);
    }

    #[test]
    fn kafka_client_properties_come_from_the_environment_and_hide_secrets() {
        let env = [
            ("CONVENE_KAFKA__BROKERS", "kafka.example.org:9093"),
            ("CONVENE_KAFKA__CLIENT__SECURITY_PROTOCOL", "SASL_SSL"),
            ("CONVENE_KAFKA__CLIENT__SASL_MECHANISM", "SCRAM-SHA-512"),
            ("CONVENE_KAFKA__CLIENT__SASL_PASSWORD", "hunter2"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let s = load_with_env(None, Some(env)).unwrap();
        let bus = s.kafka.as_ref().unwrap().to_bus();
        assert_eq!(bus.client["security.protocol"], "SASL_SSL");
        assert_eq!(bus.client["sasl.mechanism"], "SCRAM-SHA-512");
        assert_eq!(bus.client["sasl.password"], "hunter2");
        let shown = format!("{s:?}");
        assert!(shown.contains("SCRAM-SHA-512"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn a_file_layer_sits_between_defaults_and_environment() {
        let dir = std::env::temp_dir().join(format!("convene-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("convene.toml");
        std::fs::write(
            &file,
            "public_url = \"https://events.example.org\"\nredis_url = \"redis://file\"\n",
        )
        .unwrap();
        let env = [("CONVENE_REDIS_URL".to_string(), "redis://env".to_string())]
            .into_iter()
            .collect();
        let s = load_with_env(Some(file.to_str().unwrap()), Some(env)).unwrap();
        assert_eq!(s.public_url, "https://events.example.org");
        assert_eq!(s.redis_url, "redis://env");
        assert!(s.kafka.is_none());
    }

    #[test]
    fn defaults_load_without_file() {
        let s = load_with_env(None, Some(Default::default())).unwrap();
        assert!(s.database_url.starts_with("postgres://"));
        assert!(format!("{s:?}").contains("test_webhook_secret: None"));
    }

    fn with_env(pairs: &[(&str, &str)]) -> Settings {
        let env = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        load_with_env(None, Some(env)).unwrap()
    }

    #[test]
    fn http_settings_default_and_load_from_the_environment() {
        let s = with_env(&[]);
        assert!(s.http.trusted_proxies.0.is_empty());
        assert_eq!(s.http.request_timeout_secs, 30);
        let s = with_env(&[
            ("CONVENE_HTTP__TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7"),
            ("CONVENE_HTTP__MAX_BODY_BYTES", "1024"),
        ]);
        assert_eq!(s.http.trusted_proxies.0.len(), 2);
        assert_eq!(s.http.max_body_bytes, 1024);
        let bad = [(
            "CONVENE_HTTP__TRUSTED_PROXIES".to_string(),
            "10.0.0.0/99".to_string(),
        )];
        assert!(load_with_env(None, Some(bad.into_iter().collect())).is_err());
    }

    #[test]
    fn test_switches_are_refused_on_a_public_site() {
        let unlocked = ("CONVENE_UNSAFE_DISABLE_QUOTA_LOCKING", "true");
        for local in [
            "http://127.0.0.1:3000",
            "http://localhost",
            "http://[::1]:8080/",
        ] {
            let s = with_env(&[unlocked, ("CONVENE_PUBLIC_URL", local)]);
            assert_eq!(s.check(), Ok(()), "{local}");
        }
        for public in [
            "https://events.example.org",
            "http://10.0.0.5:3000",
            "http://127.0.0.1.evil.test",
        ] {
            let s = with_env(&[unlocked, ("CONVENE_PUBLIC_URL", public)]);
            assert!(
                s.check()
                    .unwrap_err()
                    .contains("unsafe_disable_quota_locking"),
                "{public}"
            );
        }
        let demo = [
            ("CONVENE_DEMO", "true"),
            ("CONVENE_PUBLIC_URL", "https://events.example.org"),
        ];
        assert!(with_env(&demo)
            .check()
            .unwrap_err()
            .contains("allow_demo_over_https"));
        let forced = [demo[0], demo[1], ("CONVENE_ALLOW_DEMO_OVER_HTTPS", "true")];
        assert_eq!(with_env(&forced).check(), Ok(()));
        assert_eq!(
            with_env(&[demo[0]]).check(),
            Ok(()),
            "the demo on plain http"
        );
    }

    #[test]
    fn no_payment_provider_unless_configured() {
        let s = with_env(&[]);
        assert_eq!(s.payments.provider, PaymentProviderKind::None);
        assert_eq!(s.check(), Ok(()));
    }

    #[test]
    fn the_test_provider_needs_a_long_private_secret_and_plain_http() {
        let secret = "k3Xo9-a-random-secret-of-40-characters-x";
        let test = [("CONVENE_PAYMENTS__PROVIDER", "test")];
        assert!(with_env(&test)
            .check()
            .unwrap_err()
            .contains("test_webhook_secret"));
        for weak in ["short", PUBLISHED_TEST_SECRET] {
            let s = with_env(&[test[0], ("CONVENE_PAYMENTS__TEST_WEBHOOK_SECRET", weak)]);
            assert!(s.check().is_err(), "{weak}");
        }
        let good = [test[0], ("CONVENE_PAYMENTS__TEST_WEBHOOK_SECRET", secret)];
        let s = with_env(&good);
        assert_eq!(s.check(), Ok(()));
        assert!(
            !format!("{s:?}").contains(secret),
            "the secret is never printed"
        );

        let https = [
            good[0],
            good[1],
            ("CONVENE_PUBLIC_URL", "https://events.example.org"),
        ];
        assert!(with_env(&https)
            .check()
            .unwrap_err()
            .contains("allow_test_provider_over_https"));
        let forced = [
            https[0],
            https[1],
            https[2],
            ("CONVENE_PAYMENTS__ALLOW_TEST_PROVIDER_OVER_HTTPS", "true"),
        ];
        assert_eq!(with_env(&forced).check(), Ok(()));
    }

    #[test]
    fn smtp_security_and_credentials_load_and_the_password_is_never_printed() {
        let env = [
            ("CONVENE_SMTP__HOST", "smtp.example.org"),
            ("CONVENE_SMTP__PORT", "587"),
            ("CONVENE_SMTP__SECURITY", "starttls"),
            ("CONVENE_SMTP__USERNAME", "mailer"),
            ("CONVENE_SMTP__PASSWORD", "hunter2-smtp"),
        ];
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let s = load_with_env(None, Some(env)).unwrap();
        let smtp = s.smtp.clone().unwrap();
        assert_eq!(
            smtp.security,
            services::notifications::SmtpSecurity::StartTls
        );
        assert_eq!((smtp.port, smtp.username.as_deref()), (587, Some("mailer")));
        assert!(smtp.mailer().is_ok());
        let printed = format!("{s:?}");
        assert!(printed.contains("smtp.example.org") && !printed.contains("hunter2"));
    }
}
