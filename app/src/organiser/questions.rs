//! Custom questions of an event's registration form (organiser side): add,
//! edit, and remove (a question with answers is retired, its answers kept).

use leptos::prelude::*;

use crate::error::AppError;
use crate::forms::{
    error_list, error_of, reset_on_success, rows, succeeded, successes, FormError, Saved,
};
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

/// Changes question `id`: its label, `options` (comma-separated, for a
/// choice) and whether it is `required`; its type stays.
#[server(prefix = "/fn", endpoint = "update_question")]
pub async fn update_question(
    slug: String,
    id: String,
    label: String,
    options: Option<String>,
    required: Option<String>,
) -> Result<(), AppError> {
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let id = crate::error::parse_id("id", &id)?;
    services::registrations::questions::update(
        &platform.pool,
        &me,
        &slug,
        id,
        &label,
        options.as_deref().unwrap_or(""),
        crate::forms::checked(&required),
    )
    .await?;
    Ok(())
}

/// Removes question `id` from the form: deleted if unanswered, else retired
/// (its answers stay). Answers `"deleted"` or `"retired"`.
#[server(prefix = "/fn", endpoint = "remove_question")]
pub async fn remove_question(slug: String, id: String) -> Result<String, AppError> {
    use services::registrations::questions::{remove, Removed};
    let platform = crate::context::platform()?;
    let me = super::current_organiser().await?;
    let id = crate::error::parse_id("id", &id)?;
    Ok(match remove(&platform.pool, &me, &slug, id).await? {
        Removed::Deleted => "deleted",
        Removed::Retired => "retired",
    }
    .to_owned())
}

/// Lists the questions (each editable and removable) and adds new ones.
#[component]
pub fn QuestionsEditor(#[prop(into)] slug: Signal<String>) -> impl IntoView {
    let add = ServerAction::<CreateQuestion>::new();
    let update = ServerAction::<UpdateQuestion>::new();
    let remove = ServerAction::<RemoveQuestion>::new();
    let done_add = successes(add.value());
    let done_update = successes(update.value());
    let done_remove = successes(remove.value());
    let questions = Resource::new(
        move || {
            (
                slug.get(),
                done_add.get(),
                done_update.get(),
                done_remove.get(),
            )
        },
        |(slug, ..)| list_questions(slug),
    );
    let add_form = NodeRef::new();
    reset_on_success(add_form, add.value());
    view! {
        <h2 class="text-xl font-semibold mt-8">"Registration questions"</h2>
        <Saved when=succeeded(update.value()) text="Question saved."/>
        {move || remove.value().get().and_then(Result::ok).map(|how| view! {
            <p class="notice-ok" role="status">{if how == "retired" {
                "Question removed from the form; the answers already given stay in the registrations and the export."
            } else {
                "Question deleted."
            }}</p>
        })}
        <FormError error=error_of(remove.value())/>
        <Transition fallback=|| view! { <crate::look::Loading/> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    questions.await.map(|qs| view! {
                        {qs.is_empty().then(|| view! {
                            <p class="empty my-2" data-testid="no-questions">"No questions yet: buyers give their name and email only."</p>
                        })}
                        <ul class="my-2 space-y-1" data-testid="questions">
                            {rows(qs, move |q| question_row(slug.get_untracked(), q, update, remove))}
                        </ul>
                    })
                })}
            </ErrorBoundary>
        </Transition>
        <Saved when=succeeded(add.value()) text="Question added."/>
        <ActionForm action=add node_ref=add_form attr:class="grid grid-cols-2 gap-3 max-w-xl" attr:data-testid="add-question">
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

/// One question with its "Edit" and "Remove…" disclosures.
fn question_row(
    slug: String,
    q: QuestionView,
    update: ServerAction<UpdateQuestion>,
    remove: ServerAction<RemoveQuestion>,
) -> impl IntoView {
    let choice = q.kind == protocol::states::QuestionKind::Choice;
    let (slug2, id2) = (slug.clone(), q.id.clone());
    let (label, options) = (q.label.clone(), q.options.join(", "));
    let confirm = format!(
        "Remove “{}” from the form? Answers already given are kept.",
        q.label
    );
    view! {
        <li class="flex flex-wrap items-start gap-x-3">
            <span>{q.label.clone()} " (" {q.kind.as_str()} {if q.required { ", required" } else { "" }} ")"
                {(!q.options.is_empty()).then(|| format!(": {}", q.options.join(" / ")))}</span>
            <details data-testid="edit-question">
                <summary class="cursor-pointer underline text-sm">"Edit"<span class="sr-only">" " {q.label.clone()}</span></summary>
                <ActionForm action=update attr:class="grid gap-2 p-2 sm:min-w-[18rem]">
                    <input type="hidden" name="slug" value=slug.clone()/>
                    <input type="hidden" name="id" value=q.id.clone()/>
                    <label class="block">"Question text"<input class="input" name="label" value=label.clone() required/></label>
                    {choice.then(|| view! {
                        <label class="block">"Choices (comma-separated)"<input class="input" name="options" value=options.clone()/></label>
                    })}
                    <label class="block"><input type="checkbox" name="required" checked=q.required/>" Must be answered"</label>
                    <FormError error=error_of(update.value())/>
                    <button class="btn" type="submit">"Save question"</button>
                </ActionForm>
            </details>
            <details data-testid="remove-question">
                <summary class="cursor-pointer underline text-sm">"Remove…"<span class="sr-only">" " {q.label.clone()}</span></summary>
                <ActionForm action=remove attr:class="flex flex-wrap items-center gap-2 p-2">
                    <input type="hidden" name="slug" value=slug2.clone()/>
                    <input type="hidden" name="id" value=id2.clone()/>
                    <span class="text-sm">{confirm.clone()}</span>
                    <button class="btn bg-red-700 hover:bg-red-800" type="submit">"Yes, remove it"</button>
                </ActionForm>
            </details>
        </li>
    }
}
