// What the browser tests share: Debian's Chromium driven by playwright-core (never a
// downloaded browser), the emulator's mailbox and SMS log, users made through Cognito's admin
// API, and screenshots under the output directory.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const AWS = process.env.AWS_ENDPOINT_URL;
export const OUT = process.env.WEB_OUT ?? 'target/web-test';
/** The page server of each pool: {link, linkShort, code, sms, native} -> http://localhost:PORT */
export const PAGES = JSON.parse(process.env.WEB_PAGES ?? '{}');
export const PHONE = { width: 390, height: 844 };
const RUN = Date.now().toString(36);

// The flags Chromium needs on these machines: no sandbox as root, and no background
// connections (the network is closed; each refused one costs time).
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launch() {
  await mkdir(OUT, { recursive: true });
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
}

/** A fresh address per test and run: the cooldown and lockout are per user. */
export function email(name) {
  return `${name}-${RUN}@example.com`;
}

let phoneSeq = 0;
export function phone() {
  return `+1555${String(Date.now() % 1e4).padStart(4, '0')}${String(phoneSeq++).padStart(3, '0')}`;
}

async function cognito(action, body) {
  const response = await fetch(AWS, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `AWSCognitoIdentityProviderService.${action}` },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${action}: ${json.__type ?? response.status}: ${json.message ?? ''}`);
  return json;
}

/** An existing user of the page's pool (the pools don't allow sign-up), told nothing. */
export async function createUser(page, username) {
  const { userPoolId } = await (await fetch(`${page}/config.json`)).json();
  const attribute = username.startsWith('+') ? 'phone_number' : 'email';
  // The pool wants a password even of passwordless users: a random one, never used.
  const password = `Aa1!${crypto.randomUUID()}`;
  await cognito('AdminCreateUser', {
    UserPoolId: userPoolId,
    Username: username,
    TemporaryPassword: password,
    MessageAction: 'SUPPRESS',
    UserAttributes: [{ Name: attribute, Value: username }],
  });
  // CONFIRMED, as a user who signed up is: Cognito sends a new user (FORCE_CHANGE_PASSWORD) to
  // a change-password page after sign-in.
  await cognito('AdminSetUserPassword', { UserPoolId: userPoolId, Username: username, Password: password, Permanent: true });
  return username;
}

async function emails(to) {
  const all = await (await fetch(`${AWS}/_ministack/ses/messages`)).json();
  return Object.values(all.messages ?? {})
    .flat()
    .filter((m) => (m.To ?? m.Destination?.ToAddresses ?? []).includes(to))
    .map((m) => `${m.Subject ?? m.Message?.Subject?.Data ?? ''}\n${m.BodyText ?? m.Body?.Text?.Data ?? ''}\n${m.BodyHtml ?? ''}`);
}

async function texts(to) {
  const all = await (await fetch(`${AWS}/_ministack/sns/sms-messages`)).json();
  return (all.sms_messages?.[to] ?? []).map((m) => m.Message);
}

/** How many messages `to` has had so far: a later `nextMessage` waits for one more. */
export async function messageCount(to) {
  return (to.startsWith('+') ? texts(to) : emails(to)).then((m) => m.length);
}

export async function nextMessage(to, seen, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const all = await (to.startsWith('+') ? texts(to) : emails(to));
    if (all.length > seen) return all[all.length - 1];
    if (Date.now() > end) throw new Error(`no new message to ${to} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function linkIn(text) {
  const link = text.match(/https?:\/\/[^\s"<>]+#[A-Za-z0-9_.-]+/)?.[0];
  assert.ok(link, `no link in: ${text}`);
  return link;
}

/** The code in a message (the link, whose token may hold digit runs, taken out first). */
export function codeIn(text) {
  const code = text.replace(/https?:\/\/\S+/g, ' ').match(/\b\d{6,16}\b/)?.[0];
  assert.ok(code, `no code in: ${text}`);
  return code;
}

/** One test's tools: fresh browser contexts at phone size, screenshots, and cleanup. */
export class TestContext {
  constructor(browser, name) {
    this.browser = browser;
    this.name = name;
    this.contexts = [];
    this.pages = [];
  }

  /**
   * A new page in a browser context of its own: another device, as far as the site knows.
   * `locale` sets the browser's language (navigator.languages, Accept-Language).
   */
  async device(viewport = PHONE, locale = 'en-US') {
    const context = await this.browser.newContext({ viewport, deviceScaleFactor: 2, locale });
    context.setDefaultTimeout(15000);
    this.contexts.push(context);
    const page = await context.newPage();
    this.pages.push(page);
    return page;
  }

  async shot(page, file) {
    await page.screenshot({ path: join(OUT, file), fullPage: true });
  }

  async close(failed) {
    if (failed) {
      for (const [i, page] of this.pages.entries()) {
        await page.screenshot({ path: join(OUT, `FAILED-${this.name.replace(/\W+/g, '-')}-${i}.png`), fullPage: true }).catch(() => {});
      }
    }
    await Promise.all(this.contexts.map((c) => c.close().catch(() => {})));
  }
}

/** The text of the page's notices (role=alert and role=status). */
export async function notices(page) {
  return (await page.locator('[role=alert], [role=status]').allInnerTexts()).join(' | ');
}

/** Asks for a link or code for `username` on the page already open at the pool's start view. */
export async function ask(page, username) {
  await page.locator('#username').fill(username);
  await page.locator('form button[type=submit]').click();
}
