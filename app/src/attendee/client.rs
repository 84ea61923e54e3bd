//! The live state of an attendee page and, in the browser, the one WebSocket
//! that feeds it: presence, chat, direct messages, polls, questions, captions.
//! It reconnects with back-off and resumes from the last cursor it saw, so
//! messages sent while it was away are not lost.

use std::collections::HashSet;

use leptos::prelude::*;
use protocol::ids::AttendeeId;
use protocol::live::{
    ChatView, ClientMsg, DmView, LiveItem, Person, PollView, QuestionView, ServerMsg,
};
use protocol::states::{AttendeeRole, QaStatus, SanctionKind};
use protocol::{Area, Channel};

use super::PersonRow;

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
    pub areas: RwSignal<Vec<(Area, u64)>>,
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
    /// Caption lines, oldest first (at most 200).
    pub captions: RwSignal<Vec<CaptionLine>>,
    /// The last refusal or notice from the server.
    pub notice: RwSignal<Option<String>>,
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
            captions: RwSignal::new(Vec::new()),
            notice: RwSignal::new(None),
        }
    }

    /// People in `area` now.
    pub fn in_area(&self, area: Area) -> u64 {
        self.areas
            .get()
            .iter()
            .find(|(a, _)| *a == area)
            .map(|(_, n)| *n)
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
            LiveItem::Dm { msg } => self.dms.update(|d| {
                if !d.iter().any(|m| m.id == msg.id) {
                    d.push(msg);
                }
            }),
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
            Effect::new(move |_| socket::connect(slug.clone(), area, cursor.clone(), state));
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (slug, area, cursor);
    }
}

/// The people list with green dots.
#[component]
pub fn PeopleList(
    /// Everyone admitted.
    people: Vec<PersonRow>,
    /// Live state.
    live: LiveState,
    /// Called to open a direct conversation.
    on_message: Callback<Person>,
) -> impl IntoView {
    view! {
        <ul class="space-y-1" data-testid="people">
            {people.into_iter().map(|PersonRow { person, role }| {
                let id = person.id;
                let name = person.name.clone();
                let online = Memo::new(move |_| live.people_online.get().contains(&id));
                let is_me = move || live.me.get().is_some_and(|m| m.id == id);
                view! {
                    <li class="flex items-center gap-2" data-testid="person" data-name=name.clone()
                        data-online=move || online.get().to_string()>
                        <span class=move || if online.get() { "h-2.5 w-2.5 rounded-full bg-green-500" } else { "h-2.5 w-2.5 rounded-full bg-slate-300" }
                            title=move || if online.get() { "online" } else { "offline" }></span>
                        <span>{name.clone()}</span>
                        {(role == AttendeeRole::Moderator).then(|| view! { <span class="text-xs text-slate-500">"moderator"</span> })}
                        <Show when=move || !is_me()>
                            <button class="text-sm underline ml-auto" data-testid="dm-open"
                                on:click={
                                    let person = person.clone();
                                    move |_| on_message.run(person.clone())
                                }>"Message"</button>
                        </Show>
                    </li>
                }
            }).collect::<Vec<_>>()}
        </ul>
    }
}

/// A channel's chat: messages (as text), a form, and moderator actions.
#[component]
pub fn ChatPanel(
    /// The Reception's or a stage's.
    channel: Channel,
    /// Live state.
    live: LiveState,
) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let messages = move || {
        live.chat
            .get()
            .into_iter()
            .filter(|m| m.channel == channel)
            .collect::<Vec<_>>()
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = draft.get_untracked();
        if body.trim().is_empty() {
            return;
        }
        live.send(ClientMsg::Chat { channel, body });
        draft.set(String::new());
    };
    view! {
        <section class="card flex flex-col gap-2" data-testid="chat">
            <h2 class="font-semibold">"Chat"</h2>
            <ul class="space-y-1 max-h-96 overflow-y-auto" data-testid="chat-messages">
                <For each=messages key=|m| m.id let:m>
                    {
                        let me_mentioned = {
                            let mentions = m.mentions.clone();
                            move || live.me.get().is_some_and(|me| mentions.contains(&me.id))
                        };
                        let (id, author_id) = (m.id, m.author.id);
                        let online = Memo::new(move |_| live.people_online.get().contains(&author_id));
                        view! {
                            <li data-testid="chat-message" class=move || if me_mentioned() { "bg-amber-50 rounded px-1" } else { "px-1" }>
                                <span class=move || if online.get() { "inline-block h-2 w-2 rounded-full bg-green-500 mr-1" } else { "inline-block h-2 w-2 rounded-full bg-slate-300 mr-1" }></span>
                                <span class="font-semibold">{m.author.name.clone()}</span>": "
                                <span data-testid="chat-body" class="whitespace-pre-wrap">{m.body.clone()}</span>
                                <Show when=move || live.moderator.get()>
                                    <button class="text-xs underline text-red-700 ml-2" data-testid="chat-delete"
                                        on:click=move |_| live.send(ClientMsg::DeleteChat { id })>"Delete"</button>
                                    <button class="text-xs underline ml-1" data-testid="chat-mute"
                                        on:click=move |_| live.send(ClientMsg::Sanction { attendee: author_id, sanction: SanctionKind::Mute, minutes: Some(10) })>"Mute 10 min"</button>
                                    <button class="text-xs underline ml-1" data-testid="chat-ban"
                                        on:click=move |_| live.send(ClientMsg::Sanction { attendee: author_id, sanction: SanctionKind::Ban, minutes: None })>"Ban"</button>
                                </Show>
                            </li>
                        }
                    }
                </For>
            </ul>
            <form class="flex gap-2" on:submit=submit>
                <input class="input flex-1" data-testid="chat-input" placeholder="Say something (mention with @name)" maxlength="2000"
                    prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))/>
                <button class="btn" type="submit" data-testid="chat-send">"Send"</button>
            </form>
        </section>
    }
}

/// A direct conversation with one person.
#[component]
pub fn DmPanel(
    /// The other person.
    with: Person,
    /// Live state.
    live: LiveState,
) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let Person { id: other, name } = with;
    let messages = move || {
        live.dms
            .get()
            .into_iter()
            .filter(|m| m.from.id == other || m.to == other)
            .collect::<Vec<_>>()
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = draft.get_untracked();
        if body.trim().is_empty() {
            return;
        }
        live.send(ClientMsg::Dm { to: other, body });
        draft.set(String::new());
    };
    view! {
        <section class="card flex flex-col gap-2" data-testid="dm">
            <h2 class="font-semibold">"Messages with " {name}</h2>
            <ul class="space-y-1 max-h-64 overflow-y-auto">
                <For each=messages key=|m| m.id let:m>
                    <li data-testid="dm-message"><span class="font-semibold">{m.from.name.clone()}</span>": "
                        <span class="whitespace-pre-wrap">{m.body.clone()}</span></li>
                </For>
            </ul>
            <form class="flex gap-2" on:submit=submit>
                <input class="input flex-1" data-testid="dm-input" maxlength="2000"
                    prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))/>
                <button class="btn" type="submit">"Send"</button>
            </form>
        </section>
    }
}

/// The server's latest notice (refusals, sanctions).
#[component]
pub fn Notice(live: LiveState) -> impl IntoView {
    move || {
        live.notice.get().map(|m| {
            view! { <p class="rounded bg-amber-50 border border-amber-300 p-2" role="status" data-testid="notice">{m}</p> }
        })
    }
}

#[cfg(feature = "hydrate")]
mod socket {
    //! The browser's WebSocket: reconnect with back-off, resume from the cursor.

    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use std::time::Duration;

    use leptos::prelude::*;
    use send_wrapper::SendWrapper;
    use wasm_bindgen::{closure::Closure, JsCast};
    use web_sys::{CloseEvent, MessageEvent, WebSocket};

    use protocol::live::{ClientMsg, ServerMsg, PROTOCOL_VERSION};
    use protocol::Area;

    use super::LiveState;

    thread_local! {
        static SOCKET: RefCell<Option<WebSocket>> = const { RefCell::new(None) };
    }

    /// Sends on the page's socket, if open.
    pub fn send(msg: &ClientMsg) {
        let Ok(text) = serde_json::to_string(msg) else {
            return;
        };
        SOCKET.with(|s| {
            if let Some(ws) = s.borrow().as_ref() {
                let _ = ws.send_with_str(&text);
            }
        });
    }

    struct Conn {
        base: String,
        state: LiveState,
        cursor: RefCell<Option<String>>,
        stopped: Cell<bool>,
        attempt: Cell<u32>,
    }

    /// Opens the socket now and again after every drop, until the page is left.
    pub fn connect(slug: String, area: Area, cursor: String, state: LiveState) {
        let loc = window().location();
        let scheme = if loc.protocol().ok().as_deref() == Some("https:") {
            "wss"
        } else {
            "ws"
        };
        let host = loc.host().unwrap_or_default();
        let conn = Rc::new(Conn {
            base: format!("{scheme}://{host}/ws/e/{slug}?v={PROTOCOL_VERSION}&area={area}"),
            state,
            cursor: RefCell::new(Some(cursor)),
            stopped: Cell::new(false),
            attempt: Cell::new(0),
        });
        open(conn.clone());
        let guard = SendWrapper::new(conn);
        Owner::on_cleanup(move || {
            let conn = guard.take();
            conn.stopped.set(true);
            SOCKET.with(|s| {
                if let Some(ws) = s.borrow_mut().take() {
                    ws.set_onclose(None);
                    let _ = ws.close();
                }
            });
        });
    }

    fn open(conn: Rc<Conn>) {
        if conn.stopped.get() {
            return;
        }
        let url = match conn.cursor.borrow().as_ref() {
            Some(c) => format!("{}&since={c}", conn.base),
            None => conn.base.clone(),
        };
        let Ok(ws) = WebSocket::new(&url) else {
            return;
        };
        let c = conn.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let Some(text) = ev.data().as_string() else {
                return;
            };
            let Ok(msg) = serde_json::from_str::<ServerMsg>(&text) else {
                return;
            };
            match &msg {
                ServerMsg::Hello { cursor, .. } => {
                    c.attempt.set(0);
                    c.cursor.borrow_mut().get_or_insert_with(|| cursor.clone());
                }
                ServerMsg::Live { cursor, .. } => {
                    *c.cursor.borrow_mut() = Some(cursor.clone());
                }
                _ => {}
            }
            c.state.apply(msg);
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();

        let c = conn.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_ev: CloseEvent| {
            c.state.connected.set(false);
            SOCKET.with(|s| s.borrow_mut().take());
            let attempt = c.attempt.get();
            c.attempt.set(attempt + 1);
            let delay = Duration::from_millis((500u64 << attempt.min(5)).min(10_000));
            let again = SendWrapper::new(c.clone());
            set_timeout(move || open(again.take()), delay);
        });
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        on_close.forget();
        SOCKET.with(|s| *s.borrow_mut() = Some(ws));
    }
}
