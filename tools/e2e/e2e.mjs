// End-to-end test of `quietlegs serve` in Debian's headless Chromium at a phone-sized viewport:
// log tonight and see it in history, fill the profile and see the plan, log a dose, a factor and
// an IRLS and see them in history, walk every page, run axe-core on each (fail on serious or
// critical violations), check that every visible input has a <label>, and save screenshots (light
// and dark) to target/e2e/ for a person to look at.
//
// Usage: node tools/e2e/e2e.mjs [path/to/quietlegs]   (default: target/debug/quietlegs)
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { audit as auditPage, launchBrowser } from "./browser.mjs";

const root = resolve(new URL("../..", import.meta.url).pathname);
const binary = resolve(process.argv[2] ?? join(root, "target/debug/quietlegs"));
const shots = join(root, "target/e2e");
mkdirSync(shots, { recursive: true });

const work = mkdtempSync(join(tmpdir(), "quietlegs-e2e-"));
const failures = [];
const fail = (msg) => { failures.push(msg); console.error(`FAIL ${msg}`); };

// The server on a free port; its address is read from the line it prints.
const env = { ...process.env };
delete env.QUIETLEGS_TODAY;
delete env.QUIETLEGS_DB;
function startServer(args) {
  const server = spawn(binary, ["serve", "--addr", "127.0.0.1:0", ...args], { env });
  const base = new Promise((ok, no) => {
    let err = "";
    server.stderr.on("data", (d) => {
      err += d;
      const m = err.match(/on (http:\/\/127\.0\.0\.1:\d+)\//);
      if (m) ok(m[1]);
    });
    server.on("exit", (code) => no(new Error(`server exited ${code}: ${err}`)));
    setTimeout(() => no(new Error(`server did not start: ${err}`)), 20000);
  });
  return { server, base };
}
// A diary with a log-in password (set through the CLI, from standard input).
const loginDb = join(work, "login.sqlite3");
const loginPassword = "a bedside passphrase 2026";
await new Promise((ok, no) => {
  const p = spawn(binary, ["serve", "--set-password", "--db", loginDb], { env });
  let err = "";
  p.stderr.on("data", (d) => { err += d; });
  p.on("exit", (code) => (code === 0 ? ok() : no(new Error(`--set-password exited ${code}: ${err}`))));
  p.stdin.end(`${loginPassword}\n`);
});
const { server: loginServer, base: loginPromise } = startServer(["--db", loginDb]);
const loginBase = await loginPromise;
const { server, base: basePromise } = startServer(["--db", join(work, "db.sqlite3")]);
const base = await basePromise;
// The demonstration (a temporary database of its own): every page populated.
const { server: demoServer, base: demoPromise } = startServer(["--demo"]);
const demo = await demoPromise;

const browser = await launchBrowser();

const audit = (page, name) => auditPage(page, name, fail);

async function shoot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

try {
  for (const scheme of ["light", "dark"]) {
    const context = await browser.newContext({
      acceptDownloads: true,
      viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, colorScheme: scheme, hasTouch: true,
    });
    const page = await context.newPage();
    const errors = [];
    // The deliberate duplicate below answers 409, which the console reports as a failed load.
    page.on("console", (m) => { if (m.type() === "error" && !m.text().includes("status of 409")) errors.push(m.text()); });

    await page.goto(`${base}/tonight`);
    await audit(page, `tonight (${scheme})`);
    await shoot(page, `tonight-${scheme}`);
    if (scheme === "light") {
      // Log tonight: one tap per score, hours, save; the night is in history.
      await page.locator('label[for="severity-6"]').click();
      await page.locator('label[for="sleep-4"]').click();
      await page.fill("#hours_slept", "6.5");
      await page.fill("#note", "walked after dinner");
      await page.click("button[type=submit]");
      await page.waitForLoadState();
      if (!page.url().includes("/history?logged=")) fail(`tonight: not saved: ${page.url()} ${(await page.content()).slice(0, 600)}`);
      const saved = await page.locator("[role=status]").innerText();
      if (!saved.startsWith("Saved the night of")) fail(`history: no confirmation (${saved})`);
      const row = await page.locator("tbody tr").first().innerText();
      if (!/\t6\t4\t6\.5\twalked after dinner/.test(row)) fail(`history: the night is not listed as logged: ${JSON.stringify(row)}`);
      // A second night for the same evening is refused with a message, and nothing changes.
      await page.goto(`${base}/tonight`);
      await page.locator('label[for="severity-2"]').click();
      await page.click("button[type=submit]");
      const alert = await page.locator("[role=alert]").innerText();
      if (!alert.includes("already")) fail(`tonight: duplicate not explained: ${alert}`);
      await shoot(page, "tonight-refused");
      // Plan a blinded trial: the answer is the helper's sheet, downloaded; the trial page then
      // shows containers, never arms.
      await page.goto(`${base}/trial/new`);
      await audit(page, "trial/new (light)");
      await shoot(page, "trial-new-light");
      // The chance of a clear answer for the design in the form, before registering it.
      await page.click("button[formaction='/trial/power']");
      await page.waitForLoadState();
      if ((await page.locator("#power-h").count()) !== 1) fail(`trial/power: no estimate: ${(await page.locator("main").innerText()).slice(0, 400)}`);
      await audit(page, "trial/power (light)");
      await shoot(page, "trial-power-light");
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("button[type=submit]")]);
      if (!/^quietlegs-helper-sheet-trial-\d{4}-\d{2}-\d{2}\.txt$/.test(download.suggestedFilename()))
        fail(`trial/new: unexpected sheet name ${download.suggestedFilename()}`);
      await page.goto(`${base}/trial`);
      const text = await page.locator("main").innerText();
      if (!text.includes("The trial starts on")) fail(`trial: not registered: ${text}`);
      if (/magnesium|placebo/.test(await page.locator(".tonight").innerText())) fail("trial: an arm is shown while blinded");
    }
    if (scheme === "light") {
      // First run: the plan page asks for the profile. Fill it, see the plan with its flags.
      await page.goto(`${base}/plan`);
      await audit(page, "plan first run (light)");
      await shoot(page, "plan-first-run-light");
      await page.fill("#age", "70");
      await page.locator('label[for="sex-male"]').click();
      await page.fill("#bedtime", "22:30");
      await page.fill("#wake", "06:30");
      await page.locator('label[for="gi-normal"]').click();
      await page.locator('label[for="condition-hypertension"]').click();
      await page.fill("#medications", "levothyroxine at 07:00");
      await page.click("form.profile button[type=submit]");
      await page.waitForLoadState();
      if (!page.url().includes("/plan?saved=1")) fail(`profile: not saved: ${page.url()} ${(await page.content()).slice(0, 600)}`);
      const flags = await page.locator(".flag").allInnerTexts();
      if (!flags.some((f) => f.includes("kidney-function-unknown"))) fail(`plan: the kidney flag is missing: ${flags.join(" | ")}`);
      const dose = await page.locator(".dose").innerText();
      if (!dose.startsWith("Only if your clinician agrees")) fail(`plan: the dose is not conditional: ${dose}`);
      // Log a dose, an evening factor and an IRLS; see them in history.
      await page.goto(`${base}/log`);
      await page.selectOption("#dose-form", "glycinate");
      await page.fill("#dose-amount", "200");
      await page.click("#dose button[type=submit]");
      await page.waitForLoadState();
      if (!page.url().includes("saved=dose")) fail(`log: dose not saved: ${page.url()}`);
      await page.locator('label[for="factor-caffeine"]').click();
      await page.click("#factors button[type=submit]");
      await page.waitForLoadState();
      if (!page.url().includes("saved=factors")) fail(`log: factor not saved: ${page.url()}`);
      for (let i = 1; i <= 10; i++) await page.locator(`label[for="item${i}-2"]`).click();
      await page.click("#irls button[type=submit]");
      await page.waitForLoadState();
      const irls = await page.locator("[role=status]").innerText();
      if (!irls.includes("total 20 of 40, moderate")) fail(`log: IRLS total and band not shown: ${irls}`);
      await shoot(page, "log-saved-light");
      await page.goto(`${base}/history`);
      for (const title of ["Weekly IRLS total", "Magnesium per day"]) {
        if ((await page.locator(`svg title:text-is("${title}")`).count()) !== 1) fail(`history: no chart "${title}"`);
      }
      const mg = await page.locator("#mg-desc").textContent();
      if (!mg.includes("200 mg from supplements") || !mg.includes("RDA 420")) fail(`history: magnesium chart summary: ${mg}`);
    }
    if (scheme === "light") {
      // Foods: type a few letters, the suggestions appear; arrow down and Enter choose one; log
      // 1 oz; today's food goes from 0 to 77 mg (270 mg/100 g × 28.35 g = 76.5 mg).
      await page.goto(`${base}/foods`);
      const before = await page.locator("#intake-food").innerText();
      if (before !== "0 mg") fail(`foods: intake before logging is ${before}`);
      await page.locator("#q").pressSequentially("almonds", { delay: 40 });
      await page.locator("#food-hits li").first().waitFor({ timeout: 5000 });
      const first = await page.locator("#food-hits li").first().innerText();
      if (!first.includes("Nuts, almonds") || !first.includes("270 mg per 100 g")) fail(`foods: suggestion ${JSON.stringify(first)}`);
      const said = await page.locator("#food-status").innerText();
      if (!/foods found/.test(said)) fail(`foods: the suggestions are not announced (${said})`);
      await audit(page, "foods suggestions (light)");
      await shoot(page, "foods-suggestions-light");
      await page.locator("#q").press("ArrowDown");
      const focused = await page.evaluate(() => document.activeElement?.closest("#food-hits") !== null);
      if (!focused) fail("foods: the down arrow does not move into the suggestions");
      await page.keyboard.press("Enter");
      await page.waitForURL(/food=12061/);
      await page.fill("#amount", "1 oz");
      await page.click("#log button[type=submit]");
      await page.waitForURL(/logged=/);
      const saved = await page.locator(".saved").innerText();
      if (!saved.includes("1 oz of Nuts, almonds")) fail(`foods: not logged (${saved})`);
      const after = await page.locator("#intake-food").innerText();
      if (after !== "77 mg") fail(`foods: intake after logging 1 oz of almonds is ${after}`);
      // The profile stored above (a man of 70): RDA 420 mg; the 200 mg dose logged above counts.
      const total = await page.locator("#intake-total").innerText();
      if (!total.includes("277 mg of your RDA of 420 mg")) fail(`foods: total against the RDA: ${total}`);
      await shoot(page, "foods-logged-light");
    }
    for (const path of ["plan", "profile", "log", "history", "trial", "about", "foods", "insights", "data", "report"]) {
      await page.goto(`${base}/${path}`);
      await audit(page, `${path} (${scheme})`);
      await shoot(page, `${path}-${scheme}`);
    }
    // The demonstration: 20 weeks of history and a finished, unblinded trial with its result;
    // tonight is left for the person to log (whatever the hour).
    if (scheme === "light") {
      await page.goto(`${demo}/tonight`);
      await page.locator('label[for="severity-3"]').click();
      await page.click("button[type=submit]");
      await page.waitForLoadState();
      if (!page.url().includes("/history?logged=")) fail(`demo tonight: not saved: ${page.url()} ${await page.locator("main").innerText()}`);
    }
    for (const path of ["plan", "insights", "data", "foods?q=spinach", "history", "report", "trial"]) {
      await page.goto(`${demo}/${path}`);
      if (path === "plan" && (await page.locator(".flag").count()) === 0 && (await page.locator(".dose").count()) === 0)
        fail(`demo plan (${scheme}): not populated`);
      if (path === "history") {
        for (const id of ["irls-desc", "mg-desc", "se-desc"])
          if ((await page.locator(`#${id}`).count()) !== 1) fail(`demo history (${scheme}): no chart ${id}`);
      }
      await audit(page, `demo ${path} (${scheme})`);
      await shoot(page, `demo-${path.replace(/\?.*/, "")}-${scheme}`);
    }
    const result = await page.locator("#result-h").count();
    if (result !== 1) fail(`demo trial (${scheme}): no result section`);
    const arms = await page.locator("tbody tr").allInnerTexts();
    if (!arms.some((r) => r.includes("magnesium")) || !arms.some((r) => r.includes("placebo")))
      fail(`demo trial (${scheme}): the unblinded periods do not name their arms`);
    if (errors.length) fail(`console errors (${scheme}): ${errors.join(" | ")}`);
    await context.close();
  }
  // Log-in: with a password set, a page sends the person to the log-in form, and back after it.
  {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true });
    const page = await context.newPage();
    await page.goto(`${loginBase}/history`);
    if (!page.url().startsWith(`${loginBase}/login?next=/history`)) fail(`login: not sent to the log-in form: ${page.url()}`);
    await audit(page, "login (light)");
    await shoot(page, "login-light");
    await page.fill("#password", "not the password at all");
    await page.click("form.login button[type=submit]");
    if (!(await page.locator("[role=alert]").innerText()).includes("wrong password")) fail("login: a wrong password is not explained");
    await page.fill("#password", loginPassword);
    await page.click("form.login button[type=submit]");
    await page.waitForLoadState();
    if (page.url() !== `${loginBase}/history`) fail(`login: not taken back to history: ${page.url()}`);
    await page.goto(`${loginBase}/about`);
    await page.click("form.logout button[type=submit]");
    await page.waitForLoadState();
    await page.goto(`${loginBase}/tonight`);
    if (!page.url().startsWith(`${loginBase}/login`)) fail(`logout: the session still opens pages: ${page.url()}`);
    await context.close();
  }
  // Page weight and time to first render of Tonight, from a cold cache (DevTools protocol).
  {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
    let transferred = 0;
    cdp.on("Network.loadingFinished", (e) => { transferred += e.encodedDataLength; });
    await page.goto(`${base}/tonight`, { waitUntil: "load" });
    await page.waitForTimeout(200);
    const paint = await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      const fcp = performance.getEntriesByName("first-contentful-paint")[0];
      return { fcp: fcp ? fcp.startTime : null, load: nav ? nav.loadEventEnd : null };
    });
    console.log(`tonight: ${(transferred / 1024).toFixed(1)} kB transferred (goal < 50 kB); first contentful paint ${paint.fcp?.toFixed(0)} ms, load ${paint.load?.toFixed(0)} ms`);
    if (transferred >= 50 * 1024) fail(`tonight: ${transferred} bytes transferred, over the 50 kB budget`);
    if (paint.fcp === null) fail("tonight: no first contentful paint recorded");
    await context.close();
  }
} finally {
  await browser.close();
  loginServer.kill("SIGINT");
  server.kill("SIGINT");
  demoServer.kill("SIGINT");
  rmSync(work, { recursive: true, force: true });
}

if (failures.length) {
  console.error(`e2e: ${failures.length} failure(s)`);
  process.exit(1);
}
console.log(`e2e: all pages passed; screenshots in ${shots}`);
