// The console guard of fixtures.ts can fail: these tests are expected to fail.
import { test } from "./fixtures";

test("a console error in the default page fails the test", async ({ page }) => {
  test.fail();
  await page.goto("/");
  await page.evaluate(() => console.error("boom"));
});

test("an uncaught error in a page of another context fails the test", async ({ browser }) => {
  test.fail();
  const page = await (await browser.newContext()).newPage();
  await page.goto("/");
  const thrown = page.waitForEvent("pageerror");
  await page.evaluate(() => setTimeout(() => { throw new Error("boom"); }, 0));
  await thrown;
});
