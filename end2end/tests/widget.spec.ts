import { test, expect } from "./fixtures";
import { unique } from "./helpers";
import * as http from "http";
import { AddressInfo } from "net";
import { fnPath } from "./fns";

/** A real web server for a third-party site (another origin, on loopback). */
async function site(html: (origin: string) => string): Promise<{ origin: string; close: () => void }> {
  let origin = "";
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(html(origin));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  return { origin, close: () => server.close() };
}

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:3000";

test("the registration widget on another site sells a paid ticket and resizes itself", async ({ browser, consoleErrors }) => {
  consoleErrors.expect(/violates the following Content Security Policy directive: "frame-ancestors /);
  // Organiser set-up through the same server functions the dashboard uses.
  const orgContext = await browser.newContext({ baseURL: BASE });
  const api = orgContext.request;
  const slug = `widget-${unique()}`;
  const ok = async (path: string, form: Record<string, string>) => {
    const res = await api.post(path, { form });
    expect(res.status(), `${path}: ${await res.text()}`).toBe(200);
  };
  await ok(fnPath("signup"), { name: "Wil", organisation: "Widget Co", email: `wil-${unique()}@example.org`, password: "correct horse battery" });
  await ok(fnPath("create_event"), { name: "Widget Week", slug, description: "", starts: "2027-09-01T10:00", ends: "2027-09-02T18:00", time_zone: "Europe/Madrid" });
  await ok(fnPath("create_ticket_type"), { slug, name: "Supporter", price: "20.00", quota: "10" });
  const shop = (host: string) =>
    `<!DOCTYPE html><html><body><h1>${host} shop</h1>` +
    `<script src="${BASE}/embed.js" data-event="${slug}"></script><p>Footer</p></body></html>`;
  // Third-party sites run on loopback: Chromium blocks public pages from loading loopback resources.
  const partnerSite = await site(shop);
  const strangerSite = await site(shop);
  const partner = partnerSite.origin;
  await ok(fnPath("set_embed_origins"), { slug, origins: partner });

  // A listed site: the widget loads in its iframe and completes a paid order.
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${partner}/tickets`);
  const iframe = page.locator("iframe[data-convene-widget]");
  const frame = page.frameLocator("iframe[data-convene-widget]");
  await expect(frame.getByTestId("event-name")).toHaveText("Widget Week");
  await expect(frame.locator("body[data-hydrated=true]")).toHaveCount(1);
  await expect(frame.getByRole("link", { name: "Dashboard" })).toHaveCount(0); // no platform navigation
  // The iframe grew to its content (the order form) through postMessage.
  await expect
    .poll(async () => (await iframe.boundingBox())?.height ?? 0, { timeout: 10_000 })
    .toBeGreaterThan(400);
  await frame.getByRole("radio", { name: /Supporter/ }).check();
  await frame.getByLabel("Name", { exact: true }).fill("Wendy");
  await frame.getByLabel("Email").fill(`wendy-${unique()}@example.org`);
  await frame.getByRole("button", { name: "Get tickets" }).click();
  await expect(frame.getByTestId("registered")).toContainText("20.00 EUR");
  await frame.getByLabel("Card number").fill("4242 4242 4242 4242");
  await frame.getByRole("button", { name: "Pay 20.00 EUR" }).click();
  await expect(frame.getByTestId("paid")).toContainText("confirmed");
  await expect(page).toHaveURL(`${partner}/tickets`); // never left the host page

  // An unlisted site cannot frame it.
  const other = strangerSite.origin;
  const stranger = await (await browser.newContext()).newPage();
  const refused = stranger.waitForEvent("console", (m) => m.text().includes("frame-ancestors"));
  await stranger.goto(`${other}/tickets`);
  await expect(stranger.locator("iframe[data-convene-widget]")).toHaveCount(1);
  // The browser says it refused the frame; only then is the absence meaningful.
  expect((await refused).text()).toContain(`frame-ancestors 'self' ${partner}`);
  await expect(stranger.frameLocator("iframe[data-convene-widget]").getByTestId("event-name")).toHaveCount(0);
  partnerSite.close();
  strangerSite.close();
});
