//! A Stage: the stream (HLS or an embedded player), its chat, and the apps the
//! organiser installed (Polls, Q&A, Translations, third-party apps).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::client::{ChatPanel, LiveState, Notice, PeopleList};
use crate::error::AppError;
use crate::ui::error_list;
use crate::wire::{ChatView, ClientMsg, PollView, QuestionView};

/// A third-party app beside the stage.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EmbedApp {
    /// Name.
    pub name: String,
    /// URL with the signed context token in its fragment.
    pub src: String,
}

/// What a stage page shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StageData {
    /// Event slug.
    pub slug: String,
    /// Event name.
    pub event: String,
    /// Stage id.
    pub id: String,
    /// Stage name.
    pub name: String,
    /// `hls`, `embed` or `none`.
    pub source_kind: String,
    /// Stream or player URL.
    pub source_url: String,
    /// The viewer moderates.
    pub moderator: bool,
    /// People in the event now.
    pub online: u64,
    /// The live log's position when the page was made (the socket resumes there).
    pub cursor: String,
    /// Latest chat messages.
    pub chat: Vec<ChatView>,
    /// Polls app installed.
    pub polls_app: bool,
    /// Polls.
    pub polls: Vec<PollView>,
    /// Q&A app installed.
    pub qa_app: bool,
    /// Questions the viewer may see.
    pub questions: Vec<QuestionView>,
    /// Caption languages (Translations app).
    pub languages: Vec<String>,
    /// Third-party apps.
    pub embeds: Vec<EmbedApp>,
    /// Everyone registered: (id, name, role).
    pub people: Vec<(String, String, String)>,
}

/// A stage of the event, for its attendees.
#[server(endpoint = "stage")]
pub async fn stage_info(slug: String, stage: String) -> Result<StageData, AppError> {
    use services::apps;
    let (state, event, me) = super::current_attendee(&slug).await?;
    let id = stage
        .trim()
        .parse()
        .map_err(|_| AppError::new(crate::error::ErrorKind::NotFound, "no such stage"))?;
    let s = services::stages::get(&state.pool, event.id, id).await?;
    let channel = format!("stage:{}", s.id);
    let installed = apps::installed(&state.pool, event.id).await?;
    let has = |app: &str| installed.iter().any(|i| i.app_id == app);
    let languages = installed
        .iter()
        .find(|i| i.app_id == apps::TRANSLATIONS)
        .and_then(|i| i.config["languages"].as_str())
        .map(|l| {
            l.split(',')
                .map(|x| x.trim().to_lowercase())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut embeds = Vec::new();
    for i in installed.iter().filter(|i| i.app_id == apps::EMBED) {
        let token = apps::context_token(
            &state.pool,
            &apps::Context {
                issuer: &state.web.public_url,
                install: i.id,
                event: event.id,
                attendee: me.id,
                name: &me.name,
                role: if me.moderator {
                    "moderator"
                } else {
                    "attendee"
                },
            },
        )
        .await?;
        embeds.push(EmbedApp {
            name: i.config["name"].as_str().unwrap_or("App").to_owned(),
            src: format!(
                "{}#convene_token={token}",
                i.config["url"].as_str().unwrap_or_default()
            ),
        });
    }
    let mut redis = state.redis.clone();
    let online = services::presence::count(&mut redis, event.id).await?;
    // Read before the history and apps' state, so nothing falls between the two.
    let cursor = services::live::head(&mut redis, event.id).await?;
    let chat = services::chat::history(&state.pool, event.id, &channel, None, 50).await?;
    let polls = if has(apps::POLLS) {
        services::polls::list(&state.pool, event.id, &channel).await?
    } else {
        Vec::new()
    };
    let questions = if has(apps::QA) {
        services::qa::list(&state.pool, &me, &channel).await?
    } else {
        Vec::new()
    };
    Ok(StageData {
        people: super::people_of(&state, event.id).await?,
        slug: event.slug.clone(),
        event: event.name.clone(),
        id: s.id.to_string(),
        name: s.name,
        source_kind: s.source_kind,
        source_url: s.source_url,
        moderator: me.moderator,
        online,
        cursor,
        chat: chat.iter().map(Into::into).collect(),
        polls_app: has(apps::POLLS),
        polls: polls.iter().map(Into::into).collect(),
        qa_app: has(apps::QA),
        questions: questions.iter().map(Into::into).collect(),
        languages,
        embeds,
    })
}

/// `/e/{slug}/stage/{id}`.
#[component]
pub fn StagePage() -> impl IntoView {
    let params = use_params_map();
    let data = Resource::new(
        move || {
            let p = params.read();
            (
                p.get("slug").unwrap_or_default(),
                p.get("id").unwrap_or_default(),
            )
        },
        |(slug, id)| stage_info(slug, id),
    );
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    data.await.map(|s| view! { <Stage s=s/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn Stage(s: StageData) -> impl IntoView {
    let live = LiveState::new(s.online, s.moderator);
    live.chat.set(s.chat.clone());
    live.polls.set(s.polls.clone());
    live.questions.set(s.questions.clone());
    let channel = format!("stage:{}", s.id);
    live.connect(s.slug.clone(), channel.clone(), s.cursor.clone());
    let area = channel.clone();
    let player = match s.source_kind.as_str() {
        "hls" => view! {
            // public/hls-attach.js plays the stream (natively or with hls.js).
            <video class="w-full aspect-video bg-black rounded" controls autoplay muted playsinline
                data-hls-src=s.source_url.clone() data-testid="player"></video>
        }
        .into_any(),
        "embed" => view! {
            <iframe class="w-full aspect-video rounded" src=s.source_url.clone() data-testid="player"
                allow="autoplay; fullscreen; picture-in-picture" sandbox="allow-scripts allow-same-origin allow-presentation"></iframe>
        }
        .into_any(),
        _ => view! { <div class="w-full aspect-video bg-slate-800 text-white grid place-items-center rounded" data-testid="player">"The stream starts soon."</div> }.into_any(),
    };
    let reception = format!("/e/{}/reception", s.slug);
    view! {
        <div class="space-y-4">
            <p class="text-sm text-slate-500"><a class="underline" href=reception>{s.event.clone()}</a> " · Stage"</p>
            <h1 class="text-2xl font-bold">{s.name.clone()}</h1>
            <p class="text-slate-600"><span data-testid="watching">{move || live.in_area(&area)}</span> " watching"</p>
            <Notice live=live/>
            <div class="grid grid-cols-3 gap-4">
                <div class="col-span-2 space-y-4">
                    {player}
                    {(!s.languages.is_empty()).then(|| view! { <Captions channel=channel.clone() languages=s.languages.clone() live=live/> })}
                    {s.polls_app.then(|| view! { <Polls channel=channel.clone() live=live/> })}
                    {s.qa_app.then(|| view! { <QandA channel=channel.clone() live=live/> })}
                    {s.embeds.into_iter().map(|e| view! {
                        <section class="card">
                            <h2 class="font-semibold">{e.name}</h2>
                            <iframe class="w-full h-64" src=e.src sandbox="allow-scripts allow-forms" referrerpolicy="no-referrer" data-testid="app-frame"></iframe>
                        </section>
                    }).collect::<Vec<_>>()}
                </div>
                <div class="space-y-4">
                    <ChatPanel channel=channel.clone() live=live/>
                    <section class="card">
                        <h2 class="font-semibold mb-2">"People"</h2>
                        <PeopleList people=s.people live=live on_message=Callback::new(|_| ())/>
                    </section>
                </div>
            </div>
        </div>
    }
}

/// The Polls app: live results, voting, and (for moderators) a form to start one.
#[component]
fn Polls(channel: String, live: LiveState) -> impl IntoView {
    let question = RwSignal::new(String::new());
    let options = RwSignal::new(String::new());
    let multi = RwSignal::new(false);
    let ch = channel.clone();
    let polls = move || {
        live.polls
            .get()
            .into_iter()
            .filter(|p| p.channel == ch)
            .collect::<Vec<_>>()
    };
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        live.send(ClientMsg::CreatePoll {
            channel: channel.clone(),
            question: question.get_untracked(),
            options: options.get_untracked().lines().map(str::to_owned).collect(),
            multi: multi.get_untracked(),
        });
        question.set(String::new());
        options.set(String::new());
    };
    view! {
        <section class="card space-y-3" data-testid="polls">
            <h2 class="font-semibold">"Polls"</h2>
            <For each=polls key=|p| format!("{}:{}:{}", p.id, p.status, p.voters) let:p>
                <PollCard p=p live=live/>
            </For>
            <Show when=move || live.moderator.get()>
                <form class="space-y-2" on:submit=create.clone()>
                    <input class="input" placeholder="Question" data-testid="poll-question"
                        prop:value=move || question.get() on:input=move |ev| question.set(event_target_value(&ev))/>
                    <textarea class="input" rows="3" placeholder="One option per line" data-testid="poll-options"
                        prop:value=move || options.get() on:input=move |ev| options.set(event_target_value(&ev))></textarea>
                    <label><input type="checkbox" on:change=move |ev| multi.set(event_target_checked(&ev))/>" Several choices"</label>
                    <button class="btn" type="submit" data-testid="poll-create">"Start poll"</button>
                </form>
            </Show>
        </section>
    }
}

#[component]
fn PollCard(p: PollView, live: LiveState) -> impl IntoView {
    let open = p.status == "open";
    let total: i64 = p.counts.iter().sum::<i64>().max(1);
    let id = p.id.clone();
    view! {
        <div class="border rounded p-2" data-testid="poll" data-status=p.status.clone()>
            <p class="font-semibold">{p.question.clone()}</p>
            <ul>
                {p.options.iter().enumerate().map(|(i, o)| {
                    let n = p.counts.get(i).copied().unwrap_or(0);
                    let pct = n * 100 / total;
                    let id = id.clone();
                    view! {
                        <li class="flex items-center gap-2 my-1">
                            {open.then(|| view! {
                                <button class="btn text-sm" data-testid="poll-vote"
                                    on:click=move |_| live.send(ClientMsg::Vote { poll: id.clone(), choices: vec![i as u32] })>{o.clone()}</button>
                            })}
                            {(!open).then(|| view! { <span>{o.clone()}</span> })}
                            <span class="text-sm" data-testid="poll-count">{n}</span>
                            <span class="h-2 bg-sky-500 rounded" style=format!("width: {}px", pct * 2)></span>
                        </li>
                    }
                }).collect::<Vec<_>>()}
            </ul>
            <p class="text-xs text-slate-500"><span data-testid="poll-voters">{p.voters}</span> " voted · " {p.status.clone()}</p>
            {(open && live.moderator.get_untracked()).then(|| {
                let id = p.id.clone();
                view! { <button class="text-sm underline" data-testid="poll-close" on:click=move |_| live.send(ClientMsg::ClosePoll { poll: id.clone() })>"Close poll"</button> }
            })}
        </div>
    }
}

/// The Q&A app: ask, upvote, and (for moderators) approve/answer/hide.
#[component]
fn QandA(channel: String, live: LiveState) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let ch = channel.clone();
    let questions = move || {
        live.questions
            .get()
            .into_iter()
            .filter(|q| q.channel == ch && q.status != "hidden")
            .collect::<Vec<_>>()
    };
    let ask = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = draft.get_untracked();
        if body.trim().is_empty() {
            return;
        }
        live.send(ClientMsg::Ask {
            channel: channel.clone(),
            body,
        });
        draft.set(String::new());
    };
    view! {
        <section class="card space-y-2" data-testid="qa">
            <h2 class="font-semibold">"Q&A"</h2>
            <ul class="space-y-1">
                <For each=questions key=|q| format!("{}:{}:{}", q.id, q.status, q.votes) let:q>
                    {
                        let (up, approve, answer, hide) = (q.id.clone(), q.id.clone(), q.id.clone(), q.id.clone());
                        let pending = q.status == "pending";
                        view! {
                            <li class="flex items-center gap-2" data-testid="question" data-status=q.status.clone()>
                                <button class="btn text-sm" data-testid="question-upvote" disabled={q.status != "open"}
                                    on:click=move |_| live.send(ClientMsg::Upvote { question: up.clone() })>
                                    "▲ " <span data-testid="question-votes">{q.votes}</span>
                                </button>
                                <span data-testid="question-body">{q.body.clone()}</span>
                                <span class="text-xs text-slate-500">{q.author.clone()} " · " {q.status.clone()}</span>
                                <Show when=move || live.moderator.get()>
                                    {
                                        let (approve, answer, hide) = (approve.clone(), answer.clone(), hide.clone());
                                        view! {
                                            {pending.then(|| { let id = approve.clone(); view! { <button class="text-xs underline" data-testid="question-approve" on:click=move |_| live.send(ClientMsg::ModerateQuestion { question: id.clone(), status: "open".into() })>"Approve"</button> } })}
                                            <button class="text-xs underline" data-testid="question-answer" on:click=move |_| live.send(ClientMsg::ModerateQuestion { question: answer.clone(), status: "answered".into() })>"Answered"</button>
                                            <button class="text-xs underline text-red-700" data-testid="question-hide" on:click=move |_| live.send(ClientMsg::ModerateQuestion { question: hide.clone(), status: "hidden".into() })>"Hide"</button>
                                        }
                                    }
                                </Show>
                            </li>
                        }
                    }
                </For>
            </ul>
            <form class="flex gap-2" on:submit=ask>
                <input class="input flex-1" data-testid="question-input" placeholder="Ask the speakers" maxlength="500"
                    prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))/>
                <button class="btn" type="submit" data-testid="question-ask">"Ask"</button>
            </form>
        </section>
    }
}

/// The Translations app: pick a language, read its live captions.
#[component]
fn Captions(channel: String, languages: Vec<String>, live: LiveState) -> impl IntoView {
    let lang = RwSignal::new(languages.first().cloned().unwrap_or_default());
    let lines = move || {
        let l = lang.get();
        live.captions
            .get()
            .into_iter()
            .filter(|(c, language, _)| *c == channel && *language == l)
            .map(|(_, _, text)| text)
            .collect::<Vec<_>>()
    };
    view! {
        <section class="card" data-testid="captions">
            <label class="text-sm">"Captions "
                <select class="input inline w-auto" on:change=move |ev| lang.set(event_target_value(&ev))>
                    {languages.into_iter().map(|l| view! { <option value=l.clone()>{l.clone()}</option> }).collect::<Vec<_>>()}
                </select>
            </label>
            <ul class="text-lg">{move || lines().into_iter().map(|t| view! { <li data-testid="caption">{t}</li> }).collect::<Vec<_>>()}</ul>
        </section>
    }
}
