//! Types that travel between server and browser (WebSocket protocol, page data).

use serde::{Deserialize, Serialize};

/// Version of the live WebSocket protocol; the client sends it as `?v=`.
/// v2: one multiplexed socket for presence, chat, direct messages and apps,
/// with cursors for resuming.
pub const PROTOCOL_VERSION: u32 = 2;

/// Someone in the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Attendee id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// A chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatView {
    /// Message id.
    pub id: String,
    /// Order of messages (for paging back).
    pub seq: i64,
    /// `reception` or `stage:<id>`.
    pub channel: String,
    /// Who wrote it.
    pub author: Person,
    /// Plain text (shown as text, never as HTML).
    pub body: String,
    /// Attendee ids mentioned with `@Name`.
    pub mentions: Vec<String>,
    /// RFC 3339 time.
    pub at: String,
}

/// A direct message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmView {
    /// Message id.
    pub id: String,
    /// Order.
    pub seq: i64,
    /// Sender.
    pub from: Person,
    /// Recipient's attendee id.
    pub to: String,
    /// Plain text.
    pub body: String,
    /// RFC 3339 time.
    pub at: String,
}

/// A poll with its live results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollView {
    /// Poll id.
    pub id: String,
    /// Channel it runs in.
    pub channel: String,
    /// Question.
    pub question: String,
    /// Options.
    pub options: Vec<String>,
    /// Several choices allowed.
    pub multi: bool,
    /// `open` or `closed`.
    pub status: String,
    /// Votes per option.
    pub counts: Vec<i64>,
    /// People who voted.
    pub voters: i64,
}

/// A question of the Q&A app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionView {
    /// Question id.
    pub id: String,
    /// Channel.
    pub channel: String,
    /// Text.
    pub body: String,
    /// Author's name.
    pub author: String,
    /// `pending`, `open`, `answered` or `hidden`.
    pub status: String,
    /// Upvotes.
    pub votes: i64,
}

/// Something that happened live, as carried in the event's live log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveItem {
    /// A new chat message.
    Chat {
        /// The message.
        msg: ChatView,
    },
    /// A chat message was removed by a moderator.
    ChatDeleted {
        /// Its id.
        id: String,
    },
    /// A direct message (only to its two people).
    Dm {
        /// The message.
        msg: DmView,
    },
    /// A poll was created or its results changed.
    Poll {
        /// The poll.
        poll: PollView,
    },
    /// A question was asked, voted on or moderated.
    Question {
        /// The question.
        question: QuestionView,
    },
    /// A caption line of the Translations app.
    Caption {
        /// Channel.
        channel: String,
        /// Language code.
        language: String,
        /// Text.
        body: String,
    },
    /// A moderator muted or banned the receiver.
    Sanction {
        /// `mute` or `ban`.
        sanction: String,
        /// RFC 3339 end, if any.
        until: Option<String>,
    },
}

/// A message from the server on the live WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// First message after connecting.
    Hello {
        /// Protocol version the server speaks.
        v: u32,
        /// People in the event right now.
        online: u64,
        /// The connected attendee.
        me: Person,
        /// Whether they moderate this event.
        moderator: bool,
        /// Position in the live log; send it back as `since` when reconnecting.
        cursor: String,
        /// Entries replayed after this message (missed while disconnected).
        resumed: u32,
        /// Some missed entries are gone: reload history.
        gap: bool,
    },
    /// Who is in the event right now.
    Presence {
        /// People in the event right now.
        online: u64,
        /// Ids of the attendees online (the green dots).
        people: Vec<String>,
        /// People per area, e.g. `("stage:<id>", 12)`.
        areas: Vec<(String, u64)>,
    },
    /// An entry of the live log.
    Live {
        /// Its position; the newest one seen is the resume point.
        cursor: String,
        /// What happened.
        item: LiveItem,
    },
    /// A request of this client was refused.
    Error {
        /// Machine-readable code: `invalid`, `forbidden`, `rate_limited`, `muted`, ...
        code: String,
        /// Human-readable reason.
        message: String,
    },
}

/// A message from the browser on the live WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// I am now in this area (`reception`, `stage:<id>`, `people`).
    Enter {
        /// Area.
        area: String,
    },
    /// Post to a chat channel.
    Chat {
        /// Channel.
        channel: String,
        /// Text.
        body: String,
    },
    /// Remove a chat message (moderators).
    DeleteChat {
        /// Message id.
        id: String,
    },
    /// Mute (for `minutes`) or ban an attendee (moderators).
    Sanction {
        /// Attendee id.
        attendee: String,
        /// `mute` or `ban`.
        sanction: String,
        /// Mute length; none = until lifted.
        minutes: Option<u32>,
    },
    /// Send a direct message.
    Dm {
        /// Recipient's attendee id.
        to: String,
        /// Text.
        body: String,
    },
    /// Start a poll (moderators).
    CreatePoll {
        /// Channel.
        channel: String,
        /// Question.
        question: String,
        /// Options.
        options: Vec<String>,
        /// Several choices allowed.
        multi: bool,
    },
    /// Vote in a poll (option indexes).
    Vote {
        /// Poll id.
        poll: String,
        /// Chosen option indexes.
        choices: Vec<u32>,
    },
    /// Close a poll (moderators).
    ClosePoll {
        /// Poll id.
        poll: String,
    },
    /// Ask a question.
    Ask {
        /// Channel.
        channel: String,
        /// Text.
        body: String,
    },
    /// Upvote a question (once per person).
    Upvote {
        /// Question id.
        question: String,
    },
    /// Approve (`open`), answer or hide a question (moderators).
    ModerateQuestion {
        /// Question id.
        question: String,
        /// New status.
        status: String,
    },
}

/// An event as pages show it, times already formatted in the event's zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    /// URL slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Plain-text description.
    pub description: String,
    /// Start, local to the event.
    pub starts: String,
    /// End, local to the event.
    pub ends: String,
    /// IANA time zone.
    pub time_zone: String,
}

#[cfg(feature = "ssr")]
impl From<&services::events::Event> for EventView {
    fn from(e: &services::events::Event) -> Self {
        use services::events::local_time;
        EventView {
            slug: e.slug.clone(),
            name: e.name.clone(),
            description: e.description.clone(),
            starts: local_time(e.starts_at, &e.time_zone),
            ends: local_time(e.ends_at, &e.time_zone),
            time_zone: e.time_zone.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_json() {
        let m = ServerMsg::Presence {
            online: 2,
            people: vec!["a".into()],
            areas: vec![("reception".into(), 2)],
        };
        let s = serde_json::to_string(&m).unwrap();
        assert_eq!(
            s,
            r#"{"type":"presence","online":2,"people":["a"],"areas":[["reception",2]]}"#
        );
        assert_eq!(serde_json::from_str::<ServerMsg>(&s).unwrap(), m);
        let live = ServerMsg::Live {
            cursor: "1-0".into(),
            item: LiveItem::ChatDeleted { id: "x".into() },
        };
        assert_eq!(
            serde_json::to_string(&live).unwrap(),
            r#"{"type":"live","cursor":"1-0","item":{"kind":"chat_deleted","id":"x"}}"#
        );
        let c: ClientMsg =
            serde_json::from_str(r#"{"type":"chat","channel":"reception","body":"hi"}"#).unwrap();
        assert_eq!(
            c,
            ClientMsg::Chat {
                channel: "reception".into(),
                body: "hi".into()
            }
        );
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"nope"}"#).is_err());
    }
}
