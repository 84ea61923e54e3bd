// The venue as attendees hold it: on a phone the side panel is a bottom
// sheet (its tab bar at the foot of the screen, counts of what arrived while
// it was closed, Escape closes it); a photo uploaded on the profile page
// shows to the others in the people list.
import { test, expect, Page } from "./fixtures";
import { unique, signUp, createEvent, attendee } from "./helpers";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const PHONE = { width: 390, height: 844 };

/** A 1×1 PNG (the server scales it to its 256-pixel square). */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);

/** Width of the decoded picture of the first image `testId` (0 until it has loaded). */
async function decodedWidth(page: Page, testId: string): Promise<number> {
  return page.getByTestId(testId).first().evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0));
}

test("on a phone the side panel is a bottom sheet with unread counts", async ({ browser, page }) => {
  const slug = `venue-${unique()}`;
  await signUp(page, "Vera", "Venue Co");
  await createEvent(page, "Venue Days", slug);
  // Dan first, so he is on the people list Pia's page comes with.
  const desk = (await attendee(browser, BASE, slug, "Dan")).page;
  const phone = (await attendee(browser, BASE, slug, "Pia", PHONE)).page;

  // The sheet starts closed: the tab bar sits at the foot of the screen.
  const chatTab = phone.getByTestId("tab-chat");
  await expect(chatTab).toBeVisible();
  const bar = await chatTab.boundingBox();
  expect(bar!.y + bar!.height).toBeGreaterThan(PHONE.height - 80);
  await expect(phone.getByTestId("chat-input")).toBeHidden();
  expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);

  // A message while it is closed counts on its tab.
  await desk.getByTestId("chat-input").fill("Welcome, everyone");
  await desk.getByTestId("chat-send").click();
  await expect(chatTab.getByTestId("tab-unread")).toHaveText("1 new");

  // Opening the tab shows it and clears the count; the phone can answer.
  await chatTab.click();
  await expect(phone.getByTestId("chat-body")).toHaveText(["Welcome, everyone"]);
  await expect(chatTab.getByTestId("tab-unread")).toHaveCount(0);
  await phone.getByTestId("chat-input").fill("Hello from my phone");
  await phone.getByTestId("chat-send").click();
  await expect(desk.getByTestId("chat-body")).toHaveText(["Welcome, everyone", "Hello from my phone"]);

  // Escape closes the sheet and gives focus back to its tab.
  await phone.getByTestId("chat-input").focus();
  await phone.keyboard.press("Escape");
  await expect(phone.getByTestId("chat-input")).toBeHidden();
  await expect(chatTab).toBeFocused();

  // People: the tab opens the list; the close button closes it.
  await phone.getByTestId("tab-people").click();
  await expect(phone.locator("[data-testid=person][data-name=Dan]")).toBeVisible();
  await phone.getByTestId("side-panel-close").click();
  await expect(phone.locator("[data-testid=person][data-name=Dan]")).toBeHidden();
});

test("an attendee uploads a photo and the others see it", async ({ browser, page }) => {
  const slug = `photo-${unique()}`;
  await signUp(page, "Otto", "Photo Co");
  await createEvent(page, "Photo Day", slug);
  const ada = (await attendee(browser, BASE, slug, "Ada")).page;
  const bo = (await attendee(browser, BASE, slug, "Bo", PHONE)).page;

  await ada.getByTestId("profile-link").click();
  await expect(ada.getByTestId("my-initials")).toHaveText("A");
  // Not a picture: refused with a reason, nothing changes.
  await ada.getByLabel(/New photo/).setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("just text") });
  await ada.getByRole("button", { name: "Upload photo" }).click();
  await expect(ada.getByTestId("photo-error")).toHaveText("the file is not a PNG, JPEG, WebP or GIF picture");
  await expect(ada.getByTestId("my-initials")).toBeVisible();
  // A picture: stored as a 256-pixel square.
  await ada.getByLabel(/New photo/).setInputFiles({ name: "me.png", mimeType: "image/png", buffer: PNG });
  await ada.getByRole("button", { name: "Upload photo" }).click();
  await expect(ada.getByTestId("photo-saved")).toHaveText("Photo saved.");
  await expect.poll(() => decodedWidth(ada, "my-photo")).toBe(256);

  // Bo, on a phone, sees it beside Ada's name.
  await bo.reload();
  await bo.getByTestId("tab-people").click();
  const row = bo.locator("[data-testid=person][data-name=Ada]");
  await expect(row.getByTestId("avatar-photo")).toBeVisible();
  await expect.poll(() => row.getByTestId("avatar-photo").evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(256);
  await expect(bo.locator("[data-testid=person][data-name=Bo]").getByTestId("avatar")).toHaveText("B");

  // Removed: initials again.
  await ada.getByRole("button", { name: "Remove my photo" }).click();
  await expect(ada.getByTestId("photo-saved")).toContainText("Photo removed");
  await expect(ada.getByTestId("my-initials")).toBeVisible();
});
