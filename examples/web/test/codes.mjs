// Email and SMS codes in the browser: sign-in, refresh, sign-out, typos, and the lockout.
import assert from 'node:assert/strict';
import { PAGES, PHONE, ask, codeIn, createUser, email, messageCount, nextMessage, notices, phone } from './harness.mjs';

/** Asks for a code on a fresh device; returns the page (at the code field) and the code. */
async function requestCode(t, base, who) {
  const page = await t.device();
  await page.goto(base);
  const seen = await messageCount(who);
  await ask(page, who);
  await page.getByRole('heading', { name: 'Enter your code' }).waitFor();
  return { page, code: codeIn(await nextMessage(who, seen)) };
}

async function answer(page, code) {
  await page.locator('#code').fill(code);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** A typo: the right code with its last digit changed. */
async function wrongCode(page, right) {
  await answer(page, right.slice(0, -1) + ((Number(right.at(-1)) + 1) % 10));
}

const claim = async (page, name) => (await page.locator('.claims tr', { hasText: name }).first().locator('td').innerText()).trim();

export const tests = {
  'email code: sign in, refresh the tokens, sign out': async (t) => {
    const who = await createUser(PAGES.code, email('code'));
    const { page, code } = await requestCode(t, PAGES.code, who);
    await t.shot(page, 'email-code-entry.png');
    await answer(page, code);
    await page.getByRole('heading', { name: 'You’re signed in' }).waitFor();
    assert.equal(await claim(page, 'email'), who);
    assert.match(await notices(page), /Signature verified/);
    await t.shot(page, 'email-code-signed-in.png');
    const issued = await claim(page, 'iat');
    await page.waitForTimeout(1100); // a new token's iat is a later second
    await page.getByRole('button', { name: 'Refresh tokens' }).click();
    await page.getByRole('status').filter({ hasText: 'Tokens refreshed' }).waitFor();
    assert.notEqual(await claim(page, 'iat'), issued, 'a new ID token');
    await t.shot(page, 'email-code-refreshed.png');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('status').filter({ hasText: 'You are signed out' }).waitFor();
    await page.reload();
    await page.locator('#username').waitFor();
    await t.shot(page, 'email-code-signed-out.png');
  },

  'email code: a German browser is mailed in German, an English one in the default language': async (t) => {
    const who = await createUser(PAGES.code, email('de'));
    const page = await t.device(PHONE, 'de-DE');
    await page.goto(PAGES.code);
    let seen = await messageCount(who);
    await ask(page, who);
    await page.getByRole('heading', { name: 'Enter your code' }).waitFor();
    const german = await nextMessage(who, seen);
    assert.match(german, /^Ihr Anmeldecode\nIhr Code lautet \d{6}\. Er gilt /, german);
    await answer(page, codeIn(german));
    await page.getByRole('heading', { name: 'You’re signed in' }).waitFor();
    const english = await t.device(PHONE, 'en-GB');
    await english.goto(PAGES.code);
    await english.waitForTimeout(10_000); // the pool's interval between two sends to one user
    seen = await messageCount(who);
    await ask(english, who);
    await english.getByRole('heading', { name: 'Enter your code' }).waitFor();
    assert.match(await nextMessage(who, seen), /^Your sign-in code for /);
  },

  'email code: a wrong code says so, then the right one signs in': async (t) => {
    const who = await createUser(PAGES.code, email('typo'));
    const { page, code } = await requestCode(t, PAGES.code, who);
    await wrongCode(page, code);
    await page.getByRole('alert').filter({ hasText: 'That code is not right' }).waitFor();
    await t.shot(page, 'email-code-wrong.png');
    await answer(page, code);
    await page.getByRole('heading', { name: 'You’re signed in' }).waitFor();
  },

  'email code: too many wrong codes end the request and lock short codes; a long code still signs in': async (t) => {
    const who = await createUser(PAGES.code, email('lockout'));
    const { page, code } = await requestCode(t, PAGES.code, who);
    for (let i = 1; i <= 2; i++) {
      await wrongCode(page, code);
      await page.getByRole('alert').filter({ hasText: `(${i} wrong)` }).waitFor();
    }
    await wrongCode(page, code);
    await page.getByRole('alert').filter({ hasText: 'Too many wrong codes' }).waitFor();
    await t.shot(page, 'email-code-attempts-over.png');
    // The pool's maxFailures (3) is reached. Whoever answered wrong cannot keep the user out:
    // once the send interval (10 s) has passed, a new request sends a 16-digit code, beyond
    // guessing, which signs in during the lock.
    await page.waitForTimeout(10_500);
    const again = await requestCode(t, PAGES.code, who);
    assert.equal(again.code.length, 16, 'a code sent during the lock is a long one');
    await t.shot(again.page, 'email-code-locked-long-code.png');
    await answer(again.page, again.code);
    await again.page.getByRole('heading', { name: 'You’re signed in' }).waitFor();
  },

  'SMS code: sign in with a texted code': async (t) => {
    const who = await createUser(PAGES.sms, phone());
    const { page, code } = await requestCode(t, PAGES.sms, who);
    assert.match(await page.locator('main').innerText(), /We texted a code to \+\*+\d{4}/);
    await t.shot(page, 'sms-code-entry.png');
    await answer(page, code);
    await page.getByRole('heading', { name: 'You’re signed in' }).waitFor();
    assert.equal(await claim(page, 'phone_number'), who);
    await t.shot(page, 'sms-code-signed-in.png');
  },
};
