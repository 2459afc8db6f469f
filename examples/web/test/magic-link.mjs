// Magic links in the browser: cross-device, scanners, the fallback code, and every refusal.
import assert from 'node:assert/strict';
import { PAGES, ask, codeIn, createUser, email, linkIn, messageCount, nextMessage, notices } from './harness.mjs';

/** Asks for a link on a fresh device; returns that page and the emailed message. */
async function requestLink(t, who, base = PAGES.link) {
  const page = await t.device();
  await page.goto(base);
  const seen = await messageCount(who);
  await ask(page, who);
  await page.getByRole('heading', { name: 'Check your email' }).waitFor();
  return { page, message: await nextMessage(who, seen) };
}

/** Opens a link on a fresh device: the token must leave the address bar before anything else. */
async function openLink(t, link) {
  const page = await t.device();
  await page.goto(link);
  await page.locator('h1').waitFor();
  assert.ok(!page.url().includes('#'), `the token is still in the address bar: ${page.url()}`);
  return page;
}

async function signedIn(page, who) {
  await page.getByRole('heading', { name: 'You’re signed in' }).waitFor();
  const text = await page.locator('main').innerText();
  assert.match(text, new RegExp(`Signed in as ${who.replace(/[.+]/g, '\\$&')}`));
  assert.match(await notices(page), /Signature verified/);
}

// The short-lived pool's link is asked for when the run starts and opened at the end.
let shortLived;

export const setup = async (t) => {
  const who = await createUser(PAGES.linkShort, email('expiring'));
  const { message } = await requestLink(t, who, PAGES.linkShort);
  shortLived = { who, link: linkIn(message) };
};

let spent;

export const tests = {
  'magic link: requested on one device, opened on another (cross-device)': async (t) => {
    const who = await createUser(PAGES.link, email('cross'));
    const { page: requester, message } = await requestLink(t, who);
    assert.ok((await requester.locator('main').innerText()).includes(`${who[0]}***@example.com`), 'the masked address');
    await t.shot(requester, 'link-sent.png');
    const link = linkIn(message);
    const other = await openLink(t, link);
    const button = other.getByRole('button', { name: `Sign in as ${who}` });
    await button.waitFor();
    await t.shot(other, 'link-callback.png');
    await button.click();
    await signedIn(other, who);
    await t.shot(other, 'link-cross-device-signed-in.png');
    spent = link;
  },

  'magic link: a scanner (plain GET, and a JavaScript-running visit that clicks nothing) does not spend it': async (t) => {
    const who = await createUser(PAGES.link, email('scanner'));
    const { message } = await requestLink(t, who);
    const link = linkIn(message);
    // A plain GET: the fragment (the token) is never sent to a server.
    const fetched = await fetch(link);
    assert.equal(fetched.status, 200);
    // A scanner running the page's JavaScript, then leaving without pressing anything.
    const scanner = await openLink(t, link);
    await scanner.getByRole('button', { name: `Sign in as ${who}` }).waitFor();
    await scanner.waitForTimeout(1500);
    await t.shot(scanner, 'link-scanner-visit.png');
    await scanner.context().close();
    const person = await openLink(t, link);
    await person.getByRole('button', { name: `Sign in as ${who}` }).click();
    await signedIn(person, who);
    await t.shot(person, 'link-after-scanner-signed-in.png');
  },

  'magic link: the typed fallback code signs in where the link was asked for': async (t) => {
    const who = await createUser(PAGES.link, email('fallback'));
    const { page, message } = await requestLink(t, who);
    // A reload keeps the request: Amplify keeps the Cognito session in the tab for 3 minutes.
    await page.reload();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();
    await page.locator('#code').fill(codeIn(message));
    await page.getByRole('button', { name: 'Sign in with the code' }).click();
    await signedIn(page, who);
    await t.shot(page, 'link-fallback-code-signed-in.png');
  },

  'magic link: the link opened in the asking tab offers the fallback code too': async (t) => {
    const who = await createUser(PAGES.link, email('sametab'));
    const { page, message } = await requestLink(t, who);
    await page.goto(linkIn(message));
    await page.getByRole('button', { name: `Sign in as ${who}` }).waitFor();
    await page.locator('#code').fill(codeIn(message));
    await t.shot(page, 'link-callback-with-code.png');
    await page.getByRole('button', { name: 'Sign in with the code' }).click();
    await signedIn(page, who);
  },

  'magic link: a used link is refused ("already used")': async (t) => {
    assert.ok(spent, 'the cross-device test spent a link first');
    const page = await openLink(t, spent);
    await page.getByRole('button', { name: /^Sign in as / }).click();
    await page.getByRole('heading', { name: 'This link has already been used' }).waitFor();
    await t.shot(page, 'link-already-used.png');
  },

  'magic link: a second request inside the cooldown shows the seconds left': async (t) => {
    const who = await createUser(PAGES.link, email('cooldown'));
    await requestLink(t, who);
    const page = await t.device();
    await page.goto(PAGES.link);
    await ask(page, who);
    const seconds = page.locator('.seconds');
    await seconds.waitFor();
    const left = Number((await seconds.innerText()).replace(/\D+/g, ''));
    assert.ok(left > 0 && left <= 10, `seconds left: ${left}`);
    assert.match(await notices(page), /You can ask for another in \d+ s/);
    assert.ok(await page.locator('form button[type=submit]').isDisabled(), 'asking again waits for the cooldown');
    await t.shot(page, 'link-cooldown.png');
  },

  'magic link: a wrong fallback code is refused and ends the request': async (t) => {
    const who = await createUser(PAGES.link, email('wrongcode'));
    const { page, message } = await requestLink(t, who);
    const right = codeIn(message);
    const wrong = right === '000000' ? '111111' : '000000';
    await page.locator('#code').fill(wrong);
    await page.getByRole('button', { name: 'Sign in with the code' }).click();
    await page.getByRole('alert').filter({ hasText: 'That code is not right' }).waitFor();
    assert.match(await notices(page), /this request has ended/);
    await t.shot(page, 'link-wrong-code.png');
  },

  'magic link: a page whose address is not an allowed redirect is told so': async (t) => {
    const who = await createUser(PAGES.link, email('redirect'));
    const page = await t.device();
    // The same page at another origin: its callback URL is not in the pool's allow-list.
    await page.goto(PAGES.link.replace('localhost', '127.0.0.1'));
    const seen = await messageCount(who);
    await ask(page, who);
    await page.getByRole('alert').filter({ hasText: 'redirect not allowed' }).waitFor();
    assert.equal(await messageCount(who), seen, 'nothing was sent');
    await t.shot(page, 'link-redirect-not-allowed.png');
  },

  'magic link: an expired link is refused': async (t) => {
    assert.ok(shortLived, 'the setup asked for a short-lived link');
    const token = shortLived.link.split('#')[1];
    const exp = JSON.parse(Buffer.from(token.split('.')[0], 'base64url')).exp;
    const wait = exp * 1000 - Date.now() + 1500;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const page = await openLink(t, shortLived.link);
    await page.getByRole('heading', { name: 'This link has expired' }).waitFor();
    assert.equal(await page.getByRole('button', { name: /^Sign in as/ }).count(), 0, 'no way to spend it');
    await t.shot(page, 'link-expired.png');
  },
};
