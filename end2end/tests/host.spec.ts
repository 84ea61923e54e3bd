// Organisers are hosts in their own events: from the dashboard they enter the
// venue as a moderator, without registering, and run it where attendees are.
import { test, expect } from "./fixtures";
import { unique, hydrated, signUp, section, createEvent } from "./helpers";
import { fnPath } from "./fns";

test("an organiser enters their own event as host, runs a poll and moderates the chat", async ({ browser }) => {
  const slug = `host-${unique()}`;
  const org = await (await browser.newContext()).newPage();
  await signUp(org, "Hana", "Host Co");
  await createEvent(org, "Host Day", slug, "2027-09-01T10:00", "2027-09-01T18:00");
  await section(org, "Stages & apps");
  await org.getByLabel("Stage name").fill("Main stage");
  await org.locator('select[name="source_kind"]').selectOption("none");
  await org.getByRole("button", { name: "Add stage" }).click();
  await expect(org.getByTestId("stage-list")).toContainText("Main stage");
  await org.getByTestId("app-polls").getByRole("button", { name: "Install" }).click();
  await expect(org.getByTestId("app-polls")).toHaveAttribute("data-installed", "true");

  // The organiser enters as host: no registration, no ticket.
  await section(org, "Overview");
  await org.getByTestId("enter-as-host").click();
  await expect(org).toHaveURL(new RegExp(`/e/${slug}/reception$`));
  await hydrated(org);
  await expect(org.getByTestId("attendee-name")).toHaveText("Hana");

  // An attendee registers and enters.
  const page = await (await browser.newContext()).newPage();
  const res = await page.request.post(fnPath("register"), {
    form: { slug, name: "Ada", email: `ada-${unique()}@example.org` },
  });
  expect(res.status(), await res.text()).toBe(200);
  await page.goto((await res.json()).sign_in_link);
  await page.getByRole("button", { name: "Enter the event" }).click();
  await expect(page).toHaveURL(new RegExp(`/e/${slug}/reception$`));
  await hydrated(page);

  for (const p of [org, page]) {
    await p.getByTestId("stages").getByRole("link", { name: "Main stage" }).click();
    await expect(p.getByRole("heading", { name: "Main stage" })).toBeVisible();
    await hydrated(p);
  }
  for (const p of [org, page]) {
    await expect(p.getByTestId("watching")).toHaveText("2");
  }

  // The host runs a poll where the attendees are; the attendee votes.
  for (const p of [org, page]) await p.getByTestId("tab-polls").click();
  await expect(page.getByTestId("poll-create")).toHaveCount(0);
  await org.getByTestId("poll-question").fill("Coffee or tea?");
  await org.getByTestId("poll-options").fill("Coffee\nTea");
  await org.getByTestId("poll-create").click();
  await expect(page.getByTestId("poll")).toContainText("Coffee or tea?");
  await page.getByTestId("poll").getByRole("button", { name: "Tea" }).click();
  for (const p of [org, page]) {
    await expect(p.getByTestId("poll-voters")).toHaveText("1");
    await expect(p.getByTestId("poll-count")).toHaveText(["0", "1"]);
  }

  // The host moderates: a message deleted for everyone.
  for (const p of [org, page]) await p.getByTestId("tab-chat").click();
  await page.getByTestId("chat-input").fill("Cheap watches at example.org");
  await page.getByTestId("chat-send").click();
  await expect(org.getByTestId("chat-body")).toHaveText(["Cheap watches at example.org"]);
  await expect(page.getByTestId("chat-delete")).toHaveCount(0);
  await org.getByTestId("chat-message").filter({ hasText: "Cheap watches" }).getByTestId("chat-delete").click();
  for (const p of [org, page]) {
    await expect(p.getByTestId("chat-body")).toHaveCount(0);
  }
});
