// Runs the browser tests in order, each bounded in time, and prints one line per test and
// the summary `web: N passed, M failed` (scripts/test adds it to the run's total). With
// WEB_SUMMARY the summary goes to that file instead: scripts/test-web prints it last, after
// stopping its servers.
//   WEB_PAGES='{"link": "http://localhost:24601", ...}' AWS_ENDPOINT_URL=... node test/run.mjs [filter]
import { writeFile } from 'node:fs/promises';
import { TestContext, launch } from './harness.mjs';
import * as codes from './codes.mjs';
import * as magicLink from './magic-link.mjs';
import * as native from './native.mjs';

const TEST_SECONDS = 60;
// The expired-link test waits out the short pool's link lifetime (60 s, asked for at setup).
const SLOW = { 'magic link: an expired link is refused': 150 };
const LAST = 'magic link: an expired link is refused';

const all = { ...magicLink.tests, ...codes.tests, ...native.tests };
const order = [...Object.keys(all).filter((n) => n !== LAST), LAST];
const filter = process.argv[2];
const chosen = order.filter((n) => !filter || n.includes(filter));

function bounded(promise, seconds, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const browser = await launch();
let passed = 0;
let failed = 0;
const started = Date.now();
const setupContext = new TestContext(browser, 'setup');
try {
  if (chosen.includes(LAST)) await bounded(magicLink.setup(setupContext), TEST_SECONDS, 'setup');
} catch (error) {
  console.log(`FAIL setup: ${error.message}`);
  failed += 1;
} finally {
  await setupContext.close(failed > 0);
}
for (const name of chosen) {
  const t = new TestContext(browser, name);
  const start = Date.now();
  let ok = false;
  try {
    await bounded(all[name](t), SLOW[name] ?? TEST_SECONDS, name);
    ok = true;
    passed += 1;
    console.log(`ok   ${name} (${((Date.now() - start) / 1000).toFixed(1)} s)`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${name} (${((Date.now() - start) / 1000).toFixed(1)} s)\n     ${String(error.stack ?? error).split('\n').slice(0, 6).join('\n     ')}`);
  }
  await t.close(!ok);
}
await browser.close();
const summary = `web: ${passed} passed, ${failed} failed`;
console.log(`browser tests took ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (process.env.WEB_SUMMARY) await writeFile(process.env.WEB_SUMMARY, `${summary}\n`);
else console.log(summary);
process.exit(failed ? 1 : 0);
