// Simulive and Replay. An organiser uploads a video and schedules it on a
// stage half a minute ahead; an attendee on a desktop sees "starting soon"
// with a countdown, then the video playing (frames decoded); another on a
// phone joins late and is at the same moment of it; both see "ended"
// without reloading. The organiser publishes it to attendees; Replay lists
// it with its speaker, plays it with its chapter, and resumes where the
// attendee left when they closed it.
import { test, expect, Page } from "./fixtures";
import { unique, signUp, createEvent, section, attendee, hydrated } from "./helpers";
import { fnPath } from "./fns";
import { execFileSync } from "child_process";
import { mkdtempSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

/** A generated video of `seconds` (ffmpeg's pattern and a tone). */
function testVideo(seconds: number): string {
  const file = join(mkdtempSync(join(tmpdir(), "convene-replay-")), "keynote.mp4");
  execFileSync("ffmpeg", [
    "-v", "error", "-y",
    "-f", "lavfi", "-i", `testsrc2=size=640x360:rate=25:duration=${seconds}`,
    "-f", "lavfi", "-i", `sine=frequency=440:duration=${seconds}`,
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
    "-c:a", "aac", "-shortest", file,
  ]);
  return file;
}

/** `at` as a `datetime-local` value (with seconds) in Europe/London, the events' zone. */
function london(at: Date): string {
  return new Intl.DateTimeFormat("sv-SE", {
    timeZone: "Europe/London", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  }).format(at).replace(" ", "T");
}

/** The player's position and decoded frames. */
async function playing(page: Page) {
  return page.evaluate(() => {
    const v = document.querySelector("[data-testid=video-player]") as HTMLVideoElement | null;
    return v ? { at: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames, paused: v.paused } : null;
  });
}

test("a video plays on a stage as simulive, in step for a late joiner, then in Replay with chapters and resume", async ({ page, browser }) => {
  test.setTimeout(240_000);
  const slug = `simulive-${unique()}`;
  await signUp(page, "Sim");
  await createEvent(page, "Simulive Day", slug);
  await section(page, "Stages & apps");
  await page.getByLabel("Stage name").fill("Main stage");
  await page.getByRole("combobox", { name: /^Source/ }).selectOption("none");
  await page.getByRole("button", { name: "Add stage" }).click();
  await expect(page.getByTestId("stage-list")).toContainText("Main stage");
  await expect(page.getByTestId("no-ready-videos")).toBeVisible();

  // The video, ready.
  await section(page, "Videos");
  await page.getByTestId("video-file").setInputFiles(testVideo(24));
  await page.getByLabel("Title (optional)").fill("Opening keynote");
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByTestId("video-status")).toHaveAttribute("data-status", "ready", { timeout: 120_000 });
  // The organiser previews it in the dashboard.
  await page.getByTestId("preview").getByRole("button", { name: "Preview" }).click();
  await expect(page.getByTestId("preview").locator("video")).toBeVisible();
  await page.evaluate(() => {
    const v = document.querySelector("[data-testid=preview] video") as HTMLVideoElement;
    v.muted = true;
    return v.play();
  });
  await expect.poll(async () => (await playing(page))?.at ?? 0, { timeout: 20_000 }).toBeGreaterThan(1);
  expect((await playing(page))!.frames).toBeGreaterThan(10);

  // The agenda of the stage: Grace's keynote, on now.
  const stageId = await page.evaluate(async ([path, slug]) => {
    const r = await fetch(path, { method: "POST", body: new URLSearchParams({ slug }) });
    return (await r.json()).stages[0].id as string;
  }, [fnPath("live_admin"), slug]);
  const now = Date.now();
  for (const [name, form] of [
    ["add_speaker", { slug, name: "Grace" }],
    ["add_session", {
      slug, title: "Welcome and keynote", stage: stageId, speakers: "Grace",
      starts: london(new Date(now - 10 * 60_000)).slice(0, 16), ends: london(new Date(now + 60 * 60_000)).slice(0, 16),
    }],
  ] as const) {
    const res = await page.request.post(fnPath(name), { form });
    expect(res.status(), await res.text()).toBe(200);
  }

  // Two viewers come in; one waits on the stage, which has nothing yet.
  const ada = await attendee(browser, process.env.BASE_URL!, slug, "Ada");
  const cy = await attendee(browser, process.env.BASE_URL!, slug, "Cy", { width: 390, height: 844 });
  await ada.page.goto(`/e/${slug}/stage/${stageId}`);
  await hydrated(ada.page);
  await expect(ada.page.getByTestId("player")).toHaveText("The stream starts soon.");
  await ada.page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));

  // The organiser puts the video on air 25 seconds from now.
  await section(page, "Stages & apps");
  const form = page.getByTestId("simulive-form");
  const starts = new Date(Date.now() + 25_000);
  await form.getByLabel("Video").selectOption({ label: "Opening keynote" });
  await form.getByLabel("Starts (event time; empty: now)").fill(london(starts));
  await form.getByRole("button", { name: "Play on the stage" }).click();
  await expect(page.getByTestId("stage-simulive")).toContainText("Opening keynote, from");

  // The waiting viewer's page follows without a reload: starting soon, with
  // a countdown that goes down.
  const player = ada.page.getByTestId("player");
  await expect(player).toHaveAttribute("data-phase", "soon");
  await expect(player).toContainText("Starting soon");
  expect(await ada.page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
  const first = await ada.page.getByTestId("countdown").textContent();
  await expect(ada.page.getByTestId("countdown")).not.toHaveText(first!, { timeout: 5_000 });

  // It goes live without a reload, and frames are decoded.
  await expect(player).toHaveAttribute("data-phase", "live", { timeout: 40_000 });
  await expect.poll(async () => (await playing(ada.page))?.frames ?? 0, { timeout: 20_000 }).toBeGreaterThan(25);
  await expect.poll(async () => (await playing(ada.page))?.at ?? 0).toBeGreaterThan(2);

  // A viewer on a phone joins late: the same moment of the video.
  await cy.page.goto(`/e/${slug}/stage/${stageId}`);
  await hydrated(cy.page);
  await expect(cy.page.getByTestId("player")).toHaveAttribute("data-phase", "live");
  await expect.poll(async () => (await playing(cy.page))?.frames ?? 0, { timeout: 20_000 }).toBeGreaterThan(10);
  await expect(async () => {
    const [a, c] = await Promise.all([playing(ada.page), playing(cy.page)]);
    const shared = (Date.now() - starts.getTime()) / 1000;
    expect(Math.abs(a!.at - c!.at), `Ada at ${a!.at}, Cy at ${c!.at}`).toBeLessThan(2);
    expect(Math.abs(c!.at - shared), `Cy at ${c!.at}, the stage at ${shared}`).toBeLessThan(3);
  }).toPass({ timeout: 10_000 });
  expect(await cy.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

  // At the end both see it has ended, without reloading.
  for (const p of [ada.page, cy.page]) {
    await expect(p.getByTestId("player")).toHaveAttribute("data-phase", "ended", { timeout: 30_000 });
    await expect(p.getByTestId("player")).toContainText("This stream has ended");
  }

  // Not in Replay until the organiser publishes it to attendees.
  await ada.page.getByTestId("replay-link").click();
  await expect(ada.page.getByTestId("no-recordings")).toBeVisible();
  await section(page, "Videos");
  await page.getByTestId("replay-audience").selectOption("attendees");
  await page.getByTestId("replay-form").getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("replay-now")).toHaveAttribute("data-replay", "attendees");

  // Replay: the recording with its speaker; its chapter from the agenda.
  await ada.page.reload();
  const card = ada.page.getByTestId("recording");
  await expect(card.getByTestId("recording-title")).toHaveText("Opening keynote");
  await expect(card.getByTestId("recording-speakers")).toHaveText("Grace");
  await expect(card).toContainText("Main stage");
  await card.click();
  await hydrated(ada.page);
  await expect(ada.page.getByTestId("chapter-title")).toHaveText(["Welcome and keynote"]);
  await expect(ada.page.getByTestId("chapter-at")).toHaveText(["0:00"]);
  await ada.page.evaluate(() => {
    const v = document.querySelector("[data-testid=video-player]") as HTMLVideoElement;
    v.muted = true;
    return v.play();
  });
  await expect.poll(async () => (await playing(ada.page))?.at ?? 0, { timeout: 20_000 }).toBeGreaterThan(4);
  // The chapter starts playback from its time.
  await ada.page.getByTestId("chapter").getByRole("button").click();
  await expect.poll(async () => (await playing(ada.page))?.at ?? 99).toBeLessThan(3);
  await expect.poll(async () => (await playing(ada.page))?.at ?? 0, { timeout: 20_000 }).toBeGreaterThan(5);
  const left = (await playing(ada.page))!.at;

  // Closing the page (a beacon) keeps the place: Replay offers to resume,
  // and the player starts there.
  await ada.page.goto(`/e/${slug}/replay`);
  await expect(async () => {
    await ada.page.reload();
    await expect(ada.page.getByTestId("recording-resume")).toHaveText(/^Resume at 0:0\d$/, { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  const resume = await ada.page.getByTestId("recording-resume").textContent();
  expect(Number(resume!.slice(-2))).toBeGreaterThanOrEqual(Math.floor(left) - 1);
  await ada.page.getByTestId("recording").click();
  await hydrated(ada.page);
  await expect.poll(async () => (await playing(ada.page))?.at ?? 0, { timeout: 10_000 }).toBeGreaterThanOrEqual(Math.floor(left) - 1);

  // Replay on a phone fits the screen.
  await cy.page.goto(`/e/${slug}/replay`);
  await expect(cy.page.getByTestId("recording-title")).toHaveText("Opening keynote");
  expect(await cy.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
});
