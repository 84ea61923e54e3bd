//! Custom questions of an event's registration form (organiser side).

use leptos::prelude::*;

use crate::error::AppError;
use crate::forms::{error_list, error_of, FormError};
use crate::registration::QuestionView;

/// The event's questions; organisers of the event only.
#[server(prefix = "/fn", endpoint = "questions")]
pub async fn list_questions(slug: String) -> Result<Vec<QuestionView>, AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let event = services::events::get_for_org(&platform.pool, &me, &slug).await?;
    let qs = services::registrations::questions::list(&platform.pool, event.id).await?;
    Ok(qs.into_iter().map(QuestionView::from).collect())
}

/// Adds a question: `kind` is text, choice (with comma-separated `options`) or checkbox.
#[server(prefix = "/fn", endpoint = "create_question")]
pub async fn create_question(
    slug: String,
    label: String,
    kind: String,
    options: Option<String>,
    required: Option<String>,
) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let required = crate::forms::checked(&required);
    services::registrations::questions::create(
        &platform.pool,
        &me,
        &slug,
        &label,
        &kind,
        options.as_deref().unwrap_or(""),
        required,
    )
    .await?;
    Ok(())
}

/// Lists the questions and adds new ones.
#[component]
pub fn QuestionsEditor(#[prop(into)] slug: Signal<String>) -> impl IntoView {
    let add = ServerAction::<CreateQuestion>::new();
    let questions = Resource::new(
        move || (slug.get(), add.version().get()),
        |(slug, _)| list_questions(slug),
    );
    view! {
        <h2 class="text-xl font-semibold mt-8">"Registration questions"</h2>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    questions.await.map(|qs| view! {
                        <ul class="my-2 list-disc pl-6" data-testid="questions">
                            {qs.into_iter().map(|q| view! {
                                <li>{q.label} " (" {q.kind.as_str()} {if q.required { ", required" } else { "" }} ")"
                                    {(!q.options.is_empty()).then(|| format!(": {}", q.options.join(" / ")))}</li>
                            }).collect::<Vec<_>>()}
                        </ul>
                    })
                })}
            </ErrorBoundary>
        </Transition>
        <ActionForm action=add attr:class="grid grid-cols-2 gap-3 max-w-xl">
            <input type="hidden" name="slug" value=slug/>
            <label class="block col-span-2">"Question"<input class="input" name="label" required/></label>
            <label class="block">"Type"
                <select class="input" name="kind">
                    <option value="text">"Text"</option>
                    <option value="choice">"Choice"</option>
                    <option value="checkbox">"Checkbox"</option>
                </select>
            </label>
            <label class="block">"Options (comma-separated)"<input class="input" name="options"/></label>
            <label class="block col-span-2"><input type="checkbox" name="required"/>" Required"</label>
            <div class="col-span-2"><FormError error=error_of(add.value())/></div>
            <button class="btn col-span-2" type="submit">"Add question"</button>
        </ActionForm>
    }
}
