// Organisers change what they made, and buyers see the change.
import { test, expect } from "./fixtures";
import { unique, hydrated, signUp, section, createEvent } from "./helpers";
import { fnPath } from "./fns";

test("a paid-only event: the free ticket is deleted, a sold one hidden, a price edited", async ({ browser, consoleErrors }) => {
  consoleErrors.expectStatus(fnPath("update_ticket_type"), 400); // the negative price, provoked below
  const slug = `edit-${unique()}`;
  const org = await (await browser.newContext()).newPage();
  await signUp(org, "Eda", "Edit Co");
  await createEvent(org, "Edit Summit", slug, "2027-06-01T10:00", "2027-06-01T18:00");
  await section(org, "Tickets");

  const add = org.getByTestId("add-ticket-type");
  await add.getByLabel("Ticket name").fill("Pass");
  await add.getByLabel("Price").fill("30.00");
  await add.getByRole("checkbox", { name: "Orders need my approval" }).check();
  await add.getByRole("button", { name: "Add ticket type" }).click();
  await expect(org.getByText("Ticket type added.")).toBeVisible();
  // The form is empty again: nothing carries over to the next ticket.
  await expect(add.getByLabel("Ticket name")).toHaveValue("");
  await expect(add.getByRole("checkbox", { name: "Orders need my approval" })).not.toBeChecked();

  // Edit the new ticket: its price and rules.
  const types = org.getByTestId("ticket-types");
  const pass = types.getByRole("row", { name: /Pass/ });
  await pass.getByText("Edit").click();
  const form = pass.getByTestId("edit-ticket");
  await expect(form.getByLabel("Price")).toHaveValue("30.00");
  await expect(form.getByRole("checkbox", { name: "Orders need my approval" })).toBeChecked();
  await form.getByLabel("Price").fill("-5");
  await form.getByRole("button", { name: "Save ticket type" }).click();
  await expect(form.getByRole("alert")).toContainText("price");
  await form.getByLabel("Price").fill("35.00");
  await form.getByRole("checkbox", { name: "Orders need my approval" }).uncheck();
  await form.getByRole("button", { name: "Save ticket type" }).click();
  await expect(org.getByText("Ticket type saved.")).toBeVisible();
  await expect(types.getByRole("row", { name: /Pass/ }).getByRole("cell").nth(1)).toHaveText("35.00 EUR");

  // A buyer takes the free ticket before it goes.
  const early = await (await browser.newContext()).newPage();
  await early.goto(`/e/${slug}`);
  await hydrated(early);
  await early.getByRole("radio", { name: /General admission/ }).check();
  await early.getByLabel("Name", { exact: true }).fill("Ezra");
  await early.getByLabel("Email").fill(`ezra-${unique()}@example.org`);
  await early.getByRole("button", { name: "Get tickets" }).click();
  await expect(early.getByTestId("order-heading")).toHaveText("You're registered!");

  // Removing the sold free ticket hides it (its order stays), with a confirmation first.
  await org.reload();
  await hydrated(org);
  const free = types.getByRole("row", { name: /General admission/ });
  await free.getByText("Remove…").click();
  await expect(free.getByTestId("remove-ticket")).toContainText("Remove General admission?");
  await free.getByRole("button", { name: "Yes, remove it" }).click();
  await expect(org.getByText("Hidden from buyers: it has orders, which keep it.")).toBeVisible();
  await expect(types.getByRole("row", { name: /General admission/ }).getByRole("cell").first()).toHaveText("General admission (hidden)");

  // Visitors now see the paid ticket only, at its new price.
  const buyer = await (await browser.newContext()).newPage();
  await buyer.goto(`/e/${slug}`);
  await hydrated(buyer);
  const offers = buyer.getByTestId("offers");
  await expect(offers.getByRole("radio")).toHaveCount(1);
  await expect(offers).toContainText("Pass");
  await expect(offers).toContainText("35.00 EUR");
  await expect(offers).not.toContainText("General admission");

  // A ticket that never sold is deleted outright.
  await add.getByLabel("Ticket name").fill("Spare");
  await add.getByRole("button", { name: "Add ticket type" }).click();
  const spare = types.getByRole("row", { name: /Spare/ });
  await expect(spare).toBeVisible();
  await spare.getByText("Remove…").click();
  await spare.getByRole("button", { name: "Yes, remove it" }).click();
  await expect(org.getByText("Ticket type deleted.")).toBeVisible();
  await expect(types.getByRole("row", { name: /Spare/ })).toHaveCount(0);
});

test("the organiser edits and removes the event's details, codes, questions, stages and speakers", async ({ browser }) => {
  const slug = `edit2-${unique()}`;
  const org = await (await browser.newContext()).newPage();
  await signUp(org, "Eli", "Edit Two");
  await createEvent(org, "Draft Name", slug, "2027-06-01T10:00", "2027-06-01T18:00");

  // The event's details.
  const details = org.getByTestId("event-details");
  await details.getByText("Edit the event's details").click();
  await expect(details.getByLabel("Start (event time)")).toHaveValue("2027-06-01T10:00");
  await details.getByLabel("Event name").fill("Final Name");
  await details.getByRole("button", { name: "Save details" }).click();
  await expect(org.getByText("Event details saved.")).toBeVisible();
  await expect(org.getByRole("heading", { level: 1 })).toHaveText("Final Name");

  // The event's look: a logo and an accent colour.
  const look = org.getByTestId("event-branding");
  await look.getByText("The event's look").click();
  await look.getByLabel("Logo (https:// address or a path on this site)").fill("/favicon.svg");
  await look.getByLabel("Accent colour (#rrggbb; empty for Convene's)").fill("#be123c");
  await look.getByRole("button", { name: "Save the look" }).click();
  await expect(org.getByText("The event's look is saved.")).toBeVisible();

  // A promo code, withdrawn before anyone used it.
  await section(org, "Tickets");
  await org.getByLabel("Code", { exact: true }).fill("EARLY10");
  await org.getByLabel("Value").fill("10");
  await org.getByRole("button", { name: "Add promo code" }).click();
  const codes = org.getByTestId("promo-codes");
  await expect(codes).toContainText("EARLY10");
  await codes.getByText("Withdraw…").click();
  await codes.getByRole("button", { name: "Yes, withdraw it" }).click();
  await expect(org.getByText("Promo code deleted.")).toBeVisible();
  await expect(codes).not.toContainText("EARLY10");

  // A question, edited, then removed.
  await section(org, "Questions");
  await org.getByLabel("Question", { exact: true }).fill("Company");
  await org.getByRole("button", { name: "Add question" }).click();
  const questions = org.getByTestId("questions");
  await expect(questions).toContainText("Company (text)");
  await questions.getByText("Edit").click();
  await questions.getByLabel("Question text").fill("Company or school");
  await questions.getByRole("checkbox", { name: "Must be answered" }).check();
  await questions.getByRole("button", { name: "Save question" }).click();
  await expect(org.getByText("Question saved.")).toBeVisible();
  await expect(questions).toContainText("Company or school (text, required)");
  await questions.getByText("Remove…").click();
  await questions.getByRole("button", { name: "Yes, remove it" }).click();
  await expect(org.getByText("Question deleted.")).toBeVisible();
  await expect(questions.getByRole("listitem")).toHaveCount(0);

  // A stage, renamed, then removed.
  await section(org, "Stages & apps");
  await org.getByLabel("Stage name").fill("Main stage");
  await org.locator('select[name="source_kind"]').selectOption("none"); // no stream yet
  await org.getByRole("button", { name: "Add stage" }).click();
  const stages = org.getByTestId("stage-list");
  await expect(stages).toContainText("Main stage");
  await stages.getByText("Rename or remove…").click();
  await stages.getByLabel("Rename to").fill("Main hall");
  await stages.getByRole("button", { name: "Rename" }).click();
  await expect(stages).toContainText("Main hall");
  await stages.getByText("Rename or remove…").click();
  await stages.getByRole("button", { name: "Yes, remove the stage" }).click();
  await expect(stages.getByRole("listitem")).toHaveCount(0);

  // A speaker, renamed.
  await section(org, "Agenda");
  await org.getByLabel("Speaker name").fill("Grace");
  await org.getByRole("button", { name: "Add speaker" }).click();
  const speakers = org.getByTestId("speakers-admin");
  await expect(speakers).toContainText("Grace");
  await speakers.getByText("Edit").click();
  await speakers.getByLabel("Full name").fill("Grace Hopper");
  await speakers.getByRole("button", { name: "Save speaker" }).click();
  await expect(org.getByText("Saved.", { exact: true })).toBeVisible();
  await expect(speakers).toContainText("Grace Hopper");

  // Visitors see the new name.
  const visitor = await (await browser.newContext()).newPage();
  await visitor.goto(`/e/${slug}`);
  await expect(visitor.getByTestId("event-name")).toHaveText("Final Name");
  await expect(visitor.getByRole("img", { name: "Final Name logo" })).toBeVisible();
  await expect(visitor.getByRole("button", { name: "Get tickets" })).toHaveCSS("background-color", "rgb(190, 18, 60)");
  await expect(visitor.getByRole("button", { name: "Get tickets" })).toHaveCSS("color", "rgb(255, 255, 255)");
});
