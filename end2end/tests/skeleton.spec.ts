import { test, expect, Page, Browser } from "./fixtures";
import { chromium } from "@playwright/test";
import { unique, hydrated, signUp, emailedLink } from "./helpers";
import { fnPath } from "./fns";
import * as fs from "fs";

/** Registers on the landing page and enters from the order page; returns the page in Reception. */
async function registerAndEnter(browser: Browser, slug: string, name: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`/e/${slug}`);
  await hydrated(page);
  await expect(page.getByTestId("event-name")).toHaveText("Launch Week");
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(`${name.toLowerCase()}-${unique()}@example.org`);
  await page.getByRole("button", { name: "Get tickets" }).click();
  await expect(page.getByTestId("registered")).toBeVisible();
  await expect(page.locator("[data-testid=registered] svg")).toBeVisible();
  // The browser that registered is signed in: no link needed.
  await page.getByTestId("enter-event").click();
  await expect(page).toHaveURL(new RegExp(`/e/${slug}/reception$`));
  await expect(page.getByTestId("attendee-name")).toHaveText(name);
  await hydrated(page);
  return page;
}

test("organiser creates an event, attendees register and meet in a live Reception, organiser sees the figures", async ({ browser, consoleErrors }) => {
  consoleErrors.expectStatus(fnPath("create_event"), 409); // the taken address, provoked below
  const slug = `launch-${unique()}`;

  // Organiser signs up and creates an event.
  const orgContext = await browser.newContext();
  const org = await orgContext.newPage();
  await signUp(org, "Olivia Organiser", "Launch Co");
  await expect(org.getByRole("heading", { name: "Welcome, Olivia Organiser" })).toBeVisible();
  await expect(org.getByTestId("signed-in-as")).toHaveText("Olivia Organiser");
  await expect(org.getByRole("link", { name: "Log in" })).toHaveCount(0);

  await org.getByLabel("Name", { exact: true }).fill("Launch Week");
  // The browser checks the address's pattern before sending anything.
  await org.getByLabel("Address: /e/").fill("Not OK!");
  expect(await org.getByLabel("Address: /e/").evaluate((el: HTMLInputElement) => el.validity.patternMismatch)).toBe(true);
  await org.getByLabel("Address: /e/").fill(slug);
  expect(await org.getByLabel("Address: /e/").evaluate((el: HTMLInputElement) => el.validity.valid)).toBe(true);
  await org.getByLabel("Description").fill("Demos every day.");
  await org.getByLabel("Starts").fill("2027-03-01T10:00");
  await org.getByLabel("Ends").fill("2027-03-05T18:00");
  await org.getByLabel("Time zone").fill("Europe/Paris");
  await org.getByRole("button", { name: "Create event" }).click();
  await expect(org).toHaveURL(new RegExp(`/dashboard/events/${slug}$`));
  await expect(org.getByRole("heading", { name: "Launch Week" })).toBeVisible();
  await expect(org.getByTestId("stat-registrations")).toHaveText("0");

  // A bad second event shows a readable error and stays on the dashboard.
  await org.goto("/dashboard");
  await hydrated(org);
  await org.getByLabel("Name", { exact: true }).fill("Clash");
  await org.getByLabel("Address: /e/").fill(slug);
  await org.getByLabel("Starts").fill("2027-03-01T10:00");
  await org.getByLabel("Ends").fill("2027-03-05T18:00");
  await org.getByRole("button", { name: "Create event" }).click();
  await expect(org.getByRole("alert")).toContainText("already taken");

  // The organiser keeps the event's dashboard open while people arrive.
  await org.goto(`/dashboard/events/${slug}`);
  await hydrated(org);
  await expect(org.getByTestId("stat-registrations")).toHaveText("0");

  // Two attendees in their own browser contexts.
  const alice = await registerAndEnter(browser, slug, "Alice");
  await expect(alice.getByTestId("online-count")).toHaveText("1");
  const bob = await registerAndEnter(browser, slug, "Bob");
  await expect(bob.getByTestId("online-count")).toHaveText("2");
  await expect(alice.getByTestId("online-count")).toHaveText("2");

  // Bob leaves: Alice sees the count drop.
  await bob.context().close();
  await expect(alice.getByTestId("online-count")).toHaveText("1");

  // The organiser's open dashboard shows the registrations and visits as
  // they arrive (outbox → Kafka → analytics), without a reload.
  await expect(org.getByTestId("stat-registrations")).toHaveText("2", { timeout: 30_000 });
  await expect(org.getByTestId("stat-visits")).toHaveText("2", { timeout: 30_000 });
  await expect(org.getByTestId("stat-visitors")).toHaveText("2");
  // Time spent per area grows a Reception bar while the page is open: both
  // of them were there, together, and Alice still is.
  const receptionBar = org.locator('[data-testid=area-row][data-area="Reception"]');
  await expect(receptionBar).toHaveAttribute("data-visitors", "2", { timeout: 30_000 });
  await expect(receptionBar).toHaveAttribute("data-now", "1");
  await expect(receptionBar.getByTestId("area-words")).toContainText("2 attendees · 2 visits · at most 2 at once · 1 here now");
  await expect(receptionBar.locator("svg title")).toContainText("Reception: ");
  // The funnel: both registered and came in; neither stayed five minutes
  // on a stage, in a session or networking.
  await expect(org.getByTestId("funnel-registered")).toHaveText("2");
  await expect(org.getByTestId("funnel-attended")).toHaveText("2");
  await expect(org.getByTestId("funnel-engaged")).toHaveText("0");
  // Registrations per day (a column each) and per ticket type.
  const perDay = () => org.getByTestId("day-column").evaluateAll((cs) => cs.reduce((n, c) => n + Number(c.getAttribute("data-orders")), 0));
  await expect.poll(perDay).toBe(2);
  const sold = org.getByTestId("sales-row");
  await expect(sold).toHaveCount(1);
  await expect(sold.locator("td").nth(1)).toHaveText("2");
  // A report of everyone's time per area: prepared in the background while
  // its progress shows, then downloaded.
  await org.getByTestId("request-report").click();
  const report = org.getByTestId("report").first();
  await expect(report).toHaveAttribute("data-status", "ready", { timeout: 30_000 });
  await expect(report.getByTestId("report-state")).toHaveText("Ready: 2 attendees");
  const [download] = await Promise.all([org.waitForEvent("download"), report.getByTestId("report-download").click()]);
  const csv = fs.readFileSync(await download.path(), "utf8").trim().split("\n");
  expect(csv[0]).toBe("name,email,area,visits,seconds,time_spent,first_entered_utc,last_seen_utc");
  expect(csv.slice(1).map((l) => l.split(",").slice(0, 4).filter((_, i) => i !== 1).join(",")).sort()).toEqual(["Alice,Reception,1", "Bob,Reception,1"]);
  // And each area's figures: Reception, with its two attendees.
  await org.getByTestId("request-summary").click();
  const summary = org.locator("[data-testid=report][data-kind=area_summary]");
  await expect(summary).toHaveAttribute("data-status", "ready", { timeout: 30_000 });
  await expect(summary.getByTestId("report-state")).toHaveText("Ready: 1 area");
  const [areas] = await Promise.all([org.waitForEvent("download"), summary.getByTestId("report-download").click()]);
  const rows = fs.readFileSync(await areas.path(), "utf8").trim().split("\n");
  expect(rows[0]).toBe("area,attendees,visits,seconds,time_spent,peak,messages,votes,questions,meetings,connections,watchers,average_watch_seconds");
  expect(rows[1].split(",").slice(0, 3)).toEqual(["Reception", "2", "2"]);
  // And every registration with its order.
  await org.getByTestId("request-registrations").click();
  const regs = org.locator("[data-testid=report][data-kind=registrations]");
  await expect(regs).toHaveAttribute("data-status", "ready", { timeout: 30_000 });
  await expect(regs.getByTestId("report-state")).toHaveText("Ready: 2 registrations");
  const [registrations] = await Promise.all([org.waitForEvent("download"), regs.getByTestId("report-download").click()]);
  const lines = fs.readFileSync(await registrations.path(), "utf8").trim().split("\n");
  expect(lines[0]).toBe("name,email,registered_utc,ticket_type,quantity,status,total_minor,currency");
  expect(lines.slice(1).map((l) => [l.split(",")[0], l.split(",")[5]].join(",")).sort()).toEqual(["Alice,confirmed", "Bob,confirmed"]);

  // Alice signs out: back on the event's page, and Reception asks her to sign in.
  await alice.getByRole("button", { name: "Sign out" }).click();
  await expect(alice).toHaveURL(new RegExp(`/e/${slug}$`));
  await expect(alice.getByTestId("event-name")).toHaveText("Launch Week");
  const reception = await alice.request.post(fnPath("reception"), { form: { slug } });
  expect(reception.status()).toBe(401);
});

test("registering an address twice makes no second order: check your inbox, with a link that verifies the address", async ({ browser, request }) => {
  const page = await (await browser.newContext()).newPage();
  await page.goto("/e/demo");
  await hydrated(page);
  const email = `dup-${unique()}@example.org`;
  const submit = async () => {
    await page.getByLabel("Name").fill("Dee");
    await page.getByLabel("Email").fill(email);
    await page.getByRole("button", { name: "Get tickets" }).click();
  };
  await submit();
  // The first order is placed before the page is left.
  await expect(page.getByTestId("registered")).toBeVisible();
  await page.goto("/e/demo");
  await hydrated(page);
  await submit();
  const answer = page.getByTestId("check-inbox");
  await expect(answer).toContainText("Check your inbox");
  await expect(answer).toContainText("already registered");
  // The link in the email opens the event.
  const link = await emailedLink(request, email, "/e/demo/join?token=");
  const guest = await (await browser.newContext()).newPage();
  await guest.goto(link); // a plain server page: nothing to hydrate
  await guest.getByRole("button", { name: "Enter the event" }).click();
  await expect(guest).toHaveURL(/\/e\/demo\/reception$/);
});

test("reception is closed to visitors without a ticket", async ({ page, consoleErrors }) => {
  // The page answers 401 when the refusal is known before its head is sent
  // (the browser then logs the status), 200 when it streams in later.
  consoleErrors.expectStatus("/e/demo/reception", 401);
  await page.goto("/e/demo/reception");
  await expect(page.getByRole("alert")).toContainText("please sign in");
});

test("the app's code and styles are cached by their hashed names: a returning visitor downloads none of them", async ({}, testInfo) => {
  // A browser profile of its own, with the disk cache a visitor's browser
  // has (the test contexts' cache in memory keeps nothing as large as a
  // debug build's WASM).
  const profile = fs.mkdtempSync(`${require("os").tmpdir()}/convene-profile-`);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"],
    baseURL: testInfo.project.use.baseURL,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    const seen: { url: string; cache: string }[] = [];
    page.on("response", (res) => {
      if (res.url().includes("/pkg/")) seen.push({ url: res.url(), cache: res.headers()["cache-control"] ?? "" });
    });
    await page.goto("/e/demo");
    await hydrated(page);
    // The WASM, its JS and the stylesheet, each named by its contents and
    // sent to be kept for good.
    for (const ext of [".wasm", ".js", ".css"]) {
      const file = seen.find((f) => new URL(f.url).pathname.endsWith(ext));
      expect(file, `the page loads a ${ext}`).toBeTruthy();
      expect(new URL(file!.url).pathname).toMatch(new RegExp(`^/pkg/convene\\.[A-Za-z0-9_-]{8,}\\${ext}$`));
      expect(file!.cache).toContain("immutable");
    }
    // Another page of the site: Chromium takes each of them from its cache,
    // without asking the server (not even to revalidate).
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    const requested = new Map<string, string>();
    const cached = new Set<string>();
    cdp.on("Network.requestWillBeSent", (e) => {
      if (e.request.url.includes("/pkg/")) requested.set(e.requestId, e.request.url);
    });
    cdp.on("Network.requestServedFromCache", (e) => cached.add(e.requestId));
    cdp.on("Network.responseReceived", (e) => {
      if (e.response.fromDiskCache) cached.add(e.requestId);
    });
    await page.goto("/");
    await hydrated(page);
    await expect(page.locator("link[rel=stylesheet]").first()).toHaveAttribute("href", /^\/pkg\/convene\.[A-Za-z0-9_-]{8,}\.css$/);
    expect([...requested.values()].some((u) => u.endsWith(".wasm")), "the second page loads the WASM too").toBe(true);
    expect([...requested].filter(([id]) => !cached.has(id)).map(([, url]) => url)).toEqual([]);
    expect(errors).toEqual([]);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});
