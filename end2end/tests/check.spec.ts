// The pre-event check with Chromium's fake camera and microphone: a speaker
// opens it from the agenda, sees the picture, the level meter moves with the
// fake microphone's beeps, a call through the SFU gives measured numbers with
// verdicts, and the organiser sees the result beside the speaker's name.
import { test, expect } from "./fixtures";
import { unique, signUp, createEvent, section, hydrated, attendee } from "./helpers";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:3000";

test("a speaker checks camera, microphone and connection; the organiser sees the result", async ({ browser, page }) => {
  const slug = `check-${unique()}`;
  await signUp(page, "Otto", "Check Co");
  await createEvent(page, "Check Day", slug);
  await section(page, "Agenda");
  await page.getByLabel("Speaker name").fill("Kim Speaker");
  await page.getByRole("button", { name: "Add speaker" }).click();
  await expect(page.getByTestId("speakers-admin")).toContainText("Kim Speaker");
  await page.getByLabel("Session title").fill("Opening keynote");
  await page.getByLabel("Session starts (event time)").fill("2027-06-01T10:00");
  await page.getByLabel("Session ends (event time)").fill("2027-06-01T11:00");
  await page.getByLabel("Speakers (names, comma-separated)").fill("Kim Speaker");
  await page.getByRole("button", { name: "Add session" }).click();
  await expect(page.getByTestId("agenda-admin")).toContainText("Opening keynote");
  await expect(page.getByTestId("speaker-check")).toHaveText(" (no pre-event check yet)");

  const kim = (await attendee(browser, BASE, slug, "Kim")).page;
  await kim.getByTestId("speaker-check-link").click();
  await expect(kim.getByRole("heading", { name: "Check your camera, microphone and connection" })).toBeVisible();
  await hydrated(kim);
  // The picture and the microphone's level.
  await expect(async () => {
    expect(await kim.getByTestId("check-video").evaluate((v: HTMLVideoElement) => v.videoWidth)).toBeGreaterThan(0);
  }).toPass({ timeout: 15_000 });
  await expect(kim.getByTestId("mic-level")).toHaveAttribute("data-heard", "true", { timeout: 15_000 });
  // The pickers list the devices by name; another microphone opens and the
  // meter follows it.
  await expect(kim.getByTestId("camera-picker").locator("option")).not.toHaveCount(0);
  const mics = kim.getByTestId("microphone-picker").locator("option");
  await expect(mics).not.toHaveCount(0);
  expect(await mics.first().textContent()).not.toBe("");
  const lastMic = await mics.last().getAttribute("value");
  await kim.getByTestId("microphone-picker").selectOption(lastMic!);
  await expect(async () => {
    expect(Number(await kim.getByTestId("mic-level").getAttribute("value"))).toBeGreaterThan(0);
  }).toPass({ timeout: 15_000 });
  await kim.getByTestId("play-tone").click();

  // The connection, as Kim Speaker.
  await kim.getByTestId("check-speaker").selectOption({ label: "Kim Speaker" });
  await kim.getByTestId("run-check").click();
  const results = kim.getByTestId("check-results");
  await expect(results.locator("tr")).toHaveCount(6, { timeout: 40_000 });
  for (const m of ["camera", "microphone"]) {
    await expect(kim.getByTestId(`check-${m}`).getByTestId("verdict")).toHaveText("good");
  }
  // Measured numbers: a round trip in milliseconds, video actually sent.
  const rtt = await kim.getByTestId("check-rtt").getByTestId("figure").textContent();
  expect(rtt).toMatch(/^\d+ ms$/);
  const bitrate = await kim.getByTestId("check-bitrate").getByTestId("figure").textContent();
  expect(Number(bitrate!.split(" ")[0])).toBeGreaterThan(50);
  await expect(kim.getByTestId("check-rtt").getByTestId("verdict")).toHaveText(/good|fair|poor/);

  await expect(kim.getByTestId("check-path")).toHaveText("Path: direct");

  // Through the relay only (a real coturn, credentials minted for Kim): the
  // call still connects, and the path says so.
  await kim.getByTestId("check-relay").check();
  await kim.getByTestId("run-check").click();
  await expect(kim.getByTestId("check-path")).toHaveText("Path: through the relay server", { timeout: 40_000 });
  await expect(results.locator("tr")).toHaveCount(6);
  const relayed = await kim.getByTestId("check-bitrate").getByTestId("figure").textContent();
  expect(Number(relayed!.split(" ")[0])).toBeGreaterThan(50);

  // The organiser sees it beside the speaker.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("speaker-check")).toContainText("by Kim");
  await expect(page.getByTestId("speaker-check")).toContainText(/check (good|fair|poor) \(\d+ ms, \d+ kbit\/s/);
});
