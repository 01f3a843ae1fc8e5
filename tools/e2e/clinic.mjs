// End-to-end test of the clinic server (`quietlegs serve --clinic`) in Debian's headless Chromium
// at a phone-sized viewport. The admin and a clinician are made with `admin create-user`; the
// clinician logs in and makes an invitation; the participant (another browser) opens the link,
// makes an account, logs a night and sees it in history; the clinician sees the participant on
// the dashboard with the night's date, opens the report and its PDF; the participant's account
// page lists those looks. The admin makes an account and a reset link, which is used. Every clinic
// page is checked with axe-core (fail on serious or critical) and for a <label> on each input,
// light and dark, and screenshotted to target/e2e/clinic-*.png for a person to look at. Finally
// the server's own output is checked: request lines only, none of the passwords, tokens or notes.
//
// The database: a fresh schema in the PostgreSQL database QUIETLEGS_TEST_PG_URL names (as .ci/run
// sets it; required under CI=true), else a fresh SQLite file.
//
// Usage: node tools/e2e/clinic.mjs [path/to/quietlegs]   (default: target/debug/quietlegs)
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { audit as auditPage, launchBrowser } from "./browser.mjs";

const root = resolve(new URL("../..", import.meta.url).pathname);
const binary = resolve(process.argv[2] ?? join(root, "target/debug/quietlegs"));
const shots = join(root, "target/e2e");
mkdirSync(shots, { recursive: true });

const work = mkdtempSync(join(tmpdir(), "quietlegs-clinic-e2e-"));
const failures = [];
const fail = (msg) => { failures.push(msg); console.error(`FAIL ${msg}`); };

const env = { ...process.env };
for (const v of ["QUIETLEGS_TODAY", "QUIETLEGS_DB", "QUIETLEGS_DATABASE_URL"]) delete env[v];

// The people of the walkthrough, with distinctive secrets looked for in the server's output.
const admin = { username: "e2e-admin", password: "ADMIN-e2e-passphrase-Quokka-4417" };
const clinician = { username: "dr-e2e", password: "CLIN-e2e-passphrase-Narwhal-9021" };
const participant = { username: "pat-e2e", password: "PART-e2e-passphrase-Wombat-5530" };
const nurse = { username: "nurse-e2e", first: "NURSE-e2e-first-Ibis-7761", reset: "NURSE-e2e-reset-Heron-3390" };
const note = "ZEBRA-NOTE-8713 legs worse after the late walk";
const label = "LABEL-Okapi Tuesday clinic";

// ---- The database ---------------------------------------------------------------------------
let database;
let dropSchema = () => {};
const pgUrl = process.env.QUIETLEGS_TEST_PG_URL;
if (pgUrl) {
  const schema = `ql_e2e_${process.pid}_${Date.now()}`;
  const psql = (sql) => spawnSync("psql", [pgUrl, "-v", "ON_ERROR_STOP=1", "-Atqc", sql], { encoding: "utf8" });
  const made = psql(`CREATE SCHEMA ${schema}`);
  if (made.status !== 0) throw new Error(`creating the schema ${schema}: ${made.stderr}`);
  dropSchema = () => psql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  const sep = pgUrl.includes("?") ? "&" : "?";
  database = ["--database-url", `${pgUrl}${sep}options=-csearch_path%3D${schema}`];
  console.log(`clinic e2e on PostgreSQL (schema ${schema})`);
} else {
  if (process.env.CI === "true") throw new Error("QUIETLEGS_TEST_PG_URL is not set but CI=true: .ci/run sets it");
  database = ["--db", join(work, "clinic.sqlite3")];
  console.log("clinic e2e on SQLite (QUIETLEGS_TEST_PG_URL is not set)");
}

// Runs the CLI with `input` on standard input; its output is kept for the leak check.
const cliOutput = [];
function cli(args, input) {
  const r = spawnSync(binary, [...database, ...args], { env, input, encoding: "utf8" });
  cliOutput.push(r.stdout, r.stderr);
  if (r.status !== 0) throw new Error(`quietlegs ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r.stderr;
}
cli(["admin", "create-user", "--username", admin.username, "--role", "admin"], `${admin.password}\n`);
cli(["admin", "create-user", "--username", clinician.username, "--role", "clinician"], `${clinician.password}\n`);

// The server on a free port; its address is read from the line it prints.
let serverErr = "";
let serverOut = "";
const server = spawn(binary, [...database, "serve", "--clinic", "--addr", "127.0.0.1:0"], { env });
server.stdout.on("data", (d) => { serverOut += d; });
const base = await new Promise((ok, no) => {
  server.stderr.on("data", (d) => {
    serverErr += d;
    const m = serverErr.match(/ at (http:\/\/127\.0\.0\.1:\d+)\//);
    if (m) ok(m[1]);
  });
  server.on("exit", (code) => no(new Error(`server exited ${code}: ${serverErr}`)));
  setTimeout(() => no(new Error(`server did not start: ${serverErr}`)), 20000);
});

const browser = await launchBrowser();

const audit = (page, name) => auditPage(page, name, fail);

// Audits the page as it is, light and dark, with a screenshot of each.
async function check(page, name) {
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    await audit(page, `${name} (${scheme})`);
    await page.screenshot({ path: join(shots, `clinic-${name}-${scheme}.png`), fullPage: true });
  }
  await page.emulateMedia({ colorScheme: "light" });
}

const consoleErrors = [];
async function phone() {
  const context = await browser.newContext({
    acceptDownloads: true, viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, hasTouch: true,
  });
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const path = new URL(page.url()).pathname;
    // Deliberate: a wrong password (401), a used invitation or reset link (404).
    if ((path === "/login" && m.text().includes("status of 401")) ||
      (/^\/(invite|reset)\//.test(path) && m.text().includes("status of 404"))) return;
    consoleErrors.push(`${page.url()}: ${m.text()}`);
  });
  return { context, page };
}

async function logIn(page, who, password, expected) {
  await page.goto(`${base}/login`);
  await page.fill("#username", who);
  await page.fill("#password", password);
  await page.click("form.login button[type=submit]");
  await page.waitForLoadState();
  if (new URL(page.url()).pathname !== expected) fail(`log-in of ${who}: at ${page.url()}, not ${expected}`);
}

const mainText = async (page) => (await page.locator("main").innerText()).replace(/\s+/g, " ");

try {
  // ---- The clinician: log in, invite -------------------------------------------------------
  const { page: clin } = await phone();
  await clin.goto(`${base}/clinic`);
  if (!clin.url().startsWith(`${base}/login?next=/clinic`)) fail(`clinic: not sent to the log-in: ${clin.url()}`);
  await check(clin, "login");
  await clin.fill("#username", clinician.username);
  await clin.fill("#password", "not the password of anyone");
  await clin.click("form.login button[type=submit]");
  const refused = await clin.locator("[role=alert]").innerText();
  if (!refused.includes("wrong username or password")) fail(`login: a wrong password is not explained (${refused})`);
  await check(clin, "login-refused");
  await clin.fill("#password", clinician.password);
  await clin.click("form.login button[type=submit]");
  await clin.waitForLoadState();
  if (clin.url() !== `${base}/clinic`) fail(`login: the clinician is not taken back to /clinic: ${clin.url()}`);
  if (!(await mainText(clin)).includes("No participant is linked to you yet")) fail("clinic: the empty dashboard does not say so");
  await check(clin, "dashboard-empty");
  await clin.fill("#label", label);
  await clin.click("form.invite button[type=submit]");
  await clin.waitForLoadState();
  if ((await clin.locator("h1").innerText()) !== "Invitation made") fail(`invitation: ${await mainText(clin)}`);
  const inviteLink = await clin.inputValue("#link");
  if (!new RegExp(`^${base}/invite/[0-9a-f]{64}$`).test(inviteLink)) fail(`invitation: the link is ${inviteLink}`);
  await check(clin, "invitation-made");
  const inviteToken = inviteLink.split("/").pop();

  // ---- The participant: open the link, make an account, log a night ------------------------
  const { page: pat } = await phone();
  await pat.goto(inviteLink);
  if ((await pat.locator("h1").innerText()) !== `${clinician.username} invites you`) fail(`invite: heading ${await pat.locator("h1").innerText()}`);
  await check(pat, "invite");
  await pat.fill("#username", participant.username);
  await pat.fill("#password", participant.password);
  await pat.click("form.login button[type=submit]");
  await pat.waitForLoadState();
  if (pat.url() !== `${base}/account`) fail(`join: not on /account: ${pat.url()} ${await mainText(pat)}`);
  const joined = await mainText(pat);
  if (!joined.includes(`You are logged in as ${participant.username} (participant)`)) fail(`account: ${joined}`);
  if (!joined.includes(`${clinician.username}, since`)) fail(`account: the clinician is not listed: ${joined}`);
  await check(pat, "account-new");
  // The link works once.
  await pat.goto(inviteLink);
  if (!(await mainText(pat)).match(/used|no longer|not valid|expired|accepted/i)) fail(`invite: a used link still offers itself: ${await mainText(pat)}`);

  await pat.goto(`${base}/tonight`);
  const night = await pat.inputValue("#date");
  await pat.locator('label[for="severity-7"]').click();
  await pat.locator('label[for="sleep-3"]').click();
  await pat.fill("#hours_slept", "6.5");
  await pat.fill("#note", note);
  await pat.click("button[type=submit]");
  await pat.waitForLoadState();
  if (!pat.url().includes("/history?logged=")) fail(`tonight: not saved: ${pat.url()} ${await mainText(pat)}`);
  const row = await pat.locator("tbody tr").first().innerText();
  if (!row.includes(note) || !/\t7\t3\t6\.5\t/.test(row)) fail(`history: the night is not listed: ${JSON.stringify(row)}`);
  await check(pat, "participant-history");

  // ---- The clinician: the dashboard, the report, the PDF -------------------------------------
  await clin.goto(`${base}/clinic`);
  const dash = clin.locator("table.dashboard tbody tr", { hasText: participant.username });
  if ((await dash.count()) !== 1) fail(`dashboard: ${participant.username} is not listed: ${await mainText(clin)}`);
  else {
    const cells = await dash.locator("th, td").allInnerTexts();
    // Columns: participant, last entry, latest IRLS, open flags, trial.
    if (!cells[1]?.includes(`${night}, 1 of the last 7 nights`)) fail(`dashboard: last entry ${JSON.stringify(cells[1])}, expected ${night}`);
  }
  if (!(await mainText(clin)).includes(`${label}, made`)) fail("dashboard: the invitation's note is not listed");
  await check(clin, "dashboard");
  await clin.click(`a:text-is("${participant.username}")`);
  await clin.waitForLoadState();
  if (!/\/clinic\/participants\/\d+$/.test(clin.url())) fail(`report: at ${clin.url()}`);
  const report = await mainText(clin);
  if (!report.includes(`Participant ${participant.username}: this look is recorded in their access log.`)) fail(`report: no access note: ${report.slice(0, 300)}`);
  await check(clin, "participant-report");
  const pdfHref = await clin.locator('a[href*="report.pdf"]').getAttribute("href");
  const pdf = await clin.request.get(new URL(pdfHref, base).href);
  if (pdf.status() !== 200 || pdf.headers()["content-type"] !== "application/pdf") fail(`report.pdf: ${pdf.status()} ${pdf.headers()["content-type"]}`);
  else if (!(await pdf.body()).subarray(0, 5).equals(Buffer.from("%PDF-"))) fail("report.pdf: not a PDF");
  await clin.goto(`${base}/clinic/pooled`);
  await check(clin, "pooled");
  await clin.goto(`${base}/account`);
  if (!(await mainText(clin)).includes(`${participant.username}, since`)) fail("clinician account: the participant is not listed");
  await check(clin, "account-clinician");

  // ---- The participant: the access log --------------------------------------------------------
  await pat.goto(`${base}/account`);
  const log = await pat.locator("table tbody tr").allInnerTexts();
  const looks = log.filter((r) => r.includes(`${clinician.username} (clinician)`));
  for (const part of ["page", "PDF"])
    if (!looks.some((r) => r.split("\t").some((c) => c.includes(part)))) fail(`access log: no ${part} look: ${JSON.stringify(log)}`);
  await check(pat, "account-access-log");
  await pat.goto(`${base}/account/delete`);
  await check(pat, "account-delete");

  // ---- The admin: an account, a reset link, used ----------------------------------------------
  const { page: adm } = await phone();
  await logIn(adm, admin.username, admin.password, "/admin");
  await check(adm, "admin");
  await adm.fill("#new-username", nurse.username);
  await adm.selectOption("#role", "clinician");
  await adm.click('form[action="/admin/accounts"] button[type=submit]');
  await adm.waitForLoadState();
  if (!(await mainText(adm)).includes(`Account ${nurse.username} (clinician) made`)) fail(`admin: account not made: ${await mainText(adm)}`);
  await check(adm, "admin-account-made");
  // Nobody knows the new account's password: the nurse sets the first one with the link.
  const firstLink = await adm.inputValue("#link");
  if (!new RegExp(`^${base}/reset/[0-9a-f]{64}$`).test(firstLink)) fail(`first password: the link is ${firstLink}`);
  const { page: nur } = await phone();
  await nur.goto(firstLink);
  await nur.fill("#password", nurse.first);
  await nur.click("form.login button[type=submit]");
  await nur.waitForLoadState();
  if (new URL(nur.url()).pathname !== "/login") fail(`first password: not sent to the log-in: ${nur.url()}`);
  await logIn(nur, nurse.username, nurse.first, "/clinic");
  await adm.goto(`${base}/admin`);
  await adm.fill("#reset-username", nurse.username);
  await adm.click('form[action="/admin/resets"] button[type=submit]');
  await adm.waitForLoadState();
  const resetLink = await adm.inputValue("#link");
  if (!new RegExp(`^${base}/reset/[0-9a-f]{64}$`).test(resetLink)) fail(`reset: the link is ${resetLink}`);
  await check(adm, "reset-link-made");
  const resetToken = resetLink.split("/").pop();
  await nur.goto(resetLink);
  if ((await nur.locator("h1").innerText()) !== `A new password for ${nurse.username}`) fail(`reset: heading ${await nur.locator("h1").innerText()}`);
  await check(nur, "reset");
  await nur.fill("#password", nurse.reset);
  await nur.click("form.login button[type=submit]");
  await nur.waitForLoadState();
  if (new URL(nur.url()).pathname !== "/login") fail(`reset: not sent to the log-in: ${nur.url()}`);
  await logIn(nur, nurse.username, nurse.reset, "/clinic");
  await nur.goto(resetLink);
  if ((await nur.locator("h1").innerText()).startsWith("A new password")) fail("reset: the link works twice");

  // ---- The participant deletes the account; the clinician no longer sees it -------------------
  await pat.goto(`${base}/account/delete`);
  await pat.fill("#confirm", participant.username);
  await pat.fill("#password", participant.password);
  await pat.click("form.login button[type=submit]");
  await pat.waitForLoadState();
  if ((await pat.locator("h1").innerText()) !== "Your account is deleted") fail(`delete: ${await mainText(pat)}`);
  await clin.goto(`${base}/clinic`);
  // Neither in the table nor in the invitation it accepted (the store renames it there).
  if ((await mainText(clin)).includes(participant.username) || (await clin.locator("table.dashboard").count()) !== 0)
    fail(`dashboard: a deleted participant is still named: ${await mainText(clin)}`);

  if (consoleErrors.length) fail(`console errors: ${consoleErrors.join(" | ")}`);

  // ---- The server's output: request lines only, no secret, no health data ---------------------
  const secrets = {
    "admin password": admin.password, "clinician password": clinician.password,
    "participant password": participant.password, "nurse first password": nurse.first,
    "nurse reset password": nurse.reset, "invitation token": inviteToken, "reset token": resetToken,
    "night note": "ZEBRA-NOTE-8713", "invitation note": "LABEL-Okapi", "participant username": participant.username,
  };
  for (const c of await clin.context().cookies()) secrets[`cookie ${c.name}`] = c.value;
  const said = serverOut + serverErr;
  for (const [what, value] of Object.entries(secrets)) if (value && said.includes(value)) fail(`server output contains the ${what}`);
  for (const [what, value] of Object.entries(secrets))
    if (value && what !== "participant username" && cliOutput.join("").includes(value)) fail(`admin create-user output contains the ${what}`);
  const lines = serverErr.split("\n").filter((l) => l && !l.startsWith("quietlegs clinic server on "));
  const odd = lines.filter((l) => !/^(GET|POST) (\/[A-Za-z0-9_./{}-]*|\(no route\)) \d{3} \d+\.\d ms$/.test(l));
  if (odd.length) fail(`server output: lines that are not request lines: ${odd.join(" | ")}`);
  for (const expected of ["POST /invite/{token}/join 303", "GET /clinic/participants/{number}/report.pdf 200", "POST /reset/{token} 303", "POST /login 401"])
    if (!lines.some((l) => l.startsWith(`${expected} `))) fail(`server output: no "${expected}" line`);
  console.log(`server output: ${lines.length} request lines, none with a secret`);
} finally {
  await browser.close();
  server.kill("SIGINT");
  await new Promise((ok) => { if (server.exitCode !== null) ok(); else server.on("exit", ok); });
  dropSchema();
  rmSync(work, { recursive: true, force: true });
}

if (failures.length) {
  console.error(`clinic e2e: ${failures.length} failure(s)`);
  process.exit(1);
}
console.log(`clinic e2e: all pages passed; screenshots in ${shots}/clinic-*.png`);
