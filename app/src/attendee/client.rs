//! The live state of an attendee page and, in the browser, the one WebSocket
//! that feeds it: presence, chat, direct messages, polls, questions, captions.
//! It reconnects with back-off and resumes from the last cursor it saw, so
//! messages sent while it was away are not lost.

use std::collections::HashSet;

use leptos::prelude::*;
use protocol::ids::{AttendeeId, PollId, QaQuestionId};
use protocol::live::{
    AreaCount, ChatView, ClientMsg, DmView, LiveItem, Person, PollView, QuestionView, ServerMsg,
};
use protocol::states::{QaStatus, SanctionKind};
use protocol::{Area, Channel};

#[cfg(feature = "hydrate")]
use super::socket;

/// A caption line of the Translations app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptionLine {
    /// Its channel.
    pub channel: Channel,
    /// Its language.
    pub language: String,
    /// The text.
    pub body: String,
}

/// Everything live on the page, as signals.
#[derive(Clone, Copy)]
pub struct LiveState {
    /// The socket is open.
    pub connected: RwSignal<bool>,
    /// People in the event now.
    pub online: RwSignal<u64>,
    /// The people online (green dots).
    pub people_online: RwSignal<HashSet<AttendeeId>>,
    /// People per area.
    pub areas: RwSignal<Vec<AreaCount>>,
    /// Me, once the server said hello.
    pub me: RwSignal<Option<Person>>,
    /// I moderate this event.
    pub moderator: RwSignal<bool>,
    /// Chat messages of every channel, oldest first.
    pub chat: RwSignal<Vec<ChatView>>,
    /// Direct messages to and from me.
    pub dms: RwSignal<Vec<DmView>>,
    /// Polls.
    pub polls: RwSignal<Vec<PollView>>,
    /// Questions.
    pub questions: RwSignal<Vec<QuestionView>>,
    /// Polls I voted in.
    pub voted: RwSignal<HashSet<PollId>>,
    /// Questions I upvoted.
    pub upvoted: RwSignal<HashSet<QaQuestionId>>,
    /// Direct messages to me that I have not opened yet, oldest first.
    pub unread: RwSignal<Vec<DmView>>,
    /// Caption lines, oldest first (at most 200).
    pub captions: RwSignal<Vec<CaptionLine>>,
    /// The last refusal or notice from the server.
    pub notice: RwSignal<Option<String>>,
    /// Video news (requests to go on screen, hosts' actions, a session
    /// ending, a stage's new source, networking matches and connections),
    /// oldest first; a page reads what it has not yet.
    pub call_news: RwSignal<Vec<LiveItem>>,
}

impl LiveState {
    /// Empty state with `online` people.
    pub fn new(online: u64, moderator: bool) -> Self {
        LiveState {
            connected: RwSignal::new(false),
            online: RwSignal::new(online),
            people_online: RwSignal::new(HashSet::new()),
            areas: RwSignal::new(Vec::new()),
            me: RwSignal::new(None),
            moderator: RwSignal::new(moderator),
            chat: RwSignal::new(Vec::new()),
            dms: RwSignal::new(Vec::new()),
            polls: RwSignal::new(Vec::new()),
            questions: RwSignal::new(Vec::new()),
            voted: RwSignal::new(HashSet::new()),
            upvoted: RwSignal::new(HashSet::new()),
            unread: RwSignal::new(Vec::new()),
            captions: RwSignal::new(Vec::new()),
            notice: RwSignal::new(None),
            call_news: RwSignal::new(Vec::new()),
        }
    }

    /// People in `area` now.
    pub fn in_area(&self, area: Area) -> u64 {
        self.areas
            .get()
            .iter()
            .find(|c| c.area == area)
            .map(|c| c.people)
            .unwrap_or(0)
    }

    /// Applies a server message.
    pub fn apply(&self, msg: ServerMsg) {
        match msg {
            ServerMsg::Hello {
                online,
                me,
                moderator,
                gap,
                ..
            } => {
                self.connected.set(true);
                self.online.set(online);
                self.me.set(Some(me));
                self.moderator.set(moderator);
                if gap {
                    self.notice.set(Some(
                        "You missed some messages; reload to see them all.".into(),
                    ));
                }
            }
            ServerMsg::Presence {
                online,
                people,
                areas,
            } => {
                self.online.set(online);
                self.people_online.set(people.into_iter().collect());
                self.areas.set(areas);
            }
            ServerMsg::Live { item, .. } => self.apply_item(item),
            ServerMsg::Error { message, .. } => self.notice.set(Some(message)),
            ServerMsg::MediaOffer { .. }
            | ServerMsg::MediaCandidate { .. }
            | ServerMsg::MediaSpeaker { .. }
            | ServerMsg::MediaClosed { .. } => {
                #[cfg(feature = "hydrate")]
                super::call::deliver(msg);
            }
        }
    }

    /// Applies one live log entry.
    pub fn apply_item(&self, item: LiveItem) {
        match item {
            LiveItem::Chat { msg } => self.chat.update(|c| {
                if !c.iter().any(|m| m.id == msg.id) {
                    c.push(msg);
                }
            }),
            LiveItem::ChatDeleted { id } => self.chat.update(|c| c.retain(|m| m.id != id)),
            LiveItem::Dm { msg } => {
                if self
                    .dms
                    .with_untracked(|d| d.iter().any(|m| m.id == msg.id))
                {
                    return;
                }
                let to_me = self
                    .me
                    .with_untracked(|me| me.as_ref().is_some_and(|me| me.id != msg.from.id));
                if to_me {
                    self.unread.update(|u| u.push(msg.clone()));
                }
                self.dms.update(|d| d.push(msg));
            }
            LiveItem::Poll { poll } => {
                self.polls
                    .update(|ps| match ps.iter_mut().find(|p| p.id == poll.id) {
                        Some(p) => *p = poll,
                        None => ps.push(poll),
                    })
            }
            LiveItem::Question { question } => self.questions.update(|qs| {
                qs.retain(|q| q.id != question.id);
                if question.status != QaStatus::Hidden || !question.body.is_empty() {
                    qs.push(question);
                }
                let answered = |q: &QuestionView| q.status == QaStatus::Answered;
                qs.sort_by_key(|q| (answered(q), -q.votes));
            }),
            LiveItem::Caption {
                channel,
                language,
                body,
            } => self.captions.update(|c| {
                c.push(CaptionLine {
                    channel,
                    language,
                    body,
                });
                let excess = c.len().saturating_sub(200);
                c.drain(..excess);
            }),
            LiveItem::SessionControl { .. }
            | LiveItem::StageChanged { .. }
            | LiveItem::SessionEnded { .. }
            | LiveItem::SessionRecording { .. }
            | LiveItem::ScreenRequest { .. }
            | LiveItem::Matched { .. }
            | LiveItem::Connected { .. } => self.call_news.update(|n| n.push(item)),
            LiveItem::Sanction { sanction, until } => {
                self.notice.set(Some(match (sanction, until) {
                    (SanctionKind::Ban, _) => "A moderator removed you from this event.".into(),
                    (_, Some(t)) => format!("A moderator muted you until {t}."),
                    _ => "A moderator muted you.".into(),
                }))
            }
        }
    }

    /// Sends a request on the live socket (no-op on the server or while disconnected).
    pub fn send(&self, msg: ClientMsg) {
        #[cfg(feature = "hydrate")]
        socket::send(&msg);
        #[cfg(not(feature = "hydrate"))]
        let _ = msg;
    }

    /// Opens the live socket for this page (in the browser), resuming after
    /// `cursor` (the live log's position when the page's data was read).
    pub fn connect(&self, slug: String, area: Area, cursor: String) {
        #[cfg(feature = "hydrate")]
        {
            let state = *self;
            Effect::new(move |_| {
                socket::connect(
                    slug.clone(),
                    area,
                    cursor.clone(),
                    move |msg| state.apply(msg),
                    move || state.connected.set(false),
                )
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (slug, area, cursor);
    }
}
