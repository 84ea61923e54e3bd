import { test, expect, Page } from "./fixtures";
import { unique, hydrated, signUp, section } from "./helpers";
import { fnPath } from "./fns";
import * as fs from "fs";

test("organiser adds a limited paid ticket; a buyer pays with the test card; then it shows sold out", async ({ browser, consoleErrors }) => {
  // Refusals it provokes: an invalid ticket type, a declined card.
  consoleErrors.expectStatus(fnPath("create_ticket_type"), 400);
  consoleErrors.expectStatus(fnPath("pay"), 402);
  const slug = `tix-${unique()}`;
  const org = await (await browser.newContext()).newPage();
  await signUp(org, "Tia", "Tix Co");
  await org.getByLabel("Name", { exact: true }).fill("Tix Summit");
  await org.getByLabel("Address: /e/").fill(slug);
  await org.getByLabel("Starts").fill("2027-06-01T10:00");
  await org.getByLabel("Ends").fill("2027-06-01T18:00");
  await org.getByRole("button", { name: "Create event" }).click();
  await expect(org).toHaveURL(new RegExp(`/dashboard/events/${slug}$`));
  await hydrated(org);

  await section(org, "Tickets");
  // A bad price is refused with a readable message.
  await org.getByTestId("add-ticket-type").getByLabel("Ticket name").fill("VIP");
  await org.getByTestId("add-ticket-type").getByLabel("Price").fill("12.345");
  await org.getByRole("button", { name: "Add ticket type" }).click();
  await expect(org.getByRole("alert")).toContainText("decimal places");

  await org.getByTestId("add-ticket-type").getByLabel("Price").fill("49.90");
  await org.getByTestId("add-ticket-type").getByLabel("Seats (empty = unlimited)").fill("1");
  await org.getByRole("button", { name: "Add ticket type" }).click();
  const vipRow = org.getByTestId("ticket-types").getByRole("row", { name: /VIP/ });
  await expect(vipRow.getByRole("cell").nth(1)).toHaveText("49.90 EUR");
  await expect(vipRow.getByRole("cell").nth(2)).toHaveText("0"); // sold
  await expect(vipRow.getByRole("cell").nth(3)).toHaveText("1"); // left

  // A required custom question.
  await section(org, "Questions");
  await org.getByLabel("Question", { exact: true }).fill("Company");
  await org.getByRole("checkbox", { name: "Required" }).check();
  await org.getByRole("button", { name: "Add question" }).click();
  await expect(org.getByTestId("questions")).toContainText("Company (text, required)");

  // First buyer gets the VIP seat.
  const a = await (await browser.newContext()).newPage();
  await a.goto(`/e/${slug}`);
  await hydrated(a);
  await a.getByRole("radio", { name: /VIP/ }).check();
  await a.getByLabel("Name", { exact: true }).fill("Ann");
  await a.getByLabel("Email").fill(`ann-${unique()}@example.org`);
  await a.getByLabel("Company *").fill("Ann & Co");
  await a.getByRole("button", { name: "Get tickets" }).click();
  await expect(a.getByTestId("registered")).toContainText("49.90 EUR");
  await expect(a.getByTestId("registered")).toContainText("pending");
  // Pay with the test provider: a declined card first, then a good one.
  await a.getByLabel("Card number").fill("4000 0000 0000 0002");
  await a.getByRole("button", { name: "Pay 49.90 EUR" }).click();
  await expect(a.getByRole("alert")).toContainText("declined");
  await a.getByLabel("Card number").fill("4242 4242 4242 4242");
  await a.getByRole("button", { name: "Pay 49.90 EUR" }).click();
  await expect(a.getByTestId("paid")).toContainText("confirmed");

  // Second buyer sees it sold out and cannot pick it.
  const b = await (await browser.newContext()).newPage();
  await b.goto(`/e/${slug}`);
  await hydrated(b);
  const vip = b.getByTestId("offers").locator("label", { hasText: "VIP" });
  await expect(vip).toContainText("Sold out");
  await expect(b.getByRole("radio", { name: /VIP/ })).toBeDisabled();
  // ... and can join the waiting list instead.
  const waitlist = b.getByTestId("waitlist");
  await waitlist.getByLabel("Your name").fill("Ben");
  await waitlist.getByLabel("Your email").fill(`ben-${unique()}@example.org`);
  await waitlist.getByRole("button", { name: "Join the waiting list" }).click();
  await expect(b.getByTestId("waitlist-joined")).toContainText("Check your inbox");

  // The organiser sees it sold.
  await section(org, "Tickets");
  await org.reload();
  const sold = org.getByTestId("ticket-types").getByRole("row", { name: /VIP/ });
  await expect(sold.getByRole("cell").nth(2)).toHaveText("1");
  await expect(sold.getByRole("cell").nth(3)).toHaveText("0");

  // The registrations list finds the buyer, and the CSV export has the order.
  await hydrated(org);
  await section(org, "Orders");
  const list = org.getByTestId("registrations");
  await expect(list.getByRole("row", { name: /Ann/ })).toContainText("confirmed");
  // The order's detail takes focus when it opens and gives it back on close.
  const opener = list.getByRole("row", { name: /Ann/ }).getByTestId("order-detail-open");
  await opener.click();
  await expect(org.getByTestId("order-detail").getByRole("heading")).toBeFocused();
  await expect(org.getByTestId("order-answers")).toContainText("Ann & Co");
  await org.getByTestId("order-detail").getByRole("button", { name: "Close" }).click();
  await expect(org.getByTestId("order-detail")).toHaveCount(0);
  await expect(opener).toBeFocused();
  await org.getByLabel("Search").fill("nobody-matches-this");
  await expect(list.getByRole("row", { name: /Ann/ })).toHaveCount(0);
  await org.getByLabel("Search").fill("ann");
  await expect(list.getByRole("row", { name: /Ann/ })).toHaveCount(1);
  const [download] = await Promise.all([org.waitForEvent("download"), org.getByTestId("export-csv").click()]);
  const csv = fs.readFileSync(await download.path(), "utf8");
  expect(csv).toContain("order,name,email,ticket_type,quantity,status,total,currency,ordered_at,Company");
  expect(csv).toMatch(/,Ann,ann-[^,]+,VIP,1,confirmed,49.90,EUR,[^,]+,Ann & Co/);
});
