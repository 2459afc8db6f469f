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

/** Opens a link on a fresh device (or on `page`): the token must leave the address bar first. */
async function openLink(t, link, page) {
  page ??= await t.device();
  await page.goto(link);
  await page.locator('h1').waitFor();
  assert.ok(!page.url().includes('#'), `the token is still in the address bar: ${page.url()}`);
  return page;
}

/** The question a link opens with, naming the link's account; returns its Continue button. */
async function confirmPrompt(page, who) {
  await page.getByRole('heading', { name: `Sign in as ${who}?`, exact: true }).waitFor();
  await page.getByRole('button', { name: 'Cancel', exact: true }).waitFor();
  return page.getByRole('button', { name: 'Continue', exact: true });
}

/** The Cognito operations the page calls from now on (each names itself in X-Amz-Target). */
function cognitoCalls(page) {
  const calls = [];
  page.on('request', (r) => {
    const target = r.headers()['x-amz-target'];
    if (target) calls.push(target.split('.').pop());
  });
  return calls;
}

/** Whether Amplify holds tokens in this device's storage (a session, whoever's). */
async function hasTokens(page) {
  return page.evaluate(() => Object.keys(localStorage).some((k) => k.endsWith('.idToken')));
}

/** A link token for `sub` that the page accepts to show (its MAC, never checked here, is zeros). */
async function forgedToken(sub) {
  const { userPoolId, clientId } = await (await fetch(`${PAGES.link}/config.json`)).json();
  const claims = { kid: 'k', sub, pool: userPoolId, client: clientId, iat: 0, exp: Math.floor(Date.now() / 1000) + 600, nonce: 'n', dest: 'd' };
  return `${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${Buffer.alloc(32).toString('base64url')}`;
}

/** A fresh user, signed in on a fresh device with a link of their own. */
async function signedInDevice(t, name) {
  const who = await createUser(PAGES.link, email(name));
  const { message } = await requestLink(t, who);
  const page = await openLink(t, linkIn(message));
  await (await confirmPrompt(page, who)).click();
  await signedIn(page, who);
  return { page, who };
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
    const button = await confirmPrompt(other, who);
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
    await confirmPrompt(scanner, who);
    await scanner.waitForTimeout(1500);
    await t.shot(scanner, 'link-scanner-visit.png');
    await scanner.context().close();
    const person = await openLink(t, link);
    await (await confirmPrompt(person, who)).click();
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
    await confirmPrompt(page, who);
    await page.locator('#code').fill(codeIn(message));
    await t.shot(page, 'link-callback-with-code.png');
    await page.getByRole('button', { name: 'Sign in with the code' }).click();
    await signedIn(page, who);
  },

  'magic link: a used link is refused ("already used")': async (t) => {
    assert.ok(spent, 'the cross-device test spent a link first');
    const page = await openLink(t, spent);
    await page.getByRole('button', { name: 'Continue', exact: true }).click();
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

  // Login CSRF: someone asks for a link to their own account and forwards it. The page says
  // whose account a link opens and asks first; only Continue answers Cognito.
  "magic link: the confirm names the link's account, and nothing reaches Cognito before Continue": async (t) => {
    const who = await createUser(PAGES.link, email('confirm'));
    const { message } = await requestLink(t, who);
    const page = await t.device();
    const calls = cognitoCalls(page);
    await openLink(t, linkIn(message), page);
    const go = await confirmPrompt(page, who);
    const lead = await page.locator('main').innerText();
    assert.ok(lead.includes(`This link signs you in as ${who}.`), `the account, in words: ${lead}`);
    await page.waitForTimeout(1000);
    assert.deepEqual(calls, [], 'no Cognito call before Continue');
    assert.equal(await hasTokens(page), false, 'nobody is signed in before Continue');
    await t.shot(page, 'link-confirm.png');
    await go.click();
    await signedIn(page, who);
    assert.deepEqual(calls, ['InitiateAuth', 'RespondToAuthChallenge'], 'one sign-in, after Continue');
  },

  'magic link: Cancel on the confirm keeps the session here, and the link still works afterwards': async (t) => {
    const { page, who: mine } = await signedInDevice(t, 'keeper');
    const theirs = await createUser(PAGES.link, email('forwarded'));
    const { message } = await requestLink(t, theirs);
    const link = linkIn(message);
    const calls = cognitoCalls(page);
    await openLink(t, link, page);
    await confirmPrompt(page, theirs);
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await signedIn(page, mine);
    assert.match(await notices(page), /Cancelled: the link was not used/);
    assert.equal(new URL(page.url()).pathname, '/', 'back at the page, not the callback');
    assert.deepEqual(calls, [], 'Cancel sends nothing to Cognito');
    await t.shot(page, 'link-confirm-cancelled.png');
    // Unspent: the same link still signs its own user in, on another device.
    const other = await openLink(t, link);
    await (await confirmPrompt(other, theirs)).click();
    await signedIn(other, theirs);
  },

  "magic link: the confirm for another user's link says it replaces the session, and Continue does": async (t) => {
    const { page, who: mine } = await signedInDevice(t, 'current');
    const theirs = await createUser(PAGES.link, email('replacing'));
    const { message } = await requestLink(t, theirs);
    await openLink(t, linkIn(message), page);
    const go = await confirmPrompt(page, theirs);
    const warning = page.getByRole('alert');
    assert.equal(await warning.innerText(), `You are signed in as ${mine}. This link signs you in as ${theirs} and will replace that session.`);
    await t.shot(page, 'link-confirm-replace.png');
    await go.click();
    await signedIn(page, theirs);
    await t.shot(page, 'link-confirm-replaced.png');
  },

  "magic link: the confirm for the signed-in user's own link says so, and still asks": async (t) => {
    const { page, who } = await signedInDevice(t, 'again');
    await page.waitForTimeout(10_000); // the pool's cooldown between two sends to one user
    const { message } = await requestLink(t, who);
    await openLink(t, linkIn(message), page);
    const go = await confirmPrompt(page, who);
    assert.equal(await page.getByRole('alert').count(), 0, 'no replace warning for the same user');
    assert.ok((await notices(page)).includes(`You are already signed in as ${who}.`), 'says who is signed in');
    await t.shot(page, 'link-confirm-same-user.png');
    await go.click();
    await signedIn(page, who);
  },

  // The username in a link is whatever its sender wrote (the page reads it before the MAC is
  // checked): it must show as text, never become markup.
  "magic link: the confirm shows the link's account as text, never as markup": async (t) => {
    const sub = '<img src=x id=injected>"@example.com';
    const page = await openLink(t, `${PAGES.link}/auth/callback#${await forgedToken(sub)}`);
    await confirmPrompt(page, sub);
    assert.equal(await page.locator('#injected, main img').count(), 0, 'no element made from the username');
    await t.shot(page, 'link-confirm-markup.png');
  },

  // On AWS a pool keyed by email gives its users an opaque username, and the link carries only that.
  'magic link: the confirm for a link that names its account by ID only shows that ID': async (t) => {
    const sub = crypto.randomUUID();
    const page = await openLink(t, `${PAGES.link}/auth/callback#${await forgedToken(sub)}`);
    await page.getByRole('heading', { name: 'Sign in with this link?', exact: true }).waitFor();
    assert.ok((await page.locator('main').innerText()).includes(`This link signs you in as the account with ID ${sub}.`));
    await t.shot(page, 'link-confirm-id-only.png');
  },

  'magic link: an expired link is refused': async (t) => {
    assert.ok(shortLived, 'the setup asked for a short-lived link');
    const token = shortLived.link.split('#')[1];
    const exp = JSON.parse(Buffer.from(token.split('.')[0], 'base64url')).exp;
    const wait = exp * 1000 - Date.now() + 1500;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const page = await openLink(t, shortLived.link);
    await page.getByRole('heading', { name: 'This link has expired' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Continue', exact: true }).count(), 0, 'no way to spend it');
    await t.shot(page, 'link-expired.png');
  },
};
