// Browser driver for the Rust browser tests (tests/api/browser.rs): one scenario per run, given as JSON
// in argv[2], played in Debian's Chromium through playwright-core. The Rust side starts the daemon and
// its peers and asserts on what this prints: `{"snapshots": {...}, "consoleErrors": [...], "authed": [...]}` on
// stdout; `authed` lists each request that carried a bearer token as {method, path, route} (`route`: its
// X-Augchatd-Route header, or null), so a test can check what a load balancer would hash on. With
// "secrets" in the scenario, `leaks` lists each of them found in any request (URL, headers, body) or response
// (headers, body) of the page and its frames: the network capture a user could take.
// A step that times out fails the run (exit 1) with the step and a snapshot on stderr.
//
// Scenario: {"url": "...", "frame": "#app" | false, "viewport": {"width", "height"}, "steps": [step, ...]}. Steps:
//   {"send": "text", "expect": "reply" | "none" | "running"}   type into the composer, press Enter, wait until idle
//                                                           ("running": only until the user's message shows)
//   {"idle": true}   wait until no reply is running
//   {"waitFor": "<testid>", "text": "...", "count": n, "attr": {...}, "gone": true, "timeoutMs": n}
//   {"click": "<testid>", "attr": {...}, "text": "...", "nth": n}   {"select": "<testid>", "value": "..."}
//   {"hover": "<testid>", "nth": n}   rest the pointer on an element
//   {"reload": true}   {"sleep": ms}   {"snapshot": "name"}   {"screenshot": "/path.png"}
//   A snapshot also has the page's path (`url`) and the embedded frame's (`frameSrc`).
//   {"fetch": "url"}   a GET from the driver itself (the test's hook to change the world mid-scenario)
// Optional: "secrets": ["...", ...], strings that must never cross the browser's network.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const scenario = JSON.parse(process.argv[2]);
const TIMEOUT = 15_000;
const WATCHED = [
  "assistant-message", "user-message", "tool-pill", "tool-group", "source-chip", "model-chip", "demo-banner", "readonly-banner",
  "notice", "data-error", "message-error", "reasoning", "conversation-item", "connector-toggle", "model-picker",
  "composer-input", "message-usage",
];

const profile = fs.mkdtempSync(path.join(os.tmpdir(), "augchatd-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  ignoreHTTPSErrors: true, // the daemon's certificate comes from the test's own CA
  viewport: scenario.viewport ?? { width: 900, height: 700 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = context.pages()[0] ?? (await context.newPage());
const consoleErrors = [];
page.on("console", (m) => {
  // A 401 or 503 the UI handles still prints "Failed to load resource" (UI-TOOLCHAIN P6).
  if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text());
});
page.on("pageerror", (e) => consoleErrors.push(String(e)));
const secrets = scenario.secrets ?? [];
const leaks = [];
const scans = [];
const scan = (where, text) => {
  for (const secret of secrets) if (text.includes(secret)) leaks.push({ where, secret });
};
if (secrets.length > 0) {
  page.on("request", (request) => {
    scans.push(
      request.allHeaders().then((headers) => {
        scan(`request ${request.url()}`, request.url() + JSON.stringify(headers) + (request.postData() ?? ""));
      }),
    );
  });
  page.on("response", (response) => {
    // A response the page abandoned (a stopped stream) has no body to read.
    const body = response.text().catch(() => "");
    scans.push(
      Promise.all([response.allHeaders(), body]).then(([headers, text]) => {
        scan(`response ${response.url()}`, JSON.stringify(headers) + text);
      }),
    );
  });
}
const authed = [];
page.on("request", async (request) => {
  const headers = await request.allHeaders();
  if (!(headers.authorization ?? "").startsWith("Bearer ")) return;
  const { pathname } = new URL(request.url());
  authed.push({ method: request.method(), path: pathname, route: headers["x-augchatd-route"] ?? null });
});

const root = () => (scenario.frame === false ? page : page.frameLocator(scenario.frame ?? "#app"));

function locate(step, key) {
  let loc = root().getByTestId(step[key]);
  for (const [name, value] of Object.entries(step.attr ?? {})) {
    loc = root().locator(`[data-testid="${step[key]}"][${name}="${value}"]`);
  }
  if (step.text !== undefined) loc = loc.filter({ hasText: step.text });
  return loc;
}

async function snapshot() {
  const out = {};
  for (const id of WATCHED) {
    out[id] = await root().getByTestId(id).evaluateAll((nodes) =>
      nodes.map((n) => ({
        text: n.innerText ?? n.textContent ?? "",
        state: n.getAttribute("data-state"),
        cid: n.getAttribute("data-cid"),
        id: n.getAttribute("data-id"),
        current: n.getAttribute("aria-current"),
        checked: "checked" in n ? n.checked : null,
        value: "value" in n ? n.value : null,
      })),
    );
  }
  out.scripts = await root().locator('[data-testid="assistant-message"] script').count();
  out.theme = await root().locator("html").getAttribute("data-theme");
  // Where the page is, and what the embedding frame's address is (null without a frame).
  out.url = new URL(page.url()).pathname;
  const frameUrl = scenario.frame === false ? null : page.frames()[1]?.url();
  out.frameSrc = frameUrl ? URL.parse(frameUrl)?.pathname ?? frameUrl : null;
  return out;
}

async function waitIdle(timeout) {
  await root().locator('[data-testid="thread"][data-running="false"]').waitFor({ timeout });
}

async function send(step) {
  const timeout = step.timeoutMs ?? TIMEOUT;
  const input = root().getByTestId("composer-input");
  await input.waitFor({ timeout });
  await waitIdle(timeout);
  await input.fill(step.send);
  await input.press("Enter");
  // The user's message shows at once; then the run starts and ends (UI-TOOLCHAIN P10).
  await root().getByTestId("user-message").filter({ hasText: step.send }).last().waitFor({ timeout });
  if (step.expect === "running") return;
  await page.waitForTimeout(100);
  await waitIdle(timeout);
  if ((step.expect ?? "reply") === "reply") {
    // The thread's last message is the reply to it (an error bubble of an earlier turn may have gone).
    const last = root().locator('[data-testid="user-message"], [data-testid="assistant-message"]').last();
    if ((await last.getAttribute("data-testid", { timeout })) !== "assistant-message") {
      throw new Error(`no reply to ${JSON.stringify(step.send)}`);
    }
  }
}

async function run(step) {
  const timeout = step.timeoutMs ?? TIMEOUT;
  if (step.send !== undefined) return send(step);
  if (step.waitFor !== undefined) {
    const loc = locate(step, "waitFor");
    if (step.gone) return loc.first().waitFor({ state: "detached", timeout });
    if (step.count === undefined) return loc.first().waitFor({ timeout });
    const deadline = Date.now() + timeout;
    while ((await loc.count()) < step.count) {
      if (Date.now() > deadline) throw new Error(`fewer than ${step.count} × ${step.waitFor}`);
      await page.waitForTimeout(50);
    }
    return;
  }
  if (step.click !== undefined) return locate(step, "click").nth(step.nth ?? 0).click({ timeout });
  if (step.hover !== undefined) return locate(step, "hover").nth(step.nth ?? 0).hover({ timeout });
  if (step.select !== undefined) return locate(step, "select").first().selectOption(step.value, { timeout });
  if (step.reload) return page.reload();
  if (step.idle) return waitIdle(timeout);
  if (step.fetch !== undefined) return fetch(step.fetch).then((r) => r.text());
  if (step.sleep !== undefined) return page.waitForTimeout(step.sleep);
  if (step.screenshot !== undefined) return page.screenshot({ path: step.screenshot });
  throw new Error(`unknown step ${JSON.stringify(step)}`);
}

const snapshots = {};
let failure = null;
try {
  await page.goto(scenario.url);
  for (const step of scenario.steps) {
    if (step.snapshot !== undefined) {
      snapshots[step.snapshot] = await snapshot();
      continue;
    }
    try {
      await run(step);
    } catch (e) {
      failure = { step, error: String(e).split("\n")[0], snapshot: await snapshot().catch(() => null) };
      break;
    }
  }
} finally {
  // A stream still open when a step failed never finishes its body: the scan waits a few seconds at most.
  await Promise.race([Promise.allSettled(scans), new Promise((done) => setTimeout(done, 5_000))]);
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
if (failure) {
  process.stderr.write(JSON.stringify({ ...failure, consoleErrors }, null, 1) + "\n");
  process.exit(1);
}
process.stdout.write(JSON.stringify({ snapshots, consoleErrors, authed, leaks }) + "\n");
