// Webhooks: an organiser adds an endpoint in the event's dashboard, an
// attendee registers, and a receiver on this machine gets the message,
// signed (checked here with Node's own HMAC, independently of the server);
// the log in the dashboard shows the delivery, and a test message too. At
// desktop and phone sizes.
import { createServer, IncomingHttpHeaders } from "node:http";
import { createHmac } from "node:crypto";
import { AddressInfo } from "node:net";
import { test, expect } from "./fixtures";
import { unique, signUp, createEvent, section, attendee } from "./helpers";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:3000";

type Got = { headers: IncomingHttpHeaders; body: string };

/** A receiver on loopback that answers 200 and keeps what it got. */
async function receiver(): Promise<{ url: string; got: Got[]; close: () => void }> {
  const got: Got[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      got.push({ headers: req.headers, body });
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("received");
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/hook`, got, close: () => server.close() };
}

/** Whether one of the `v1,` signatures in the headers is the body's under `secret`. */
function signed(g: Got, secret: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const id = g.headers["webhook-id"] as string;
  const ts = g.headers["webhook-timestamp"] as string;
  const expected = "v1," + createHmac("sha256", key).update(`${id}.${ts}.${g.body}`).digest("base64");
  return (g.headers["webhook-signature"] as string).split(" ").includes(expected);
}

for (const size of [
  { name: "desktop", viewport: { width: 1280, height: 800 } },
  { name: "phone", viewport: { width: 390, height: 844 } },
]) {
  test(`an organiser adds a webhook endpoint and sees deliveries in its log (${size.name})`, async ({ browser }) => {
    const hook = await receiver();
    try {
      const slug = `hooks-${unique()}`;
      const org = await (await browser.newContext({ viewport: size.viewport })).newPage();
      await signUp(org, "Wren", "Hook Co");
      await createEvent(org, "Hook Day", slug);
      await section(org, "Webhooks");
      await expect(org.getByTestId("no-webhooks")).toBeVisible();

      const form = org.getByTestId("add-webhook");
      await form.getByLabel("Endpoint URL").fill(hook.url);
      await form.getByLabel("Description").fill("Our CRM");
      await form.locator('input[value="attendee.registered"]').check();
      await form.getByLabel("Only this event").check();
      await form.getByRole("button", { name: "Add endpoint" }).click();
      const secret = (await org.getByTestId("new-secret").textContent()) ?? "";
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
      const endpoint = org.getByTestId("webhook");
      await expect(endpoint).toHaveCount(1);
      await expect(endpoint.getByTestId("webhook-url")).toHaveText(hook.url);
      await expect(endpoint.getByTestId("webhook-state")).toHaveText("On");

      // An attendee registers: the receiver gets it, signed, and the log shows it.
      await attendee(browser, BASE, slug, "Ivy");
      await expect.poll(() => hook.got.length, { timeout: 20_000 }).toBe(1);
      const reg = hook.got[0];
      expect(signed(reg, secret)).toBe(true);
      const body = JSON.parse(reg.body);
      expect(body.type).toBe("attendee.registered");
      expect(body.data.name).toBe("Ivy");
      const log = endpoint.getByTestId("webhook-attempt");
      await expect(log).toHaveCount(1, { timeout: 10_000 });
      await expect(log.first()).toContainText("attendee.registered");
      await expect(log.first().getByTestId("attempt-code")).toHaveText("200");
      await expect(log.first()).toContainText(reg.headers["webhook-id"] as string);
      await expect(endpoint.getByTestId("webhook-figures")).toHaveText("1 delivered · 0 waiting · 0 failed");

      // A test message, on request.
      await endpoint.getByTestId("webhook-test").click();
      await expect.poll(() => hook.got.length, { timeout: 20_000 }).toBe(2);
      expect(signed(hook.got[1], secret)).toBe(true);
      expect(JSON.parse(hook.got[1].body).type).toBe("webhook.test");
      await expect(log).toHaveCount(2, { timeout: 10_000 });
      await expect(log.first()).toContainText("webhook.test");
      await expect(endpoint.getByTestId("webhook-figures")).toHaveText("2 delivered · 0 waiting · 0 failed");

      // Nothing on the page is wider than the screen.
      expect(await org.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(size.viewport.width);
    } finally {
      hook.close();
    }
  });
}
