//! Creating an event: checked against the organisation's plan under a lock on
//! the organisation, stored with the free "General admission" ticket type it
//! starts with, in one transaction.

use tracing::instrument;

use crate::accounts::{orgs, Organiser};
use crate::billing::plans;
use crate::events::{self, Event, NewEvent};
use crate::registrations::ticket_types;
use crate::Result;

/// Creates an event in the organiser's organisation, with one free ticket type.
#[instrument(skip(pool, by, input), fields(org = %by.org_id, slug = input.slug))]
pub async fn create_event(
    pool: &sqlx::PgPool,
    by: &Organiser,
    input: NewEvent<'_>,
) -> Result<Event> {
    let event = events::parse(by.org_id, &input)?;
    let mut tx = pool.begin().await?;
    // A taken address is reported before plan limits (the unique index still decides races).
    events::check_slug_free(&mut tx, &event.slug).await?;
    orgs::lock(&mut tx, by.org_id).await?;
    let plan = plans::of_org(&mut tx, by.org_id).await?;
    plan.check_new_event(events::count_for_org(&mut tx, by.org_id).await?)?;
    events::insert(&mut tx, &event).await?;
    ticket_types::insert_general_admission(&mut tx, event.id).await?;
    tx.commit().await?;
    tracing::info!(event = %event.id, org = %event.org_id, "event created");
    Ok(event)
}
