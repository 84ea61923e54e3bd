//! Networking: "Meet someone" queues the attendee until someone else waits;
//! the pair gets a 1:1 video call with the organiser's countdown, then both
//! go back to the queue or leave. Either may press Connect; when both have,
//! each sees the other's card, and "My connections" lists them (vCard and
//! CSV downloads). Anyone may block or report the person they meet.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use protocol::ids::{AttendeeId, MeetingId};
use protocol::live::{Card, LiveItem, Person};
use protocol::Area;

use super::call_view::{CallStatus, CallView};
use super::client::LiveState;
use super::panels::Notice;
use crate::error::AppError;
use crate::forms::error_list;

/// What the networking page shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NetworkingData {
    /// Event slug.
    pub slug: String,
    /// Event name.
    pub event: String,
    /// Length of a call, seconds.
    pub call_secs: i32,
    /// My card (what others get when we connect).
    pub card: Card,
    /// The cards of the people I connected with.
    pub connections: Vec<Card>,
    /// People in the event now.
    pub online: u64,
    /// The live log's position.
    pub cursor: String,
}

/// The networking page's data; attendees of the event only.
#[server(prefix = "/fn", endpoint = "networking_page")]
pub async fn networking_info(slug: String) -> Result<NetworkingData, AppError> {
    use services::live::{log, presence};
    use services::networking::meetings;
    let (platform, event, me) = super::current_attendee(&slug).await?;
    let mut redis = platform.redis.clone();
    Ok(NetworkingData {
        call_secs: meetings::call_secs(&platform.pool, event.id).await?,
        card: meetings::my_card(&platform.pool, &me).await?,
        connections: meetings::connections(&platform.pool, &me).await?,
        online: presence::count(&mut redis, event.id).await?,
        cursor: log::head(&mut redis, event.id).await?,
        slug: event.slug.clone(),
        event: event.name.clone(),
    })
}

/// Counts one use of `limit` by `me`; a Redis connection to go on with.
#[cfg(feature = "ssr")]
async fn limited(
    platform: &services::Platform,
    me: &services::live::participants::Actor,
    limit: &services::ratelimit::Limit,
) -> Result<redis::aio::ConnectionManager, AppError> {
    let mut redis = platform.redis.clone();
    let who = me.id.to_string();
    services::ratelimit::hit(&mut redis, &platform.redis_namespace, limit, &who).await?;
    Ok(redis)
}

/// "Meet someone": true when paired at once (both hear of it on the live
/// socket), false while waiting (call again every 15 s to stay in the queue).
#[server(prefix = "/fn", endpoint = "meet_someone")]
pub async fn meet_someone(slug: String) -> Result<bool, AppError> {
    use services::networking::meetings::{meet, Meet};
    let (platform, _event, me) = super::current_attendee(&slug).await?;
    let mut redis = limited(&platform, &me, &services::ratelimit::MEETS_PER_ATTENDEE).await?;
    Ok(matches!(
        meet(&platform.pool, &mut redis, &platform.redis_namespace, &me).await?,
        Meet::Matched(_)
    ))
}

/// Leaves the queue.
#[server(prefix = "/fn", endpoint = "stop_waiting")]
pub async fn stop_waiting(slug: String) -> Result<(), AppError> {
    let (platform, _event, me) = super::current_attendee(&slug).await?;
    let mut redis = platform.redis.clone();
    services::networking::meetings::stop_waiting(&mut redis, &platform.redis_namespace, &me)
        .await?;
    Ok(())
}

/// A join token for a meeting's call.
#[server(prefix = "/fn", endpoint = "meeting_token")]
pub async fn meeting_token(
    slug: String,
    meeting: String,
) -> Result<super::session::JoinGrant, AppError> {
    let (platform, _event, me) = super::current_attendee(&slug).await?;
    let id = crate::error::parse_id("meeting", &meeting)?;
    let g = services::networking::meetings::grant(&platform.pool, &me, id).await?;
    Ok(super::session::JoinGrant::of(&platform, &me, g))
}

/// Connect in a meeting; the other's card once both have pressed it.
#[server(prefix = "/fn", endpoint = "connect_with")]
pub async fn connect_with(slug: String, meeting: String) -> Result<Option<Card>, AppError> {
    let (platform, _event, me) = super::current_attendee(&slug).await?;
    let id = crate::error::parse_id("meeting", &meeting)?;
    let mut redis = platform.redis.clone();
    Ok(services::networking::meetings::connect(&platform.pool, &mut redis, &me, id).await?)
}

/// Saves what the attendee shares on their card.
#[server(prefix = "/fn", endpoint = "save_card")]
pub async fn save_card(
    slug: String,
    headline: String,
    share_email: Option<String>,
    links: String,
) -> Result<(), AppError> {
    let (platform, _event, me) = super::current_attendee(&slug).await?;
    services::networking::meetings::set_card(
        &platform.pool,
        &me,
        &headline,
        crate::forms::checked(&share_email),
        &links,
    )
    .await?;
    Ok(())
}

/// Blocks someone: never paired again.
#[server(prefix = "/fn", endpoint = "block_person")]
pub async fn block_person(slug: String, attendee: String) -> Result<(), AppError> {
    let (platform, _event, me) = super::current_attendee(&slug).await?;
    let who = crate::error::parse_id("attendee", &attendee)?;
    services::networking::safety::block(&platform.pool, &me, who).await?;
    Ok(())
}

/// Reports someone to the organisers.
#[server(prefix = "/fn", endpoint = "report_person")]
pub async fn report_person(slug: String, attendee: String, reason: String) -> Result<(), AppError> {
    let (platform, _event, me) = super::current_attendee(&slug).await?;
    let who = crate::error::parse_id("attendee", &attendee)?;
    limited(&platform, &me, &services::ratelimit::REPORTS_PER_ATTENDEE).await?;
    services::networking::safety::report(&platform.pool, &me, who, &reason).await?;
    Ok(())
}

/// `/e/{slug}/networking`.
#[component]
pub fn NetworkingPage() -> impl IntoView {
    let params = use_params_map();
    let data = Resource::new(
        move || params.read().get("slug").unwrap_or_default(),
        networking_info,
    );
    view! {
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move { data.await.map(|d| view! { <Networking d=d/> }) })}
            </ErrorBoundary>
        </Transition>
    }
}

/// Where the attendee stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Stage {
    /// Not queued.
    Idle,
    /// In the queue.
    Waiting,
    /// In a call.
    Call { meeting: MeetingId, with: Person },
    /// The call's time is up.
    After { meeting: MeetingId, with: Person },
}

#[component]
fn Networking(d: NetworkingData) -> impl IntoView {
    let live = LiveState::new(d.online, false);
    live.connect(d.slug.clone(), Area::Networking, d.cursor.clone());
    let slug = StoredValue::new(d.slug.clone());
    let stage = RwSignal::new(Stage::Idle);
    let ends_at = RwSignal::new(String::new());
    let remaining = RwSignal::new(0i64);
    let connected_to = RwSignal::new(None::<Card>);
    let asked_connect = RwSignal::new(false);
    let connections = RwSignal::new(d.connections.clone());
    let reporting = RwSignal::new(false);
    let reason = RwSignal::new(String::new());
    let call = CallView::new(CallStatus::Idle);
    let problem = move |e: AppError| live.notice.set(Some(e.message));

    // Live news: a match starts the call; a connection shows the card.
    let seen = StoredValue::new(0usize);
    Effect::new(move |_| {
        let news = live.call_news.get();
        for item in news.iter().skip(seen.get_value()) {
            match item {
                LiveItem::Matched {
                    meeting,
                    with,
                    ends_at: end,
                } => {
                    ends_at.set(end.clone());
                    connected_to.set(None);
                    asked_connect.set(false);
                    reporting.set(false);
                    stage.set(Stage::Call {
                        meeting: *meeting,
                        with: with.clone(),
                    });
                    #[cfg(feature = "hydrate")]
                    start_call(slug.get_value(), *meeting, live, call);
                }
                LiveItem::Connected { card, .. } => {
                    connected_to.set(Some(card.clone()));
                    connections.update(|c| {
                        if !c.iter().any(|x| x.person.id == card.person.id) {
                            c.push(card.clone());
                        }
                    });
                }
                _ => {}
            }
        }
        seen.set_value(news.len());
    });

    #[cfg(feature = "hydrate")]
    {
        // The countdown, and staying in the queue while waiting.
        let handle = set_interval_with_handle(
            move || {
                if let Stage::Call { meeting, with } = stage.get_untracked() {
                    let left = ((js_sys::Date::parse(&ends_at.get_untracked())
                        - js_sys::Date::now())
                        / 1000.0)
                        .ceil() as i64;
                    remaining.set(left.max(0));
                    if left <= 0 {
                        super::call::stop(&|m| live.send(m));
                        super::call::close_devices();
                        call.tiles.set(Vec::new());
                        stage.set(Stage::After { meeting, with });
                    }
                }
            },
            std::time::Duration::from_millis(500),
        );
        let queue = set_interval_with_handle(
            move || {
                if stage.get_untracked() == Stage::Waiting {
                    let slug = slug.get_value();
                    leptos::task::spawn_local(async move {
                        if let Err(e) = meet_someone(slug).await {
                            problem(e);
                        }
                    });
                }
            },
            std::time::Duration::from_secs(15),
        );
        on_cleanup(move || {
            for h in [handle, queue].into_iter().flatten() {
                h.clear();
            }
            super::call::stop(&|m| live.send(m));
            super::call::close_devices();
        });
    }

    #[cfg(not(feature = "hydrate"))]
    let _ = (slug, problem);
    let meet = move || {
        stage.set(Stage::Waiting);
        connected_to.set(None);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            if let Err(e) = meet_someone(slug.get_value()).await {
                stage.set(Stage::Idle);
                problem(e);
            }
        });
    };
    let leave = move || {
        #[cfg(feature = "hydrate")]
        {
            super::call::stop(&|m| live.send(m));
            super::call::close_devices();
            leptos::task::spawn_local(async move {
                let _ = stop_waiting(slug.get_value()).await;
            });
        }
        call.tiles.set(Vec::new());
        stage.set(Stage::Idle);
    };
    let connect = move |meeting: MeetingId| {
        asked_connect.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            if let Err(e) = connect_with(slug.get_value(), meeting.to_string()).await {
                problem(e);
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = meeting;
    };
    let block = move |who: AttendeeId| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match block_person(slug.get_value(), who.to_string()).await {
                Ok(()) => live
                    .notice
                    .set(Some("Blocked: you will not be paired again.".into())),
                Err(e) => problem(e),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = who;
    };
    let send_report = move |who: AttendeeId| {
        let text = reason.get_untracked();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match report_person(slug.get_value(), who.to_string(), text).await {
                Ok(()) => {
                    reporting.set(false);
                    live.notice.set(Some(
                        "Thank you: the organisers will read your report.".into(),
                    ));
                }
                Err(e) => problem(e),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (who, text);
    };
    let other = move || match stage.get() {
        Stage::Call { meeting, with } | Stage::After { meeting, with } => Some((meeting, with)),
        _ => None,
    };
    let reception = format!("/e/{}/reception", d.slug);
    let vcf = format!("/e/{}/connections.vcf", d.slug);
    let csv = format!("/e/{}/connections.csv", d.slug);
    let minutes = d.call_secs / 60;
    let seconds = d.call_secs % 60;
    view! {
        <leptos_meta::Title text=format!("Networking · {}", d.event)/>
        <div class="space-y-4">
            <p class="text-sm text-slate-500"><a class="underline" href=reception>{d.event.clone()}</a> " · Networking"</p>
            <h1 class="text-2xl font-bold">"Meet someone"</h1>
            <p class="text-slate-600">{format!("You are paired with another attendee for a {minutes}:{seconds:02} video call. Press Connect to swap cards.")}</p>
            <Notice live=live/>
            <section class="card space-y-3" data-testid="meet" aria-live="polite">
                {move || match stage.get() {
                    Stage::Idle => view! {
                        <button class="btn" data-testid="meet-someone" on:click=move |_| meet()>"Meet someone"</button>
                    }.into_any(),
                    Stage::Waiting => view! {
                        <p data-testid="waiting">"Looking for someone to meet…"</p>
                        <button class="btn bg-slate-600 hover:bg-slate-700" on:click=move |_| leave()>"Stop"</button>
                    }.into_any(),
                    Stage::Call { .. } | Stage::After { .. } => ().into_any(),
                }}
                {move || other().map(|(meeting, with)| {
                    let in_call = matches!(stage.get(), Stage::Call { .. });
                    let who = with.id;
                    let name = with.name.clone();
                    view! {
                        <p>"You are meeting " <strong data-testid="partner">{name.clone()}</strong>
                            {in_call.then(|| view! { " · " <span data-testid="countdown">{move || format!("{}:{:02}", remaining.get() / 60, remaining.get() % 60)}</span> " left" })}
                            {(!in_call).then(|| view! { " · " <span data-testid="call-over">"Time is up."</span> })}</p>
                        {in_call.then(|| view! { <Pair partner=who.to_string() call=call/> })}
                        <div class="flex flex-wrap gap-2">
                            {move || match (connected_to.get(), asked_connect.get()) {
                                (Some(_), _) => view! { <span class="text-green-800" data-testid="connected">"Connected"</span> }.into_any(),
                                (None, true) => view! { <span data-testid="connect-asked">"Waiting for them to connect too…"</span> }.into_any(),
                                (None, false) => view! { <button class="btn" data-testid="connect" on:click=move |_| connect(meeting)>"Connect"</button> }.into_any(),
                            }}
                            <button class="btn" data-testid="meet-next" on:click=move |_| { leave(); meet(); }>"Meet someone else"</button>
                            <button class="btn bg-slate-600 hover:bg-slate-700" data-testid="leave" on:click=move |_| leave()>"Leave"</button>
                            <button class="underline" data-testid="block" on:click=move |_| block(who)>"Block"</button>
                            <button class="underline" data-testid="report" on:click=move |_| reporting.set(true)>"Report…"</button>
                        </div>
                        {move || reporting.get().then(|| view! {
                            <div class="space-y-2">
                                <label class="block">"What happened?"
                                    <textarea class="input" data-testid="report-reason" prop:value=move || reason.get()
                                        on:input=move |ev| reason.set(event_target_value(&ev))></textarea></label>
                                <button class="btn" on:click=move |_| send_report(who)>"Send report"</button>
                            </div>
                        })}
                        {move || connected_to.get().map(|c| view! { <CardView card=c/> })}
                    }
                })}
            </section>
            <section class="card space-y-2">
                <h2 class="font-semibold">"My connections"</h2>
                {move || connections.get().is_empty().then(|| view! { <p class="empty">"Nobody yet: meet someone and press Connect."</p> })}
                <ul class="space-y-2" data-testid="connections">
                    <For each=move || connections.get() key=|c| c.person.id let:c>
                        <li><CardView card=c/></li>
                    </For>
                </ul>
                <p class="text-sm"><a class="underline" href=vcf data-testid="vcf">"Download as vCard"</a> " · " <a class="underline" href=csv>"CSV"</a></p>
            </section>
            <MyCard slug=d.slug.clone() card=d.card.clone()/>
        </div>
    }
}

/// The partner's video (and the attendee's own, small).
#[component]
fn Pair(partner: String, call: CallView) -> impl IntoView {
    let theirs = NodeRef::<leptos::html::Video>::new();
    let mine = NodeRef::<leptos::html::Video>::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        call.tiles.track();
        if let (Some(el), Some(stream)) = (theirs.get(), super::call::stream_of(&partner)) {
            if el.src_object().map(|s| s.id()) != Some(stream.id()) {
                el.set_src_object(Some(&stream));
            }
        }
        if let (Some(el), Some(stream)) = (mine.get(), super::call::local_stream()) {
            if el.src_object().is_none() {
                el.set_src_object(Some(&stream));
            }
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (partner, call);
    view! {
        <div class="relative">
            // Their sound plays from this element: not muted.
            <video node_ref=theirs class="w-full max-w-xl aspect-video bg-black rounded" autoplay playsinline data-testid="partner-video"></video>
            <video node_ref=mine class="absolute bottom-2 right-2 w-32 aspect-video bg-black rounded border border-white" autoplay muted playsinline></video>
        </div>
    }
}

/// A contact card.
#[component]
fn CardView(card: Card) -> impl IntoView {
    view! {
        <div class="border rounded p-2" data-testid="card">
            <p class="font-semibold" data-testid="card-name">{card.person.name.clone()}</p>
            {(!card.headline.is_empty()).then(|| view! { <p class="text-sm">{card.headline.clone()}</p> })}
            {card.email.clone().map(|e| view! { <p class="text-sm" data-testid="card-email"><a class="underline" href=format!("mailto:{e}")>{e.clone()}</a></p> })}
            {card.links.iter().map(|l| view! { <p class="text-sm"><a class="underline" href=l.clone() rel="noopener noreferrer nofollow">{l.clone()}</a></p> }).collect::<Vec<_>>()}
        </div>
    }
}

/// The attendee's own card: what they share when they connect.
#[component]
fn MyCard(slug: String, card: Card) -> impl IntoView {
    let save = ServerAction::<SaveCard>::new();
    view! {
        <section class="card space-y-2">
            <h2 class="font-semibold">"My card"</h2>
            <p class="text-sm text-slate-600">"What the people you connect with receive."</p>
            <ActionForm action=save attr:class="grid gap-2 max-w-xl" attr:data-testid="my-card">
                <input type="hidden" name="slug" value=slug/>
                <label class="block">"Headline"<input class="input" name="headline" maxlength="200" value=card.headline.clone()/></label>
                <label class="block"><input type="checkbox" name="share_email" checked=card.email.is_some()/>" Share my email"</label>
                <label class="block">"Links (one per line)"<textarea class="input" name="links">{card.links.join("\n")}</textarea></label>
                <crate::forms::FormError error=crate::forms::error_of(save.value())/>
                <crate::forms::Saved when=crate::forms::succeeded(save.value()) text="Card saved."/>
                <button class="btn" type="submit">"Save my card"</button>
            </ActionForm>
        </section>
    }
}

/// Opens the camera and joins the meeting's call.
#[cfg(feature = "hydrate")]
fn start_call(slug: String, meeting: MeetingId, live: LiveState, call: CallView) {
    leptos::task::spawn_local(async move {
        if let Err(e) = super::call::open_devices(String::new(), String::new()).await {
            live.notice
                .set(Some(format!("Your camera could not be opened ({e}).")));
            return;
        }
        match meeting_token(slug, meeting.to_string()).await {
            Ok(g) => {
                if let Err(e) = super::call::start(g, false, true, call, move |m| live.send(m)) {
                    live.notice.set(Some(e));
                }
            }
            Err(e) => live.notice.set(Some(e.message)),
        }
    });
}
