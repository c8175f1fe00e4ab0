//! Keeping password guessers and sign-up floods slow without locking owners out.
//!
//! Log-in follows OWASP's device-cookie scheme: a browser or client that once logged in to an
//! account holds a signed device token for it. With a valid token, only that device's own
//! failures count (and a device that fails too often loses its standing); without one, failures
//! are counted per account and per client address. An attacker guessing from elsewhere is slowed
//! down, and the owner's known device still gets in.
//!
//! An attempt is counted (and recorded in `login_failures`) before its password is checked, and
//! taken back only when it succeeds, so guesses sent in parallel meet the same limits as guesses
//! sent one after the other. An IPv6 client is counted by its /64 (see `address_key`).

use std::net::{IpAddr, Ipv6Addr};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::domain::UserId;
use crate::error::{Error, Message};

/// The device cookie's name.
pub const DEVICE_COOKIE: &str = "zl_device";
/// How long a device cookie is kept, in seconds (a year).
pub const DEVICE_COOKIE_SECONDS: i64 = 365 * 24 * 3600;
/// Failures allowed in the window to clients without a device cookie, per account.
pub const MAX_ACCOUNT_FAILURES: i64 = 10;
/// Failures allowed in the window to clients without a device cookie, per client address.
pub const MAX_ADDRESS_FAILURES: i64 = 20;
/// Failures allowed in the window to one device cookie before it is treated as unknown.
pub const MAX_DEVICE_FAILURES: i64 = 10;
/// The window of the log-in limits, in minutes.
pub const FAILURE_WINDOW_MINUTES: i64 = 15;
/// The window of the sign-up limit, in minutes.
pub const SIGNUP_WINDOW_MINUTES: i64 = 60;

/// A refusal that may say when to try again (in seconds; the web layer sends it as
/// `Retry-After`, see `accounts::web`).
#[derive(Debug)]
pub struct Refused {
    pub error: Error,
    pub retry_after: Option<i64>,
}

impl From<Error> for Refused {
    fn from(error: Error) -> Self {
        Refused {
            error,
            retry_after: None,
        }
    }
}

impl Refused {
    pub(crate) fn too_many(key: &'static str, retry_after: i64) -> Self {
        Refused {
            error: Error::Throttled(Message::Key(key)),
            retry_after: Some(retry_after.max(1)),
        }
    }
}

/// A device that logged in to `user` before, as its genuine device token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub user: UserId,
    nonce: String,
}

/// The user as a device token names it: 32 hex digits, no hyphens.
fn simple(UserId(user): UserId) -> String {
    user.simple().to_string()
}

fn device_mac(key: &[u8], user: UserId, nonce: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(simple(user).as_bytes());
    mac.update(b".");
    mac.update(nonce.as_bytes());
    mac
}

/// A fresh device token for `user`: `<user>.<random nonce>.<HMAC of both>`.
pub fn issue_device(key: &[u8], user: UserId) -> String {
    let nonce = crate::config::random_hex(16);
    let tag = hex::encode(device_mac(key, user, &nonce).finalize().into_bytes());
    format!("{}.{nonce}.{tag}", simple(user))
}

/// The device a token names, if the token is genuine.
pub fn read_device(key: &[u8], token: &str) -> Option<Device> {
    let mut parts = token.trim().split('.');
    let (user, nonce, tag) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    let user: UserId = user.parse().ok()?;
    let tag = hex::decode(tag).ok()?;
    device_mac(key, user, nonce).verify_slice(&tag).ok()?;
    Some(Device {
        user,
        nonce: nonce.to_owned(),
    })
}

impl Device {
    /// The random part, which is what the device's failures are recorded under.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }
}

/// The key a client address is counted under: an IPv4 address itself, an IPv6 address its /64
/// (`2001:db8:1:2::/64`), an IPv4-mapped IPv6 address its IPv4 address. A home or a server is
/// given a whole /64, so counting each IPv6 address apart would give one guesser 2^64 clients.
pub fn address_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => {
            let network = Ipv6Addr::from(u128::from(ip) & (u128::MAX << 64));
            format!("{network}/64")
        }
    }
}

/// Whose failures a limit counts.
#[derive(Debug, Clone, Copy)]
enum Scope<'a> {
    /// Clients without a valid device cookie, for one account (its lower-cased email).
    Account(&'a str),
    /// Clients without a valid device cookie, from one address (its `address_key`).
    Address(&'a str),
    /// One device cookie (its nonce).
    Device(&'a str),
}

impl Scope<'_> {
    fn limit(self) -> i64 {
        match self {
            Scope::Account(_) => MAX_ACCOUNT_FAILURES,
            Scope::Address(_) => MAX_ADDRESS_FAILURES,
            Scope::Device(_) => MAX_DEVICE_FAILURES,
        }
    }

    /// The name of the advisory lock that serialises this scope's attempts.
    fn lock_name(self) -> String {
        match self {
            Scope::Account(email) => format!("zhonglian/login/account/{email}"),
            Scope::Address(address) => format!("zhonglian/login/address/{address}"),
            Scope::Device(nonce) => format!("zhonglian/login/device/{nonce}"),
        }
    }
}

/// Seconds until `scope` may try again, or `None` when it is within its limit now.
async fn blocked_for(
    conn: &mut sqlx::PgConnection,
    scope: Scope<'_>,
) -> Result<Option<i64>, Error> {
    let (condition, key) = match scope {
        Scope::Account(email) => ("lower(email) = $1 AND device IS NULL", email),
        Scope::Address(address) => ("address = $1 AND device IS NULL", address),
        Scope::Device(nonce) => ("device = $1", nonce),
    };
    // The limit-th newest failure is the one whose ageing out lets the next attempt through.
    let sql = format!(
        "SELECT ceil(extract(epoch FROM failed_at + make_interval(mins => $2::int) - now()))::bigint
         FROM login_failures
         WHERE {condition} AND failed_at > now() - make_interval(mins => $2::int)
         ORDER BY failed_at DESC OFFSET $3 LIMIT 1"
    );
    let wait: Option<i64> = sqlx::query_scalar(&sql)
        .bind(key)
        .bind(FAILURE_WINDOW_MINUTES as i32)
        .bind(scope.limit() - 1)
        .fetch_optional(conn)
        .await?;
    Ok(wait.map(|w| w.max(1)))
}

/// A log-in attempt let through the limits. It is recorded as a failure from the moment it is
/// admitted, so attempts still being checked count against the limits; `forget` it once it
/// turns out not to be a failure.
#[derive(Debug)]
#[must_use = "an admitted attempt counts as a failure until it is forgotten"]
pub struct Admitted {
    id: i64,
}

/// Counts a log-in attempt before its password is checked, or refuses it over the limits.
///
/// With a valid device cookie for the account (`device`), only that device's failures count,
/// and a device over its limit is treated as a client without one. Without one, the account's
/// and the address's failures count. Each scope's attempts are serialised by an advisory lock,
/// taken in one order (device, then account, then address), so parallel guesses are counted one
/// after the other and cannot all pass the check before any is recorded.
pub async fn admit_login(
    db: &sqlx::PgPool,
    email: &str,
    address: Option<IpAddr>,
    device: Option<&Device>,
) -> Result<Admitted, Refused> {
    let address = address.map(address_key);
    let address = address.as_deref();
    if let Some(device) = device {
        let scopes = [Scope::Device(device.nonce())];
        // A device that failed too often is a stranger again.
        if let Ok(admitted) = admit(db, &scopes, email, address, Some(device.nonce())).await? {
            return Ok(admitted);
        }
    }
    let mut scopes = vec![Scope::Account(email)];
    scopes.extend(address.map(Scope::Address));
    admit(db, &scopes, email, address, None)
        .await?
        .map_err(|wait| Refused::too_many("accounts.error.rate_limited", wait))
}

/// Counts a check of a signed-in user's current password (before the account is deleted or its
/// password or address changed) like a log-in attempt on the account from a client without a
/// device cookie, or refuses it over that limit: a session left open cannot be used to guess the
/// password any faster than the log-in form allows. `email` is the account's, lower-cased.
pub async fn admit_password_check(db: &sqlx::PgPool, email: &str) -> Result<Admitted, Refused> {
    admit(db, &[Scope::Account(email)], email, None, None)
        .await?
        .map_err(|wait| Refused::too_many("accounts.error.rate_limited", wait))
}

/// In one transaction: takes the locks of `scopes` in their order, answers the wait when any is
/// over its limit, and otherwise records the attempt (under `device` when it is given).
async fn admit(
    db: &sqlx::PgPool,
    scopes: &[Scope<'_>],
    email: &str,
    address: Option<&str>,
    device: Option<&str>,
) -> Result<Result<Admitted, i64>, Error> {
    let mut tx = db.begin().await?;
    for scope in scopes {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(scope.lock_name())
            .execute(&mut *tx)
            .await?;
    }
    for scope in scopes {
        if let Some(wait) = blocked_for(&mut tx, *scope).await? {
            return Ok(Err(wait));
        }
    }
    // Failures older than the window are never counted again: this account's and this address's
    // go, so guessing does not grow the table without end.
    sqlx::query(
        "DELETE FROM login_failures
         WHERE (lower(email) = $1 OR address = $2)
           AND failed_at <= now() - make_interval(mins => $3::int)",
    )
    .bind(email)
    .bind(address)
    .bind(FAILURE_WINDOW_MINUTES as i32)
    .execute(&mut *tx)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO login_failures (email, address, device) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(email)
    .bind(address)
    .bind(device)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Ok(Admitted { id }))
}

/// Takes back an admitted attempt that was not a failure: a correct log-in, or one whose password
/// could not be checked.
pub async fn forget(db: &sqlx::PgPool, admitted: Admitted) -> Result<(), Error> {
    sqlx::query("DELETE FROM login_failures WHERE id = $1")
        .bind(admitted.id)
        .execute(db)
        .await?;
    Ok(())
}

/// Counts a sign-up attempt from `address`, or refuses it when the address has made `limit`
/// in the last hour. One address's attempts are serialised, so parallel requests cannot all
/// slip under the limit.
pub async fn admit_signup(
    db: &sqlx::PgPool,
    address: Option<IpAddr>,
    limit: u32,
) -> Result<(), Refused> {
    let Some(address) = address.map(address_key) else {
        return Ok(());
    };
    let mut tx = db.begin().await.map_err(Error::from)?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('zhonglian/signup/' || $1, 0))")
        .bind(&address)
        .execute(&mut *tx)
        .await
        .map_err(Error::from)?;
    // Attempts older than the window are never counted again: the table stays small.
    sqlx::query(
        "DELETE FROM signup_attempts
         WHERE address = $1 AND attempted_at <= now() - make_interval(mins => $2::int)",
    )
    .bind(&address)
    .bind(SIGNUP_WINDOW_MINUTES as i32)
    .execute(&mut *tx)
    .await
    .map_err(Error::from)?;
    let wait: Option<i64> = sqlx::query_scalar(
        "SELECT ceil(extract(epoch FROM attempted_at + make_interval(mins => $2::int) - now()))::bigint
         FROM signup_attempts WHERE address = $1
         ORDER BY attempted_at DESC OFFSET $3 LIMIT 1",
    )
    .bind(&address)
    .bind(SIGNUP_WINDOW_MINUTES as i32)
    .bind(i64::from(limit) - 1)
    .fetch_optional(&mut *tx)
    .await
    .map_err(Error::from)?;
    if let Some(wait) = wait {
        return Err(Refused::too_many(
            "accounts.error.signup_rate_limited",
            wait,
        ));
    }
    sqlx::query("INSERT INTO signup_attempts (address) VALUES ($1)")
        .bind(&address)
        .execute(&mut *tx)
        .await
        .map_err(Error::from)?;
    tx.commit().await.map_err(Error::from)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_throttled_by_its_64_and_an_ipv4_one_by_its_address() {
        let cases = [
            ("203.0.113.7", "203.0.113.7"),
            ("::ffff:203.0.113.7", "203.0.113.7"),
            ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
            ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
            ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
            ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
            ("2001:db8:ffff:ffff:1::", "2001:db8:ffff:ffff::/64"),
            ("::1", "::/64"),
            ("fe80::1:2", "fe80::/64"),
        ];
        for (ip, key) in cases {
            let ip: IpAddr = ip.parse().expect("a test address");
            assert_eq!(address_key(ip), key, "{ip}");
        }
    }

    #[test]
    fn a_device_token_verifies_only_unchanged_and_under_its_key() {
        let key = b"device key for tests";
        let user = UserId(uuid::Uuid::new_v4());
        let token = issue_device(key, user);
        let device = read_device(key, &token).expect("a genuine token");
        assert_eq!(device.user, user);
        assert!(read_device(b"another key", &token).is_none());
        let other = UserId(uuid::Uuid::new_v4());
        let swapped = token.replacen(&simple(user), &simple(other), 1);
        assert!(read_device(key, &swapped).is_none(), "the account is bound");
        for bad in ["", "a.b.c", "nonsense", &format!("{token}.extra")] {
            assert!(read_device(key, bad).is_none(), "{bad}");
        }
        assert_ne!(
            issue_device(key, user),
            token,
            "each log-in gets a new nonce"
        );
    }
}
