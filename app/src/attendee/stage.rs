//! A Stage: the stream (HLS or an embedded player), its chat, and the apps the
//! organiser installed (Polls, Q&A, Translations, third-party apps).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use protocol::ids::{PollId, QaQuestionId, StageId};
use protocol::live::{ChatView, ClientMsg, LiveItem, PollView, QuestionView};
use protocol::states::{PollStatus, QaStatus, StageSourceKind};
use protocol::{Area, Channel};

use super::client::LiveState;
use super::panels::{dm_opener, ChatPanel, DmInbox, Notice, PeopleTab};
use super::side::{PanelState, SidePanel, Tab, TabPanel};
use super::PersonRow;
use crate::error::AppError;
use crate::forms::error_list;

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
    pub id: StageId,
    /// Stage name.
    pub name: String,
    /// What it plays.
    pub source_kind: StageSourceKind,
    /// Stream or player URL.
    pub source_url: String,
    /// The video a simulive stage plays.
    pub simulive: Option<super::player::SimuliveView>,
    /// Its broadcast from the backstage (a stage live from one).
    pub broadcast: Option<super::broadcast::BroadcastView>,
    /// The server's clock when the page was made (Unix milliseconds).
    pub now_ms: i64,
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
    /// Polls the viewer voted in.
    pub my_votes: Vec<PollId>,
    /// The event's stages (the venue's areas).
    pub stages: Vec<super::StageLink>,
    /// Questions the viewer upvoted.
    pub my_upvotes: Vec<QaQuestionId>,
    /// Caption languages (Translations app).
    pub languages: Vec<String>,
    /// Third-party apps.
    pub embeds: Vec<EmbedApp>,
    /// Everyone admitted.
    pub people: Vec<PersonRow>,
}

/// A stage of the event, for its attendees.
#[server(prefix = "/fn", endpoint = "stage")]
pub async fn stage_info(slug: String, stage: String) -> Result<StageData, AppError> {
    use protocol::states::AppKind;
    use services::live::{apps, chat, log, polls, presence, qa, stages};
    let (platform, event, me) = super::current_attendee(&slug).await?;
    let id = stage
        .trim()
        .parse()
        .map_err(|_| AppError::new(crate::error::ErrorKind::NotFound, "no such stage"))?;
    let mut redis = platform.redis.clone();
    // Read first, so nothing falls between the page and the socket: a
    // change of the stage's source, history, apps' state.
    let cursor = log::head(&mut redis, event.id).await?;
    let s = stages::get(&platform.pool, event.id, id).await?;
    let channel = Channel::Stage(s.id);
    let installed = apps::installed(&platform.pool, event.id).await?;
    let has = |app: AppKind| installed.iter().any(|i| i.app_id == app);
    let languages = installed
        .iter()
        .find(|i| i.app_id == AppKind::Translations)
        .and_then(|i| i.config["languages"].as_str())
        .map(|l| {
            l.split(',')
                .map(|x| x.trim().to_lowercase())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut embeds = Vec::new();
    for i in installed.iter().filter(|i| i.app_id == AppKind::Embed) {
        let token = apps::context_token(
            &platform.pool,
            &apps::Context {
                issuer: &platform.public_url,
                install: i.id,
                event: event.id,
                attendee: me.id,
                name: &me.name,
                role: me.role,
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
    let now = chrono::Utc::now().timestamp_millis();
    let simulive = match (s.source_kind, s.source_asset, s.starts_at) {
        (StageSourceKind::Simulive, Some(asset), Some(starts)) => {
            let video = services::assets::of_event(&platform.pool, event.id, asset).await?;
            let (starts, duration) = (starts.timestamp_millis(), video.duration_ms.unwrap_or(0));
            // The video's path only while it may be watched (see simulive_media).
            let media = if protocol::simulive::released(starts, duration, now) {
                services::assets::watch_path(&platform.pool, video.id).await?
            } else {
                String::new()
            };
            Some(super::player::SimuliveView {
                stage: s.id,
                video: super::player::MediaView {
                    media,
                    title: video.title,
                    thumbnail: video.thumbnail,
                    captions: video.captions,
                    duration_ms: duration,
                },
                starts_ms: starts,
            })
        }
        _ => None,
    };
    let online = presence::count(&mut redis, event.id).await?;
    let chat = chat::history(&platform.pool, event.id, channel, None, 50).await?;
    let (polls, my_votes) = if has(AppKind::Polls) {
        (
            polls::list(&platform.pool, event.id, channel).await?,
            polls::voted_in(&platform.pool, event.id, channel, me.id).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let (questions, my_upvotes) = if has(AppKind::Qa) {
        (
            qa::list(&platform.pool, &me, channel).await?,
            qa::upvoted_by(&platform.pool, event.id, channel, me.id).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(StageData {
        broadcast: super::broadcast::BroadcastView::of(&platform.pool, &me, &s).await?,
        people: super::people_of(&platform, event.id).await?,
        slug: event.slug.clone(),
        event: event.name.clone(),
        id: s.id,
        name: s.name,
        source_kind: s.source_kind,
        source_url: s.source_url,
        simulive,
        now_ms: now,
        moderator: me.moderator(),
        online,
        cursor,
        chat: chat.iter().map(|m| m.view()).collect(),
        polls_app: has(AppKind::Polls),
        polls: polls.iter().map(|p| p.view()).collect(),
        qa_app: has(AppKind::Qa),
        my_votes,
        my_upvotes,
        stages: stages::list(&platform.pool, event.id)
            .await?
            .into_iter()
            .map(|s| super::StageLink {
                id: s.id,
                name: s.name,
            })
            .collect(),
        questions: questions.iter().map(|q| q.view()).collect(),
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
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    data.await.map(|s| view! { <Stage s=s/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// What a stage's player plays. Who is on air and the layout are apart
/// ([`Air`]): changing them must not make the player join again.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Source {
    kind: StageSourceKind,
    url: String,
    simulive: Option<super::player::SimuliveView>,
    broadcast: Option<super::broadcast::BroadcastView>,
    now_ms: i64,
}

/// Who is on air on a broadcasting stage, and how they are laid out.
type Air = (
    Vec<protocol::ids::AttendeeId>,
    protocol::states::StageLayout,
);

impl Source {
    fn of(s: &StageData) -> (Source, Air) {
        let air = s
            .broadcast
            .as_ref()
            .map(|b| (b.on_air.clone(), b.layout))
            .unwrap_or((Vec::new(), protocol::states::StageLayout::Solo));
        let broadcast = s
            .broadcast
            .clone()
            .map(|b| super::broadcast::BroadcastView {
                on_air: Vec::new(),
                layout: protocol::states::StageLayout::Solo,
                ..b
            });
        let source = Source {
            kind: s.source_kind,
            url: s.source_url.clone(),
            simulive: s.simulive.clone(),
            broadcast,
            // Only a simulive player reads the page's clock.
            now_ms: if s.simulive.is_some() { s.now_ms } else { 0 },
        };
        (source, air)
    }

    fn view(self, slug: String, live: LiveState, air: RwSignal<Air>) -> AnyView {
        let soon = || {
            view! { <div class="w-full aspect-video bg-slate-800 text-white grid place-items-center rounded" data-testid="player">"The stream starts soon."</div> }.into_any()
        };
        match self.kind {
            StageSourceKind::Simulive => match self.simulive {
                Some(v) => view! { <super::player::Simulive v=v now_ms=self.now_ms slug=slug/> }.into_any(),
                None => soon(),
            },
            StageSourceKind::Hls => view! {
                // public/hls-attach.js plays the stream (natively or with hls.js).
                <video class="w-full aspect-video bg-black rounded" controls autoplay muted playsinline
                    data-hls-src=self.url data-testid="player"></video>
            }
            .into_any(),
            StageSourceKind::Embed => view! {
                <iframe class="w-full aspect-video rounded" src=self.url data-testid="player"
                    allow="autoplay; fullscreen; picture-in-picture" sandbox="allow-scripts allow-same-origin allow-presentation"></iframe>
            }
            .into_any(),
            StageSourceKind::Backstage => match self.broadcast {
                Some(b) => view! { <super::broadcast::LiveBroadcast b=b slug=slug live=live air=air/> }.into_any(),
                None => soon(),
            },
            StageSourceKind::None => soon(),
        }
    }
}

#[component]
fn Stage(s: StageData) -> impl IntoView {
    let live = LiveState::new(s.online, s.moderator);
    live.chat.set(s.chat.clone());
    live.polls.set(s.polls.clone());
    live.questions.set(s.questions.clone());
    live.voted.set(s.my_votes.iter().copied().collect());
    live.upvoted.set(s.my_upvotes.iter().copied().collect());
    let channel = Channel::Stage(s.id);
    let area = Area::Stage(s.id);
    live.connect(s.slug.clone(), area, s.cursor.clone());
    // What the stage plays, loaded again when the organiser changes it.
    let (first, first_air) = Source::of(&s);
    let source = RwSignal::new(first);
    let air = RwSignal::new(first_air);
    let seen = StoredValue::new(0usize);
    let (slug, id) = (s.slug.clone(), s.id);
    Effect::new(move |_| {
        let news = live.call_news.get();
        let changed = news
            .iter()
            .skip(seen.get_value())
            .any(|i| matches!(i, LiveItem::StageChanged { stage } if *stage == id));
        seen.set_value(news.len());
        #[cfg(feature = "hydrate")]
        {
            if changed {
                // Within 3 s, each viewer at their own moment, so a full
                // stage does not ask all at once.
                let slug = slug.clone();
                let wait =
                    std::time::Duration::from_millis((js_sys::Math::random() * 3000.0) as u64);
                set_timeout(
                    move || {
                        leptos::task::spawn_local(async move {
                            if let Ok(d) = stage_info(slug, id.to_string()).await {
                                let (next, next_air) = Source::of(&d);
                                if source.get_untracked() != next {
                                    source.set(next);
                                }
                                air.set(next_air);
                            }
                        });
                    },
                    wait,
                );
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (changed, &slug, source, air);
    });
    let slug = s.slug.clone();
    let player = move || source.get().view(slug.clone(), live, air);
    let reception = format!("/e/{}/reception", s.slug);
    let talking_to = RwSignal::new(None::<protocol::live::Person>);
    let open_dm = dm_opener(s.slug.clone(), live, talking_to);
    let panel = PanelState::new();
    panel.follow_conversations(talking_to);
    let mut tabs = vec![Tab::Chat];
    tabs.extend(s.polls_app.then_some(Tab::Polls));
    tabs.extend(s.qa_app.then_some(Tab::Qa));
    tabs.push(Tab::People);
    view! {
        <leptos_meta::Title text=format!("{} · {}", s.name, s.event)/>
        <super::panels::VenueNav slug=s.slug.clone() stages=s.stages.clone() here=Some(s.id) live=live/>
        <div class="space-y-4 pb-16 md:pb-0">
            <p class="text-sm text-slate-500"><a class="underline" href=reception>{s.event.clone()}</a> " · Stage"</p>
            <h1 class="text-2xl font-bold">{s.name.clone()}</h1>
            <p class="text-slate-600" aria-live="polite"><span data-testid="watching">{move || live.in_area(area)}</span> " watching"</p>
            <Notice live=live/>
            <DmInbox live=live talking_to=talking_to open=open_dm/>
            <div class="grid grid-cols-1 md:grid-cols-3 gap-4 items-start">
                <div class="md:col-span-2 space-y-4">
                    {player}
                    {(!s.languages.is_empty()).then(|| view! { <Captions channel=channel languages=s.languages.clone() live=live/> })}
                    {s.embeds.into_iter().map(|e| view! {
                        <section class="card">
                            <h2 class="font-semibold">{e.name}</h2>
                            <iframe class="w-full h-64" src=e.src sandbox="allow-scripts allow-forms" referrerpolicy="no-referrer" data-testid="app-frame"></iframe>
                        </section>
                    }).collect::<Vec<_>>()}
                </div>
                <SidePanel tabs=tabs panel=panel live=live channel=channel>
                    <TabPanel tab=Tab::Chat panel=panel>
                        <ChatPanel channel=channel live=live/>
                    </TabPanel>
                    {s.polls_app.then(|| view! { <TabPanel tab=Tab::Polls panel=panel><Polls channel=channel live=live/></TabPanel> })}
                    {s.qa_app.then(|| view! { <TabPanel tab=Tab::Qa panel=panel><QandA channel=channel live=live/></TabPanel> })}
                    <TabPanel tab=Tab::People panel=panel>
                        <PeopleTab slug=s.slug.clone() people=s.people live=live talking_to=talking_to open=open_dm/>
                    </TabPanel>
                </SidePanel>
            </div>
        </div>
    }
}

/// The Polls app: live results, voting, and (for moderators) a form to start one.
#[component]
fn Polls(channel: Channel, live: LiveState) -> impl IntoView {
    let question = RwSignal::new(String::new());
    let options = RwSignal::new(String::new());
    let multi = RwSignal::new(false);
    let polls = move || {
        // A vote redraws its poll at once ("You voted"), before the new count arrives.
        live.voted.track();
        live.polls
            .get()
            .into_iter()
            .filter(|p| p.channel == channel)
            .collect::<Vec<_>>()
    };
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        live.send(ClientMsg::CreatePoll {
            channel,
            question: question.get_untracked(),
            options: options.get_untracked().lines().map(str::to_owned).collect(),
            multi: multi.get_untracked(),
        });
        question.set(String::new());
        options.set(String::new());
    };
    view! {
        <section class="card space-y-3" data-testid="polls" aria-live="polite">
            <h2 class="font-semibold">"Polls"</h2>
            {move || polls().is_empty().then(|| view! {
                <p class="empty" data-testid="polls-empty">{if live.moderator.get() { "No polls yet. Start one below." } else { "No polls yet. They appear here as the speakers start them." }}</p>
            })}
            <For each=polls key=move |p| format!("{}:{}:{}:{}", p.id, p.status, p.voters, live.voted.with_untracked(|v| v.contains(&p.id))) let:p>
                <PollCard p=p live=live/>
            </For>
            <Show when=move || live.moderator.get()>
                <form class="space-y-2" on:submit=create>
                    <input class="input" placeholder="Question" aria-label="Poll question" data-testid="poll-question"
                        prop:value=move || question.get() on:input=move |ev| question.set(event_target_value(&ev))/>
                    <textarea class="input" rows="3" placeholder="One option per line" aria-label="Poll options, one per line" data-testid="poll-options"
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
    let open = p.status == PollStatus::Open;
    let total: i64 = p.counts.iter().sum::<i64>().max(1);
    let id = p.id;
    // Several choices: ticked boxes, sent together with "Vote".
    let multi = p.multi;
    let picked = RwSignal::new(Vec::<u32>::new());
    // One vote per person: once cast, the choices give way to "You voted".
    let voted = live.voted.with_untracked(|v| v.contains(&id));
    let open = open && !voted;
    let vote = move |choices: Vec<u32>| {
        live.send(ClientMsg::Vote { poll: id, choices });
        live.voted.update(|v| {
            v.insert(id);
        });
    };
    view! {
        <div class="border rounded p-2" data-testid="poll" data-status=p.status.as_str()>
            <p class="font-semibold">{p.question.clone()}</p>
            {voted.then(|| view! { <p class="text-sm text-green-800" data-testid="poll-voted">"You voted"</p> })}
            <ul>
                {p.options.iter().enumerate().map(|(i, o)| {
                    let n = p.counts.get(i).copied().unwrap_or(0);
                    let pct = n * 100 / total;
                    view! {
                        <li class="flex items-center gap-2 my-1">
                            {(open && !multi).then(|| view! {
                                <button class="btn text-sm" data-testid="poll-vote"
                                    on:click=move |_| vote(vec![i as u32])>{o.clone()}</button>
                            })}
                            {(open && multi).then(|| view! {
                                <label class="flex items-center gap-1">
                                    <input type="checkbox" data-testid="poll-choice"
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            picked.update(|p| {
                                                p.retain(|c| *c != i as u32);
                                                if on { p.push(i as u32); p.sort_unstable(); }
                                            });
                                        }/>
                                    {o.clone()}
                                </label>
                            })}
                            {(!open).then(|| view! { <span>{o.clone()}</span> })}
                            <span class="text-sm" data-testid="poll-count">{n}</span>
                            <span class="h-2 bg-sky-500 rounded" style=format!("width: {}px", pct * 2)></span>
                        </li>
                    }
                }).collect::<Vec<_>>()}
            </ul>
            {(open && multi).then(|| view! {
                <button class="btn text-sm" data-testid="poll-submit"
                    disabled=move || picked.with(Vec::is_empty)
                    on:click=move |_| vote(picked.get())>"Vote"</button>
            })}
            <p class="text-xs text-slate-500"><span data-testid="poll-voters">{p.voters}</span> " voted · " {p.status.as_str()}</p>
            {(p.status == PollStatus::Open && live.moderator.get_untracked()).then(|| view! {
                <button class="text-sm underline" data-testid="poll-close" on:click=move |_| live.send(ClientMsg::ClosePoll { poll: id })>"Close poll"</button>
            })}
        </div>
    }
}

/// The Q&A app: ask, upvote, and (for moderators) approve/answer/hide.
#[component]
fn QandA(channel: Channel, live: LiveState) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let questions = move || {
        live.questions
            .get()
            .into_iter()
            .filter(|q| q.channel == channel && q.status != QaStatus::Hidden)
            .collect::<Vec<_>>()
    };
    let ask = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = draft.get_untracked();
        if body.trim().is_empty() {
            return;
        }
        live.send(ClientMsg::Ask { channel, body });
        draft.set(String::new());
    };
    view! {
        <section class="card space-y-2" data-testid="qa">
            <h2 class="font-semibold">"Q&A"</h2>
            {move || questions().is_empty().then(|| view! {
                <p class="empty" data-testid="qa-empty">"No questions yet. Ask the first one below."</p>
            })}
            <ul class="space-y-1" aria-live="polite" aria-label="Questions">
                <For each=questions key=|q| format!("{}:{}:{}", q.id, q.status, q.votes) let:q>
                    {
                        let id = q.id;
                        let pending = q.status == QaStatus::Pending;
                        let moderate = move |status| live.send(ClientMsg::ModerateQuestion { question: id, status });
                        view! {
                            <li class="flex items-center gap-2" data-testid="question" data-status=q.status.as_str()>
                                <button class="btn text-sm" data-testid="question-upvote"
                                    disabled=move || q.status != QaStatus::Open || live.upvoted.with(|u| u.contains(&id))
                                    aria-pressed=move || live.upvoted.with(|u| u.contains(&id)).to_string()
                                    title=move || if live.upvoted.with(|u| u.contains(&id)) { "You upvoted this" } else { "Upvote" }
                                    on:click=move |_| {
                                        live.send(ClientMsg::Upvote { question: id });
                                        live.upvoted.update(|u| {
                                            u.insert(id);
                                        });
                                    }>
                                    "▲ " <span data-testid="question-votes">{q.votes}</span>
                                </button>
                                <span data-testid="question-body">{q.body.clone()}</span>
                                <span class="text-xs text-slate-500">{q.author.clone()} " · " {q.status.as_str()}</span>
                                <Show when=move || live.moderator.get()>
                                    {pending.then(|| view! { <button class="text-xs underline" data-testid="question-approve" on:click=move |_| moderate(QaStatus::Open)>"Approve"</button> })}
                                    <button class="text-xs underline" data-testid="question-answer" on:click=move |_| moderate(QaStatus::Answered)>"Answered"</button>
                                    <button class="text-xs underline text-red-700" data-testid="question-hide" on:click=move |_| moderate(QaStatus::Hidden)>"Hide"</button>
                                </Show>
                            </li>
                        }
                    }
                </For>
            </ul>
            <form class="flex gap-2" on:submit=ask>
                <input class="input flex-1" data-testid="question-input" placeholder="Ask the speakers" aria-label="Your question for the speakers" maxlength="500"
                    prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))/>
                <button class="btn" type="submit" data-testid="question-ask">"Ask"</button>
            </form>
        </section>
    }
}

/// The Translations app: pick a language, read its live captions.
#[component]
fn Captions(channel: Channel, languages: Vec<String>, live: LiveState) -> impl IntoView {
    let lang = RwSignal::new(languages.first().cloned().unwrap_or_default());
    let lines = move || {
        let l = lang.get();
        live.captions
            .get()
            .into_iter()
            .filter(|c| c.channel == channel && c.language == l)
            .map(|c| c.body)
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
