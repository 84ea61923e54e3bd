// The organiser's Videos: a generated video uploaded from the dashboard in
// chunks, with a progress bar; the connection drops after the first chunk,
// the client retries and gives up, and choosing the same file again
// resumes where the server has it up to; the video is
// processed into 360p and 720p; captions attach as WebVTT (SubRip is
// refused); a file that is not a video is refused with the reason. At a phone's size too.
import { test, expect, Page } from "./fixtures";
import { unique, signUp, createEvent, section } from "./helpers";
import { execFileSync } from "child_process";
import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

/** A test video (ffmpeg's pattern and a tone) of about 9.5 MB: three chunks. */
function testVideo(dir: string): string {
  const file = join(dir, "keynote.mp4");
  execFileSync("ffmpeg", [
    "-v", "error", "-y",
    "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration=8",
    "-f", "lavfi", "-i", "sine=frequency=440:duration=8",
    "-c:v", "libx264", "-preset", "ultrafast", "-qp", "12", "-pix_fmt", "yuv420p",
    "-c:a", "aac", "-shortest", file,
  ]);
  return file;
}

/** Every value the upload progress bar shows, as they come (sampled every 50 ms). */
async function watchProgress(page: Page) {
  await page.evaluate(() => {
    const w = window as unknown as { seen: number[] };
    w.seen = [];
    setInterval(() => {
      const bar = document.querySelector("[data-testid=upload-progress] progress") as HTMLProgressElement | null;
      if (bar && w.seen[w.seen.length - 1] !== bar.value) w.seen.push(bar.value);
    }, 50);
  });
  return () => page.evaluate(() => (window as unknown as { seen: number[] }).seen);
}

test("an organiser uploads a video, resumes it after the connection drops, and it becomes ready; a file that is not a video is refused", async ({ page, consoleErrors }) => {
  test.setTimeout(240_000);
  // Provoked below: the requests that fail while offline, and the refusal.
  consoleErrors.expect(/ERR_INTERNET_DISCONNECTED/);
  consoleErrors.expect(/\/assets\/[0-9a-f-]+:\d+\): Failed to load resource: the server responded with a status of 400 /);
  consoleErrors.expect(/\/captions:\d+\): Failed to load resource: the server responded with a status of 400 /);
  const dir = mkdtempSync(join(tmpdir(), "convene-videos-"));
  const video = testVideo(dir);
  await signUp(page, "Vera");
  const slug = `videos-${unique()}`;
  await createEvent(page, "Video Day", slug);
  await section(page, "Videos");
  await expect(page.getByTestId("no-videos")).toBeVisible();

  // The connection drops after the first chunk: every later chunk fails
  // until it comes back.
  let chunks = 0;
  await page.route("**/dashboard/events/*/assets/*", async (route) => {
    if (route.request().method() !== "PATCH") return route.continue();
    chunks += 1;
    return chunks === 1 ? route.continue() : route.abort("internetdisconnected");
  });
  const seen = await watchProgress(page);
  await page.getByTestId("video-file").setInputFiles(video);
  await page.getByLabel("Title (optional)").fill("Opening keynote");
  await page.getByRole("button", { name: "Upload" }).click();
  // The client retries, then says how to go on; the bar stood part-way.
  await expect(page.getByTestId("upload-error")).toContainText("choose the same file again to resume", { timeout: 60_000 });
  const before = (await seen()).filter((v) => v > 0 && v < 100);
  expect(before.length, `the bar stood part-way (${await seen()})`).toBeGreaterThan(0);
  expect(chunks, "the failed chunk was tried again").toBeGreaterThan(2);
  await page.unroute("**/dashboard/events/*/assets/*");
  await page.reload();
  await expect(page.getByTestId("video-status")).toContainText("Upload interrupted");

  // The same file again: it resumes (the bar never starts from zero).
  const resumed = await watchProgress(page);
  await page.getByTestId("video-file").setInputFiles(video);
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByTestId("upload-progress")).toHaveCount(0, { timeout: 60_000 });
  await expect(page.getByTestId("upload-error")).toHaveCount(0);
  const after = await resumed();
  expect(after.length, "the bar was shown").toBeGreaterThan(0);
  expect(after[0], `resumed from where it stopped (${after})`).toBeGreaterThan(0);

  // Processed by the worker: ready at both sizes, one video in the list.
  const row = page.getByTestId("video");
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId("video-title")).toHaveText("Opening keynote");
  await expect(row.getByTestId("video-status")).toHaveAttribute("data-status", "ready", { timeout: 120_000 });
  await expect(row.getByTestId("video-status")).toHaveText("Ready · 360p, 720p");
  await expect(row).toContainText("0:08 · 1280×720");

  // Captions: SubRip is refused, WebVTT attached.
  const captions = row.getByTestId("captions");
  writeFileSync(join(dir, "talk.srt"), "1\n00:00:00,000 --> 00:00:01,000\nHello\n");
  await captions.locator("input[type=file]").setInputFiles(join(dir, "talk.srt"));
  await captions.getByRole("button", { name: "Attach" }).click();
  await expect(row.getByTestId("captions-error")).toContainText("WebVTT");
  writeFileSync(join(dir, "talk.vtt"), "WEBVTT\n\n00:00.000 --> 00:02.000\nHello\n");
  await captions.locator("input[type=file]").setInputFiles(join(dir, "talk.vtt"));
  await captions.getByRole("button", { name: "Attach" }).click();
  await expect(row.getByTestId("has-captions")).toHaveText("Captions attached.");

  // Not a video: refused, and nothing of it is listed.
  const notes = join(dir, "notes.mp4");
  writeFileSync(notes, "minutes of the meeting\n".repeat(1000));
  await page.getByTestId("video-file").setInputFiles(notes);
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByTestId("upload-error")).toContainText("this file is not a video");
  await expect(row).toHaveCount(1);

  // On a phone the list and the uploader fit the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await expect(row.getByTestId("video-status")).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

  // Removing it empties the list.
  await page.getByRole("button", { name: "Remove Opening keynote" }).click();
  await expect(page.getByTestId("no-videos")).toBeVisible();
});
