// Steps that several specs take the same way. Each spec still imports `test`
// from ./fixtures (the console guard).
import { expect, Page, APIRequestContext, Browser } from "./fixtures";
import { fnPath } from "./fns";

/** The SMTP sink's API (MailDev), where the server's emails land in the tests. */
export const SINK = process.env.SMTP_SINK_API ?? "http://127.0.0.1:1080";

/** The first word containing `contains` in the newest email to `to` that has it (MailDev API). */
export async function emailedLink(request: APIRequestContext, to: string, contains: string): Promise<string> {
  let link: string | undefined;
  await expect(async () => {
    const res = await request.get(`${SINK}/api/email`);
    const mails: any[] = await res.json();
    const texts = mails
      .filter((m) => m.to?.[0]?.address === to && String(m.text).includes(contains))
      .map((m) => String(m.text));
    link = texts.pop()?.split(/\s+/).find((w) => w.includes(contains));
    expect(link).toBeTruthy();
  }).toPass({ timeout: 20_000 });
  return link!;
}

/** A short id that differs between runs and between calls (slugs, emails). */
export const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;

/** Waits until the WASM bundle has hydrated the page. */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
}

/**
 * Signs a new organiser up through the /signup form and waits for the
 * dashboard; returns the email used.
 */
export async function signUp(page: Page, name: string, organisation = `${name} Events`): Promise<string> {
  const email = `${name.split(" ")[0].toLowerCase()}-${unique()}@example.org`;
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Organisation").fill(organisation);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password (at least 10 characters)").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  return email;
}

/** Opens a section of the event dashboard the page is on ("Tickets", "Orders", ...). */
export async function section(page: Page, name: string) {
  const link = page.getByTestId("event-sections").getByRole("link", { name, exact: true });
  await link.click();
  await expect(link).toHaveAttribute("aria-current", "page");
}

/**
 * Creates an event from the dashboard the page is on (after signUp) and
 * waits for its own dashboard, hydrated.
 */
export async function createEvent(page: Page, name: string, slug: string, starts = "2027-06-01T10:00", ends = "2027-06-01T18:00") {
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Address: /e/").fill(slug);
  await page.getByLabel("Starts").fill(starts);
  await page.getByLabel("Ends").fill(ends);
  await page.getByRole("button", { name: "Create event" }).click();
  await expect(page).toHaveURL(new RegExp(`/dashboard/events/${slug}$`));
  await hydrated(page);
}

/**
 * A new attendee of event `slug` on server `base`: registers through the API,
 * signs in with the returned link and waits for Reception, hydrated. Returns
 * the page and the email used. `viewport` sets the screen (a phone, say).
 */
export async function attendee(browser: Browser, base: string, slug: string, name: string, viewport?: { width: number; height: number }) {
  const context = await browser.newContext({ baseURL: base, ...(viewport ? { viewport } : {}) });
  const page = await context.newPage();
  const email = `${name.toLowerCase()}-${unique()}@example.org`;
  const res = await page.request.post(`${base}${fnPath("register")}`, { form: { slug, name, email } });
  expect(res.status(), await res.text()).toBe(200);
  const link: string = (await res.json()).sign_in_link;
  await page.goto(`${base}${link}`);
  await page.getByRole("button", { name: "Enter the event" }).click();
  await expect(page).toHaveURL(new RegExp(`/e/${slug}/reception$`));
  await hydrated(page);
  return { page, email };
}

/** Waits until `video` shows frames, and more a moment later. */
export async function framesAdvance(video: ReturnType<Page["locator"]>) {
  const frames = () => video.evaluate((v: HTMLVideoElement) => v.getVideoPlaybackQuality().totalVideoFrames);
  let first = 0;
  await expect(async () => {
    first = await frames();
    expect(first).toBeGreaterThan(0);
  }).toPass({ timeout: 30_000 });
  await expect(async () => expect(await frames()).toBeGreaterThan(first + 5)).toPass({ timeout: 20_000 });
}
