// Signed in: who, the ID token's claims (its signature checked against the pool's JWKS),
// refreshing the tokens and signing out. Also the managed login callback that leads here.
import type { App } from '../app';
import { CallbackRefused, completeManagedLogin } from '../oauth';
import { currentSession, type Session } from '../session';
import { accountName, jwtClaims, verifyIdToken, type Verdict } from '../tokens';
import { busy, h, say, show, when } from '../ui';
import { startView } from './start';

const SHOWN = ['email', 'email_verified', 'phone_number', 'phone_number_verified', 'sub', 'cognito:username', 'iss', 'aud', 'token_use', 'auth_time', 'iat', 'exp'];
const TIMES = new Set(['auth_time', 'iat', 'exp']);

const VERDICT: Record<Verdict, [string, string]> = {
  verified: ['ok', 'Signature verified with the pool’s keys (jwksUrl); issuer and audience match the Secret.'],
  invalid: ['error', 'This ID token does NOT verify against the pool’s keys, issuer or client.'],
  unchecked: ['info', 'The signature could not be checked: the pool’s keys (jwksUrl) did not load.'],
};

function claimsTable(claims: Record<string, unknown>): HTMLTableElement {
  const rows = SHOWN.filter((k) => k in claims).map((k) => {
    const v = claims[k];
    return h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, TIMES.has(k) ? `${when(v)} (${v})` : String(v)));
  });
  return h('table', { class: 'claims' }, h('tbody', {}, ...rows));
}

export async function accountView(app: App, message?: Node): Promise<void> {
  const session = await currentSession(app.config);
  if (!session) return startView(app, '', message);
  await renderAccount(app, session, session.idToken, message);
}

async function renderAccount(app: App, session: Session, idToken: string, message?: Node): Promise<void> {
  const claims = jwtClaims(idToken);
  const [tone, text] = VERDICT[await verifyIdToken(idToken, app.config)];
  const slot = h('div', { class: 'slot' }, message);
  const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh tokens');
  const out = h('button', { type: 'button', class: 'primary' }, 'Sign out');
  refresh.addEventListener('click', async () => {
    try {
      const fresh = await busy(refresh, 'Refreshing…', () => session.refresh());
      const issued = when(jwtClaims(fresh).iat);
      await renderAccount(app, session, fresh, h('div', { class: 'notice ok', role: 'status' }, `Tokens refreshed: a new ID token issued at ${issued}.`));
    } catch (error) {
      say(slot, 'error', `Refreshing failed: ${(error as Error).message}`);
    }
  });
  out.addEventListener('click', async () => {
    await busy(out, 'Signing out…', () => session.signOut());
    startView(app, '', h('div', { class: 'notice ok', role: 'status' }, 'You are signed out.'));
  });
  show(
    'You’re signed in',
    app.footer,
    h('p', { class: 'lead' }, 'Signed in as ', h('strong', {}, accountName(claims)), ` (via ${session.via}).`),
    slot,
    h('div', { class: `notice ${tone}`, role: 'status' }, text),
    h('h2', {}, 'ID token claims'),
    claimsTable(claims),
    h('details', {}, h('summary', {}, 'All claims'), h('pre', {}, JSON.stringify(claims, null, 2))),
    h('div', { class: 'actions' }, refresh, out),
  );
}

/** Managed login sent the browser back with `?code=…&state=…` (or `?error=…`). */
export async function managedCallbackView(app: App): Promise<void> {
  const params = new URLSearchParams(location.search);
  // The code is single-use and useless without this tab's verifier, but it leaves the bar now.
  history.replaceState(null, '', location.pathname);
  try {
    await completeManagedLogin(app.config, params);
    history.replaceState(null, '', '/');
    await accountView(app);
  } catch (error) {
    const text = error instanceof CallbackRefused ? `Sign-in refused: ${error.message}.` : `Sign-in failed: ${(error as Error).message}`;
    show(
      'Sign-in refused',
      app.footer,
      h('div', { class: 'slot' }, h('div', { class: 'notice error', role: 'alert' }, text)),
      h('button', { type: 'button', class: 'primary', onclick: () => (history.replaceState(null, '', '/'), startView(app)) }, 'Back to sign-in'),
    );
  }
}
