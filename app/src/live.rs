//! The live event's actions, shared by the WebSocket and server functions:
//! each runs a domain service, then publishes what changed to the event's live
//! log (see `services::live`) as a [`LiveItem`], with the right audience.

use services::chat::{Actor, ChatMessage, DirectMessage};
use services::live::{self, Audience};
use services::polls::Poll;
use services::qa::Question;
use uuid::Uuid;

use crate::error::{parse_id as id, AppError};
use crate::state::AppState;
use crate::wire::{ChatView, ClientMsg, DmView, LiveItem, Person, PollView, QuestionView};

impl From<&ChatMessage> for ChatView {
    fn from(m: &ChatMessage) -> Self {
        ChatView {
            id: m.id.to_string(),
            seq: m.seq,
            channel: m.channel.clone(),
            author: Person {
                id: m.author_id.to_string(),
                name: m.author_name.clone(),
            },
            body: m.body.clone(),
            mentions: m.mentions.iter().map(Uuid::to_string).collect(),
            at: m.created_at.to_rfc3339(),
        }
    }
}

impl From<&DirectMessage> for DmView {
    fn from(m: &DirectMessage) -> Self {
        DmView {
            id: m.id.to_string(),
            seq: m.seq,
            from: Person {
                id: m.sender_id.to_string(),
                name: m.sender_name.clone(),
            },
            to: m.recipient_id.to_string(),
            body: m.body.clone(),
            at: m.created_at.to_rfc3339(),
        }
    }
}

impl From<&Poll> for PollView {
    fn from(p: &Poll) -> Self {
        PollView {
            id: p.id.to_string(),
            channel: p.channel.clone(),
            question: p.question.clone(),
            options: p.options.clone(),
            multi: p.multi,
            status: p.status.clone(),
            counts: p.counts.clone(),
            voters: p.voters,
        }
    }
}

impl From<&Question> for QuestionView {
    fn from(q: &Question) -> Self {
        QuestionView {
            id: q.id.to_string(),
            channel: q.channel.clone(),
            body: q.body.clone(),
            author: q.author_name.clone(),
            status: q.status.clone(),
            votes: i64::from(q.votes),
        }
    }
}

/// Who sees a question: everyone once visible; moderators and the author while pending or hidden.
fn question_audience(q: &Question) -> Audience {
    match q.status.as_str() {
        "open" | "answered" => Audience::All,
        _ => Audience::Moderators {
            ids: vec![q.author_id],
        },
    }
}

/// Publishes an item to the event's live log; returns its cursor.
pub async fn publish(
    state: &AppState,
    event: Uuid,
    audience: Audience,
    item: &LiveItem,
) -> Result<String, AppError> {
    let mut redis = state.redis.clone();
    Ok(live::publish(&mut redis, event, audience, item).await?)
}

/// Runs one client request for `by`. Everything it changes reaches every
/// connected client (on every node) through the live log.
pub async fn act(state: &AppState, by: &Actor, msg: ClientMsg) -> Result<(), AppError> {
    let pool = &state.pool;
    let ns = state.web.redis_namespace.as_str();
    let event = by.event_id;
    let (audience, item) = match msg {
        ClientMsg::Enter { .. } => return Ok(()), // presence is handled by the socket
        ClientMsg::Chat { channel, body } => {
            let mut redis = state.redis.clone();
            let m = services::chat::post(pool, &mut redis, ns, by, &channel, &body).await?;
            (Audience::All, LiveItem::Chat { msg: (&m).into() })
        }
        ClientMsg::DeleteChat { id: raw } => {
            let gone = services::chat::delete(pool, by, id("id", &raw)?).await?;
            (
                Audience::All,
                LiveItem::ChatDeleted {
                    id: gone.to_string(),
                },
            )
        }
        ClientMsg::Sanction {
            attendee,
            sanction,
            minutes,
        } => {
            let target = id("attendee", &attendee)?;
            let until = services::chat::sanction(pool, by, target, &sanction, minutes).await?;
            (
                Audience::Only { ids: vec![target] },
                LiveItem::Sanction {
                    sanction,
                    until: until.map(|t| t.to_rfc3339()),
                },
            )
        }
        ClientMsg::Dm { to, body } => {
            let to = id("to", &to)?;
            let mut redis = state.redis.clone();
            let m = services::chat::send_dm(pool, &mut redis, ns, by, to, &body).await?;
            (
                Audience::Only {
                    ids: vec![by.id, to],
                },
                LiveItem::Dm { msg: (&m).into() },
            )
        }
        ClientMsg::CreatePoll {
            channel,
            question,
            options,
            multi,
        } => {
            let p = services::polls::create(pool, by, &channel, &question, &options, multi).await?;
            (Audience::All, LiveItem::Poll { poll: (&p).into() })
        }
        ClientMsg::Vote { poll, choices } => {
            let p = services::polls::vote(pool, by, id("poll", &poll)?, &choices).await?;
            (Audience::All, LiveItem::Poll { poll: (&p).into() })
        }
        ClientMsg::ClosePoll { poll } => {
            let p = services::polls::close(pool, by, id("poll", &poll)?).await?;
            (Audience::All, LiveItem::Poll { poll: (&p).into() })
        }
        ClientMsg::Ask { channel, body } => {
            let q = services::qa::ask(pool, by, &channel, &body).await?;
            (
                question_audience(&q),
                LiveItem::Question {
                    question: (&q).into(),
                },
            )
        }
        ClientMsg::Upvote { question } => {
            let q = services::qa::upvote(pool, by, id("question", &question)?).await?;
            (
                question_audience(&q),
                LiveItem::Question {
                    question: (&q).into(),
                },
            )
        }
        ClientMsg::ModerateQuestion { question, status } => {
            let q = services::qa::moderate(pool, by, id("question", &question)?, &status).await?;
            let mut view = QuestionView::from(&q);
            // A hidden question disappears for everyone who saw it; its text goes nowhere.
            let audience = if q.status == "hidden" {
                view.body.clear();
                view.author.clear();
                Audience::All
            } else {
                question_audience(&q)
            };
            (audience, LiveItem::Question { question: view })
        }
    };
    publish(state, event, audience, &item).await?;
    Ok(())
}
