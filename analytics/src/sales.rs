//! Sales: registrations and revenue per ticket type and per day, net of
//! cancellations and refunds (only orders that stand confirmed count), from
//! what `order.placed` said of each order and where its later facts left it
//! (`analytics.order_states`).

use chrono::NaiveDate;
use protocol::events::{Envelope, Fact};
use protocol::ids::{EventId, TicketTypeId};
use protocol::states::OrderStatus;
use sqlx::{PgConnection, PgPool};

use crate::Result;

/// Keeps what an `order.placed` says the order was (its state is kept by
/// the caller, the latest fact winning). Idempotent: the same values again.
pub async fn apply(conn: &mut PgConnection, env: &Envelope) -> Result<()> {
    let Fact::OrderPlaced(f) = &env.fact else {
        return Ok(());
    };
    sqlx::query(
        "UPDATE analytics.order_states
         SET ticket_type_id = $2, quantity = $3, total_minor = $4, currency = $5, placed_at = $6
         WHERE order_id = $1",
    )
    .bind(f.order_id)
    .bind(f.ticket_type_id)
    .bind(f.quantity)
    .bind(f.total_minor)
    .bind(&f.currency)
    .bind(env.occurred_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One ticket type's confirmed sales.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeSales {
    /// The ticket type.
    pub ticket_type_id: TicketTypeId,
    /// Confirmed orders.
    pub orders: i64,
    /// Tickets in them.
    pub tickets: i64,
    /// Their totals after discounts, in minor units of `currency`.
    pub revenue_minor: i64,
    /// ISO currency.
    pub currency: String,
}

/// One day's confirmed registrations (the day the order was placed, in the
/// event's time zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaySales {
    /// The day.
    pub day: NaiveDate,
    /// Orders placed that day that stand confirmed.
    pub orders: i64,
}

/// Confirmed sales of `event` per ticket type (most revenue first).
pub async fn per_type(pool: &PgPool, event: EventId) -> Result<Vec<TypeSales>> {
    let rows: Vec<(TicketTypeId, i64, i64, i64, String)> = sqlx::query_as(
        "SELECT ticket_type_id, count(*), coalesce(sum(quantity), 0)::bigint,
                coalesce(sum(total_minor), 0)::bigint, currency
         FROM analytics.order_states
         WHERE event_id = $1 AND status = $2 AND ticket_type_id IS NOT NULL
         GROUP BY ticket_type_id, currency
         ORDER BY 4 DESC, 2 DESC, ticket_type_id",
    )
    .bind(event)
    .bind(OrderStatus::Confirmed)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(ticket_type_id, orders, tickets, revenue_minor, currency)| TypeSales {
                ticket_type_id,
                orders,
                tickets,
                revenue_minor,
                currency,
            },
        )
        .collect())
}

/// Confirmed registrations of `event` per day in `zone` (an IANA name),
/// every day from the first to the last, days without any included.
pub async fn per_day(pool: &PgPool, event: EventId, zone: &str) -> Result<Vec<DaySales>> {
    let rows: Vec<(NaiveDate, i64)> = sqlx::query_as(
        "SELECT (placed_at AT TIME ZONE $3)::date AS day, count(*)
         FROM analytics.order_states
         WHERE event_id = $1 AND status = $2 AND placed_at IS NOT NULL
         GROUP BY day ORDER BY day",
    )
    .bind(event)
    .bind(OrderStatus::Confirmed)
    .bind(zone)
    .fetch_all(pool)
    .await?;
    Ok(every_day(&rows))
}

/// The days from the first of `rows` to the last, those missing with none
/// (a chart's columns are days, not the days something happened).
pub fn every_day(rows: &[(NaiveDate, i64)]) -> Vec<DaySales> {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut given = rows.iter().peekable();
    for day in first.0.iter_days().take_while(|d| *d <= last.0) {
        let orders = match given.peek() {
            Some((d, n)) if *d == day => {
                given.next();
                *n
            }
            _ => 0,
        };
        out.push(DaySales { day, orders });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_day_between_the_first_and_the_last_is_a_column() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let days = every_day(&[(d("2027-02-27"), 2), (d("2027-03-02"), 1)]);
        let got: Vec<(String, i64)> = days.iter().map(|s| (s.day.to_string(), s.orders)).collect();
        assert_eq!(
            got,
            [
                ("2027-02-27", 2),
                ("2027-02-28", 0),
                ("2027-03-01", 0),
                ("2027-03-02", 1)
            ]
            .map(|(a, b)| (a.to_owned(), b))
        );
        assert!(every_day(&[]).is_empty());
    }
}
