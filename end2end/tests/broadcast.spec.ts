// A stage live from its backstage, through the real SFU with Chromium's fake
// camera: the organiser makes the stage and enters its backstage as host,
// goes on screen there, puts themselves on air and goes live; two viewers
// (desktop and phone) wait on "starting soon", then see the speaker's video
// decode frames, then "ended", each without reloading. The media node takes
// one viewer over WebRTC here (CONVENE_MEDIA__MAX_WEBRTC_VIEWERS=1 in the
// test command), so the other watches the live mix over HLS. The broadcast was
// recorded: the recording becomes a ready video, which the organiser
// publishes, and Replay plays it with its chapter from the agenda.
import { test, expect, Page } from "./fixtures";
import { unique, signUp, createEvent, section, hydrated, attendee, framesAdvance } from "./helpers";
import { fnPath } from "./fns";

/** `at` as a `datetime-local` value in Europe/London, the events' zone. */
function london(at: Date): string {
  return new Intl.DateTimeFormat("sv-SE", {
    timeZone: "Europe/London", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).format(at).replace(" ", "T");
}

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const PHONE = { width: 390, height: 844 };

/** Waits until the first stream on air on `page` shows frames, and more a moment later. */
async function seesOnAir(page: Page) {
  await framesAdvance(page.getByTestId("air-video").first());
}

test("speakers go live from the backstage; viewers see starting soon, the speaker (over WebRTC, or HLS past the node's limit), then ended; the recording plays in Replay", async ({ browser, consoleErrors }) => {
  test.setTimeout(300_000);
  const slug = `bcast-${unique()}`;
  const org = await (await browser.newContext()).newPage();
  await signUp(org, "Hana", "Broadcast Co");
  await createEvent(org, "Broadcast Day", slug);
  await section(org, "Stages & apps");
  await org.getByLabel("Stage name").fill("Main stage");
  await org.locator('select[name="source_kind"]').first().selectOption("backstage");
  await org.getByRole("button", { name: "Add stage" }).click();
  await expect(org.getByTestId("stage-backstage")).toContainText("Backstage: Main stage");
  // The stage's agenda: a talk on now (the recording's chapter).
  const stageId = await org.evaluate(async ([path, slug]) => {
    const r = await fetch(path, { method: "POST", body: new URLSearchParams({ slug }) });
    return (await r.json()).stages[0].id as string;
  }, [fnPath("live_admin"), slug]);
  const now = Date.now();
  const res = await org.request.post(fnPath("add_session"), {
    form: {
      slug, title: "Opening talk", stage: stageId, speakers: "",
      starts: london(new Date(now - 10 * 60_000)), ends: london(new Date(now + 60 * 60_000)),
    },
  });
  expect(res.status(), await res.text()).toBe(200);

  // Viewers wait on the stage.
  const ada = (await attendee(browser, BASE, slug, "Ada")).page;
  const bo = (await attendee(browser, BASE, slug, "Bo", PHONE)).page;
  for (const p of [ada, bo]) {
    // The backstage is not theirs: Reception does not list it.
    await expect(p.getByTestId("stages").getByRole("link", { name: "Main stage" })).toBeVisible();
    await expect(p.getByRole("link", { name: "Backstage: Main stage" })).toHaveCount(0);
    await p.getByTestId("stages").getByRole("link", { name: "Main stage" }).click();
    await expect(p.getByRole("heading", { name: "Main stage" })).toBeVisible();
    await hydrated(p);
    await expect(p.getByTestId("player")).toHaveAttribute("data-phase", "soon");
    await expect(p.getByTestId("player")).toContainText("Starting soon");
  }

  // The organiser enters as host (a moderator hosts every backstage), goes
  // backstage and on screen there.
  await section(org, "Overview");
  await org.getByTestId("enter-as-host").click();
  await expect(org).toHaveURL(new RegExp(`/e/${slug}/reception$`));
  await hydrated(org);
  await org.getByRole("link", { name: "Backstage: Main stage" }).click();
  await expect(org.getByTestId("backstage-panel")).toBeVisible();
  const backstage = org.url();
  // Going on screen backstage needs the pre-event check first.
  await expect(org.getByTestId("backstage-check")).toContainText("pre-event check");
  await org.getByTestId("backstage-check-link").click();
  await expect(org.getByRole("heading", { name: "Check your camera, microphone and connection" })).toBeVisible();
  await hydrated(org);
  await expect(async () => {
    expect(await org.getByTestId("check-video").evaluate((v: HTMLVideoElement) => v.videoWidth)).toBeGreaterThan(0);
  }).toPass({ timeout: 15_000 });
  await org.getByTestId("run-check").click();
  await expect(org.getByTestId("check-results").locator("tr")).toHaveCount(6, { timeout: 40_000 });
  await org.goto(backstage);
  await expect(org.getByTestId("backstage-panel")).toBeVisible();
  await expect(org.getByTestId("backstage-check")).toHaveCount(0);
  await hydrated(org);
  await expect(org.getByTestId("broadcast-state")).toHaveAttribute("data-state", "off");
  await org.getByTestId("go-on-screen").click();
  await expect(async () => {
    expect(await org.getByTestId("preview-video").evaluate((v: HTMLVideoElement) => v.videoWidth)).toBeGreaterThan(0);
  }).toPass({ timeout: 15_000 });
  await org.getByTestId("join-on-screen").click();
  await expect(org.getByTestId("call-status")).toHaveText("You are on screen.", { timeout: 30_000 });

  // On air, side by side, live.
  await org.getByTestId("on-air-toggle").check();
  await expect(org.getByTestId("on-air-toggle")).toBeChecked();
  await org.getByTestId("layout").selectOption("side_by_side");
  await org.getByTestId("go-live").click();
  await expect(org.getByTestId("broadcast-state")).toHaveAttribute("data-state", "live");

  // Both viewers see the speaker, frames advancing, without reloading: one
  // over WebRTC, the other (the node is full) over the live mix's HLS, whose
  // playlist is not there for the first seconds of a broadcast.
  consoleErrors.expectStatus("/live.m3u8", 404);
  const hlsViewers: Page[] = [];
  for (const p of [ada, bo]) {
    await expect(p.getByTestId("player")).toHaveAttribute("data-phase", "live", { timeout: 15_000 });
    await expect(p.getByTestId("player")).toHaveAttribute("data-layout", "side_by_side");
    await expect(p.getByTestId("air-tile").or(p.getByTestId("air-hls"))).toHaveCount(1, { timeout: 30_000 });
    if (await p.getByTestId("air-hls").count()) hlsViewers.push(p);
  }
  expect(hlsViewers.length, "one viewer past the node's WebRTC limit").toBe(1);
  for (const p of [ada, bo]) {
    if (hlsViewers.includes(p)) {
      const video = p.getByTestId("air-hls");
      await framesAdvance(video);
      const at = await video.evaluate((v: HTMLVideoElement) => v.currentTime);
      await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 20_000 }).toBeGreaterThan(at + 1);
      // The mix's picture, not a black frame: some pixel is bright.
      await expect.poll(() => video.evaluate((v: HTMLVideoElement) => {
        const c = document.createElement("canvas");
        c.width = 64; c.height = 36;
        const g = c.getContext("2d")!;
        g.drawImage(v, 0, 0, 64, 36);
        const d = g.getImageData(0, 0, 64, 36).data;
        let max = 0;
        for (let i = 0; i < d.length; i += 4) max = Math.max(max, d[i], d[i + 1], d[i + 2]);
        return max;
      }), { timeout: 20_000 }).toBeGreaterThan(60);
    } else {
      await seesOnAir(p);
    }
  }
  expect(await bo.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);

  // The host ends: the viewers see it has ended.
  await org.getByTestId("end-broadcast").click();
  await expect(org.getByTestId("broadcast-state")).toHaveAttribute("data-state", "ended");
  for (const p of [ada, bo]) {
    await expect(p.getByTestId("player")).toHaveAttribute("data-phase", "ended", { timeout: 15_000 });
    await expect(p.getByTestId("player")).toContainText("This broadcast has ended");
    await expect(p.getByTestId("air-tile")).toHaveCount(0);
  }

  // The broadcast was recorded: mixed, handed over and processed, it is a
  // ready video of the event, on the stage from when it went live.
  await org.goto(`${BASE}/dashboard/events/${slug}/videos`);
  await expect(async () => {
    await org.reload();
    await expect(org.getByTestId("video-status")).toHaveAttribute("data-status", "ready", { timeout: 5_000 });
  }).toPass({ timeout: 150_000 });
  await hydrated(org);
  await expect(org.getByTestId("video-title")).toContainText("Main stage ·");
  await expect(org.getByTestId("video-recording")).toHaveText("Recording of a broadcast");
  await org.getByTestId("replay-audience").selectOption("attendees");
  await org.getByTestId("replay-form").getByRole("button", { name: "Save" }).click();
  await expect(org.getByTestId("replay-now")).toHaveAttribute("data-replay", "attendees");

  // Replay plays it, with the talk as its chapter.
  await ada.getByTestId("replay-link").click();
  const card = ada.getByTestId("recording");
  await expect(card.getByTestId("recording-title")).toContainText("Main stage ·");
  await card.click();
  await hydrated(ada);
  await expect(ada.getByTestId("chapter-title")).toHaveText(["Opening talk"]);
  await ada.evaluate(() => {
    const v = document.querySelector("[data-testid=video-player]") as HTMLVideoElement;
    v.muted = true;
    return v.play();
  });
  const position = () => ada.evaluate(() => (document.querySelector("[data-testid=video-player]") as HTMLVideoElement).currentTime);
  await expect.poll(position, { timeout: 20_000 }).toBeGreaterThan(2);
  expect(await ada.evaluate(() => (document.querySelector("[data-testid=video-player]") as HTMLVideoElement).getVideoPlaybackQuality().totalVideoFrames)).toBeGreaterThan(10);

  // Ada's stage page said, as she left it, how long the broadcast played
  // there: the organiser's Engagement table counts her among its watchers.
  await org.goto(`${BASE}/dashboard/events/${slug}`);
  await hydrated(org);
  await section(org, "Overview");
  const watched = org.locator('[data-testid=engagement-row][data-area="Main stage"]');
  await expect.poll(async () => Number(await watched.getAttribute("data-watchers", { timeout: 1_000 }).catch(() => "0")), { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
  expect(Number(await watched.getAttribute("data-average-watch"))).toBeGreaterThan(0);
});
