// Steps that several specs take the same way. Each spec still imports `test`
// from ./fixtures (the console guard).
import { expect, Page } from "./fixtures";

/** A short id that differs between runs and between calls (slugs, emails). */
export const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;

/** Waits until the WASM bundle has hydrated the page. */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
}

/**
 * Signs a new organiser up through the /signup form and waits for the
 * dashboard; returns the email used.
 */
export async function signUp(page: Page, name: string, organisation = `${name} Events`): Promise<string> {
  const email = `${name.split(" ")[0].toLowerCase()}-${unique()}@example.org`;
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Organisation").fill(organisation);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password (at least 10 characters)").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  return email;
}
