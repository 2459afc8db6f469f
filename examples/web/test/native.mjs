// The native strategy through Cognito's managed login (the emulator serves the pages): the
// page shows the button only when the Secret names a sign-in URL, runs the authorization code
// flow with PKCE itself, and refuses a callback it did not start.
import assert from 'node:assert/strict';
import { PAGES, createUser, email, messageCount, nextMessage, notices } from './harness.mjs';

const MANAGED = { name: 'Continue with managed login' };

export const tests = {
  'native: the managed login button appears only when the Secret names a sign-in URL': async (t) => {
    for (const pool of ['link', 'code', 'sms']) {
      const page = await t.device();
      await page.goto(PAGES[pool]);
      await page.locator('#username').waitFor();
      assert.equal(await page.getByRole('button', MANAGED).count(), 0, `${pool}: no managed login`);
      await t.shot(page, `start-${pool}.png`);
    }
    const native = await t.device();
    await native.goto(PAGES.native);
    await native.getByRole('button', MANAGED).waitFor();
    await t.shot(native, 'start-native.png');
    // A phone-sized viewport: nothing wider than the screen.
    const overflow = await native.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
  },

  'native: EMAIL_OTP through managed login, then the code exchanged with PKCE': async (t) => {
    const who = await createUser(PAGES.native, email('native'));
    const page = await t.device();
    const tokenRequests = [];
    page.on('request', (r) => r.method() === 'POST' && r.url().endsWith('/oauth2/token') && tokenRequests.push(new URLSearchParams(r.postData() ?? '')));
    await page.goto(PAGES.native);
    await page.getByRole('button', MANAGED).click();
    await page.waitForURL(/\/oauth2\/authorize\?/);
    const authorize = new URL(page.url()).searchParams;
    assert.equal(authorize.get('code_challenge_method'), 'S256');
    assert.ok(authorize.get('code_challenge') && authorize.get('state'), 'a PKCE challenge and a state');
    await page.locator('#username').fill(who);
    await page.getByRole('button', { name: 'Next' }).click();
    const seen = await messageCount(who);
    // The pool allows PASSWORD too (Cognito keeps it), so the pages ask which factor.
    const choice = page.getByRole('button', { name: 'Email code' });
    if (await choice.count()) await choice.click();
    const code = (await nextMessage(who, seen)).match(/\b\d{6,8}\b/)?.[0];
    assert.ok(code, 'the emailed code');
    await page.locator('#code').fill(code);
    await t.shot(page, 'native-managed-login-code.png');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'You’re signed in' }).waitFor();
    assert.ok(!page.url().includes('code='), 'the code left the address bar');
    assert.match(await page.locator('main').innerText(), new RegExp(`Signed in as ${who.replace(/[.+]/g, '\\$&')} \\(via managed login\\)`));
    assert.match(await notices(page), /Signature verified/);
    assert.equal(tokenRequests.length, 1);
    const exchange = tokenRequests[0];
    assert.equal(exchange.get('grant_type'), 'authorization_code');
    assert.ok((exchange.get('code_verifier') ?? '').length >= 43, 'the PKCE verifier went with the code');
    await t.shot(page, 'native-signed-in.png');
    // The page's own refresh (refresh_token grant at the token endpoint) and sign-out.
    const iat = async () => page.locator('.claims tr', { hasText: 'iat' }).locator('td').innerText();
    const before = await iat();
    await page.waitForTimeout(1100);
    await page.getByRole('button', { name: 'Refresh tokens' }).click();
    await page.getByRole('status').filter({ hasText: 'Tokens refreshed' }).waitFor();
    assert.notEqual(await iat(), before, 'a new ID token');
    assert.equal(tokenRequests[1]?.get('grant_type'), 'refresh_token');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', MANAGED).waitFor();
  },

  'native: a forged callback is refused by its state, and no code is exchanged': async (t) => {
    const page = await t.device();
    let exchanged = false;
    page.on('request', (r) => r.url().endsWith('/oauth2/token') && (exchanged = true));
    // Whoever sends a victim here with a code of their own: this tab started no sign-in.
    await page.goto(`${PAGES.native}/auth/managed?code=attacker-code&state=forged`);
    await page.getByRole('heading', { name: 'Sign-in refused' }).waitFor();
    assert.match(await notices(page), /state does not match/);
    assert.ok(!page.url().includes('code='), 'the code left the address bar');
    assert.equal(exchanged, false);
    await t.shot(page, 'native-forged-callback-refused.png');
  },
};
