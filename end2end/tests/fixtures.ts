// Every spec imports `test` from here: it fails a test on any uncaught page
// error or console error in any page the test opens (the default page and every
// context made with browser.newContext / newPage), unless the test declared
// that exact kind of message with `consoleErrors.expect(pattern)` — for
// example the browser's own "status of 409" line when a test provokes a
// refusal on purpose.
import { test as base, expect, APIRequestContext, Browser, BrowserContext, Page } from "@playwright/test";

export { expect };
export type { APIRequestContext, Browser, BrowserContext, Page };

/** What a test may allow before it provokes an error on purpose. */
export interface ConsoleErrors {
  /** Allows console errors whose text matches `pattern` (each one is still logged). */
  expect(pattern: RegExp): void;
  /** Allows the browser's line for a refusal the test provokes: `status` from `path`. */
  expectStatus(path: string, status: number): void;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export const test = base.extend<{ consoleErrors: ConsoleErrors }>({
  consoleErrors: [
    async ({ browser, context }, use, testInfo) => {
      const seen: string[] = [];
      const allowed: RegExp[] = [];
      const watchPage = (page: Page) => {
        page.on("console", (m) => {
          if (m.type() !== "error") return;
          const where = m.location();
          seen.push(`console error on ${page.url()} (${where.url}:${where.lineNumber}): ${m.text()}`);
        });
        page.on("pageerror", (e) => seen.push(`page error on ${page.url()}: ${e.message}`));
      };
      const watch = (ctx: BrowserContext) => {
        ctx.pages().forEach(watchPage);
        ctx.on("page", watchPage);
      };
      watch(context);
      const newContext = browser.newContext.bind(browser);
      // Contexts a test makes are closed when it ends: left open they keep
      // cameras, sockets and timers running into the next tests on the
      // shared browser.
      const made: BrowserContext[] = [];
      browser.newContext = async (options) => {
        const ctx = await newContext(options);
        watch(ctx);
        made.push(ctx);
        return ctx;
      };
      try {
        await use({
          expect: (pattern) => allowed.push(pattern),
          expectStatus: (path, status) =>
            allowed.push(new RegExp(`${escape(path)}:\\d+\\): Failed to load resource: the server responded with a status of ${status} `)),
        });
      } finally {
        browser.newContext = newContext;
      }
      const unexpected = seen.filter((s) => !allowed.some((p) => p.test(s)));
      if (seen.length) testInfo.annotations.push({ type: "console", description: seen.join("\n") });
      // What the pages say while they are closed is not the test's.
      await Promise.all(made.map((c) => c.close().catch(() => {})));
      expect(unexpected, "errors in the browser console or uncaught page errors").toEqual([]);
    },
    { auto: true },
  ],
});
