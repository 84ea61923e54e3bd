import * as fs from "fs";
import * as path from "path";

/**
 * Paths of the server functions, as Leptos generated them: scripts/test.sh
 * writes `end2end/server-fns.json` with `convene server-fns` before the tests run.
 */
const table: Record<string, string> = JSON.parse(
  fs.readFileSync(path.join(__dirname, "..", "server-fns.json"), "utf8"),
);

/** The path of server function `name`; throws if the server has no such function. */
export function fnPath(name: string): string {
  const p = table[name];
  if (!p) throw new Error(`no server function '${name}' (see end2end/server-fns.json)`);
  return p;
}
