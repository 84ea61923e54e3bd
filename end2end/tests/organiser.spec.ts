import { test, expect, Page, APIRequestContext } from "./fixtures";
import { unique, hydrated, signUp, emailedLink, section } from "./helpers";
import { fnPath } from "./fns";

// The organiser's side of issue 3's later parts: team seats and invitations
// (read back from the SMTP sink), orders that need approval, paying an approved
// order from the emailed link, and cancelling a paid order with a refund.

test("team seats follow the plan; an emailed invitation lets a colleague join", async ({ browser, request, consoleErrors }) => {
  consoleErrors.expectStatus(fnPath("invite_member"), 402); // the seat limit, provoked below
  const owner = await (await browser.newContext()).newPage();
  await signUp(owner, "Nora");
  await owner.getByRole("link", { name: "Team" }).click();
  await expect(owner).toHaveURL(/\/dashboard\/team$/);
  await hydrated(owner);
  await expect(owner.getByTestId("seats")).toHaveText("1 of 1 seats used");
  const colleague = `kai-${unique()}@example.org`;
  await owner.getByLabel("Email").fill(colleague);
  await owner.getByRole("button", { name: "Send invitation" }).click();
  await expect(owner.getByRole("alert")).toContainText("your Free plan includes 1 team seat; upgrade at /checkout");

  await owner.goto("/checkout");
  await hydrated(owner);
  await owner.getByTestId("plan-starter").getByLabel("Card number").fill("4242 4242 4242 4242");
  await owner.getByTestId("plan-starter").getByRole("button", { name: "Upgrade to Starter" }).click();
  await expect(owner.getByTestId("upgraded")).toContainText("Starter");
  await owner.goto("/dashboard/team");
  await hydrated(owner);
  await owner.getByLabel("Email").fill(colleague);
  await owner.getByRole("button", { name: "Send invitation" }).click();
  await expect(owner.getByTestId("team")).toContainText(colleague);
  await expect(owner.getByTestId("seats")).toHaveText("2 of 3 seats used");

  const link = await emailedLink(request, colleague, "/team/join?token=");
  const kai = await (await browser.newContext()).newPage();
  await kai.goto(link);
  await hydrated(kai);
  await expect(kai.getByRole("heading")).toContainText("Join Nora Events on Convene");
  await kai.getByLabel("Your name").fill("Kai");
  await kai.getByLabel("Password (at least 10 characters)").fill("another long password");
  await kai.getByRole("button", { name: "Join the team" }).click();
  await expect(kai).toHaveURL(/\/dashboard$/);
  await expect(kai.getByTestId("signed-in-as")).toHaveText("Kai");
  await owner.reload();
  await expect(owner.getByTestId("team").getByRole("row", { name: /Kai/ })).toContainText("member");
});

test("an order that needs approval is approved, paid from the emailed link, then cancelled and refunded", async ({ browser, request }) => {
  const slug = `appr-${unique()}`;
  const org = await (await browser.newContext()).newPage();
  await signUp(org, "Omar");
  await org.getByLabel("Name", { exact: true }).fill("Approval Day");
  await org.getByLabel("Address: /e/").fill(slug);
  await org.getByLabel("Starts").fill("2027-11-01T10:00");
  await org.getByLabel("Ends").fill("2027-11-01T18:00");
  await org.getByRole("button", { name: "Create event" }).click();
  await expect(org).toHaveURL(new RegExp(`/dashboard/events/${slug}$`));
  await hydrated(org);
  await section(org, "Tickets");
  await org.getByTestId("add-ticket-type").getByLabel("Ticket name").fill("Press");
  await org.getByTestId("add-ticket-type").getByLabel("Price").fill("20.00");
  await org.getByTestId("add-ticket-type").getByRole("checkbox", { name: "Orders need my approval" }).check();
  await org.getByRole("button", { name: "Add ticket type" }).click();
  await expect(org.getByTestId("ticket-types").getByRole("row", { name: /Press/ })).toContainText("needs approval");

  const buyer = await (await browser.newContext()).newPage();
  const email = `rita-${unique()}@example.org`;
  await buyer.goto(`/e/${slug}`);
  await hydrated(buyer);
  await buyer.getByRole("radio", { name: /Press/ }).check();
  await buyer.getByLabel("Name", { exact: true }).fill("Rita");
  await buyer.getByLabel("Email").fill(email);
  await buyer.getByRole("button", { name: "Get tickets" }).click();
  await expect(buyer.getByTestId("awaiting-approval")).toBeVisible();

  await section(org, "Orders");
  const row = org.getByTestId("registrations").getByRole("row", { name: /Rita/ });
  await expect(row).toContainText("awaiting_approval");
  await row.getByRole("button", { name: "Approve" }).click();
  await expect(org.getByTestId("registrations").getByRole("row", { name: /Rita/ })).toContainText("pending");

  const pay = await emailedLink(request, email, "/pay/");
  await buyer.goto(pay);
  await hydrated(buyer);
  await expect(buyer.getByTestId("order-status")).toHaveText("pending");
  await buyer.getByLabel("Card number").fill("4242 4242 4242 4242");
  await buyer.getByRole("button", { name: "Pay 20.00 EUR" }).click();
  await expect(buyer.getByTestId("paid")).toContainText("confirmed");

  await org.reload();
  await hydrated(org);
  const paid = org.getByTestId("registrations").getByRole("row", { name: /Rita/ });
  await expect(paid).toContainText("confirmed");
  // A confirmation first, saying what it does.
  await paid.getByText("Cancel and refund…").click();
  await expect(paid.getByTestId("cancel-order")).toContainText("payment goes back to the buyer's card");
  await paid.getByRole("button", { name: "Yes, cancel and refund" }).click();
  await expect(org.getByTestId("registrations").getByRole("row", { name: /Rita/ })).toContainText("refunded");
});

test("a forgotten password is reset from the log-in page with an emailed link", async ({ browser, request, consoleErrors }) => {
  consoleErrors.expectStatus("/dashboard", 401); // the old session, signed out below
  const first = await (await browser.newContext()).newPage();
  const email = await signUp(first, "Fay", `Forgetful ${unique()}`);
  const page = await (await browser.newContext()).newPage();
  await page.goto("/login");
  await hydrated(page);
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Email me a link" }).click();
  await expect(page.getByTestId("reset-sent")).toContainText("Check your inbox");
  const link = await emailedLink(request, email, "/reset-password?token=");
  await page.goto(link);
  await hydrated(page);
  await page.getByLabel("New password (at least 10 characters)").fill("a brand new password");
  await page.getByRole("button", { name: "Set password" }).click();
  await expect(page).toHaveURL(/\/login\?reset=1$/);
  await expect(page.getByTestId("password-changed")).toBeVisible();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a brand new password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  // The session that knew the old password is over.
  await first.goto("/dashboard");
  await expect(first.getByRole("link", { name: "Log in" }).first()).toBeVisible();
});
