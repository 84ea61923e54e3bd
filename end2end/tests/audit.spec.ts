// Every page of the attendee and organiser flows, at a desktop and a phone
// size: axe-core finds no serious or critical accessibility violation, and
// nothing is wider than the screen. (Every spec also fails on any console
// or page error, see fixtures.ts.)
import { test, expect, Page, Browser } from "./fixtures";
import AxeBuilder from "@axe-core/playwright";
import { unique, hydrated } from "./helpers";
import { fnPath } from "./fns";

const SIZES = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
];

/** Fails on serious or critical axe violations and on horizontal overflow. */
async function audit(page: Page, what: string) {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"])
    .analyze();
  const bad = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 5).join(", ")}`);
  expect(bad, `accessibility of ${what}`).toEqual([]);
  const [overflow, culprits] = await page.evaluate(() => {
    const over = document.documentElement.scrollWidth - window.innerWidth;
    // The outermost elements that reach past the right edge.
    const wide = [...document.querySelectorAll("body *")].filter((el) => {
      const past = (e: Element) => e.getBoundingClientRect().right > window.innerWidth + 1;
      return past(el) && !(el.parentElement && past(el.parentElement));
    });
    return [over, wide.slice(0, 5).map((el) => `<${el.tagName.toLowerCase()} class="${el.className}">`)] as const;
  });
  expect(overflow, `${what} is wider than the screen by ${overflow}px: ${culprits.join(", ")}`).toBeLessThanOrEqual(0);
  await expect(page, `${what} has a title`).toHaveTitle(/\S/);
}

async function visit(page: Page, path: string, what: string, hydrate = true) {
  await page.goto(path);
  if (hydrate) await hydrated(page);
  await audit(page, what);
}

/** A context of the given size signed in as a new attendee of the demo event; returns its page. */
async function attendee(browser: Browser, size: { width: number; height: number }) {
  const page = await (await browser.newContext({ viewport: size })).newPage();
  const res = await page.request.post(fnPath("register"), {
    form: { slug: "demo", name: "Audrey", email: `audit-${unique()}@example.org` },
  });
  expect(res.status(), await res.text()).toBe(200);
  // The registering browser (this context's cookie jar) is signed in.
  return { page, order: (await res.json()).order_code as string };
}

for (const size of SIZES) {
  test(`public and attendee pages at ${size.name} size`, async ({ browser, consoleErrors }) => {
    consoleErrors.expectStatus("/no/such/page", 404);
    const { page, order } = await attendee(browser, size);
    await visit(page, "/", "the home page");
    // The first Tab reaches "Skip to content", which moves past the navigation.
    await page.keyboard.press("Tab");
    await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
    await visit(page, "/e/demo", "the event's landing page");
    await visit(page, "/e/demo/widget", "the registration widget");
    await visit(page, "/e/demo/access", "the sign-in link page");
    await visit(page, `/e/demo/order/${order}`, "the order page");
    await visit(page, "/login", "the log-in page");
    await visit(page, "/signup", "the sign-up page");
    await visit(page, "/forgot-password", "the forgotten-password page");
    await visit(page, "/reset-password?token=from-the-email", "the new-password page");
    await visit(page, "/no/such/page", "the 404 page");
    await visit(page, "/e/demo/reception", "Reception");
    await expect(page.getByTestId("attendee-name")).toHaveText("Audrey");
    // People have avatars with their initials.
    await expect(page.locator("[data-testid=person][data-name=Audrey] [data-testid=avatar]").first()).toHaveText("A");
    // The venue's areas are at hand on every attendee page.
    const venue = page.getByTestId("venue");
    await expect(venue.getByRole("link", { name: "Reception" })).toHaveAttribute("aria-current", "page");
    await venue.getByRole("link", { name: /Main stage/ }).click();
    await hydrated(page);
    await expect(page.getByRole("heading", { name: "Main stage" })).toBeVisible();
    await expect(venue.getByRole("link", { name: /Main stage/ })).toHaveAttribute("aria-current", "page");
    await audit(page, "the stage");
    // Its side panel, on each tab (on a phone, the open bottom sheet).
    for (const tab of ["chat", "polls", "qa", "people"]) {
      await page.getByTestId(`tab-${tab}`).click();
      await expect(page.getByTestId(`panel-${tab}`)).toBeVisible();
      await audit(page, `the stage's ${tab} tab`);
    }
    await visit(page, "/e/demo/profile", "the profile page");
  });

  test(`organiser pages at ${size.name} size`, async ({ browser }) => {
    const page = await (await browser.newContext({ viewport: size })).newPage();
    await page.goto("/login");
    await hydrated(page);
    await page.getByLabel("Email").fill("demo@convene.test");
    await page.getByLabel("Password").fill("demo-password-2026");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page).toHaveURL(/\/dashboard$/);
    await hydrated(page);
    await audit(page, "the dashboard");
    await visit(page, "/dashboard/events/demo", "the event's dashboard");
    for (const [path, name] of [
      ["tickets", "tickets"],
      ["questions", "questions"],
      ["orders", "orders"],
      ["stages", "stages and apps"],
      ["agenda", "agenda"],
      ["moderators", "moderators"],
    ]) {
      await visit(page, `/dashboard/events/demo/${path}`, `the event dashboard's ${name}`);
    }
    await visit(page, "/dashboard/team", "the team page");
    await visit(page, "/checkout", "the plans page");
  });
}
