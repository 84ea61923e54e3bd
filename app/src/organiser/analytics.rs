//! The event's figures on its dashboard page: counts, and time spent per
//! area as bars (SVG drawn by these components: one rectangle per area
//! needs no charting crate), fetched again every few seconds while the page
//! is open. Every figure is also text, for readers and screen readers; the
//! server-rendered page shows them without JavaScript.

use leptos::prelude::*;

use crate::error::AppError;

/// One area's time spent, as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AreaRow {
    /// The area's name ("Reception", a stage's name, a session's title).
    pub label: String,
    /// Distinct attendees who were there.
    pub visitors: i64,
    /// Visits (a reconnect continues its visit).
    pub visits: i64,
    /// Time spent there, all visits together, in seconds.
    pub seconds: i64,
    /// The most attendees there at once.
    pub peak: i64,
    /// Attendees there now.
    pub now: i64,
}

/// What attendees did in one area, as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EngagementRow {
    /// The area's name.
    pub label: String,
    /// Chat messages posted there.
    pub messages: i64,
    /// Poll votes (a voter once per poll).
    pub votes: i64,
    /// Questions asked.
    pub questions: i64,
    /// Attendees whose video played there.
    pub watchers: i64,
    /// Average watch time per watcher, in seconds.
    pub average_watch: i64,
    /// Times the picture's quality changed.
    pub quality_changes: i64,
}

/// One ticket type's confirmed sales.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SalesRow {
    /// The ticket type's name.
    pub name: String,
    /// Confirmed orders.
    pub orders: i64,
    /// Tickets in them.
    pub tickets: i64,
    /// Their totals after discounts ("147.00 EUR").
    pub revenue: String,
}

/// One day's confirmed registrations.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DayRow {
    /// The day ("2027-03-01"), in the event's time zone.
    pub day: String,
    /// Orders placed that day that stand confirmed.
    pub orders: i64,
}

/// The event's figures (from the analytics consumer).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Figures {
    /// Registrations (confirmed orders).
    pub registrations: i64,
    /// Reception visits (entries).
    pub reception_visits: i64,
    /// Distinct attendees who visited Reception.
    pub reception_visitors: i64,
    /// Time spent per area, most first.
    pub areas: Vec<AreaRow>,
    /// Confirmed sales per ticket type, most revenue first.
    pub sales: Vec<SalesRow>,
    /// Confirmed registrations per day, from the first to the last.
    pub days: Vec<DayRow>,
    /// Attendees who entered the live event.
    pub attended: i64,
    /// Attendees who spent five minutes or more in stages, sessions and
    /// networking.
    pub engaged: i64,
    /// Messages, votes, questions and watch time per area, by name.
    pub engagement: Vec<EngagementRow>,
    /// Networking meetings held.
    pub meetings: i64,
    /// Networking meetings after which both exchanged cards.
    pub connections: i64,
}

/// The figures of `event` now, its areas named.
#[cfg(feature = "ssr")]
pub async fn figures_of(
    pool: &sqlx::PgPool,
    analytics_pool: &sqlx::PgPool,
    event: &services::events::Event,
) -> Result<Figures, AppError> {
    let stats = analytics::event_stats(analytics_pool, event.id).await?;
    let now = chrono::Utc::now();
    let areas = analytics::visits::per_area(analytics_pool, event.id, now).await?;
    let funnel = analytics::visits::funnel(analytics_pool, event.id, now).await?;
    let types = ticket_type_names(pool, event.id).await?;
    let sales = analytics::sales::per_type(analytics_pool, event.id)
        .await?
        .into_iter()
        .map(|s| SalesRow {
            name: types
                .get(&s.ticket_type_id)
                .cloned()
                .unwrap_or_else(|| "A removed ticket type".into()),
            orders: s.orders,
            tickets: s.tickets,
            revenue: services::domain::format_money(s.revenue_minor, &s.currency),
        })
        .collect();
    let days = analytics::sales::per_day(analytics_pool, event.id, &event.time_zone)
        .await?
        .into_iter()
        .map(|d| DayRow {
            day: d.day.to_string(),
            orders: d.orders,
        })
        .collect();
    let names = area_names(pool, event.id).await?;
    let name = |area: &str| analytics::reports::area_name(&names, area);
    let done = analytics::engagement::per_area(analytics_pool, event.id).await?;
    let (meetings, connections) = done
        .iter()
        .fold((0, 0), |(m, c), a| (m + a.meetings, c + a.connections));
    let engagement = done
        .into_iter()
        .filter(|a| a.messages + a.votes + a.questions + a.watchers > 0)
        .map(|a| EngagementRow {
            label: name(&a.area),
            messages: a.messages,
            votes: a.votes,
            questions: a.questions,
            watchers: a.watchers,
            average_watch: a.average_watch_seconds(),
            quality_changes: a.quality_changes,
        })
        .collect();
    Ok(Figures {
        registrations: stats.registrations,
        reception_visits: stats.reception_visits,
        reception_visitors: stats.reception_visitors,
        areas: areas
            .into_iter()
            .map(|a| AreaRow {
                label: name(&a.area),
                visitors: a.visitors,
                visits: a.visits,
                seconds: a.seconds,
                peak: a.peak,
                now: a.now,
            })
            .collect(),
        sales,
        days,
        attended: funnel.attended,
        engaged: funnel.engaged,
        engagement,
        meetings,
        connections,
    })
}

/// The names of `event`'s stages and sessions by their analytics area key
/// (`stage:<id>`, `session:<id>`), and of its ticket types
/// (`ticket_type:<id>`): what reports name them by.
#[cfg(feature = "ssr")]
async fn area_names(
    pool: &sqlx::PgPool,
    event: protocol::ids::EventId,
) -> Result<std::collections::HashMap<String, String>, AppError> {
    let mut names = std::collections::HashMap::new();
    for s in services::live::stages::list(pool, event).await? {
        names.insert(protocol::Area::Stage(s.id).to_string(), s.name);
    }
    for s in services::live::sessions::list(pool, event).await? {
        names.insert(protocol::Area::Session(s.id).to_string(), s.title);
    }
    for (id, name) in ticket_type_names(pool, event).await? {
        names.insert(format!("ticket_type:{id}"), name);
    }
    Ok(names)
}

/// The names of `event`'s ticket types by id, hidden ones too.
#[cfg(feature = "ssr")]
async fn ticket_type_names(
    pool: &sqlx::PgPool,
    event: protocol::ids::EventId,
) -> Result<std::collections::HashMap<protocol::ids::TicketTypeId, String>, AppError> {
    Ok(
        services::registrations::ticket_types::offers(pool, event, true, None)
            .await?
            .into_iter()
            .map(|o| (o.ticket_type.id, o.ticket_type.name))
            .collect(),
    )
}

/// A report as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportRow {
    /// Its id.
    pub id: String,
    /// What it holds.
    pub kind: protocol::states::ReportKind,
    /// Where its making stands.
    pub status: protocol::states::ReportStatus,
    /// Attendees (or areas) written so far.
    pub done: i64,
    /// Attendees (or areas) to write, once counted.
    pub total: Option<i64>,
    /// When it was asked for, in the event's zone.
    pub asked: String,
    /// Until when it can be downloaded, in the event's zone.
    pub expires: String,
    /// Its download path, once ready.
    pub download: Option<String>,
}

/// The event's reports (in the making, or ready until they expire).
#[server(prefix = "/fn", endpoint = "reports")]
pub async fn reports(slug: String) -> Result<Vec<ReportRow>, AppError> {
    use protocol::states::ReportStatus;
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let event = services::events::get_for_org(&platform.pool, &me, &slug).await?;
    let local = |at| services::time::local_input(at, &event.time_zone).replace('T', " ");
    Ok(analytics::reports::list(&platform.analytics_pool, event.id)
        .await?
        .into_iter()
        .map(|r| ReportRow {
            id: r.id.to_string(),
            kind: r.kind,
            status: r.status,
            done: r.rows_done,
            total: r.rows_total,
            asked: local(r.created_at),
            expires: local(r.expires_at),
            download: (r.status == ReportStatus::Ready)
                .then(|| format!("/dashboard/events/{}/reports/{}.csv", event.slug, r.id)),
        })
        .collect())
}

/// Asks for a report of `kind` (every attendee's time per area when not
/// given), made in the background; one at a time per event.
#[server(prefix = "/fn", endpoint = "request_report")]
pub async fn request_report(
    slug: String,
    kind: Option<protocol::states::ReportKind>,
) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let event = services::events::get_for_org(&platform.pool, &me, &slug).await?;
    let names = area_names(&platform.pool, event.id).await?;
    let kind = kind.unwrap_or(protocol::states::ReportKind::TimePerArea);
    analytics::reports::request(
        &platform.analytics_pool,
        event.org_id,
        event.id,
        kind,
        &names,
    )
    .await?;
    Ok(())
}

/// How often the reports list is fetched again while one is in the making.
#[cfg(feature = "hydrate")]
const REPORTS_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Reports: ask for one, watch it being made, download it.
#[component]
pub fn Reports(slug: String) -> impl IntoView {
    use protocol::states::{ReportKind, ReportStatus};
    let request = ServerAction::<RequestReport>::new();
    let asked = crate::forms::successes(request.value());
    let tick = RwSignal::new(0u32);
    let rows = Resource::new(
        {
            let slug = slug.clone();
            move || (slug.clone(), asked.get(), tick.get())
        },
        |(slug, ..)| reports(slug),
    );
    #[cfg(feature = "hydrate")]
    {
        let making = move || {
            rows.get_untracked().and_then(Result::ok).is_some_and(|r| {
                r.iter()
                    .any(|r| matches!(r.status, ReportStatus::Queued | ReportStatus::Running))
            })
        };
        let handle = set_interval_with_handle(
            move || {
                if making() {
                    tick.update(|t| *t += 1);
                }
            },
            REPORTS_EVERY,
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    }
    // The view evaluates its children before their attributes: each use of
    // the slug gets its own copy first.
    let export = format!("/dashboard/events/{slug}/registrations.csv");
    let ask = [
        (
            ReportKind::TimePerArea,
            "request-report",
            "Prepare a time-per-area report",
        ),
        (
            ReportKind::AreaSummary,
            "request-summary",
            "Prepare a per-area summary",
        ),
        (
            ReportKind::Registrations,
            "request-registrations",
            "Prepare a registrations report",
        ),
    ]
    .into_iter()
    .map(|(kind, id, label)| {
        let slug = slug.clone();
        view! {
            <ActionForm action=request>
                <input type="hidden" name="slug" value=slug/>
                <input type="hidden" name="kind" value=kind.as_str()/>
                <button class="btn" type="submit" data-testid=id>{label}</button>
            </ActionForm>
        }
    })
    .collect_view();
    view! {
        <section class="card my-6" aria-labelledby="reports-title" data-testid="reports">
            <h2 id="reports-title" class="text-lg font-semibold">"Reports"</h2>
            <p class="text-sm text-slate-600">"CSVs prepared in the background and kept for a day: every attendee's time in each area (visits, time, first and last seen), each area's figures (attendees, visits, time, peak, messages, votes, questions, meetings, watch time), or every registration with its order and answers."</p>
            <div class="mt-2 flex flex-wrap gap-2">{ask}</div>
            <p class="text-sm mt-2">
                <a class="underline" href=export data-testid="registrations-export">
                    "Or download registrations with their answers straight away (CSV, read as it downloads)"
                </a>
            </p>
            <crate::forms::FormError error=crate::forms::error_of(request.value())/>
            <Transition fallback=|| ()>
                <ul class="mt-3 space-y-2" aria-live="polite">
                    {move || rows.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|r| {
                        let max = r.total.unwrap_or(0).max(1);
                        let (what, one, many) = match r.kind {
                            ReportKind::TimePerArea => ("Time per area", "attendee", "attendees"),
                            ReportKind::AreaSummary => ("Per-area summary", "area", "areas"),
                            ReportKind::Registrations => ("Registrations with answers", "registration", "registrations"),
                        };
                        let state = match r.status {
                            ReportStatus::Queued => "Waiting to start".to_owned(),
                            ReportStatus::Running => format!("Preparing: {} of {}", r.done, count(r.total.unwrap_or(0), one, many)),
                            ReportStatus::Ready => format!("Ready: {}", count(r.done, one, many)),
                            ReportStatus::Failed => "Could not be prepared; ask again".to_owned(),
                        };
                        let status = r.status.as_str();
                        view! {
                            <li class="text-sm" data-testid="report" data-status=status data-kind=r.kind.as_str()>
                                <span>{what} " · asked " {r.asked.clone()} " · "</span>
                                <span data-testid="report-state">{state}</span>
                                {matches!(r.status, ReportStatus::Queued | ReportStatus::Running).then(|| view! {
                                    <progress class="block w-full" max=max value=r.done.min(max)>{format!("{} of {max}", r.done)}</progress>
                                })}
                                {r.download.clone().map(|href| view! {
                                    " · " <a class="underline" href=href download="" data-testid="report-download">"Download CSV"</a>
                                    <span class="text-slate-500">" (until " {r.expires.clone()} ")"</span>
                                })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </Transition>
        </section>
    }
}

/// The figures of one of the organiser's events, for the dashboard to poll.
#[server(prefix = "/fn", endpoint = "event_figures")]
pub async fn event_figures(slug: String) -> Result<Figures, AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let event = services::events::get_for_org(&platform.pool, &me, &slug).await?;
    figures_of(&platform.pool, &platform.analytics_pool, &event).await
}

/// How often the dashboard's figures are fetched again.
#[cfg(feature = "hydrate")]
const FIGURES_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The figures, fetched again every few seconds while the page is open.
#[component]
pub fn LiveFigures(slug: String, initial: Figures) -> impl IntoView {
    let figures = RwSignal::new(initial);
    let report_slug = slug.clone();
    #[cfg(feature = "hydrate")]
    {
        // One fetch at a time: on a slow answer the next tick is skipped,
        // so answers cannot pile up or land out of order.
        let fetching = StoredValue::new(false);
        let handle = set_interval_with_handle(
            move || {
                if fetching.get_value() {
                    return;
                }
                fetching.set_value(true);
                let slug = slug.clone();
                leptos::task::spawn_local(async move {
                    if let Ok(now) = event_figures(slug).await {
                        figures.set(now);
                    }
                    fetching.set_value(false);
                });
            },
            FIGURES_EVERY,
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = slug;
    let card = |label: &'static str, id: &'static str, value: Signal<i64>| {
        view! {
            <div class="card"><p class="text-sm">{label}</p>
                <p class="text-3xl font-bold" data-testid=id>{value}</p></div>
        }
    };
    let areas = Signal::derive(move || figures.with(|f| f.areas.clone()));
    view! {
        <div class="grid grid-cols-1 sm:grid-cols-3 gap-4 my-6" aria-live="polite">
            {card("Registrations", "stat-registrations", Signal::derive(move || figures.with(|f| f.registrations)))}
            {card("Reception visits", "stat-visits", Signal::derive(move || figures.with(|f| f.reception_visits)))}
            {card("Reception visitors", "stat-visitors", Signal::derive(move || figures.with(|f| f.reception_visitors)))}
        </div>
        <FunnelBars figures=Signal::derive(move || figures.get())/>
        <Sales figures=Signal::derive(move || figures.get())/>
        <AreaBars areas=areas/>
        <Engagement figures=Signal::derive(move || figures.get())/>
        <Reports slug=report_slug/>
        <p class="text-sm text-slate-500">"Figures come from the analytics pipeline and update by themselves every few seconds."</p>
    }
}

/// A bar's length in hundredths of the longest (at least 1, so a short
/// visit still shows).
pub fn bar_length(value: i64, longest: i64) -> i64 {
    if longest <= 0 || value <= 0 {
        return 0;
    }
    (value * 100 / longest).clamp(1, 100)
}

/// Counts in words: "1 attendee", "3 attendees".
fn count(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Registrations per day as columns, and sales per ticket type as a table.
#[component]
fn Sales(figures: Signal<Figures>) -> impl IntoView {
    let days = move || figures.with(|f| f.days.clone());
    let sales = move || figures.with(|f| f.sales.clone());
    view! {
        <section class="card my-6" aria-labelledby="sales-title" data-testid="sales">
            <h2 id="sales-title" class="text-lg font-semibold">"Registrations and revenue"</h2>
            <p class="text-sm text-slate-500">"Confirmed orders only: unpaid, cancelled and refunded ones do not count."</p>
            {move || {
                let days = days();
                if days.is_empty() {
                    return view! { <p class="text-sm text-slate-500 mt-2">"No registrations yet."</p> }.into_any();
                }
                let most = days.iter().map(|d| d.orders).max().unwrap_or(0).max(1);
                let total: i64 = days.iter().map(|d| d.orders).sum();
                let width = days.len() * 10;
                let (first, last) = (days[0].day.clone(), days[days.len() - 1].day.clone());
                let summary = format!(
                    "{} over {} from {first} to {last}",
                    count(total, "registration", "registrations"),
                    count(days.len() as i64, "day", "days"),
                );
                let said = summary.clone();
                view! {
                    <svg class="w-full h-24 block mt-2" viewBox=format!("0 0 {width} 40") preserveAspectRatio="none"
                        role="img" aria-label=said data-testid="days-chart">
                        <title>{summary}</title>
                        {days
                            .into_iter()
                            .enumerate()
                            .map(|(i, d)| {
                                let h = d.orders * 38 / most;
                                let words = format!("{}: {}", d.day, count(d.orders, "registration", "registrations"));
                                view! {
                                    <rect x=i * 10 + 1 y=40 - h width="8" height=h class="fill-indigo-600"
                                        data-testid="day-column" data-day=d.day data-orders=d.orders>
                                        <title>{words}</title>
                                    </rect>
                                }
                            })
                            .collect_view()}
                    </svg>
                    <p class="flex justify-between text-xs text-slate-500"><span>{first}</span><span>{last}</span></p>
                }
                .into_any()
            }}
            <div class="overflow-x-auto">
                <table class="mt-4 w-full text-sm">
                    <thead><tr class="text-left">
                        <th scope="col">"Ticket type"</th><th scope="col">"Orders"</th>
                        <th scope="col">"Tickets"</th><th scope="col">"Revenue"</th>
                    </tr></thead>
                    <tbody>
                        {move || sales()
                            .into_iter()
                            .map(|s| view! {
                                <tr data-testid="sales-row" data-type=s.name.clone()>
                                    <td class="break-words">{s.name.clone()}</td><td>{s.orders}</td>
                                    <td>{s.tickets}</td><td data-testid="sales-revenue">{s.revenue}</td>
                                </tr>
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// From registered to attended to engaged: a bar each, in proportion to
/// the largest step (attendees who came can outnumber orders: one order
/// may bring several, and hosts come without one).
#[component]
fn FunnelBars(figures: Signal<Figures>) -> impl IntoView {
    let steps = move || {
        figures.with(|f| {
            [
                ("Registered", "funnel-registered", f.registrations),
                ("Attended", "funnel-attended", f.attended),
                (
                    "Engaged (5 minutes or more in stages, sessions or networking)",
                    "funnel-engaged",
                    f.engaged,
                ),
            ]
        })
    };
    view! {
        <section class="card my-6" aria-labelledby="funnel-title" data-testid="funnel">
            <h2 id="funnel-title" class="text-lg font-semibold">"From registration to engagement"</h2>
            <ul class="space-y-3 mt-2">
                {move || {
                    let steps = steps();
                    let most = steps.iter().map(|s| s.2).max().unwrap_or(0);
                    steps
                        .into_iter()
                        .map(|(label, id, n)| {
                            let length = bar_length(n, most);
                            view! {
                                <li>
                                    <p class="text-sm font-medium">{label} ": " <span data-testid=id>{n}</span></p>
                                    <Bar length=length title=format!("{label}: {n}")/>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
        </section>
    }
}

/// One horizontal bar, `length` hundredths of the full width, named by
/// `title` (its tooltip, and what screen readers say).
#[component]
fn Bar(length: i64, title: String) -> impl IntoView {
    let said = title.clone();
    view! {
        <svg class="w-full h-3 block" viewBox="0 0 100 4" preserveAspectRatio="none"
            role="img" aria-label=said>
            <title>{title}</title>
            <rect x="0" y="0" width="100" height="4" class="fill-slate-100"/>
            <rect x="0" y="0" width=length height="4" class="fill-indigo-600"/>
        </svg>
    }
}

/// Time spent per area: a bar each, its figures beside it in words.
#[component]
fn AreaBars(areas: Signal<Vec<AreaRow>>) -> impl IntoView {
    view! {
        <section class="card my-6" aria-labelledby="areas-title" data-testid="areas">
            <h2 id="areas-title" class="text-lg font-semibold">"Time spent per area"</h2>
            {move || {
                let rows = areas.get();
                if rows.is_empty() {
                    return view! {
                        <p class="text-sm text-slate-500" data-testid="areas-empty">
                            "No one has entered the live event yet."
                        </p>
                    }
                    .into_any();
                }
                let longest = rows.iter().map(|r| r.seconds).max().unwrap_or(0);
                view! {
                    <ul class="space-y-3 mt-2">
                        {rows
                            .into_iter()
                            .map(|r| {
                                let length = bar_length(r.seconds, longest);
                                let time = crate::look::clock(r.seconds * 1000);
                                let words = format!(
                                    "{} · {} · {} · at most {} at once · {} here now",
                                    time,
                                    count(r.visitors, "attendee", "attendees"),
                                    count(r.visits, "visit", "visits"),
                                    r.peak,
                                    r.now,
                                );
                                let title = format!("{}: {words}", r.label);
                                view! {
                                    <li data-testid="area-row" data-area=r.label.clone()
                                        data-visitors=r.visitors data-now=r.now data-seconds=r.seconds>
                                        <p class="text-sm font-medium break-words">{r.label.clone()}</p>
                                        <Bar length=length title=title/>
                                        <p class="text-xs text-slate-600" data-testid="area-words">{words}</p>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </section>
    }
}

/// Messages, votes, questions and watch time per area as a table, and
/// networking's meetings and connections.
#[component]
fn Engagement(figures: Signal<Figures>) -> impl IntoView {
    let rows = move || figures.with(|f| f.engagement.clone());
    let networking = move || {
        figures.with(|f| {
            format!(
                "{} · {} made (both exchanged cards)",
                count(f.meetings, "meeting", "meetings"),
                count(f.connections, "connection", "connections"),
            )
        })
    };
    view! {
        <section class="card my-6" aria-labelledby="engagement-title" data-testid="engagement">
            <h2 id="engagement-title" class="text-lg font-semibold">"Engagement"</h2>
            <p class="text-sm mt-1">"Networking: " <span data-testid="networking-figures">{networking}</span></p>
            {move || {
                let rows = rows();
                if rows.is_empty() {
                    return view! {
                        <p class="text-sm text-slate-500 mt-2" data-testid="engagement-empty">
                            "No messages, votes, questions or watched video yet."
                        </p>
                    }
                    .into_any();
                }
                view! {
                    <div class="overflow-x-auto">
                        <table class="mt-3 w-full text-sm [&_th]:pr-4 [&_td]:pr-4 [&_th]:whitespace-nowrap">
                            <thead><tr class="text-left">
                                <th scope="col">"Area"</th><th scope="col">"Messages"</th>
                                <th scope="col">"Votes"</th><th scope="col">"Questions"</th>
                                <th scope="col">"Watched by"</th><th scope="col">"Average watch time"</th>
                                <th scope="col">"Quality changes"</th>
                            </tr></thead>
                            <tbody>
                                {rows
                                    .into_iter()
                                    .map(|r| view! {
                                        <tr data-testid="engagement-row" data-area=r.label.clone()
                                            data-messages=r.messages data-votes=r.votes data-questions=r.questions
                                            data-watchers=r.watchers data-average-watch=r.average_watch>
                                            <td class="break-words">{r.label.clone()}</td>
                                            <td>{r.messages}</td><td>{r.votes}</td><td>{r.questions}</td>
                                            <td>{count(r.watchers, "attendee", "attendees")}</td>
                                            <td>{crate::look::clock(r.average_watch * 1000)}</td>
                                            <td>{r.quality_changes}</td>
                                        </tr>
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any()
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_in_proportion_and_a_short_one_still_shows() {
        assert_eq!(bar_length(600, 600), 100);
        assert_eq!(bar_length(300, 600), 50);
        assert_eq!(bar_length(1, 600), 1);
        assert_eq!(bar_length(0, 0), 0);
        assert_eq!(bar_length(0, 600), 0);
    }
}
