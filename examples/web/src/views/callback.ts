// The page a magic link opens. It spends the link only when the person presses the button:
// mail scanners that fetch the link, or even run its JavaScript, never press it.
import { signOut } from 'aws-amplify/auth';
import type { App } from '../app';
import { failureOf, redeemLink } from '../protocol';
import { linkClaims } from '../tokens';
import { busy, h, say, show, when } from '../ui';
import { accountView } from './account';
import { explain, fallbackCodeForm, startView } from './start';

/** A username a person recognises (an email or phone); pools keyed by an opaque id give none. */
function recognisable(username: string): string | undefined {
  return username.includes('@') || /^\+\d+$/.test(username) ? username : undefined;
}

function dead(app: App, title: string, text: string): void {
  const again = h('button', { type: 'button', class: 'primary', onclick: () => startView(app) }, 'Ask for a new link');
  show(title, app.footer, h('div', { class: 'slot' }, h('div', { class: 'notice error', role: 'alert' }, text)), again);
}

export function linkCallbackView(app: App, token: string): void {
  const claims = token ? linkClaims(token) : undefined;
  if (!claims) return dead(app, 'This link is incomplete', 'The link has no sign-in token, or it was cut short. Open it from the email again, or ask for a new one.');
  if (claims.client !== app.config.clientId || claims.pool !== app.config.userPoolId) {
    return dead(app, 'This link is for another app', 'It was sent for a different sign-in page. Ask for a new link here.');
  }
  const expired = () => Date.now() >= claims.exp * 1000;
  if (expired()) return dead(app, 'This link has expired', `Links work for a few minutes only; this one expired at ${when(claims.exp)}. Ask for a new one.`);

  const who = recognisable(claims.sub);
  const slot = h('div', { class: 'slot' });
  const button = h('button', { type: 'button', class: 'primary', autofocus: true }, who ? `Sign in as ${who}` : 'Sign in');
  button.addEventListener('click', async () => {
    say(slot);
    try {
      const outcome = await busy(button, 'Signing in…', async () => {
        // A link may be opened where someone else is signed in: it signs its own user in.
        await signOut().catch(() => undefined);
        return redeemLink(claims.sub, token);
      });
      if (outcome.kind === 'signedIn') return void accountView(app);
      refused();
    } catch (error) {
      if (failureOf(error) === 'attemptOver') return refused();
      say(slot, 'error', explain(error, 'link'));
    }
  });
  // Cognito only says "not authorized": the expiry is in the link, anything else means spent.
  const refused = () =>
    expired()
      ? dead(app, 'This link has expired', `It expired at ${when(claims.exp)}. Ask for a new one.`)
      : dead(app, 'This link has already been used', 'Each link signs in once, and this one already has (or it is no longer valid). Ask for a new one.');

  const fallback = fallbackCodeForm(app);
  show(
    'Finish signing in',
    app.footer,
    h('p', { class: 'lead' }, who ? ['This link signs you in as ', h('strong', {}, who), '. '] : 'This link signs in the account it was emailed to. ', 'It works once, until ', h('strong', {}, when(claims.exp)), '.'),
    slot,
    button,
    fallback ?? h('p', { class: 'small' }, 'Prefer the code from the email? Type it on the page where you asked for the link.'),
  );
}
