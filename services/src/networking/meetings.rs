//! Meetings, Connect and contact cards (owner of `networking_settings`,
//! `networking_meetings`, `networking_connects` and `networking_cards`).

use chrono::{DateTime, Utc};
use protocol::events::Fact;
use protocol::ids::{AttendeeId, EventId, MeetingId, QuestionId};
use protocol::live::{Card, LiveItem, Person};
use protocol::media::meeting_room;
use protocol::states::{MatchRule, QuestionKind};
use redis::aio::ConnectionManager;
use sqlx::PgPool;

use super::safety;
use crate::accounts::Organiser;
use crate::error::is_unique_violation;
use crate::live::log::{self, Audience};
use crate::live::participants::Actor;
use crate::live::sessions::Grant;
use crate::registrations::{attendees, orders, questions};
use crate::{domain_events, events, Error, Result};

/// How long a call lasts unless the organiser says otherwise.
pub const DEFAULT_CALL_SECS: i32 = 180;

/// How long someone stays in the queue without saying again that they wait
/// (the page says so every 15 s): a closed tab leaves it within this.
pub const WAIT_LEASE_SECS: i64 = 40;

/// The length of the event's calls, in seconds.
pub async fn call_secs(pool: &PgPool, event: EventId) -> Result<i32> {
    Ok(
        sqlx::query_scalar("SELECT call_secs FROM networking_settings WHERE event_id = $1")
            .bind(event)
            .fetch_optional(pool)
            .await?
            .unwrap_or(DEFAULT_CALL_SECS),
    )
}

/// Sets the length of calls in one of the organiser's events.
pub async fn set_call_secs(pool: &PgPool, by: &Organiser, slug: &str, secs: &str) -> Result<i32> {
    let event = events::get_for_org(pool, by, slug).await?;
    let secs: i32 = secs
        .trim()
        .parse()
        .ok()
        .filter(|s| (10..=1800).contains(s))
        .ok_or_else(|| Error::invalid("a call lasts 10 to 1800 seconds"))?;
    sqlx::query(
        "INSERT INTO networking_settings (event_id, call_secs) VALUES ($1, $2)
         ON CONFLICT (event_id) DO UPDATE SET call_secs = EXCLUDED.call_secs",
    )
    .bind(event.id)
    .bind(secs)
    .execute(pool)
    .await?;
    Ok(secs)
}

/// Whom the event's networking pairs with whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Matching {
    /// The rule.
    pub rule: MatchRule,
    /// The question whose answers must agree ([`MatchRule::SameAnswer`]).
    pub question: Option<QuestionId>,
}

/// The event's matching rule (anyone, unless the organiser set one; a rule
/// on a question that was removed is anyone too).
pub async fn matching(pool: &PgPool, event: EventId) -> Result<Matching> {
    let row: Option<(MatchRule, Option<QuestionId>)> = sqlx::query_as(
        "SELECT match_rule, match_question FROM networking_settings WHERE event_id = $1",
    )
    .bind(event)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some((MatchRule::SameAnswer, None)) | None => Matching {
            rule: MatchRule::Anyone,
            question: None,
        },
        Some((rule, question)) => Matching { rule, question },
    })
}

/// Sets the matching rule of one of the organiser's events; `question` (a
/// choice question of the event) only for [`MatchRule::SameAnswer`].
pub async fn set_matching(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    rule: &str,
    question: &str,
) -> Result<Matching> {
    let event = events::get_for_org(pool, by, slug).await?;
    let rule: MatchRule = rule
        .parse()
        .map_err(|_| Error::invalid("choose how people are paired"))?;
    let question = if rule == MatchRule::SameAnswer {
        let id: QuestionId = question
            .trim()
            .parse()
            .map_err(|_| Error::invalid("choose the question whose answers must agree"))?;
        let asked = questions::list(pool, event.id).await?;
        if !asked
            .iter()
            .any(|q| q.id == id && q.kind == QuestionKind::Choice)
        {
            return Err(Error::invalid(
                "pairing by answer takes a choice question of this event",
            ));
        }
        Some(id)
    } else {
        None
    };
    sqlx::query(
        "INSERT INTO networking_settings (event_id, call_secs, match_rule, match_question)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (event_id) DO UPDATE
         SET match_rule = EXCLUDED.match_rule, match_question = EXCLUDED.match_question",
    )
    .bind(event.id)
    .bind(DEFAULT_CALL_SECS)
    .bind(rule)
    .bind(question)
    .execute(pool)
    .await?;
    Ok(Matching { rule, question })
}

/// What the rule compares of `who`: their ticket types, or their answer
/// (trimmed, lowercase) to the rule's question.
async fn tags(pool: &PgPool, m: Matching, who: AttendeeId) -> Result<Vec<String>> {
    Ok(match (m.rule, m.question) {
        (MatchRule::SameTicketType | MatchRule::OtherTicketType, _) => {
            orders::ticket_types_of(pool, who)
                .await?
                .into_iter()
                .map(|t| t.to_string())
                .collect()
        }
        (MatchRule::SameAnswer, Some(q)) => questions::answer_to(pool, who, q)
            .await?
            .map(|a| a.trim().to_lowercase())
            .filter(|a| !a.is_empty())
            .into_iter()
            .collect(),
        _ => Vec::new(),
    })
}

/// How the pairing script compares tags: `any` (ignores them), `share` (at
/// least one in common; two people without any also fit), `differ` (none
/// in common).
fn mode(rule: MatchRule) -> &'static str {
    match rule {
        MatchRule::Anyone => "any",
        MatchRule::SameTicketType | MatchRule::SameAnswer => "share",
        MatchRule::OtherTicketType => "differ",
    }
}

fn queue_key(ns: &str, event: EventId) -> String {
    format!("{ns}net:{event}:queue")
}

fn tags_key(ns: &str, event: EventId) -> String {
    format!("{ns}net:{event}:tags")
}

/// Drops lapsed waiters; takes the longest-waiting one the asker may meet
/// (not avoided, and fitting the rule), or else puts the asker in the queue
/// with their tags. KEYS[1] the queue, KEYS[2] the waiters' rule and tags
/// (one per line, the rule first); ARGV: asker, now, lapse before, mode
/// (see [`mode`]), the rule, the asker's tags (one per line), then everyone
/// the asker may not meet. A waiter whose tags were read under another rule
/// (the organiser changed it) is passed over until they ask again, within
/// 15 s. Returns the partner, or false while waiting. One script: two
/// askers never take the same waiter.
pub const PAIR: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local avoid = {}
for i = 7, #ARGV do avoid[ARGV[i]] = true end
local mode, rule = ARGV[4], ARGV[5]
local mine, have = {}, false
for t in string.gmatch(ARGV[6], '[^\n]+') do mine[t] = true; have = true end
local function fits(m)
  if mode == 'any' then return true end
  local first, common, theirs = true, false, false
  for t in string.gmatch(redis.call('HGET', KEYS[2], m) or '', '[^\n]+') do
    if first then
      if t ~= rule then return false end
      first = false
    else
      theirs = true
      if mine[t] then common = true end
    end
  end
  if first then return false end
  if mode == 'share' then return common or (not have and not theirs) end
  return not common
end
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if m ~= ARGV[1] and not avoid[m] and fits(m) then
    redis.call('ZREM', KEYS[1], m, ARGV[1])
    redis.call('HDEL', KEYS[2], m, ARGV[1])
    return m
  end
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], rule .. '\n' .. ARGV[6])
redis.call('EXPIRE', KEYS[1], 3600)
redis.call('EXPIRE', KEYS[2], 3600)
return false
";

/// Where "Meet someone" left the asker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meet {
    /// In the queue.
    Waiting,
    /// Paired: the meeting has begun (both heard of it on the live log).
    Matched(MeetingId),
}

/// Everyone `who` may not be paired with: met before in the event, or blocked either way.
async fn avoided(pool: &PgPool, event: EventId, who: AttendeeId) -> Result<Vec<AttendeeId>> {
    let mut ids: Vec<AttendeeId> = sqlx::query_scalar(
        "SELECT second_id FROM networking_meetings WHERE event_id = $1 AND first_id = $2
         UNION SELECT first_id FROM networking_meetings WHERE event_id = $1 AND second_id = $2",
    )
    .bind(event)
    .bind(who)
    .fetch_all(pool)
    .await?;
    ids.extend(safety::kept_apart(pool, event, who).await?);
    Ok(ids)
}

/// "Meet someone": pairs `by` with a waiting attendee, or queues them (again:
/// the page calls this every 15 s while waiting).
pub async fn meet(
    pool: &PgPool,
    redis: &mut ConnectionManager,
    ns: &str,
    by: &Actor,
) -> Result<Meet> {
    // Milliseconds: who waited longest is decided by the score.
    let now = Utc::now().timestamp_millis();
    let avoid = avoided(pool, by.event_id, by.id).await?;
    let rule = matching(pool, by.event_id).await?;
    let mine = tags(pool, rule, by.id).await?;
    let script = redis::Script::new(PAIR);
    let mut call = script.key(queue_key(ns, by.event_id));
    call.key(tags_key(ns, by.event_id))
        .arg(by.id.to_string())
        .arg(now)
        .arg(now - WAIT_LEASE_SECS * 1000)
        .arg(mode(rule.rule))
        .arg(rule.rule.as_str())
        .arg(mine.join("\n"));
    for a in &avoid {
        call.arg(a.to_string());
    }
    let partner: Option<String> = call.invoke_async(redis).await?;
    let Some(partner) = partner else {
        return Ok(Meet::Waiting);
    };
    let partner: AttendeeId = partner
        .parse()
        .map_err(|_| Error::Internal("a queue entry that is not an attendee".into()))?;
    let Some(other) = attendees::in_event(pool, by.event_id, partner).await? else {
        // They left the event meanwhile: wait for someone else.
        return Box::pin(meet(pool, redis, ns, by)).await;
    };
    let secs = call_secs(pool, by.event_id).await?;
    let (first, second) = if by.id < partner {
        (by.id, partner)
    } else {
        (partner, by.id)
    };
    let id = MeetingId::new();
    let mut tx = pool.begin().await?;
    let ends_at: DateTime<Utc> = match sqlx::query_scalar(
        "INSERT INTO networking_meetings (id, event_id, first_id, second_id, ends_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) RETURNING ends_at",
    )
    .bind(id)
    .bind(by.event_id)
    .bind(first)
    .bind(second)
    .bind(f64::from(secs))
    .fetch_one(&mut *tx)
    .await
    {
        Ok(t) => t,
        Err(e) if is_unique_violation(&e, "networking_pair_once") => {
            return Err(Error::Conflict("you have met this person already".into()))
        }
        Err(e) => return Err(e.into()),
    };
    let pair = protocol::events::Meeting {
        meeting_id: id,
        first_id: first,
        second_id: second,
    };
    domain_events::record(&mut tx, by.scope(), Fact::Met(pair)).await?;
    tx.commit().await?;
    let them = Person {
        id: other.id,
        name: other.name,
        avatar: other.avatar,
    };
    for (to, with) in [(by.id, them), (partner, by.person())] {
        let item = LiveItem::Matched {
            meeting: id,
            with,
            ends_at: ends_at.to_rfc3339(),
        };
        log::publish(redis, by.event_id, Audience::Only { ids: vec![to] }, item).await?;
    }
    Ok(Meet::Matched(id))
}

/// Leaves the queue.
pub async fn stop_waiting(redis: &mut ConnectionManager, ns: &str, by: &Actor) -> Result<()> {
    let () = redis::pipe()
        .cmd("ZREM")
        .arg(queue_key(ns, by.event_id))
        .arg(by.id.to_string())
        .ignore()
        .cmd("HDEL")
        .arg(tags_key(ns, by.event_id))
        .arg(by.id.to_string())
        .ignore()
        .query_async(redis)
        .await?;
    Ok(())
}

/// A meeting.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Meeting {
    /// Its id.
    pub id: MeetingId,
    /// One of the pair.
    pub first_id: AttendeeId,
    /// The other.
    pub second_id: AttendeeId,
    /// When the call ends.
    pub ends_at: DateTime<Utc>,
}

impl Meeting {
    /// The other person of the pair, if `who` is one of them.
    pub fn other_than(&self, who: AttendeeId) -> Option<AttendeeId> {
        if who == self.first_id {
            Some(self.second_id)
        } else if who == self.second_id {
            Some(self.first_id)
        } else {
            None
        }
    }
}

/// One of `by`'s meetings (not found for anyone else's).
pub async fn get(pool: &PgPool, by: &Actor, id: MeetingId) -> Result<Meeting> {
    let m: Meeting = sqlx::query_as(
        "SELECT id, first_id, second_id, ends_at FROM networking_meetings WHERE id = $1 AND event_id = $2",
    )
    .bind(id)
    .bind(by.event_id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found("no such meeting"))?;
    m.other_than(by.id)
        .ok_or_else(|| Error::not_found("no such meeting"))?;
    Ok(m)
}

/// A join token for the meeting's call, while it lasts.
pub async fn grant(pool: &PgPool, by: &Actor, id: MeetingId) -> Result<Grant> {
    let m = get(pool, by, id).await?;
    if m.ends_at <= Utc::now() {
        return Err(Error::Conflict("this call has ended".into()));
    }
    // The node ends the call at its end, whatever the pages do.
    Grant::speaker(pool, by, meeting_room(id), Some(m.ends_at)).await
}

/// What `who` shares, as a card.
async fn card_of(pool: &PgPool, event: EventId, who: AttendeeId) -> Result<Card> {
    let a = attendees::in_event(pool, event, who)
        .await?
        .ok_or_else(|| Error::not_found("no such attendee"))?;
    let row: Option<(String, bool, String)> = sqlx::query_as(
        "SELECT headline, share_email, links FROM networking_cards WHERE attendee_id = $1",
    )
    .bind(who)
    .fetch_optional(pool)
    .await?;
    let (headline, share_email, links) = row.unwrap_or((String::new(), true, String::new()));
    Ok(Card {
        person: Person {
            id: a.id,
            name: a.name,
            avatar: a.avatar,
        },
        headline,
        email: share_email.then_some(a.email),
        links: links
            .lines()
            .map(str::to_owned)
            .filter(|l| !l.is_empty())
            .collect(),
    })
}

/// `by` presses Connect in meeting `id`; when both have, each gets the
/// other's card on the live log (and it is returned).
pub async fn connect(
    pool: &PgPool,
    redis: &mut ConnectionManager,
    by: &Actor,
    id: MeetingId,
) -> Result<Option<Card>> {
    let m = get(pool, by, id).await?;
    let other = m.other_than(by.id).unwrap_or(by.id);
    // The meeting's row, locked, puts two presses at once one after the
    // other: the second counts both, and only the press that made the
    // pair complete records `networking.connected` (a repeat press adds
    // no row and records nothing).
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT 1 FROM networking_meetings WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let added = sqlx::query("INSERT INTO networking_connects (meeting_id, attendee_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(id)
        .bind(by.id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    let both: i64 =
        sqlx::query_scalar("SELECT count(*) FROM networking_connects WHERE meeting_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    if added && both == 2 {
        let pair = protocol::events::Meeting {
            meeting_id: id,
            first_id: m.first_id,
            second_id: m.second_id,
        };
        domain_events::record(&mut tx, by.scope(), Fact::Connected(pair)).await?;
    }
    tx.commit().await?;
    if both < 2 {
        return Ok(None);
    }
    let (mine, theirs) = (
        card_of(pool, by.event_id, by.id).await?,
        card_of(pool, by.event_id, other).await?,
    );
    for (to, card) in [(by.id, theirs.clone()), (other, mine)] {
        let item = LiveItem::Connected { meeting: id, card };
        log::publish(redis, by.event_id, Audience::Only { ids: vec![to] }, item).await?;
    }
    Ok(Some(theirs))
}

/// The cards of everyone `by` connected with, in the order they met.
pub async fn connections(pool: &PgPool, by: &Actor) -> Result<Vec<Card>> {
    let others: Vec<AttendeeId> = sqlx::query_scalar(
        "SELECT CASE WHEN m.first_id = $2 THEN m.second_id ELSE m.first_id END
         FROM networking_meetings m
         WHERE m.event_id = $1 AND (m.first_id = $2 OR m.second_id = $2)
           AND (SELECT count(*) FROM networking_connects c WHERE c.meeting_id = m.id) = 2
         ORDER BY m.started_at",
    )
    .bind(by.event_id)
    .bind(by.id)
    .fetch_all(pool)
    .await?;
    let mut cards = Vec::with_capacity(others.len());
    for o in others {
        cards.push(card_of(pool, by.event_id, o).await?);
    }
    Ok(cards)
}

/// Sets what `by` shares on their card.
pub async fn set_card(
    pool: &PgPool,
    by: &Actor,
    headline: &str,
    share_email: bool,
    links: &str,
) -> Result<()> {
    let headline = headline.trim();
    if headline.chars().count() > 200 {
        return Err(Error::invalid(
            "the headline must be at most 200 characters",
        ));
    }
    let links: Vec<&str> = links
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if links.iter().any(|l| {
        !(l.starts_with("https://") || l.starts_with("http://") || l.starts_with("mailto:"))
            || l.len() > 300
    }) {
        return Err(Error::invalid(
            "each link must start with https:// (one per line)",
        ));
    }
    let links = links.join("\n");
    if links.len() > 1000 {
        return Err(Error::invalid(
            "links must be at most 1000 characters in all",
        ));
    }
    sqlx::query(
        "INSERT INTO networking_cards (attendee_id, headline, share_email, links) VALUES ($1, $2, $3, $4)
         ON CONFLICT (attendee_id) DO UPDATE SET headline = EXCLUDED.headline, share_email = EXCLUDED.share_email, links = EXCLUDED.links",
    )
    .bind(by.id)
    .bind(headline)
    .bind(share_email)
    .bind(&links)
    .execute(pool)
    .await?;
    Ok(())
}

/// `by`'s own card.
pub async fn my_card(pool: &PgPool, by: &Actor) -> Result<Card> {
    card_of(pool, by.event_id, by.id).await
}

/// A vCard 3.0 of the cards (one `VCARD` each), with text escaped as RFC 2426 says.
pub fn vcards(cards: &[Card]) -> String {
    fn esc(s: &str) -> String {
        s.replace('\\', "\\\\")
            .replace(',', "\\,")
            .replace(';', "\\;")
            .replace(['\r', '\n'], " ")
    }
    let mut out = String::new();
    for c in cards {
        out.push_str("BEGIN:VCARD\r\nVERSION:3.0\r\n");
        out.push_str(&format!("FN:{}\r\n", esc(&c.person.name)));
        if !c.headline.is_empty() {
            out.push_str(&format!("TITLE:{}\r\n", esc(&c.headline)));
        }
        if let Some(e) = &c.email {
            out.push_str(&format!("EMAIL;TYPE=INTERNET:{}\r\n", esc(e)));
        }
        for l in &c.links {
            out.push_str(&format!("URL:{}\r\n", esc(l)));
        }
        out.push_str("END:VCARD\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vcards_escape_what_would_break_them() {
        let id: AttendeeId = "67e55044-10b1-426f-9247-bb680e5fe0c8".parse().unwrap();
        let card = Card {
            person: Person {
                id,
                name: "Ada; Lovelace, Countess".into(),
                avatar: None,
            },
            headline: "Maths\nand more".into(),
            email: Some("ada@example.org".into()),
            links: vec!["https://example.org/ada".into()],
        };
        let v = vcards(&[card]);
        assert!(v.starts_with("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada\\; Lovelace\\, Countess\r\n"));
        assert!(v.contains("TITLE:Maths and more\r\n"));
        assert!(v.contains("EMAIL;TYPE=INTERNET:ada@example.org\r\n"));
        assert!(v.ends_with("URL:https://example.org/ada\r\nEND:VCARD\r\n"));
    }
}
