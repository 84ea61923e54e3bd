//! Promo codes (owner of `promo_codes`): percentage or fixed discounts, or
//! access to hidden ticket types; with a usage limit and a validity window.
//! Redeemed under a row lock inside the order's transaction, so a limit of N is
//! used at most N times.

use chrono::{DateTime, Utc};
use protocol::ids::{EventId, PromoCodeId, TicketTypeId};
use protocol::states::PromoKind;
use sqlx::{PgConnection, PgPool};
use tracing::instrument;

use super::ticket_types;
use crate::accounts::Organiser;
use crate::domain::{parse_price, Currency};
use crate::error::{is_unique_violation, parse_state};
use crate::events;
use crate::{Error, Result};

/// A promo code as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PromoCode {
    /// Id.
    pub id: PromoCodeId,
    /// The code (case-insensitive).
    pub code: String,
    /// Percent, fixed or unlock.
    pub kind: PromoKind,
    /// Percent (1-100) or minor units off the order.
    pub value: i64,
    /// Restricts the code to (or, for `unlock`, opens) this ticket type.
    pub ticket_type_id: Option<TicketTypeId>,
    /// Uses allowed; None = unlimited.
    pub max_uses: Option<i32>,
    /// Uses so far.
    pub used: i32,
    /// Valid from.
    pub valid_from: Option<DateTime<Utc>>,
    /// Valid until.
    pub valid_until: Option<DateTime<Utc>>,
    /// The currency of a fixed discount (it applies only to tickets priced in it).
    pub currency: Option<String>,
}

const COLUMNS: &str = "id, code::text AS code, kind, value, ticket_type_id, max_uses, used, \
                       valid_from, valid_until, currency";

/// Organiser input.
#[derive(Debug, Default)]
pub struct NewPromoCode<'a> {
    /// Code, 3-40 of A-Z, 0-9, `-`, `_`.
    pub code: &'a str,
    /// `percent`, `fixed` or `unlock`.
    pub kind: &'a str,
    /// Percent, or a decimal amount for `fixed` (in the currency of the ticket
    /// type it names, or of the event's paid tickets).
    pub value: &'a str,
    /// Ticket type name it is limited to / unlocks.
    pub ticket_type: &'a str,
    /// Usage limit.
    pub max_uses: Option<i32>,
    /// Valid from (None: now).
    pub valid_from: Option<DateTime<Utc>>,
    /// Valid until (None: no end).
    pub valid_until: Option<DateTime<Utc>>,
}

/// The currency a fixed discount is in: the named ticket type's, else the one
/// currency of the event's paid tickets (EUR while there are none).
async fn fixed_currency(
    pool: &PgPool,
    event: EventId,
    ticket_type: Option<&ticket_types::TicketType>,
) -> Result<Currency> {
    if let Some(t) = ticket_type {
        return Currency::parse(&t.currency);
    }
    let mut used = ticket_types::paid_currencies(pool, event).await?;
    match used.len() {
        0 => Currency::parse("EUR"),
        1 => Currency::parse(&used.remove(0)),
        _ => Err(Error::invalid(format!(
            "this event sells tickets in {}: a fixed discount needs the ticket type it is for",
            used.join(" and ")
        ))),
    }
}

/// Creates a promo code for one of the organiser's events.
#[instrument(skip(pool, by, input), fields(org = %by.org_id))]
pub async fn create(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    input: NewPromoCode<'_>,
) -> Result<PromoCode> {
    let event = events::get_for_org(pool, by, slug).await?;
    let code = input.code.trim().to_uppercase();
    if !(3..=40).contains(&code.len())
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::invalid(
            "code must be 3-40 characters of A-Z, 0-9, - and _",
        ));
    }
    let ticket_type = match input.ticket_type.trim() {
        "" => None,
        name => Some(
            ticket_types::by_name(pool, event.id, name)
                .await?
                .ok_or_else(|| Error::invalid(format!("no ticket type named '{name}'")))?,
        ),
    };
    let kind: PromoKind = parse_state(input.kind, "kind must be percent, fixed or unlock")?;
    let (value, currency) = match kind {
        PromoKind::Percent => {
            let p: i64 = input
                .value
                .trim()
                .parse()
                .map_err(|_| Error::invalid("percent must be a whole number"))?;
            if !(1..=100).contains(&p) {
                return Err(Error::invalid("percent must be between 1 and 100"));
            }
            (p, None)
        }
        PromoKind::Fixed => {
            let currency = fixed_currency(pool, event.id, ticket_type.as_ref()).await?;
            let v = parse_price(input.value, &currency)?;
            if v == 0 {
                return Err(Error::invalid("a fixed discount must be more than 0"));
            }
            (v, Some(currency.as_str().to_owned()))
        }
        PromoKind::Unlock => {
            if ticket_type.is_none() {
                return Err(Error::invalid(
                    "an unlock code needs the ticket type it opens",
                ));
            }
            (0, None)
        }
    };
    if input.max_uses.is_some_and(|m| m < 0) {
        return Err(Error::invalid("usage limit must be 0 or more"));
    }
    if let (Some(from), Some(until)) = (input.valid_from, input.valid_until) {
        if until <= from {
            return Err(Error::invalid("a code must end after it starts"));
        }
    }
    sqlx::query_as(&format!(
        "INSERT INTO promo_codes (id, event_id, code, kind, value, ticket_type_id, max_uses, valid_from, valid_until, currency)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLUMNS}"
    ))
    .bind(PromoCodeId::new())
    .bind(event.id)
    .bind(&code)
    .bind(kind)
    .bind(value)
    .bind(ticket_type.map(|t| t.id))
    .bind(input.max_uses)
    .bind(input.valid_from)
    .bind(input.valid_until)
    .bind(currency)
    .fetch_one(pool)
    .await
    .map_err(|e| {
        if is_unique_violation(&e, "promo_codes_event_code_key") {
            Error::Conflict(format!("the code {code} already exists for this event"))
        } else {
            e.into()
        }
    })
}

/// The event's codes, newest first.
pub async fn list(pool: &PgPool, event_id: EventId) -> Result<Vec<PromoCode>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM promo_codes WHERE event_id = $1 ORDER BY created_at DESC"
    ))
    .bind(event_id)
    .fetch_all(pool)
    .await?)
}

/// What withdrawing a promo code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withdrawn {
    /// Never used: it is gone.
    Deleted,
    /// Used by orders, which keep naming it: it ends now instead.
    Ended,
}

/// Withdraws a code of one of the organiser's events: deleted if nobody used
/// it, else ended now (the orders that used it keep it and their discount).
#[instrument(skip(pool, by), fields(org = %by.org_id))]
pub async fn withdraw(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    id: PromoCodeId,
) -> Result<Withdrawn> {
    let event = events::get_for_org(pool, by, slug).await?;
    let mut tx = pool.begin().await?;
    let used: i32 = sqlx::query_scalar(
        "SELECT used FROM promo_codes WHERE id = $1 AND event_id = $2 FOR UPDATE",
    )
    .bind(id)
    .bind(event.id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::not_found("no such promo code"))?;
    let ordered: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM orders WHERE promo_code_id = $1)")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    let done = if used > 0 || ordered {
        sqlx::query(
            "UPDATE promo_codes SET valid_until = least(coalesce(valid_until, now()), now()) WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        Withdrawn::Ended
    } else {
        sqlx::query("DELETE FROM promo_codes WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        Withdrawn::Deleted
    };
    tx.commit().await?;
    Ok(done)
}

/// The one answer for a code that cannot be used, whatever the reason (no
/// such code, not yet or no longer valid, used up, for another ticket): a
/// different answer would tell someone guessing codes that one exists.
fn invalid() -> Error {
    Error::invalid("this promo code is not valid")
}

fn usable(p: &PromoCode, now: DateTime<Utc>) -> Result<()> {
    let started = p.valid_from.is_none_or(|t| t <= now);
    let not_ended = p.valid_until.is_none_or(|t| now < t);
    let left = p.max_uses.is_none_or(|m| p.used < m);
    let in_time = started && not_ended;
    if in_time && left {
        Ok(())
    } else {
        Err(invalid())
    }
}

/// A usable code of the event, without locking (to show unlocked ticket types).
pub async fn lookup(pool: &PgPool, event_id: EventId, code: &str) -> Result<PromoCode> {
    let p: PromoCode = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM promo_codes WHERE event_id = $1 AND code = $2::citext"
    ))
    .bind(event_id)
    .bind(code.trim())
    .fetch_optional(pool)
    .await?
    .ok_or_else(invalid)?;
    usable(&p, Utc::now())?;
    Ok(p)
}

/// Locks a code for redemption inside an order's transaction and counts one use.
pub async fn redeem(conn: &mut PgConnection, event_id: EventId, code: &str) -> Result<PromoCode> {
    let p: PromoCode = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM promo_codes WHERE event_id = $1 AND code = $2::citext FOR UPDATE"
    ))
    .bind(event_id)
    .bind(code.trim())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(invalid)?;
    usable(&p, Utc::now())?;
    sqlx::query("UPDATE promo_codes SET used = used + 1 WHERE id = $1")
        .bind(p.id)
        .execute(&mut *conn)
        .await?;
    Ok(p)
}

/// Gives back the use an order took of code `id` (the order was cancelled
/// or expired), so a limited code is not used up by orders that never happened.
pub async fn give_back(conn: &mut PgConnection, id: PromoCodeId) -> Result<()> {
    sqlx::query("UPDATE promo_codes SET used = used - 1 WHERE id = $1 AND used > 0")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The discount `p` gives on `total` (in `currency`) of ticket type `ticket_type`.
pub fn discount(
    p: &PromoCode,
    ticket_type: TicketTypeId,
    currency: &str,
    total: i64,
) -> Result<i64> {
    if p.ticket_type_id.is_some_and(|t| t != ticket_type) {
        return Err(invalid());
    }
    if p.kind == PromoKind::Fixed && p.currency.as_deref() != Some(currency) {
        return Err(invalid());
    }
    Ok(match p.kind {
        PromoKind::Percent => (total * p.value + 50) / 100,
        PromoKind::Fixed => p.value.min(total),
        PromoKind::Unlock => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(kind: PromoKind, value: i64, tt: Option<TicketTypeId>) -> PromoCode {
        PromoCode {
            id: PromoCodeId::new(),
            code: "X".into(),
            kind,
            value,
            ticket_type_id: tt,
            max_uses: Some(1),
            used: 0,
            valid_from: None,
            valid_until: None,
            currency: (kind == PromoKind::Fixed).then(|| "EUR".into()),
        }
    }

    #[test]
    fn discounts() {
        let t = TicketTypeId::new();
        use PromoKind::*;
        assert_eq!(
            discount(&code(Percent, 15, None), t, "EUR", 4990).unwrap(),
            749
        ); // 748.5 rounds up
        assert_eq!(
            discount(&code(Fixed, 1000, None), t, "EUR", 4990).unwrap(),
            1000
        );
        assert_eq!(
            discount(&code(Fixed, 9000, None), t, "EUR", 4990).unwrap(),
            4990,
            "never below zero"
        );
        assert_eq!(
            discount(&code(Unlock, 0, Some(t)), t, "EUR", 4990).unwrap(),
            0
        );
        assert!(discount(&code(Percent, 10, Some(TicketTypeId::new())), t, "EUR", 100).is_err());
        assert!(
            discount(&code(Fixed, 1000, None), t, "USD", 4990).is_err(),
            "a EUR amount off a USD ticket"
        );
        assert_eq!(
            discount(&code(Percent, 10, None), t, "USD", 1000).unwrap(),
            100
        );
    }

    #[test]
    fn windows_and_limits() {
        let now = Utc::now();
        let mut p = code(PromoKind::Percent, 10, None);
        assert!(usable(&p, now).is_ok());
        p.used = 1;
        assert!(usable(&p, now).is_err());
        p.used = 0;
        p.valid_until = Some(now);
        assert!(usable(&p, now).is_err());
        p.valid_until = None;
        p.valid_from = Some(now + chrono::Duration::minutes(1));
        assert!(usable(&p, now).is_err());
    }
}
