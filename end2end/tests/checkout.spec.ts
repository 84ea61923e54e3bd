import { test, expect, Page } from "./fixtures";
import { unique, hydrated, signUp } from "./helpers";
import { fnPath } from "./fns";

async function createEvent(page: Page, slug: string) {
  await page.getByLabel("Name", { exact: true }).fill(`Event ${slug}`);
  await page.getByLabel("Address: /e/").fill(slug);
  await page.getByLabel("Starts").fill("2027-10-01T10:00");
  await page.getByLabel("Ends").fill("2027-10-01T18:00");
  await page.getByRole("button", { name: "Create event" }).click();
}

test("the Free plan allows one event; upgrading at /checkout with the test card lifts the limit", async ({ page, consoleErrors }) => {
  // Refusals it provokes: a second event on the Free plan, a declined card.
  consoleErrors.expectStatus(fnPath("create_event"), 402);
  consoleErrors.expectStatus(fnPath("buy_plan"), 402);
  await signUp(page, "Cleo", "Cleo Events");

  const first = `one-${unique()}`;
  await createEvent(page, first);
  await expect(page).toHaveURL(new RegExp(`/dashboard/events/${first}$`));

  await page.goto("/dashboard");
  await hydrated(page);
  const second = `two-${unique()}`;
  await createEvent(page, second);
  await expect(page.getByRole("alert")).toContainText("your Free plan allows 1 event; upgrade at /checkout");

  await page.getByRole("link", { name: "Plans" }).click();
  await expect(page).toHaveURL(/\/checkout$/);
  await hydrated(page);
  await expect(page.getByTestId("plan-free")).toContainText("Your plan");
  const starter = page.getByTestId("plan-starter");
  await starter.getByLabel("Card number").fill("4000 0000 0000 0002");
  await starter.getByRole("button", { name: "Upgrade to Starter" }).click();
  await expect(page.getByRole("alert")).toContainText("declined");
  await page.getByTestId("plan-starter").getByLabel("Card number").fill("4242 4242 4242 4242");
  await page.getByTestId("plan-starter").getByRole("button", { name: "Upgrade to Starter" }).click();
  await expect(page.getByTestId("upgraded")).toContainText("You are now on Starter");
  await expect(page.getByTestId("plan-starter")).toContainText("Your plan");
  // A month is paid; the owner is told it does not renew by itself.
  await expect(page.getByTestId("plan-starter").getByTestId("plan-until")).toContainText("Paid until");
  await expect(page.getByTestId("plan-starter").getByRole("button", { name: "Renew for a month" })).toBeVisible();

  await page.goto("/dashboard");
  await hydrated(page);
  await createEvent(page, second);
  await expect(page).toHaveURL(new RegExp(`/dashboard/events/${second}$`));
});
