// Opens /docs, /redoc and /ui's sign-in link in Debian's chromium with every request to another host aborted (as on
// a machine without internet) and reports what rendered. Run by tests/ui/test_docs_offline.py;
// playwright-core comes from tests/browser/node_modules. Prints one JSON line.
import { createRequire } from "node:module";

const require = createRequire(new URL("../browser/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const api = process.env.MECHAMENTAL_API;
const origin = new URL(api).origin;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const seen = { blocked: [], failed: [] };
try {
  const context = await browser.newContext();
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("data:") || url.startsWith("blob:") || new URL(url).origin === origin) {
      return route.continue();
    }
    seen.blocked.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on("requestfailed", (r) => seen.failed.push(r.url()));
  await page.goto(`${api}/docs`);
  await page.waitForSelector(".opblock-summary-path", { timeout: 30_000 });
  seen.swagger = await page.$$eval(".opblock-summary-path", (els) =>
    els.map((e) => e.getAttribute("data-path") ?? e.textContent.trim()),
  );
  await page.goto(`${api}/redoc`);
  await page.waitForSelector("[data-section-id^='operation/'], [data-section-id^='tag/']", {
    timeout: 30_000,
  });
  seen.redoc = await page.$$eval("h2", (els) => els.map((e) => e.textContent.trim()));
  // The sign-in link `make run` prints: the token goes to sessionStorage, the fragment away.
  await page.goto(`${api}/ui#token=${process.env.MECHAMENTAL_UI_TOKEN}`);
  // The key is not a real one: the dashboard says so and forgets it.
  await page.waitForFunction(() => document.getElementById("signin-error")?.textContent);
  seen.signIn = await page.evaluate(() => ({
    stored: sessionStorage.getItem("mechamental.token"),
    url: location.href,
    error: document.getElementById("signin-error").textContent,
  }));
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
