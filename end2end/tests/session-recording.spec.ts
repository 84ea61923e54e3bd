// A session recorded by its host, through the real SFU with Chromium's fake
// cameras: the organiser (host) presses Record; everyone in the session sees
// it records, and the preview before going on screen says so; two attendees
// (desktop and phone) go on screen; the host stops. The media node mixes a
// picture that follows the speaker, hands it over with every track on its
// own; the organiser finds a ready video of the session with its tracks to
// download, publishes it, and Replay plays it with the session's agenda
// entry as its chapter.
import { test, expect, Page } from "./fixtures";
import { unique, signUp, createEvent, section, hydrated, attendee, framesAdvance } from "./helpers";
import { fnPath } from "./fns";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const PHONE = { width: 390, height: 844 };

/** `at` as a `datetime-local` value in Europe/London, the events' zone. */
function london(at: Date): string {
  return new Intl.DateTimeFormat("sv-SE", {
    timeZone: "Europe/London", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).format(at).replace(" ", "T");
}

/** Opens the session from Reception. */
async function enter(page: Page, title: string) {
  await page.getByTestId("sessions").getByRole("link", { name: title }).click();
  await expect(page.getByRole("heading", { name: title })).toBeVisible();
  await hydrated(page);
}

/** Goes on screen through the preview, which says the session records. */
async function goOnScreen(page: Page) {
  await page.getByTestId("go-on-screen").click();
  await expect(page.getByTestId("preview-recording")).toContainText("This session is being recorded");
  const preview = page.getByTestId("preview-video");
  await expect(async () => {
    expect(await preview.evaluate((v: HTMLVideoElement) => v.videoWidth)).toBeGreaterThan(0);
  }).toPass({ timeout: 15_000 });
  await page.getByTestId("join-on-screen").click();
  await expect(page.getByTestId("call-status")).toHaveText("You are on screen.", { timeout: 30_000 });
}

/** The tile video of `name` on `page`. */
function tileVideo(page: Page, name: string) {
  return page.locator("[data-testid=tile]")
    .filter({ has: page.getByTestId("tile-name").getByText(name, { exact: true }) })
    .getByTestId("tile-video");
}

test("a host records a session: everyone is told, the recording follows the speaker, its tracks are kept apart, and Replay plays it", async ({ browser }) => {
  test.setTimeout(300_000);
  const slug = `srec-${unique()}`;
  const org = await (await browser.newContext()).newPage();
  await signUp(org, "Hana", "Recording Co");
  await createEvent(org, "Recording Day", slug);
  // The agenda entry the session belongs to (the recording's chapter).
  const now = Date.now();
  const res = await org.request.post(fnPath("add_session"), {
    form: {
      slug, title: "Open workshop", speakers: "",
      starts: london(new Date(now - 10 * 60_000)), ends: london(new Date(now + 60 * 60_000)),
    },
  });
  expect(res.status(), await res.text()).toBe(200);
  await section(org, "Sessions");
  const add = org.getByTestId("add-session");
  await add.getByLabel("Title").fill("Workshop");
  await add.getByLabel("People on screen").fill("4");
  await add.locator('select[name="agenda_session"]').selectOption({ label: "Open workshop" });
  await add.getByRole("button", { name: "Add session" }).click();
  await expect(org.getByTestId("video-sessions")).toContainText("Workshop");

  const ada = (await attendee(browser, BASE, slug, "Ada")).page;
  const cy = (await attendee(browser, BASE, slug, "Cy", PHONE)).page;
  await section(org, "Overview");
  await org.getByTestId("enter-as-host").click();
  await expect(org).toHaveURL(new RegExp(`/e/${slug}/reception$`));
  await hydrated(org);
  for (const p of [org, ada, cy]) await enter(p, "Workshop");
  for (const p of [org, ada, cy]) await expect(p.getByTestId("in-session")).toHaveText("3");

  // Only the host has the button; everyone sees the recording start.
  await expect(ada.getByTestId("record-session")).toHaveCount(0);
  for (const p of [org, ada, cy]) await expect(p.getByTestId("recording-badge")).toHaveCount(0);
  await org.getByTestId("record-session").click();
  await expect(org.getByTestId("record-session")).toHaveText("Stop recording");
  await expect(org.getByTestId("record-session")).toHaveAttribute("aria-pressed", "true");
  for (const p of [org, ada, cy]) await expect(p.getByTestId("recording-badge")).toBeVisible({ timeout: 10_000 });
  // Someone arriving later sees it too.
  await cy.reload();
  await hydrated(cy);
  await expect(cy.getByTestId("recording-badge")).toBeVisible();

  // Two go on screen (after the recording started: it takes them in).
  await goOnScreen(ada);
  await goOnScreen(cy);
  await expect(org.getByTestId("call-status")).toHaveText("You are watching.", { timeout: 30_000 });
  await framesAdvance(tileVideo(org, "Ada"));
  await framesAdvance(tileVideo(org, "Cy"));
  expect(await cy.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
  // Some seconds of both on screen: 150 more of Ada's frames reach the host.
  const frames = () => tileVideo(org, "Ada").evaluate((v: HTMLVideoElement) => v.getVideoPlaybackQuality().totalVideoFrames);
  const before = await frames();
  await expect.poll(frames, { timeout: 30_000 }).toBeGreaterThan(before + 150);
  await org.getByTestId("record-session").click();
  await expect(org.getByTestId("record-session")).toHaveText("Record the session");
  for (const p of [org, ada, cy]) await expect(p.getByTestId("recording-badge")).toHaveCount(0, { timeout: 10_000 });

  // The recording was mixed, handed over with its tracks, and processed.
  await org.goto(`${BASE}/dashboard/events/${slug}/videos`);
  await expect(async () => {
    await org.reload();
    await expect(org.getByTestId("video-status")).toHaveAttribute("data-status", "ready", { timeout: 5_000 });
    await expect(org.getByTestId("video-track")).toHaveCount(4, { timeout: 1_000 });
  }).toPass({ timeout: 150_000 });
  await hydrated(org);
  await expect(org.getByTestId("video-title")).toContainText("Workshop ·");
  await expect(org.getByTestId("video-recording")).toHaveText("Recording of a session");
  // Each camera and microphone on its own: Ada's and Cy's, to download.
  await org.getByTestId("video-tracks").locator("summary").click();
  const tracks = org.getByTestId("video-track");
  for (const who of ["Ada · camera", "Ada · microphone", "Cy · camera", "Cy · microphone"]) {
    await expect(tracks.filter({ hasText: who })).toHaveCount(1);
  }
  const camera = tracks.filter({ hasText: "Ada · camera" }).getByRole("link");
  const got = await org.request.get(`${BASE}${await camera.getAttribute("href")}`);
  expect(got.status()).toBe(200);
  expect(got.headers()["content-type"]).toBe("video/x-ivf");
  expect((await got.body()).subarray(0, 4).toString()).toBe("DKIF");
  const sound = tracks.filter({ hasText: "Cy · microphone" }).getByRole("link");
  const heard = await org.request.get(`${BASE}${await sound.getAttribute("href")}`);
  expect((await heard.body()).subarray(0, 4).toString()).toBe("OggS");

  await org.getByTestId("replay-audience").selectOption("attendees");
  await org.getByTestId("replay-form").getByRole("button", { name: "Save" }).click();
  await expect(org.getByTestId("replay-now")).toHaveAttribute("data-replay", "attendees");

  // Replay (on the phone) lists it as the session's and plays it.
  await cy.goto(`${BASE}/e/${slug}/replay`);
  const card = cy.getByTestId("recording");
  await expect(card).toContainText("Session: Workshop");
  await card.click();
  await hydrated(cy);
  await expect(cy.getByTestId("chapter-title")).toHaveText(["Open workshop"]);
  await cy.evaluate(() => {
    const v = document.querySelector("[data-testid=video-player]") as HTMLVideoElement;
    v.muted = true;
    return v.play();
  });
  const player = () => cy.evaluate(() => {
    const v = document.querySelector("[data-testid=video-player]") as HTMLVideoElement;
    return { at: v.currentTime, length: v.duration, frames: v.getVideoPlaybackQuality().totalVideoFrames };
  });
  await expect.poll(async () => (await player()).at, { timeout: 20_000 }).toBeGreaterThan(2);
  const p = await player();
  expect(p.frames).toBeGreaterThan(10);
  expect(p.length).toBeGreaterThan(8);
  expect(await cy.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
});
