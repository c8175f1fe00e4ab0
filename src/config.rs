//! Typed settings, read from the environment and the command line.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};

/// Settings shared by every command that touches the database or serves pages.
#[derive(Args, Clone)]
pub struct Settings {
    /// PostgreSQL connection URL. When unset, a private cluster is started under the data folder.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<SecretString>,

    /// Address the web server listens on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Folder for the embedded cluster, generated keys and uploaded files.
    #[arg(long, env = "ZHONGLIAN_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Secret from which session, CSRF and device-cookie keys are derived (at least 32 bytes).
    /// Generated into the data folder on first start when not given.
    #[arg(long, env = "ZHONGLIAN_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<SecretString>,

    /// Ed25519 seed (64 hex characters) that signs ledger checkpoints. Generated into the data
    /// folder on first start when not given.
    #[arg(long, env = "ZHONGLIAN_LEDGER_KEY", hide_env_values = true)]
    pub ledger_key: Option<SecretString>,

    /// Origin line of the ledger's checkpoints, and the name of its verifier key.
    #[arg(long, env = "LEDGER_ORIGIN", default_value = "zhonglian.local/ledger")]
    pub ledger_origin: String,

    /// Witnesses that cosign the ledger's checkpoints (C2SP tlog-witness): comma-separated
    /// `<url> <vkey>` pairs, the witness's submission prefix, a space, and its verifier key
    /// (type 0x04). Empty: checkpoints carry only the log's own signature.
    #[arg(long, env = "LEDGER_WITNESSES", default_value = "", value_parser = Witnesses::parse)]
    pub ledger_witnesses: Witnesses,

    /// Logs this server also witnesses (C2SP tlog-witness, under `/witness`): comma-separated
    /// verifier keys (type 0x01) of other exchanges' ledgers. Empty: no witness is mounted.
    #[arg(long, env = "WITNESS_LOGS", default_value = "", value_parser = parse_log_keys)]
    pub witness_logs: LogKeys,

    /// The key name of the mounted witness; `<LEDGER_ORIGIN>/witness` when unset. Its key is
    /// generated into `<data folder>/witness/` on first start.
    #[arg(long, env = "WITNESS_NAME")]
    pub witness_name: Option<String>,

    /// Shortest campaign a founder may run, in seconds (0 for demos and tests).
    #[arg(long, env = "MIN_CAMPAIGN_SECONDS", default_value_t = 86_400)]
    pub min_campaign_seconds: u64,

    /// Days from a share's issue before it may be sold on the exchange (Regulation
    /// Crowdfunding 227.501's year; 0 for demos and tests).
    #[arg(long, env = "SECONDARY_LOCKUP_DAYS", default_value_t = 365, value_parser = clap::value_parser!(u32).range(0..=3_650))]
    pub secondary_lockup_days: u32,

    /// Most pledge requests waiting for one project in this process; past it a new one is
    /// answered 503 with Retry-After at once.
    #[arg(long, env = "PLEDGE_QUEUE_LIMIT", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub pledge_queue_limit: u32,

    /// Longest a pledge request waits for its answer, in seconds (1 to 25, so that the answer
    /// comes before every request's 30 s limit); then it gets a 503 (a request not yet started
    /// is dropped; one already in a transaction commits whole or not at all).
    #[arg(long, env = "PLEDGE_WAIT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=25))]
    pub pledge_wait_seconds: u64,

    /// Platform fee taken from funded projects, in basis points (500 = 5%).
    #[arg(long, env = "PLATFORM_FEE_BPS", default_value_t = 500, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub platform_fee_bps: u32,

    /// Fee on each trade of the exchange, in basis points of its price, paid by the seller
    /// (100 = 1%).
    #[arg(long, env = "MARKET_FEE_BPS", default_value_t = 100, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub market_fee_bps: u32,

    /// Pledges settled per database transaction (smaller batches hold locks for less time).
    #[arg(long, env = "SETTLEMENT_BATCH_SIZE", default_value_t = 5_000)]
    pub settlement_batch_size: i64,

    /// Equity investors' 12-month limit, `floor,low%,high%,threshold,cap` (US Regulation
    /// Crowdfunding by default). A malformed rule stops the server from starting.
    #[arg(long, env = "INVESTOR_LIMIT_RULE", default_value = "2500,5,10,124000,124000",
          value_parser = InvestorLimitRule::from_setting)]
    pub investor_limit_rule: InvestorLimitRule,

    /// Connections the server keeps to PostgreSQL. Unset: four per CPU core, 4 to 64. More backends than
    /// the machine can run at once only queue inside PostgreSQL, and lengthen every request.
    #[arg(long, env = "DATABASE_POOL_SIZE", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_pool_size: Option<u32>,

    /// How long an anonymous visitor's view of a project (page and API) may be reused, in
    /// seconds. Signed-in users always read fresh data; 0 turns the reuse off.
    #[arg(long, env = "PUBLIC_VIEW_SECONDS", default_value_t = 10)]
    pub public_view_seconds: u64,

    /// Public address of the site; cookies are marked `Secure` when it starts with https.
    #[arg(long, env = "PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    pub public_url: String,

    /// Log format: `text` or `json`.
    #[arg(long, env = "LOG_FORMAT", default_value = "text")]
    pub log_format: String,

    /// The payment gateway that funds wallets. Unset: none, and top-ups are refused. `sandbox`
    /// is the built-in test gateway (it approves whatever the payer asks): for demos and tests
    /// only, never with real money.
    #[arg(long, env = "PAYMENT_PROVIDER", value_enum)]
    pub payment_provider: Option<PaymentProviderKind>,

    /// Secret shared with the payment gateway, which signs its callbacks with it (HMAC-SHA256).
    /// Unset: derived from the server secret (enough for the sandbox, which runs inside the
    /// server).
    #[arg(long, env = "PAYMENT_GATEWAY_SECRET", hide_env_values = true)]
    pub payment_gateway_secret: Option<SecretString>,

    /// Largest single wallet top-up.
    #[arg(long, env = "DEPOSIT_MAX", default_value = "50000", value_parser = parse_limit)]
    pub deposit_max: Decimal,

    /// Most one user may top up in 24 hours (pending and approved top-ups count).
    #[arg(long, env = "DEPOSIT_DAILY_MAX", default_value = "200000", value_parser = parse_limit)]
    pub deposit_daily_max: Decimal,

    /// Currencies the platform takes, comma-separated ISO 4217 codes; the first is the default
    /// for projects and wallets.
    #[arg(long, env = "SUPPORTED_CURRENCIES", default_value = "CNY", value_parser = Currencies::parse)]
    pub supported_currencies: Currencies,

    /// Reverse proxies whose `X-Forwarded-For` names the client: comma-separated IP addresses
    /// or CIDR ranges (`127.0.0.1,10.0.0.0/8`). Empty: the peer address is the client.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "",
          value_parser = crate::net::TrustedProxies::parse)]
    pub trusted_proxies: crate::net::TrustedProxies,

    /// Sign-ups one client address may attempt per hour; past it, 429 with `Retry-After`.
    #[arg(long, env = "SIGNUP_LIMIT_PER_HOUR", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub signup_limit_per_hour: u32,
    /// Seconds a client may take to send a request's line and headers (and the longest an idle
    /// keep-alive connection is kept) before the server closes the connection, 1 to 30.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=30))]
    pub header_read_timeout_seconds: u64,

    /// Connections served at once; further clients wait in the operating system's accept queue
    /// until one closes, 1 to 65536.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub max_connections: u32,

    /// Address of a separate listener that serves only `/metrics` (for example
    /// `127.0.0.1:9100`). Unset: no metrics listener.
    #[arg(long, env = "METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,

    /// Token that lets `/metrics` be read on the main listener with
    /// `Authorization: Bearer <token>`. Unset: `/metrics` on the main listener is 404.
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<SecretString>,

    /// The mail server e-mail goes out through: `smtp://host:port` (plain; add `?tls=required`
    /// for STARTTLS, `?tls=opportunistic` to use it when offered), `smtps://host:port`
    /// (implicit TLS), with `user:password@` for credentials. Unset: e-mail waits in the outbox
    /// (the demo writes it to the log instead).
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<SecretString>,

    /// The sender of every e-mail, as `Name <address>` or a bare address.
    #[arg(
        long,
        env = "MAIL_FROM",
        default_value = "Zhonglian <no-reply@localhost>"
    )]
    pub mail_from: String,

    /// Write e-mail to the log instead of sending it (the demo sets this when `SMTP_URL` is
    /// unset; its accounts have made-up addresses).
    #[arg(long, env = "MAIL_LOG")]
    pub mail_log: bool,
}

impl Settings {
    /// Settings for tests and tools: every default, a data folder of the caller's choosing, and
    /// the sandbox gateway.
    pub fn for_data_dir(data_dir: PathBuf) -> Self {
        Self {
            database_url: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            secret_key: None,
            ledger_key: None,
            ledger_origin: "zhonglian.local/ledger".into(),
            ledger_witnesses: Witnesses::default(),
            witness_logs: LogKeys::default(),
            witness_name: None,
            min_campaign_seconds: 0,
            secondary_lockup_days: 0,
            pledge_queue_limit: 256,
            pledge_wait_seconds: 10,
            platform_fee_bps: 500,
            market_fee_bps: 100,
            settlement_batch_size: 5_000,
            investor_limit_rule: InvestorLimitRule::default(),
            database_pool_size: None,
            public_view_seconds: 0,
            public_url: "http://127.0.0.1".into(),
            log_format: "text".into(),
            payment_provider: Some(PaymentProviderKind::Sandbox),
            payment_gateway_secret: None,
            deposit_max: Decimal::from(50_000),
            deposit_daily_max: Decimal::from(200_000),
            supported_currencies: Currencies::default(),
            trusted_proxies: crate::net::TrustedProxies::default(),
            // Tests sign many users up from one address; the limit's own test lowers it.
            signup_limit_per_hour: 10_000,
            header_read_timeout_seconds: 10,
            max_connections: 1024,
            metrics_bind: None,
            metrics_token: None,
            smtp_url: None,
            mail_from: "Zhonglian <no-reply@localhost>".into(),
            mail_log: false,
        }
    }

    /// How many connections the server's pool may open: `DATABASE_POOL_SIZE`, or four per core
    /// (at least 4, at most 64).
    pub fn pool_size(&self) -> u32 {
        self.database_pool_size.unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
            (4 * cores).clamp(4, 64) as u32
        })
    }

    /// Whether the site is served over https: then cookies carry `Secure` and responses
    /// `Strict-Transport-Security` (on a plain-http site both would tell browsers nothing true).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |s: &Option<SecretString>| s.as_ref().map(|_| "[redacted]");
        f.debug_struct("Settings")
            .field("database_url", &redacted(&self.database_url))
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field("secret_key", &redacted(&self.secret_key))
            .field("ledger_key", &redacted(&self.ledger_key))
            .field("ledger_origin", &self.ledger_origin)
            .field("ledger_witnesses", &self.ledger_witnesses)
            .field("witness_logs", &self.witness_logs)
            .field("witness_name", &self.witness_name)
            .field("min_campaign_seconds", &self.min_campaign_seconds)
            .field("secondary_lockup_days", &self.secondary_lockup_days)
            .field("pledge_queue_limit", &self.pledge_queue_limit)
            .field("pledge_wait_seconds", &self.pledge_wait_seconds)
            .field("platform_fee_bps", &self.platform_fee_bps)
            .field("market_fee_bps", &self.market_fee_bps)
            .field("settlement_batch_size", &self.settlement_batch_size)
            .field("investor_limit_rule", &self.investor_limit_rule)
            .field("database_pool_size", &self.database_pool_size)
            .field("public_view_seconds", &self.public_view_seconds)
            .field("public_url", &self.public_url)
            .field("log_format", &self.log_format)
            .field("payment_provider", &self.payment_provider)
            .field(
                "payment_gateway_secret",
                &redacted(&self.payment_gateway_secret),
            )
            .field("deposit_max", &self.deposit_max)
            .field("deposit_daily_max", &self.deposit_daily_max)
            .field("supported_currencies", &self.supported_currencies)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("signup_limit_per_hour", &self.signup_limit_per_hour)
            .field("smtp_url", &redacted(&self.smtp_url))
            .field("mail_from", &self.mail_from)
            .field("mail_log", &self.mail_log)
            .field(
                "header_read_timeout_seconds",
                &self.header_read_timeout_seconds,
            )
            .field("max_connections", &self.max_connections)
            .field("metrics_bind", &self.metrics_bind)
            .field("metrics_token", &redacted(&self.metrics_token))
            .finish()
    }
}

/// Reads a secret from the settings, or from `file` in the data folder, creating it with
/// `generate` on first use. The file is written with mode 0600.
pub fn load_or_create_secret(
    given: Option<&SecretString>,
    file: &std::path::Path,
    generate: impl FnOnce() -> String,
) -> anyhow::Result<SecretString> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    if let Some(secret) = given {
        return Ok(secret.clone());
    }
    match std::fs::read_to_string(file) {
        Ok(text) => return Ok(SecretString::from(text.trim().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", file.display())),
    }
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let value = generate();
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)?;
    out.write_all(value.as_bytes())?;
    out.sync_all()?;
    Ok(SecretString::from(value))
}

/// Reads a boolean setting: `1`/`0`, `true`/`false`, `yes`/`no`, `on`/`off`, in any case.
pub fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => Err(format!(
            "`{other}` is not a boolean: say 1, 0, true, false, yes, no, on or off"
        )),
    }
}

/// Hex of `n` random bytes.
pub fn random_hex(n: usize) -> String {
    use rand::RngCore;
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Exposes a secret's bytes; kept in one place so that reading a secret is easy to find.
pub fn secret_bytes(secret: &SecretString) -> &[u8] {
    secret.expose_secret().as_bytes()
}

/// Payment gateways the server knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PaymentProviderKind {
    /// The built-in sandbox gateway: instant top-ups, declines on request.
    Sandbox,
}

/// The currencies the platform takes; never empty, each three capital letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currencies(Vec<String>);

impl Currencies {
    /// Parses `CNY,USD`: three capital letters each, no repeats, at least one.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut codes: Vec<String> = Vec::new();
        for code in raw.split(',').map(str::trim) {
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(format!(
                    "`{code}` is not a currency code (three capital letters)"
                ));
            }
            if !codes.iter().any(|c| c == code) {
                codes.push(code.to_owned());
            }
        }
        Ok(Self(codes))
    }

    /// The default currency (the first one named).
    pub fn default_code(&self) -> &str {
        &self.0[0]
    }

    /// Whether `code` is taken.
    pub fn contains(&self, code: &str) -> bool {
        self.0.iter().any(|c| c == code)
    }
}

/// Verifier keys of logs (type 0x01) named by `WITNESS_LOGS`, as text: the witness room parses
/// and checks them when the server starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogKeys(pub Vec<String>);

/// Splits comma-separated log verifier keys (`<name>+<key id>+<key>` each).
pub fn parse_log_keys(raw: &str) -> Result<LogKeys, String> {
    let keys: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect();
    match keys.iter().find(|k| k.split('+').count() < 3) {
        Some(bad) => Err(format!(
            "`{bad}` is not a verifier key (<name>+<key id>+<key>)"
        )),
        None => Ok(LogKeys(keys)),
    }
}

/// One witness the log submits its checkpoints to, as `LEDGER_WITNESSES` names it; the ledger
/// parses and checks its key when the server starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessPeer {
    /// The submission prefix: `POST <url>/add-checkpoint`.
    pub url: String,
    /// Its cosignature verifier key (type 0x04), as text.
    pub key: String,
}

/// The witnesses named by `LEDGER_WITNESSES`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Witnesses(pub Vec<WitnessPeer>);

impl Witnesses {
    /// Parses `http://a:1 name+id+key,http://b:2 name2+id+key`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut peers: Vec<WitnessPeer> = Vec::new();
        for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (url, vkey) = pair
                .split_once(' ')
                .ok_or_else(|| format!("`{pair}` is not `<url> <vkey>`"))?;
            let url = url.trim_end_matches('/');
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("the witness address `{url}` is not an http(s) URL"));
            }
            let key = vkey.trim();
            if key.split('+').count() < 3 {
                return Err(format!(
                    "`{key}` is not a verifier key (<name>+<key id>+<key>)"
                ));
            }
            peers.push(WitnessPeer {
                url: url.to_owned(),
                key: key.to_owned(),
            });
        }
        Ok(Self(peers))
    }
}

/// The currency of projects and wallets unless `SUPPORTED_CURRENCIES` says otherwise.
pub const DEFAULT_CURRENCY: &str = "CNY";

impl Default for Currencies {
    fn default() -> Self {
        Self(vec![DEFAULT_CURRENCY.to_owned()])
    }
}

/// The largest money limit a setting may name: the largest amount the platform handles
/// (`money::Money::MAX`).
const LIMIT_MAX: Decimal = Decimal::from_parts(100_000_000, 0, 0, false, 0);

/// Reads a money limit: a positive whole or two-decimal amount, at most [`LIMIT_MAX`], plain
/// digits only (no exponent), as amounts are read everywhere else.
fn parse_limit(raw: &str) -> Result<Decimal, String> {
    let refused = || format!("`{raw}` is not a positive amount with at most two decimals");
    let text = raw.trim();
    let plain = !text.is_empty()
        && text.len() <= 40
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'));
    if !plain {
        return Err(refused());
    }
    let mut value: Decimal = text.parse().map_err(|_| refused())?;
    if value <= Decimal::ZERO || value.normalize().scale() > 2 || value > LIMIT_MAX {
        return Err(refused());
    }
    value.rescale(2);
    Ok(value)
}

/// How much one investor may commit to equity offerings in 12 months, from what they declared.
///
/// The default is the US Regulation Crowdfunding rule: when either annual income or net worth is
/// below `threshold`, the greater of `floor` and `low_percent` of the greater of the two;
/// otherwise `high_percent` of the greater of the two; never more than `cap`.
///
/// The settings hold the rule's figures and read them; the pledges room computes with them
/// (`InvestorLimitRule::limit` in `pledges::limits`), so that `config` depends on no room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvestorLimitRule {
    pub floor: Decimal,
    pub low_percent: Decimal,
    pub high_percent: Decimal,
    pub threshold: Decimal,
    pub cap: Decimal,
}

impl Default for InvestorLimitRule {
    fn default() -> Self {
        Self {
            floor: Decimal::from(2_500),
            low_percent: Decimal::from(5),
            high_percent: Decimal::from(10),
            threshold: Decimal::from(124_000),
            cap: Decimal::from(124_000),
        }
    }
}

impl InvestorLimitRule {
    /// Parses `floor,low%,high%,threshold,cap`: five numbers, none negative, the percentages at
    /// most 100 and the floor at most the cap.
    pub fn parse(text: &str) -> Option<Self> {
        let parts: Vec<Decimal> = text
            .split(',')
            .map(|p| p.trim().parse::<Decimal>().ok())
            .collect::<Option<_>>()?;
        let [floor, low_percent, high_percent, threshold, cap] = parts.try_into().ok()?;
        let hundred = Decimal::from(100);
        let sane = [floor, low_percent, high_percent, threshold, cap]
            .iter()
            .all(|n| !n.is_sign_negative())
            && low_percent <= hundred
            && high_percent <= hundred
            && floor <= cap;
        sane.then_some(Self {
            floor,
            low_percent,
            high_percent,
            threshold,
            cap,
        })
    }

    /// For the command line: the rule, or what is wrong with it.
    pub fn from_setting(text: &str) -> Result<Self, String> {
        Self::parse(text).ok_or_else(|| {
            "expected floor,low%,high%,threshold,cap: five numbers, none negative, percentages \
             at most 100 and the floor at most the cap (for example 2500,5,10,124000,124000)"
                .to_owned()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        settings: Settings,
    }

    #[test]
    fn boolean_settings_accept_the_usual_spellings_and_refuse_others() {
        for yes in ["1", "true", "TRUE", "yes", "on", " Yes "] {
            assert_eq!(parse_bool(yes), Ok(true), "{yes}");
        }
        for no in ["0", "false", "no", "NO", "off"] {
            assert_eq!(parse_bool(no), Ok(false), "{no}");
        }
        for nonsense in ["", "2", "y", "enabled"] {
            assert!(parse_bool(nonsense).is_err(), "{nonsense}");
        }
    }

    #[test]
    fn no_payment_provider_runs_unless_chosen() {
        let unset = Command::try_parse_from(["zhonglian"]).unwrap();
        assert_eq!(unset.settings.payment_provider, None);
        let chosen =
            Command::try_parse_from(["zhonglian", "--payment-provider", "sandbox"]).unwrap();
        assert_eq!(
            chosen.settings.payment_provider,
            Some(PaymentProviderKind::Sandbox)
        );
        assert!(Command::try_parse_from(["zhonglian", "--payment-provider", "free"]).is_err());
    }

    #[test]
    fn currencies_are_codes_and_the_first_is_the_default() {
        let given =
            Command::try_parse_from(["zhonglian", "--supported-currencies", "USD, CNY,USD"])
                .unwrap();
        let currencies = given.settings.supported_currencies;
        assert_eq!(currencies.default_code(), "USD");
        assert!(currencies.contains("CNY") && !currencies.contains("XXX"));
        for bad in ["", "cny", "CNY,", "EURO", "C1Y"] {
            assert!(Currencies::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deposit_limits_are_positive_amounts() {
        let given = Command::try_parse_from(["zhonglian", "--deposit-max", "100.50"]).unwrap();
        assert_eq!(given.settings.deposit_max, Decimal::new(10050, 2));
        for bad in ["0", "-5", "1e3", "1.234", "lots", "100000000.01", ""] {
            assert!(
                Command::try_parse_from(["zhonglian", "--deposit-max", bad]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_pool_size_is_taken_when_given_and_four_per_core_otherwise() {
        let given = Command::try_parse_from(["zhonglian", "--database-pool-size", "12"]).unwrap();
        assert_eq!(given.settings.pool_size(), 12);
        assert!(Command::try_parse_from(["zhonglian", "--database-pool-size", "0"]).is_err());
        let unset = Settings::for_data_dir(PathBuf::from("data"));
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get) as u32;
        assert!(unset.pool_size() >= 4 && unset.pool_size() % 4 == 0);
        assert_eq!(unset.pool_size(), (4 * cores).min(64));
    }

    #[test]
    fn the_investor_limit_rule_defaults_to_regulation_crowdfunding_and_refuses_nonsense() {
        let unset = Command::try_parse_from(["zhonglian"]).unwrap();
        assert_eq!(
            unset.settings.investor_limit_rule,
            InvestorLimitRule::default()
        );
        let given =
            Command::try_parse_from(["zhonglian", "--investor-limit-rule", "100,1,2,1000,500"])
                .unwrap();
        assert_eq!(given.settings.investor_limit_rule.cap, 500.into());
        let refused =
            Command::try_parse_from(["zhonglian", "--investor-limit-rule", "2500,5,10"]).err();
        assert!(refused.is_some_and(|e| e.to_string().contains("five numbers")));
    }
}
