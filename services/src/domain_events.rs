//! Writing domain events: each fact goes to the outbox on the connection of
//! the transaction that made it true (see the `bus` crate), stamped with its
//! id, time, organisation and event.

use chrono::Utc;
use protocol::events::{Envelope, Fact};
use protocol::ids::{DomainEventId, EventId, OrgId};
use sqlx::PgConnection;

use crate::events::Event;
use crate::Result;

/// The event a fact happened in, and its organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    /// The organisation.
    pub org_id: OrgId,
    /// The event.
    pub event_id: EventId,
}

impl From<&Event> for Scope {
    fn from(e: &Event) -> Self {
        Scope {
            org_id: e.org_id,
            event_id: e.id,
        }
    }
}

fn envelope(scope: Scope, fact: Fact) -> Envelope {
    Envelope {
        id: DomainEventId::new(),
        version: fact.version(),
        occurred_at: Utc::now(),
        org_id: scope.org_id,
        event_id: scope.event_id,
        fact,
    }
}

/// Records one fact (call inside the causing transaction).
pub async fn record(
    conn: &mut PgConnection,
    scope: impl Into<Scope>,
    fact: Fact,
) -> Result<Envelope> {
    let env = envelope(scope.into(), fact);
    bus::outbox::append(conn, &env).await?;
    Ok(env)
}

/// Records several facts in one statement, in order.
pub async fn record_all(
    conn: &mut PgConnection,
    scope: impl Into<Scope>,
    facts: impl IntoIterator<Item = Fact>,
) -> Result<Vec<Envelope>> {
    let scope = scope.into();
    let envs: Vec<Envelope> = facts.into_iter().map(|f| envelope(scope, f)).collect();
    bus::outbox::append_all(conn, &envs).await?;
    Ok(envs)
}
