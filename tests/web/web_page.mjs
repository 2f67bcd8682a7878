// The web chat page in headless Chromium (Debian's, driven by playwright-core): type a message,
// see the reply stream in, switch the speech style, send again; then a screenshot.
// usage: node web_page.mjs BASE_URL SCREENSHOT.png
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const [base, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("requestfailed", (r) => errors.push("request failed: " + r.url()));
  await page.goto(base + "/");
  await page.waitForFunction(() => document.getElementById("model").textContent.length > 0);
  // Counts the updates of the conversation: a streamed reply updates it once per piece.
  await page.evaluate(() => {
    window.updates = 0;
    new MutationObserver(() => window.updates++).observe(document.getElementById("log"), { subtree: true, childList: true, characterData: true });
  });

  async function ask(text) {
    const before = await page.locator(".assistant").count();
    await page.fill("#input", text);
    await page.press("#input", "Enter");
    await page.locator(".user", { hasText: text }).waitFor();
    // Streaming: the reply grows before it is done.
    const reply = page.locator(".assistant").nth(before);
    await reply.waitFor();
    await page.waitForFunction((i) => {
      const el = document.querySelectorAll(".assistant")[i];
      return el && el.dataset.done === "1";
    }, before, { timeout: 60_000 });
    return reply.textContent();
  }

  const first = await ask("안녕하세요! 오늘 날씨가 좋네요.");
  assert.ok(first.length > 0, "a streamed reply");
  const updates = await page.evaluate(() => window.updates);
  assert.ok(updates > 4, `the reply arrived in pieces (${updates} updates)`);
  await page.selectOption("#style", "casual");
  const second = await ask("주말에 뭐 할 거야?");
  assert.ok(second.length > 0, "a second reply, in the casual style");
  assert.equal(await page.locator(".user").count(), 2);
  assert.equal(await page.locator(".assistant").count(), 2);
  assert.deepEqual(errors, []);
  if (screenshot) await page.screenshot({ path: screenshot });
  console.log(`web page: two streamed replies (${first.length} and ${second.length} characters)`);
} finally {
  await browser.close();
}
