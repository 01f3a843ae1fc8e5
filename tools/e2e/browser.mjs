// What the browser tests share: Debian's headless Chromium, and the accessibility audit of a
// page (axe-core, failing on serious or critical violations, and a <label> for every input).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** Headless Chromium (CHROMIUM names another binary). */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/** Audits the page as it is: each failure goes to `fail`, the counts to the console. */
export async function audit(page, name, fail) {
  // axe is evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => await window.axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
  }));
  if (result.passes.length < 10) fail(`${name}: axe checked too little (${result.passes.length} rules passed)`);
  console.log(`${name}: axe ${result.passes.length} rules passed, ${result.violations.length} violations`);
  for (const v of result.violations) {
    const line = `${name}: axe ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`;
    if (v.impact === "serious" || v.impact === "critical") fail(line); else console.log(`note ${line}`);
  }
  // axe counts a placeholder as a name: check labels ourselves.
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll("input, select, textarea")]
    .filter((el) => el.type !== "hidden")
    .filter((el) => !(el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`)))
    .map((el) => el.name || el.outerHTML));
  if (unlabelled.length) fail(`${name}: inputs without a <label>: ${unlabelled.join(", ")}`);
}
