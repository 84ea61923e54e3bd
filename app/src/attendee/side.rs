//! The side panel of a venue's area: tabs (Chat, Polls, Q&A, People) with
//! counts of what the viewer has not seen. On a wide screen it is a column
//! beside the stream; on a phone it is a bottom sheet: the tab bar stays at
//! the foot of the screen, a tab opens the sheet above it, and the open tab,
//! the close button or Escape closes it again (focus back on the tab).
//!
//! The tabs follow the WAI-ARIA tabs pattern: arrow keys, Home and End move
//! between them and show the one they reach. Every panel stays mounted while
//! hidden, so a half-typed message or a poll's ticked boxes survive a switch.
//!
//! A tab's count is what arrived while it was out of sight: chat messages
//! (not the viewer's own) and questions since the tab was last in sight, open
//! polls still waiting for the viewer's vote, and direct messages not opened
//! yet (People).

use std::collections::HashSet;

use leptos::prelude::*;
use protocol::ids::QaQuestionId;
use protocol::states::{PollStatus, QaStatus};
use protocol::Channel;

use super::client::LiveState;
use crate::look::focus;

/// A tab of the side panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tab {
    /// The area's chat.
    Chat,
    /// The Polls app.
    Polls,
    /// The Q&A app.
    Qa,
    /// Everyone in the event, and direct messages.
    People,
}

impl Tab {
    /// What the tab says.
    pub fn label(self) -> &'static str {
        match self {
            Tab::Chat => "Chat",
            Tab::Polls => "Polls",
            Tab::Qa => "Q&A",
            Tab::People => "People",
        }
    }

    /// Its name in element ids and test ids.
    pub fn key(self) -> &'static str {
        match self {
            Tab::Chat => "chat",
            Tab::Polls => "polls",
            Tab::Qa => "qa",
            Tab::People => "people",
        }
    }
}

/// What a count badge says: nothing at 0, "9+" past 9.
pub fn badge(n: usize) -> Option<String> {
    match n {
        0 => None,
        1..=9 => Some(n.to_string()),
        _ => Some("9+".to_owned()),
    }
}

/// The tab `key` leads to from `current` among `tabs` (arrows wrap around);
/// None for keys the tab bar leaves alone.
pub fn next_tab(tabs: &[Tab], current: Tab, key: &str) -> Option<Tab> {
    let i = tabs.iter().position(|t| *t == current)?;
    let n = tabs.len();
    let to = match key {
        "ArrowRight" | "ArrowDown" => (i + 1) % n,
        "ArrowLeft" | "ArrowUp" => (i + n - 1) % n,
        "Home" => 0,
        "End" => n - 1,
        _ => return None,
    };
    Some(tabs[to])
}

/// Which tab shows, and whether a phone's sheet is open.
#[derive(Clone, Copy)]
pub struct PanelState {
    /// The tab shown.
    pub active: RwSignal<Tab>,
    /// The phone's sheet is open (a wide screen always shows the panel).
    pub open: RwSignal<bool>,
    /// The screen is wide enough for a column (known once hydrated).
    wide: RwSignal<bool>,
}

impl PanelState {
    /// Chat shown; the phone's sheet closed, so the stream has the screen.
    pub fn new() -> Self {
        let wide = RwSignal::new(false);
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            if let Some(query) = window().match_media("(min-width: 768px)").ok().flatten() {
                wide.set(query.matches());
                let on_change = wasm_bindgen::closure::Closure::<dyn Fn()>::new({
                    let query = query.clone();
                    move || wide.set(query.matches())
                });
                query.set_onchange(Some(on_change.as_ref().unchecked_ref()));
                // Held until the page goes (a client-side navigation to
                // another area), then unhooked: no listener outlives its page.
                // Browser-only, so the wrapper is never dropped off its thread.
                let held = send_wrapper::SendWrapper::new((query, on_change));
                on_cleanup(move || {
                    let (query, _on_change) = held.take();
                    query.set_onchange(None);
                });
            }
        }
        PanelState {
            active: RwSignal::new(Tab::Chat),
            open: RwSignal::new(false),
            wide,
        }
    }

    /// Shows `tab`, opening the sheet on a phone.
    pub fn show(&self, tab: Tab) {
        self.active.set(tab);
        self.open.set(true);
    }

    /// Shows the People tab whenever a conversation opens.
    pub fn follow_conversations(&self, talking_to: RwSignal<Option<protocol::live::Person>>) {
        let panel = *self;
        Effect::new(move |_| {
            if talking_to.get().is_some() {
                panel.show(Tab::People);
            }
        });
    }

    /// Whether `tab` is in the viewer's sight now.
    pub fn in_sight(&self, tab: Tab) -> bool {
        self.active.get() == tab && (self.open.get() || self.wide.get())
    }
}

impl Default for PanelState {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts what each tab holds that the viewer has not seen.
fn unseen_counts(live: LiveState, panel: PanelState, channel: Channel) -> impl Fn(Tab) -> usize {
    let newest_chat = move || {
        live.chat.with(|c| {
            c.iter()
                .filter(|m| m.channel == channel)
                .map(|m| m.seq)
                .max()
                .unwrap_or(0)
        })
    };
    // The history that came with the page counts as seen.
    let seen_chat = RwSignal::new(newest_chat());
    let question_ids = move || {
        live.questions.with(|qs| {
            qs.iter()
                .filter(|q| q.channel == channel && q.status != QaStatus::Hidden)
                .map(|q| q.id)
                .collect::<HashSet<QaQuestionId>>()
        })
    };
    let seen_questions = RwSignal::new(question_ids());
    Effect::new(move |_| {
        if panel.in_sight(Tab::Chat) {
            seen_chat.set(newest_chat());
        }
    });
    Effect::new(move |_| {
        if panel.in_sight(Tab::Qa) {
            let ids = question_ids();
            seen_questions.update(|seen| seen.extend(ids));
        }
    });
    move |tab| match tab {
        Tab::Chat => {
            let (seen, me) = (seen_chat.get(), live.me.get().map(|m| m.id));
            live.chat.with(|c| {
                c.iter()
                    .filter(|m| m.channel == channel && m.seq > seen && Some(m.author.id) != me)
                    .count()
            })
        }
        Tab::Qa => seen_questions.with(|seen| {
            question_ids()
                .iter()
                .filter(|id| !seen.contains(id))
                .count()
        }),
        Tab::Polls => live.voted.with(|voted| {
            live.polls.with(|ps| {
                ps.iter()
                    .filter(|p| {
                        p.channel == channel
                            && p.status == PollStatus::Open
                            && !voted.contains(&p.id)
                    })
                    .count()
            })
        }),
        Tab::People => live.unread.with(Vec::len),
    }
}

/// The panel: its tab bar and, in `children`, one [`TabPanel`] per tab.
#[component]
pub fn SidePanel(
    /// The tabs, in order.
    tabs: Vec<Tab>,
    /// Which shows.
    panel: PanelState,
    /// Live state (the counts).
    live: LiveState,
    /// The area's chat channel.
    channel: Channel,
    /// The tab panels.
    children: Children,
) -> impl IntoView {
    let unseen = std::sync::Arc::new(unseen_counts(live, panel, channel));
    let all = tabs.clone();
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if let Some(to) = next_tab(&all, panel.active.get_untracked(), &ev.key()) {
            ev.prevent_default();
            panel.show(to);
            focus(&format!("tab-{}", to.key()));
        }
    };
    view! {
        <aside class="side-panel" aria-label="Side panel" data-testid="side-panel"
            data-open=move || panel.open.get().to_string()
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                if ev.key() == "Escape" && panel.open.get_untracked() {
                    panel.open.set(false);
                    focus(&format!("tab-{}", panel.active.get_untracked().key()));
                }
            }>
            <div class="side-panel-bar">
            <div class="side-panel-tabs" role="tablist" aria-label="Side panel" on:keydown=on_key>
                {tabs.into_iter().map(|tab| {
                    let unseen = unseen.clone();
                    let count = Memo::new(move |_| unseen(tab));
                    let selected = move || panel.active.get() == tab;
                    view! {
                        <button type="button" role="tab" id=format!("tab-{}", tab.key())
                            class="side-panel-tab" data-testid=format!("tab-{}", tab.key())
                            aria-controls=format!("panel-{}", tab.key())
                            aria-selected=move || selected().to_string()
                            tabindex=move || if selected() { "0" } else { "-1" }
                            on:click=move |_| {
                                // On a phone the open tab closes the sheet.
                                if selected() && panel.open.get_untracked() {
                                    panel.open.set(false);
                                } else {
                                    panel.show(tab);
                                }
                            }>
                            {tab.label()}
                            {move || badge(count.get()).map(|b| view! {
                                <span class="side-panel-badge" data-testid="tab-unread">
                                    {b}<span class="sr-only">" new"</span>
                                </span>
                            })}
                        </button>
                    }
                }).collect::<Vec<_>>()}
            </div>
                <button type="button" class="side-panel-close" aria-label="Close the panel"
                    data-testid="side-panel-close"
                    on:click=move |_| {
                        panel.open.set(false);
                        focus(&format!("tab-{}", panel.active.get_untracked().key()));
                    }>"▾"</button>
            </div>
            <div class="side-panel-body">{children()}</div>
        </aside>
    }
}

/// One tab's content, shown while its tab is selected.
#[component]
pub fn TabPanel(
    /// Its tab.
    tab: Tab,
    /// Which shows.
    panel: PanelState,
    /// The content.
    children: Children,
) -> impl IntoView {
    view! {
        <div role="tabpanel" id=format!("panel-{}", tab.key()) aria-labelledby=format!("tab-{}", tab.key())
            data-testid=format!("panel-{}", tab.key())
            hidden=move || panel.active.get() != tab>
            {children()}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badges_stop_at_nine() {
        assert_eq!(badge(0), None);
        assert_eq!(badge(3).as_deref(), Some("3"));
        assert_eq!(badge(10).as_deref(), Some("9+"));
    }

    #[test]
    fn arrows_wrap_around_and_home_end_jump() {
        let tabs = [Tab::Chat, Tab::Polls, Tab::Qa, Tab::People];
        assert_eq!(next_tab(&tabs, Tab::Chat, "ArrowRight"), Some(Tab::Polls));
        assert_eq!(next_tab(&tabs, Tab::Chat, "ArrowLeft"), Some(Tab::People));
        assert_eq!(next_tab(&tabs, Tab::People, "ArrowRight"), Some(Tab::Chat));
        assert_eq!(next_tab(&tabs, Tab::Qa, "Home"), Some(Tab::Chat));
        assert_eq!(next_tab(&tabs, Tab::Chat, "End"), Some(Tab::People));
        assert_eq!(next_tab(&tabs, Tab::Chat, "a"), None);
        assert_eq!(
            next_tab(&[Tab::Chat, Tab::People], Tab::Polls, "Home"),
            None
        );
    }
}
