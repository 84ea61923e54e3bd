// The attendee's ways in survive what real buyers do: registering before (or
// without) JavaScript, reloading the order page, pressing a sign-in link
// before paying, losing the link. Unknown addresses answer 404 with a page.
import { test, expect, Browser } from "./fixtures";
import { unique, hydrated, emailedLink } from "./helpers";
import { fnPath } from "./fns";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:3000";

/** A new organiser's event with a free and a 25.00 EUR ticket type, set up through the dashboard's server functions. */
async function paidEvent(browser: Browser): Promise<string> {
  const api = (await browser.newContext({ baseURL: BASE })).request;
  const slug = `paid-${unique()}`;
  const ok = async (path: string, form: Record<string, string>) => {
    const res = await api.post(path, { form });
    expect(res.status(), `${path}: ${await res.text()}`).toBe(200);
  };
  await ok(fnPath("signup"), { name: "Pam", organisation: `Pam ${unique()}`, email: `pam-${unique()}@example.org`, password: "correct horse battery" });
  await ok(fnPath("create_event"), { name: "Paid Summit", slug, description: "", starts: "2027-09-01T10:00", ends: "2027-09-02T18:00", time_zone: "Europe/Madrid" });
  await ok(fnPath("create_ticket_type"), { slug, name: "Conference pass", price: "25.00", quota: "50" });
  return slug;
}

test.describe("with JavaScript disabled", () => {
  test.use({ javaScriptEnabled: false });

  test("a visitor registers, sees their order and enters the event", async ({ page }) => {
    await page.goto("/e/demo");
    // Rendered whole on the server: the offers are there, no "Loading…".
    await expect(page.getByTestId("offers")).toContainText("General admission");
    await expect(page.getByText("Loading…")).toHaveCount(0);

    // A refused submission comes back with its message.
    await page.getByLabel("Name").fill("N".repeat(300));
    await page.getByLabel("Email").fill(`nojs-${unique()}@example.org`);
    await page.getByRole("button", { name: "Get tickets" }).click();
    await expect(page.getByRole("alert")).toContainText("name");

    await page.getByLabel("Name").fill("Noa");
    await page.getByLabel("Email").fill(`nojs-${unique()}@example.org`);
    await page.getByRole("button", { name: "Get tickets" }).click();
    await expect(page).toHaveURL(/\/e\/demo\/order\/[A-Z0-9]+$/);
    await expect(page.getByTestId("order-heading")).toHaveText("You're registered!");
    await expect(page.getByTestId("order-summary")).toContainText("General admission");
    await expect(page.locator("[data-testid=registered] svg")).toBeVisible();
    await page.getByTestId("enter-event").click();
    await expect(page).toHaveURL(/\/e\/demo\/reception$/);
    await expect(page.getByTestId("attendee-name")).toHaveText("Noa");
  });

  test("a lost link is sent again by email", async ({ page, request }) => {
    const email = `again-${unique()}@example.org`;
    const reg = await request.post(fnPath("register"), { form: { slug: "demo", name: "Ola", email } });
    expect(reg.status()).toBe(200);
    await page.goto("/e/demo");
    await page.getByTestId("lost-link").click();
    await expect(page).toHaveURL(/\/e\/demo\/access$/);
    await page.getByLabel("Email").fill(email);
    await page.getByRole("button", { name: "Email me a link" }).click();
    await expect(page.getByTestId("check-inbox")).toContainText("Check your inbox");
    const link = await emailedLink(request, email, "/e/demo/join?token=");
    await page.goto(link);
    await page.getByRole("button", { name: "Enter the event" }).click();
    await expect(page).toHaveURL(/\/e\/demo\/reception$/);
    await expect(page.getByTestId("attendee-name")).toHaveText("Ola");
  });
});

test("a paid order: summary first, no ticket before paying, a link pressed early still works after paying", async ({ browser, request, consoleErrors }) => {
  consoleErrors.expectStatus("/join", 409); // the early press, provoked below
  consoleErrors.expectStatus("/reception", 403);
  const slug = await paidEvent(browser);
  const email = `early-${unique()}@example.org`;
  const page = await (await browser.newContext()).newPage();
  await page.goto(`/e/${slug}`);
  await hydrated(page);
  await page.getByRole("radio", { name: /Conference pass/ }).check();
  await page.getByLabel("Name", { exact: true }).fill("Eve");
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Get tickets" }).click();
  await expect(page).toHaveURL(new RegExp(`/e/${slug}/order/[A-Z0-9]+$`));
  await expect(page.getByTestId("order-heading")).toHaveText("Complete your payment");
  await expect(page.getByTestId("order-summary")).toContainText("Conference pass");
  await expect(page.getByTestId("order-total")).toHaveText("25.00 EUR");
  await expect(page.locator("[data-testid=registered] svg")).toHaveCount(0);
  const orderUrl = page.url();

  // The registering browser is signed in, but the unpaid order does not admit it yet.
  const early = await (await browser.newContext()).newPage();
  await page.goto(`/e/${slug}/reception`);
  await expect(page.getByRole("alert")).toContainText("paid or approved");

  // A sign-in link pressed before paying explains, and is kept.
  const res = await request.post(fnPath("register"), {
    form: { slug, name: "Eve", email: `early2-${unique()}@example.org`, ticket_type_id: await passId(request, slug) },
  });
  const second = await res.json();
  await early.goto(second.sign_in_link);
  await early.getByRole("button", { name: "Enter the event" }).click();
  await expect(early.getByRole("alert")).toContainText("not confirmed yet");

  // The first buyer reloads their order (nothing lost) and pays.
  await page.goto(orderUrl);
  await hydrated(page);
  await page.getByLabel("Card number").fill("4242 4242 4242 4242");
  await page.getByRole("button", { name: "Pay 25.00 EUR" }).click();
  await expect(page.getByTestId("paid")).toContainText("confirmed");
  await expect(page.getByTestId("order-heading")).toHaveText("You're registered!");
  await expect(page.locator("[data-testid=registered] svg")).toBeVisible();
  await page.getByTestId("enter-event").click();
  await expect(page).toHaveURL(new RegExp(`/e/${slug}/reception$`));
  await expect(page.getByTestId("attendee-name")).toHaveText("Eve");

  // The second buyer pays on their order page; their early link now opens the event.
  await early.goto(`/e/${slug}/order/${second.order_code}`);
  await hydrated(early);
  await early.getByLabel("Card number").fill("4242 4242 4242 4242");
  await early.getByRole("button", { name: "Pay 25.00 EUR" }).click();
  await expect(early.getByTestId("paid")).toContainText("confirmed");
  await early.goto(second.sign_in_link);
  await early.getByRole("button", { name: "Enter the event" }).click();
  await expect(early).toHaveURL(new RegExp(`/e/${slug}/reception$`));
});

test("a card that needs the bank's confirmation: the step survives a reload and the page updates by itself", async ({ browser }) => {
  const slug = await paidEvent(browser);
  const page = await (await browser.newContext()).newPage();
  await page.goto(`/e/${slug}`);
  await hydrated(page);
  await page.getByRole("radio", { name: /Conference pass/ }).check();
  await page.getByLabel("Name", { exact: true }).fill("Tess");
  await page.getByLabel("Email").fill(`tess-${unique()}@example.org`);
  await page.getByRole("button", { name: "Get tickets" }).click();
  await expect(page.getByTestId("order-heading")).toHaveText("Complete your payment");
  await hydrated(page);
  await page.getByLabel("Card number").fill("4000 0025 0000 3155");
  await page.getByRole("button", { name: "Pay 25.00 EUR" }).click();
  await expect(page.getByTestId("waiting-for-bank")).toContainText("Waiting for your bank");

  // A reload keeps the step: no card form again, the bank's link still there.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("waiting-for-bank")).toContainText("Waiting for your bank");
  await expect(page.getByLabel("Card number")).toHaveCount(0);

  // The bank opens in another tab; once approved there, this tab shows the tickets.
  const [bank] = await Promise.all([
    page.waitForEvent("popup"),
    page.getByTestId("payment-action").click(),
  ]);
  await bank.getByRole("button", { name: "Approve" }).click();
  await expect(page.getByTestId("order-heading")).toHaveText("You're registered!");
  await expect(page.locator("[data-testid=registered] svg")).toBeVisible();
});

/** The id of the event's "Conference pass" ticket type, from its public page data. */
async function passId(request: import("./fixtures").APIRequestContext, slug: string): Promise<string> {
  const res = await request.post(fnPath("public_event"), { form: { slug } });
  const page = await res.json();
  return page.offers.find((o: { name: string }) => o.name === "Conference pass").id;
}

test("unknown pages and events answer 404 with a page that helps", async ({ page, consoleErrors }) => {
  consoleErrors.expectStatus("/e/no-such-event", 404);
  consoleErrors.expectStatus("/no/such/page", 404);
  for (const path of ["/e/no-such-event", "/no/such/page"]) {
    const res = await page.goto(path);
    expect(res?.status(), path).toBe(404);
    await expect(page.getByTestId("not-found")).toContainText("Page not found");
    await expect(page.getByRole("link", { name: "Go to the Convene home page" })).toBeVisible();
    await expect(page.getByTestId("not-found").getByRole("link", { name: "Log in" })).toHaveCount(0);
  }
});
