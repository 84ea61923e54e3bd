import { test, expect, Page, Browser, APIRequestContext } from "./fixtures";
import { unique, hydrated, signUp, emailedLink, section, attendee } from "./helpers";
import { fnPath } from "./fns";

// Three attendees in three browser contexts, two of them on one server process
// and the third on another (BASE_URL_2, sharing PostgreSQL and Redis): green
// dots, live chat, a poll, Q&A, and a moderator deleting a message for everyone.

const SECOND = process.env.BASE_URL_2 ?? process.env.BASE_URL ?? "http://127.0.0.1:3000";

async function organiser(browser: Browser, slug: string) {
  const org = await (await browser.newContext()).newPage();
  await signUp(org, "Lena", "Live Co");
  await org.getByLabel("Name", { exact: true }).fill("Live Summit");
  await org.getByLabel("Address: /e/").fill(slug);
  await org.getByLabel("Starts").fill("2027-09-01T10:00");
  await org.getByLabel("Ends").fill("2027-09-01T18:00");
  await org.getByRole("button", { name: "Create event" }).click();
  await expect(org).toHaveURL(new RegExp(`/dashboard/events/${slug}$`));
  await hydrated(org);
  return org;
}

test("three attendees on two server processes: green dots, chat, poll, Q&A and moderation", async ({ browser, consoleErrors }) => {
  // The stage plays an HLS address on a host this machine cannot resolve: the
  // test checks that the player attaches to it, not the stream.
  consoleErrors.expect(/cdn\.example\.org\/live\/main\.m3u8:\d+\): Failed to load resource: net::ERR_NAME_NOT_RESOLVED/);
  const slug = `live-${unique()}`;
  const org = await organiser(browser, slug);

  // The organiser sets up a stage and installs Polls and Q&A from the App store.
  await section(org, "Stages & apps");
  await org.getByLabel("Stage name").fill("Main stage");
  await org.getByLabel("URL", { exact: true }).fill("https://cdn.example.org/live/main.m3u8");
  await org.getByRole("button", { name: "Add stage" }).click();
  await expect(org.getByTestId("stage-list")).toContainText("Main stage");
  for (const app of ["polls", "qa"]) {
    const card = org.getByTestId(`app-${app}`);
    await card.getByRole("button", { name: "Install" }).click();
    await expect(org.getByTestId(`app-${app}`)).toHaveAttribute("data-installed", "true");
  }

  const ada = await attendee(browser, process.env.BASE_URL!, slug, "Ada");
  const mo = await attendee(browser, process.env.BASE_URL!, slug, "Mo");
  const cy = await attendee(browser, SECOND, slug, "Cy"); // the other server process

  // Mo becomes a moderator. Only attendees who opened the link from their
  // email can: Mo does so first, then the organiser picks Mo from the list.
  await section(org, "Moderators");
  await expect(org.getByTestId("no-candidates")).toBeVisible();
  const moLink = await emailedLink(mo.page.request, mo.email, `/e/${slug}/join?token=`);
  await mo.page.goto(moLink);
  await mo.page.getByRole("button", { name: "Enter the event" }).click();
  await expect(mo.page).toHaveURL(new RegExp(`/e/${slug}/reception$`));
  await hydrated(mo.page);
  await org.reload();
  await hydrated(org);
  await org.getByTestId("moderator-picker").selectOption({ label: `Mo (${mo.email})` });
  await org.getByRole("button", { name: "Make moderator" }).click();
  await expect(org.getByRole("status")).toContainText("Moderators updated");
  await expect(org.getByTestId("moderators")).toContainText(`Mo (${mo.email})`);

  // The organiser keeps the event's figures open: no one has been on the
  // stage yet.
  await section(org, "Overview");
  await expect(org.getByTestId("areas")).toBeVisible();
  const stageBar = org.locator('[data-testid=area-row][data-area="Main stage"]');
  await expect(stageBar).toHaveCount(0);

  // Everyone opens the stage (Mo after being made moderator, so the page knows it).
  const pages = [ada.page, mo.page, cy.page];
  for (const p of pages) {
    await p.reload();
    await hydrated(p);
    await p.getByTestId("stages").getByRole("link", { name: "Main stage" }).click();
    await expect(p.getByRole("heading", { name: "Main stage" })).toBeVisible();
    await hydrated(p);
  }

  // The HLS player is attached: natively, or with hls.js where the browser lacks HLS.
  await expect(ada.page.getByTestId("player")).toHaveAttribute("data-hls-attached", "https://cdn.example.org/live/main.m3u8");
  await expect(async () => {
    const mode = await ada.page.evaluate(() => {
      const v = document.querySelector("video[data-hls-src]") as HTMLVideoElement;
      return v.src ? "native" : typeof (window as any).Hls === "function" ? "hls.js" : "none";
    });
    expect(mode).not.toBe("none");
  }).toPass({ timeout: 10_000 });

  // Green dots: each sees the other two online, across both servers.
  for (const p of pages) {
    for (const name of ["Ada", "Mo", "Cy"]) {
      await expect(p.locator(`[data-testid=person][data-name=${name}]`)).toHaveAttribute("data-online", "true");
    }
    await expect(p.getByTestId("watching")).toHaveText("3");
  }
  // The organiser's open page grows a bar for the stage, with the three
  // there now (outbox → bus → analytics, polled every few seconds).
  await expect(stageBar).toHaveAttribute("data-now", "3", { timeout: 30_000 });
  await expect(stageBar.getByTestId("area-words")).toContainText("3 attendees · 3 visits");

  // Live chat, with markup shown as text.
  await ada.page.getByTestId("chat-input").fill("Hello from <b>Ada</b>");
  await ada.page.getByTestId("chat-send").click();
  for (const p of pages) {
    await expect(p.getByTestId("chat-body")).toHaveText(["Hello from <b>Ada</b>"]);
  }
  await cy.page.getByTestId("chat-input").fill("Hi @Ada, from the other server");
  await cy.page.getByTestId("chat-send").click();
  await expect(ada.page.getByTestId("chat-body")).toHaveCount(2);
  // Attendees have no moderation buttons; the moderator does.
  await expect(ada.page.getByTestId("chat-delete")).toHaveCount(0);
  await expect(mo.page.getByTestId("chat-delete")).toHaveCount(2);

  // The side panel's tabs: Chat shows; Polls, Q&A and People wait beside it.
  await expect(ada.page.getByRole("tab", { name: "Chat" })).toHaveAttribute("aria-selected", "true");
  await expect(ada.page.getByTestId("poll-question")).toHaveCount(0);

  // A poll: the moderator starts it, two people vote, everyone sees the results.
  await mo.page.getByTestId("tab-polls").click();
  await mo.page.getByTestId("poll-question").fill("Lunch?");
  await mo.page.getByTestId("poll-options").fill("Pizza\nSalad");
  await mo.page.getByTestId("poll-create").click();
  for (const p of pages) {
    await expect(p.getByTestId("poll")).toContainText("Lunch?");
  }
  // Those on the Chat tab see that a poll waits for their vote.
  for (const p of [ada.page, cy.page]) {
    await expect(p.getByTestId("tab-polls").getByTestId("tab-unread")).toHaveText("1 new");
    await p.getByTestId("tab-polls").click();
  }
  await ada.page.getByTestId("poll").getByRole("button", { name: "Pizza" }).click();
  await cy.page.getByTestId("poll").getByRole("button", { name: "Salad" }).click();
  for (const p of pages) {
    await expect(p.getByTestId("poll-voters")).toHaveText("2");
    await expect(p.getByTestId("poll-count")).toHaveText(["1", "1"]);
  }
  // Voters see that they voted, and vote once; the others still may.
  await expect(ada.page.getByTestId("poll-voted")).toHaveText("You voted");
  await expect(ada.page.getByTestId("poll-vote")).toHaveCount(0);
  await expect(mo.page.getByTestId("poll-vote")).toHaveCount(2);
  await expect(ada.page.getByTestId("tab-polls").getByTestId("tab-unread")).toHaveCount(0);

  // A poll with several choices: the ticked boxes are one vote.
  await mo.page.getByTestId("poll-question").fill("Which talks?");
  await mo.page.getByTestId("poll-options").fill("Rust\nWasm\nMedia");
  await mo.page.getByLabel("Several choices").check();
  await mo.page.getByTestId("poll-create").click();
  const multi = (p: Page) => p.getByTestId("poll").filter({ hasText: "Which talks?" });
  for (const p of pages) {
    await expect(multi(p)).toBeVisible();
  }
  await multi(ada.page).getByTestId("poll-choice").nth(0).check();
  await multi(ada.page).getByTestId("poll-choice").nth(2).check();
  await multi(ada.page).getByTestId("poll-submit").click();
  for (const p of pages) {
    await expect(multi(p).getByTestId("poll-count")).toHaveText(["1", "0", "1"]);
    await expect(multi(p).getByTestId("poll-voters")).toHaveText("1");
  }

  // "Message" next to someone on the stage opens a conversation with them.
  await ada.page.getByTestId("tab-people").click();
  await ada.page.locator("[data-testid=person][data-name=Cy]").getByTestId("dm-open").click();
  await expect(ada.page.getByTestId("dm")).toContainText("Messages with Cy");
  await expect(ada.page.getByTestId("dm-input")).toBeFocused();
  await ada.page.getByTestId("dm-input").fill("Hi Cy, from the stage");
  await ada.page.getByTestId("dm").getByRole("button", { name: "Send" }).click();
  await expect(ada.page.getByTestId("dm-message")).toHaveText(["Ada: Hi Cy, from the stage"]);
  // Cy, on the other server, is told, and answers from the notice.
  const note = cy.page.getByTestId("dm-notification");
  await expect(note).toContainText("New message from Ada:");
  await expect(note).toContainText("Hi Cy, from the stage");
  await expect(cy.page.getByTestId("tab-people").getByTestId("tab-unread")).toHaveText("1 new");
  await note.getByRole("button", { name: "Reply" }).click();
  await expect(cy.page.getByTestId("dm")).toContainText("Messages with Ada");
  await expect(cy.page.getByTestId("dm-message")).toHaveText(["Ada: Hi Cy, from the stage"]);
  await expect(cy.page.getByTestId("dm-notification")).toHaveCount(0);
  await expect(cy.page.getByRole("tab", { name: "People" })).toHaveAttribute("aria-selected", "true");
  await expect(cy.page.getByTestId("tab-people").getByTestId("tab-unread")).toHaveCount(0);

  // Q&A: Cy asks, Ada upvotes; the count updates everywhere.
  await cy.page.getByTestId("tab-qa").click();
  await cy.page.getByTestId("question-input").fill("Will the slides be shared?");
  await cy.page.getByTestId("question-ask").click();
  for (const p of pages) {
    await expect(p.getByTestId("question-body")).toHaveText(["Will the slides be shared?"]);
  }
  await expect(ada.page.getByTestId("tab-qa").getByTestId("tab-unread")).toHaveText("1 new");
  await ada.page.getByTestId("tab-qa").click();
  await expect(ada.page.getByTestId("tab-qa").getByTestId("tab-unread")).toHaveCount(0);
  await ada.page.getByTestId("question-upvote").click();
  for (const p of pages) {
    await expect(p.getByTestId("question-votes")).toHaveText("1");
  }
  await expect(ada.page.getByTestId("question-upvote")).toHaveAttribute("aria-pressed", "true");
  await expect(ada.page.getByTestId("question-upvote")).toBeDisabled();
  await expect(cy.page.getByTestId("question-upvote")).toHaveAttribute("aria-pressed", "false");

  // Chat said while Ada reads Q&A counts on the Chat tab, until she opens it.
  await cy.page.getByTestId("tab-chat").click();
  await cy.page.getByTestId("chat-input").fill("Thanks all");
  await cy.page.getByTestId("chat-send").click();
  await expect(ada.page.getByTestId("tab-chat").getByTestId("tab-unread")).toHaveText("1 new");
  await expect(cy.page.getByTestId("tab-chat").getByTestId("tab-unread")).toHaveCount(0);
  // The keyboard moves along the tabs.
  await ada.page.getByTestId("tab-qa").focus();
  await ada.page.keyboard.press("ArrowLeft");
  await expect(ada.page.getByTestId("tab-polls")).toBeFocused();
  await ada.page.keyboard.press("Home");
  await expect(ada.page.getByTestId("tab-chat")).toBeFocused();
  await expect(ada.page.getByRole("tab", { name: /Chat/ })).toHaveAttribute("aria-selected", "true");
  await expect(ada.page.getByTestId("tab-chat").getByTestId("tab-unread")).toHaveCount(0);

  // The moderator deletes Ada's message: it disappears for everyone.
  await mo.page.getByTestId("tab-chat").click();
  await mo.page.getByTestId("chat-message").filter({ hasText: "Hello from" }).getByTestId("chat-delete").click();
  for (const p of pages) {
    await expect(p.getByTestId("chat-body")).toHaveText(["Hi @Ada, from the other server", "Thanks all"]);
  }
  // The organiser's Engagement table counts the stage's three messages
  // (posted, whatever became of them).
  const engaged = org.locator('[data-testid=engagement-row][data-area="Main stage"]');
  await expect(engaged).toHaveAttribute("data-messages", "3", { timeout: 30_000 });

  // Cy leaves: the green dot goes grey for the others.
  await cy.page.context().close();
  await expect(ada.page.locator("[data-testid=person][data-name=Cy]")).toHaveAttribute("data-online", "false");
  await expect(ada.page.getByTestId("watching")).toHaveText("2");
});
