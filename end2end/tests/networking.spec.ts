// Networking with Chromium's fake camera: two attendees press "Meet
// someone", are paired, see each other's video, the organiser's countdown
// ends the call, both press Connect and see each other's card.
import { test, expect, Page } from "./fixtures";
import { unique, signUp, createEvent, section, hydrated, attendee } from "./helpers";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const PHONE = { width: 390, height: 844 };

async function framesOfPartner(page: Page): Promise<number> {
  return page.getByTestId("partner-video").evaluate((v: HTMLVideoElement) => v.getVideoPlaybackQuality().totalVideoFrames);
}

test("two attendees meet over video, the timer ends the call, and both connect", async ({ browser, page }) => {
  test.setTimeout(180_000);
  const slug = `net-${unique()}`;
  await signUp(page, "Nia", "Net Co");
  await createEvent(page, "Net Day", slug);
  await section(page, "Sessions");
  await page.getByLabel("Length of a 1:1 call (seconds)").fill("20");
  await page.getByTestId("call-length").getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Call length saved.")).toBeVisible();
  // Pairing by ticket type: Ada and Bo register alike, so they still meet.
  await page.getByTestId("pairing").locator("select[name=rule]").selectOption("same_ticket_type");
  await page.getByTestId("pairing").getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Pairing saved.")).toBeVisible();
  await page.reload();
  await expect(page.getByTestId("pairing").locator("select[name=rule]")).toHaveValue("same_ticket_type");

  const ada = (await attendee(browser, BASE, slug, "Ada")).page;
  const bo = (await attendee(browser, BASE, slug, "Bo", PHONE)).page;
  for (const p of [ada, bo]) {
    await p.getByTestId("networking-link").click();
    await expect(p.getByRole("heading", { name: "Meet someone" })).toBeVisible();
    await hydrated(p);
  }
  // Bo shares links on his card first.
  await bo.getByLabel("Headline").fill("Builds venues");
  await bo.getByLabel("Links (one per line)").fill("https://example.org/bo");
  await bo.getByRole("button", { name: "Save my card" }).click();
  await expect(bo.getByText("Card saved.")).toBeVisible();

  await ada.getByTestId("meet-someone").click();
  await expect(ada.getByTestId("waiting")).toBeVisible();
  await bo.getByTestId("meet-someone").click();
  await expect(ada.getByTestId("partner")).toHaveText("Bo");
  await expect(bo.getByTestId("partner")).toHaveText("Ada");

  // Each sees the other's camera, frames advancing.
  for (const p of [ada, bo]) {
    let first = 0;
    await expect(async () => {
      first = await framesOfPartner(p);
      expect(first).toBeGreaterThan(0);
    }).toPass({ timeout: 30_000 });
    await expect(async () => expect(await framesOfPartner(p)).toBeGreaterThan(first + 5)).toPass({ timeout: 15_000 });
  }
  await expect(ada.getByTestId("countdown")).toHaveText(/^0:[01]\d$/);
  expect(await bo.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);

  // The organiser's 20 seconds run out for both.
  for (const p of [ada, bo]) await expect(p.getByTestId("call-over")).toBeVisible({ timeout: 30_000 });
  await expect(ada.getByTestId("partner-video")).toHaveCount(0);

  // Connect: the first waits for the second; then both see the other's card.
  await ada.getByTestId("connect").click();
  await expect(ada.getByTestId("connect-asked")).toBeVisible();
  await bo.getByTestId("connect").click();
  await expect(ada.getByTestId("connected")).toBeVisible();
  await expect(bo.getByTestId("connected")).toBeVisible();
  await expect(ada.getByTestId("meet").getByTestId("card-name")).toHaveText("Bo");
  await expect(ada.getByTestId("meet").getByTestId("card")).toContainText("Builds venues");
  await expect(bo.getByTestId("meet").getByTestId("card-name")).toHaveText("Ada");
  await expect(bo.getByTestId("meet").getByTestId("card-email")).toContainText("ada-");
  await expect(ada.getByTestId("connections").getByTestId("card-name")).toHaveText(["Bo"]);

  // The vCard download has Bo in it.
  const vcf = await ada.request.get(`/e/${slug}/connections.vcf`);
  expect(vcf.status()).toBe(200);
  expect(await vcf.text()).toContain("FN:Bo");
});
