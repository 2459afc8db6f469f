// The page a magic link opens. It names the account the link signs in to and asks first:
// nothing reaches Cognito until Continue. So a link someone asked for their own account and
// forwarded never signs anyone in unseen (login CSRF), and mail scanners that fetch the link,
// or even run its JavaScript, never press Continue. It asks even when the link's user is the
// one signed in here: one rule, with no case to get wrong.
import { signOut } from 'aws-amplify/auth';
import type { App } from '../app';
import { failureOf, redeemLink } from '../protocol';
import { currentSession } from '../session';
import { accountName, jwtClaims, linkClaims } from '../tokens';
import { busy, h, notice, say, show, when } from '../ui';
import { accountView } from './account';
import { explain, fallbackCodeForm, startView } from './start';

/** A username a person recognises (an email or phone); pools keyed by an opaque id give none. */
function recognisable(username: string): string | undefined {
  return username.includes('@') || /^\+\d+$/.test(username) ? username : undefined;
}

/** Whether the signed-in user is the link's. The link names the Cognito username: the address
 * itself, or an opaque id (AWS, pools keyed by email). Exact: a near miss warns, never passes. */
function isLinkUser(claims: Record<string, unknown>, username: string): boolean {
  return [claims['cognito:username'], claims.email, claims.phone_number].includes(username);
}

function dead(app: App, title: string, text: string): void {
  const again = h('button', { type: 'button', class: 'primary', onclick: () => startView(app) }, 'Ask for a new link');
  show(title, app.footer, h('div', { class: 'slot' }, h('div', { class: 'notice error', role: 'alert' }, text)), again);
}

export async function linkCallbackView(app: App, token: string): Promise<void> {
  const claims = token ? linkClaims(token) : undefined;
  if (!claims) return dead(app, 'This link is incomplete', 'The link has no sign-in token, or it was cut short. Open it from the email again, or ask for a new one.');
  if (claims.client !== app.config.clientId || claims.pool !== app.config.userPoolId) {
    return dead(app, 'This link is for another app', 'It was sent for a different sign-in page. Ask for a new link here.');
  }
  const expired = () => Date.now() >= claims.exp * 1000;
  if (expired()) return dead(app, 'This link has expired', `Links work for a few minutes only; this one expired at ${when(claims.exp)}. Ask for a new one.`);

  // Amplify's stored tokens, read here in the browser: nothing is sent to Cognito for this.
  const session = await currentSession(app.config);
  const current = session && jwtClaims(session.idToken);
  const signedInAs = current && accountName(current);
  const same = current !== undefined && isLinkUser(current, claims.sub);
  const replacing = current !== undefined && !same;
  const who = recognisable(claims.sub) ?? (same ? signedInAs : undefined);
  // Fresh nodes for each place the link's account is named.
  const linkAccount = () => (who ? [h('strong', {}, who)] : ['the account with ID ', h('strong', {}, claims.sub)]);

  const slot = h('div', { class: 'slot' });
  // Replacing a session, the safe button has the focus: Enter alone must not switch accounts.
  const cancel = h('button', { type: 'button', class: 'secondary', autofocus: replacing }, 'Cancel');
  const go = h('button', { type: 'button', class: 'primary', autofocus: !replacing }, 'Continue');
  // Off the callback address, so a reload doesn't come back to a link already dealt with.
  const leave = (message?: Node) => {
    history.replaceState(null, '', '/');
    void accountView(app, message);
  };
  cancel.addEventListener('click', () => leave(notice('info', 'Cancelled: the link was not used, and nothing here changed.')));
  go.addEventListener('click', async () => {
    say(slot);
    cancel.disabled = true;
    try {
      const outcome = await busy(go, 'Signing in…', async () => {
        // Confirmed: only now does a session here end (Amplify signs in one user at a time).
        await signOut().catch(() => undefined);
        return redeemLink(claims.sub, token);
      });
      if (outcome.kind === 'signedIn') return leave();
      refused();
    } catch (error) {
      if (failureOf(error) === 'attemptOver') return refused();
      say(slot, 'error', explain(error, 'link'));
    } finally {
      cancel.disabled = false;
    }
  });
  // Cognito only says "not authorized": the expiry is in the link, anything else means spent.
  const refused = () =>
    expired()
      ? dead(app, 'This link has expired', `It expired at ${when(claims.exp)}. Ask for a new one.`)
      : dead(app, 'This link has already been used', 'Each link signs in once, and this one already has (or it is no longer valid). Ask for a new one.');

  const fallback = fallbackCodeForm(app);
  show(
    who ? `Sign in as ${who}?` : 'Sign in with this link?',
    app.footer,
    h('p', { class: 'lead' }, 'This link signs you in as ', linkAccount(), '. It works once, until ', h('strong', {}, when(claims.exp)), '.'),
    replacing && notice('warn', 'You are signed in as ', h('strong', {}, signedInAs), '. This link signs you in as ', linkAccount(), ' and will replace that session.'),
    same && notice('info', 'You are already signed in as ', h('strong', {}, signedInAs), '. Continue starts a new session for the same account.'),
    !same && h('p', {}, 'Continue only if you asked for this link yourself: a link someone else sends you signs you in to their account.'),
    slot,
    h('div', { class: 'actions' }, cancel, go),
    fallback ?? h('p', { class: 'small' }, 'Prefer the code from the email? Type it on the page where you asked for the link.'),
  );
}
