import { test, expect, Page } from "./fixtures";
import { unique, hydrated, signUp, section } from "./helpers";

/** datetime-local value `minutes` from now (the event's zone is UTC). */
function local(minutes: number): string {
  return new Date(Date.now() + minutes * 60_000).toISOString().slice(0, 16);
}

test("organiser fills the Reception with a speaker, a session and a sponsor; the page survives a reload; attendees see them", async ({ browser }) => {
  const slug = `agenda-${unique()}`;
  const org = await (await browser.newContext()).newPage();
  await signUp(org, "Ada", "Agenda Co");
  await org.getByLabel("Name", { exact: true }).fill("Agenda Day");
  await org.getByLabel("Address: /e/").fill(slug);
  await org.getByLabel("Starts").fill(local(-60));
  await org.getByLabel("Ends").fill(local(24 * 60));
  await org.getByLabel("Time zone").fill("UTC");
  await org.getByRole("button", { name: "Create event" }).click();
  await expect(org).toHaveURL(new RegExp(`/dashboard/events/${slug}$`));
  await hydrated(org);

  await section(org, "Agenda");
  await org.getByLabel("Speaker name").fill("Grace Hopper");
  await org.getByLabel("Headline").fill("Rear Admiral");
  await org.getByRole("button", { name: "Add speaker" }).click();
  await expect(org.getByTestId("speakers-admin")).toContainText("Grace Hopper");
  await org.getByLabel("Sponsor name").fill("Acme");
  await org.getByRole("button", { name: "Add sponsor" }).click();
  await expect(org.getByTestId("sponsors-admin")).toContainText("Acme");
  await org.getByLabel("Session title").fill("Opening keynote");
  await org.getByLabel("Session starts (event time)").fill(local(-10));
  await org.getByLabel("Session ends (event time)").fill(local(50));
  await org.getByLabel("Speakers (names, comma-separated)").fill("Grace Hopper");
  await org.getByRole("button", { name: "Add session" }).click();
  await expect(org.getByTestId("agenda-admin")).toContainText("Opening keynote");

  // A full load renders the Remove forms on the server; the page must hydrate
  // (the fixture fails the test on a hydration panic) and the forms must work.
  await org.reload();
  await hydrated(org);
  const sponsors = org.getByTestId("sponsors-admin");
  await sponsors.getByRole("button", { name: "Remove" }).click();
  await expect(sponsors).toHaveText("Sponsors:");
  await expect(org.getByTestId("speakers-admin")).toContainText("Grace Hopper");

  // An attendee sees the session, happening now, with its speaker.
  const page = await (await browser.newContext()).newPage();
  await page.goto(`/e/${slug}`);
  await hydrated(page);
  await page.getByLabel("Name").fill("Alan");
  await page.getByLabel("Email").fill(`alan-${unique()}@example.org`);
  await page.getByRole("button", { name: "Get tickets" }).click();
  await page.getByTestId("enter-event").click();
  await expect(page).toHaveURL(new RegExp(`/e/${slug}/reception$`));
  const session = page.getByTestId("session");
  await expect(session).toHaveCount(1);
  await expect(session).toContainText("Opening keynote");
  await expect(session).toContainText("Grace Hopper");
  await expect(session.getByTestId("happening-now")).toBeVisible();
  await expect(page.getByTestId("speaker")).toContainText("Rear Admiral");
  await expect(page.getByTestId("sponsors")).toHaveCount(0);
});
