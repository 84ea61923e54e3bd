//! The live panels of attendee pages: the people list with green dots, a
//! channel's chat, a direct conversation, and the server's notices.

use leptos::prelude::*;
use protocol::live::{ClientMsg, Person};
use protocol::states::{AttendeeRole, SanctionKind};
use protocol::Channel;

use super::client::LiveState;
use super::{PersonRow, PEOPLE_PAGE};

/// The people list with green dots. The first page comes with the page; a
/// search box and "More people" fetch further pages from the server (the
/// list is never sent whole).
#[component]
pub fn PeopleList(
    /// The event.
    slug: String,
    /// The first page of people, by name.
    people: Vec<PersonRow>,
    /// Live state.
    live: LiveState,
    /// Called to open a direct conversation.
    on_message: Callback<Person>,
) -> impl IntoView {
    let slug_for_rows = slug.clone();
    let more = RwSignal::new(people.len() >= PEOPLE_PAGE);
    let rows = RwSignal::new(people);
    let query = RwSignal::new(String::new());
    // (search, after): a page after someone extends the list, a first page replaces it.
    // A thread-safe action: with whole-page (Async) rendering the server may
    // drop it on another thread than the one that made it.
    let fetch = Action::new(move |(q, after): &(String, Option<String>)| {
        let (slug, q, after) = (slug.clone(), q.clone(), after.clone());
        async move {
            let page = super::people(slug, Some(q.clone()), after.clone()).await;
            (q, after.is_some(), page)
        }
    });
    Effect::new(move |_| {
        if let Some((q, extend, Ok(page))) = fetch.value().get() {
            // An answer to an older search is dropped.
            if q != query.get_untracked() {
                return;
            }
            more.set(page.len() >= PEOPLE_PAGE);
            if extend {
                rows.update(|r| r.extend(page));
            } else {
                rows.set(page);
            }
        }
    });
    view! {
        <input class="input mb-2" type="search" placeholder="Search people" aria-label="Search people" data-testid="people-search"
            prop:value=move || query.get()
            on:input=move |ev| {
                let q = event_target_value(&ev);
                query.set(q.clone());
                fetch.dispatch((q, None));
            }/>
        <ul class="space-y-1" data-testid="people">
            <For each=move || rows.get() key=|r| r.person.id let:row>
                {person_row(&slug_for_rows, row, live, on_message)}
            </For>
        </ul>
        {move || rows.with(Vec::is_empty).then(|| view! {
            <p class="empty" data-testid="people-empty">{move || match query.get() {
                q if q.trim().is_empty() => "Nobody is here yet.".to_owned(),
                q => format!("Nobody matches “{}”.", q.trim()),
            }}</p>
        })}
        <Show when=move || more.get()>
            <button class="text-sm underline mt-2" data-testid="people-more" on:click=move |_| {
                let after = rows.with_untracked(|r| r.last().map(|p| p.person.id.to_string()));
                fetch.dispatch((query.get_untracked(), after));
            }>"More people"</button>
        </Show>
    }
}

/// The venue's areas, always at hand: Reception and every stage, with how
/// many people are in each and the one the visitor is in marked.
#[component]
pub fn VenueNav(
    /// Event slug.
    slug: String,
    /// The event's stages.
    stages: Vec<super::StageLink>,
    /// The stage the visitor is on (None: Reception).
    here: Option<protocol::ids::StageId>,
    /// Live state (people per area).
    live: LiveState,
) -> impl IntoView {
    let link = "rounded-full px-3 py-1 text-sm border border-slate-300 hover:bg-slate-100 aria-[current=page]:bg-indigo-700 aria-[current=page]:text-white aria-[current=page]:border-indigo-700";
    let current = |yes: bool| yes.then_some("page");
    view! {
        <nav class="mb-4 flex flex-wrap gap-2" aria-label="Venue" data-testid="venue">
            <a class=link href=format!("/e/{slug}/reception") aria-current=current(here.is_none())>
                "Reception"
            </a>
            {stages.into_iter().map(|s| {
                let area = protocol::Area::Stage(s.id);
                view! {
                    <a class=link href=format!("/e/{slug}/stage/{}", s.id) aria-current=current(here == Some(s.id))>
                        {s.name} <span class="sr-only">", people there: "</span>
                        <span class="ml-1 text-xs opacity-80">{move || live.in_area(area)}</span>
                    </a>
                }
            }).collect::<Vec<_>>()}
            <a class=link href=format!("/e/{slug}/networking") data-testid="networking-link">
                "Networking" <span class="sr-only">", people there: "</span>
                <span class="ml-1 text-xs opacity-80">{move || live.in_area(protocol::Area::Networking)}</span>
            </a>
            <a class=link href=format!("/e/{slug}/replay") data-testid="replay-link">"Replay"</a>
        </nav>
    }
}

/// Up to two initials of a name ("Ada Lovelace" → "AL", "grace" → "G").
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

/// A person's avatar: their photo if they uploaded one, else their initials
/// on a colour of their own (the same for them everywhere; every colour
/// keeps white text readable).
pub fn avatar(person: &Person, slug: &str) -> impl IntoView {
    if let Some(url) = person.avatar_url(slug) {
        return view! {
            <img class="h-8 w-8 shrink-0 rounded-full object-cover" src=url alt="" loading="lazy" data-testid="avatar-photo"/>
        }
        .into_any();
    }
    let (id, name) = (person.id, person.name.as_str());
    const COLOURS: [&str; 8] = [
        "bg-indigo-700",
        "bg-teal-700",
        "bg-rose-700",
        "bg-amber-800",
        "bg-sky-800",
        "bg-emerald-800",
        "bg-fuchsia-800",
        "bg-slate-700",
    ];
    let colour = COLOURS[(id.uuid().as_u128() % COLOURS.len() as u128) as usize];
    view! {
        <span class=format!("{colour} grid h-8 w-8 shrink-0 place-items-center rounded-full text-xs font-semibold text-white")
            aria-hidden="true" data-testid="avatar">{initials(name)}</span>
    }
    .into_any()
}

/// One person in the list: avatar with a green dot, name, role, "Message".
fn person_row(
    slug: &str,
    row: PersonRow,
    live: LiveState,
    on_message: Callback<Person>,
) -> impl IntoView {
    let PersonRow { person, role } = row;
    let id = person.id;
    let name = person.name.clone();
    let online = Memo::new(move |_| live.people_online.get().contains(&id));
    let is_me = move || live.me.get().is_some_and(|m| m.id == id);
    view! {
        <li class="flex items-center gap-2" data-testid="person" data-name=name.clone()
            data-online=move || online.get().to_string()>
            <span class="relative">
                {avatar(&person, slug)}
                <span class=move || if online.get() { "absolute -bottom-0.5 -right-0.5 h-3 w-3 rounded-full border-2 border-white bg-green-500" } else { "absolute -bottom-0.5 -right-0.5 h-3 w-3 rounded-full border-2 border-white bg-slate-300" }
                    title=move || if online.get() { "online" } else { "offline" }></span>
            </span>
            <span>{name.clone()}<span class="sr-only">{move || if online.get() { " (online)" } else { " (offline)" }}</span></span>
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
            {move || live.chat.with(|c| !c.iter().any(|m| m.channel == channel)).then(|| view! {
                <p class="empty" data-testid="chat-empty">"No messages yet. Say hello!"</p>
            })}
            <ul class="space-y-1 max-h-96 overflow-y-auto" data-testid="chat-messages" aria-live="polite" aria-relevant="additions" aria-label="Chat messages">
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
                <input class="input flex-1" data-testid="chat-input" placeholder="Say something (mention with @name)" aria-label="Chat message" maxlength="2000"
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
    /// Closes the conversation.
    on_close: Callback<()>,
) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let Person {
        id: other, name, ..
    } = with;
    // Opening a conversation puts the cursor where the reply goes.
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
        }
    });
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
            <div class="flex items-center gap-2">
                <h2 class="font-semibold flex-1">"Messages with " {name.clone()}</h2>
                <button type="button" class="text-sm underline" data-testid="dm-close"
                    on:click=move |_| on_close.run(())>"Close"<span class="sr-only">" the conversation with " {name.clone()}</span></button>
            </div>
            <ul class="space-y-1 max-h-64 overflow-y-auto" aria-live="polite" aria-relevant="additions" aria-label="Direct messages">
                <For each=messages key=|m| m.id let:m>
                    <li data-testid="dm-message"><span class="font-semibold">{m.from.name.clone()}</span>": "
                        <span class="whitespace-pre-wrap">{m.body.clone()}</span></li>
                </For>
            </ul>
            <form class="flex gap-2" on:submit=submit>
                <input class="input flex-1" data-testid="dm-input" aria-label="Direct message" maxlength="2000" node_ref=input
                    prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))/>
                <button class="btn" type="submit">"Send"</button>
            </form>
        </section>
    }
}

/// The People tab of a side panel: the open conversation, if any, above
/// the people list.
#[component]
pub fn PeopleTab(
    /// The event.
    slug: String,
    /// The first page of people.
    people: Vec<PersonRow>,
    /// Live state.
    live: LiveState,
    /// Whose conversation is open.
    talking_to: RwSignal<Option<Person>>,
    /// Opens a conversation.
    open: Callback<Person>,
) -> impl IntoView {
    view! {
        {move || talking_to.get().map(|w| view! {
            <DmPanel with=w live=live on_close=Callback::new(move |()| talking_to.set(None))/>
        })}
        <section class="card">
            <h2 class="font-semibold mb-2">"People"</h2>
            <PeopleList slug=slug people=people live=live on_message=open/>
        </section>
    }
}

/// New direct messages: who wrote, the latest line, and "Reply" (which opens
/// the conversation). Announced politely to screen readers. Messages from
/// the person whose conversation is open count as read.
#[component]
pub fn DmInbox(
    /// Live state.
    live: LiveState,
    /// Whose conversation is open.
    talking_to: RwSignal<Option<Person>>,
    /// Opens a conversation.
    open: Callback<Person>,
) -> impl IntoView {
    Effect::new(move |_| {
        if let Some(with) = talking_to.get() {
            if live.unread.with(|u| u.iter().any(|m| m.from.id == with.id)) {
                live.unread.update(|u| u.retain(|m| m.from.id != with.id));
            }
        }
    });
    // One line per sender: their latest message and how many are new.
    let senders = move || {
        let mut by: Vec<(Person, String, usize)> = Vec::new();
        for m in live.unread.get() {
            match by.iter_mut().find(|(p, ..)| p.id == m.from.id) {
                Some(entry) => {
                    entry.1 = m.body.clone();
                    entry.2 += 1;
                }
                None => by.push((m.from.clone(), m.body.clone(), 1)),
            }
        }
        by
    };
    view! {
        <div aria-live="polite" data-testid="dm-inbox">
            {move || senders().into_iter().map(|(from, last, n)| {
                let name = from.name.clone();
                view! {
                    <p class="notice-ok flex flex-wrap items-center gap-2" data-testid="dm-notification">
                        <span class="font-semibold">{if n == 1 {
                            format!("New message from {name}:")
                        } else {
                            format!("{n} new messages from {name}:")
                        }}</span>
                        <span class="flex-1 truncate">{last}</span>
                        <button class="btn text-sm" type="button" on:click=move |_| open.run(from.clone())>"Reply"</button>
                    </p>
                }
            }).collect::<Vec<_>>()}
        </div>
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

/// What "Message" next to a person does: opens the conversation with them
/// (its history loaded from the server) in a [`DmPanel`] the page shows
/// while `talking_to` is set. Reception and Stage share it.
pub fn dm_opener(
    slug: String,
    live: LiveState,
    talking_to: RwSignal<Option<Person>>,
) -> Callback<Person> {
    Callback::new(move |person: Person| {
        #[cfg(feature = "hydrate")]
        {
            let slug = slug.clone();
            let with = person.id.to_string();
            leptos::task::spawn_local(async move {
                if let Ok(page) = super::dm_history(slug, with, None).await {
                    live.dms.update(|d| {
                        for m in page {
                            if !d.iter().any(|x| x.id == m.id) {
                                d.push(m);
                            }
                        }
                    });
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&slug, live);
        talking_to.set(Some(person));
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn initials_take_the_first_letters_of_two_words() {
        assert_eq!(super::initials("Ada Lovelace"), "AL");
        assert_eq!(super::initials("grace"), "G");
        assert_eq!(super::initials("  Jean-Luc  Picard  Jr "), "JP");
        assert_eq!(super::initials("(Ö) Über"), "ÖÜ");
        assert_eq!(super::initials(""), "");
    }
}
