// Asking for a link or a code, and typing the code.
import { forgetPending, linkCallbackUrl, pending, rememberPending, type App } from '../app';
import { managedRedirectUri } from '../config';
import { beginManagedLogin } from '../oauth';
import { answerCode, failureOf, requestLink, start, type Outcome } from '../protocol';
import { busy, countdown, duration, h, say, show } from '../ui';
import { accountView } from './account';

type Channel = 'email' | 'phone' | 'either';

function channelOf(app: App): Channel {
  switch (app.config.strategy) {
    case 'smsOtp':
      return 'phone';
    case 'magicLink':
    case 'emailOtp':
      return 'email';
    default:
      return 'either';
  }
}

const BUTTON: Record<string, string> = {
  magicLink: 'Email me a sign-in link',
  emailOtp: 'Email me a code',
  smsOtp: 'Text me a code',
};

const LEAD: Record<string, string> = {
  magicLink: 'No password: we’ll email you a link that signs you in, on this device or any other.',
  emailOtp: 'No password: we’ll email you a one-time code.',
  smsOtp: 'No password: we’ll text you a one-time code.',
};

/** A failure's message, in words a person can act on. */
export function explain(error: unknown, kind: 'link' | 'code' = 'code'): string {
  switch (failureOf(error)) {
    case 'attemptOver':
      return kind === 'link'
        ? 'That code is not right, and this request has ended. Use the link in the email, or ask for a new one.'
        : 'Too many wrong codes for this request. Ask for a new code.';
    case 'sessionExpired':
      return 'This request has timed out. Ask for a new one.';
    case 'redirectNotAllowed':
      return `This page's address (${linkCallbackUrl()}) is not one the pool may send links to (redirect not allowed). Ask the pool's owner to add it to magicLink.redirectUrls.`;
    case 'noSuchUser':
      return 'There is no account with that address.';
    case 'notCustomAuth':
      return 'This pool does not sign in with links or codes from this page (its app client has no custom authentication).';
    case 'alreadySignedIn':
      return 'You are already signed in.';
    case 'unreachable':
      return 'The sign-in service cannot be reached. Check your connection and try again.';
    default:
      return `Sign-in failed: ${(error as Error)?.message ?? String(error)}`;
  }
}

export function startView(app: App, username = '', message?: Node): void {
  const { config } = app;
  const resumed = pending();
  if (resumed && !username) return resumed.kind === 'link' ? linkSentView(app, resumed.username, resumed.destination) : codeView(app, resumed.username, resumed.destination);

  const managed = managedRedirectUri(config) !== undefined;
  const channel = channelOf(app);
  const slot = h('div', { class: 'slot' }, message);
  const managedButton =
    managed &&
    h('button', { type: 'button', class: config.strategy === 'native' ? 'primary' : 'secondary', onclick: () => beginManagedLogin(config) }, 'Continue with managed login');

  if (config.strategy === 'native') {
    show(
      'Sign in',
      app.footer,
      h('p', { class: 'lead' }, managed ? 'Sign in on Cognito’s managed login pages, with a code sent to you or a passkey, as this pool allows.' : 'This pool signs in through Cognito’s own passwordless flows; it names no managed login pages for this page to open.'),
      slot,
      managedButton,
    );
    return;
  }

  const input = h('input', {
    id: 'username',
    name: 'username',
    type: channel === 'phone' ? 'tel' : channel === 'email' ? 'email' : 'text',
    autocomplete: channel === 'phone' ? 'tel' : 'email',
    placeholder: channel === 'phone' ? '+15551234567' : channel === 'email' ? 'you@example.com' : 'you@example.com or +15551234567',
    required: true,
    autofocus: true,
    value: username,
  });
  const submit = h('button', { type: 'submit', class: 'primary' }, BUTTON[config.strategy ?? ''] ?? 'Continue');
  let stop = () => {};
  const form = h(
    'form',
    {
      onsubmit: async (event: Event) => {
        event.preventDefault();
        stop();
        const name = input.value.trim();
        say(slot);
        try {
          const outcome = await busy(submit, 'Sending…', async () => {
            const first = await start(name);
            return first.kind === 'askLink' ? requestLink(linkCallbackUrl()) : first;
          });
          stop = afterSend(app, name, outcome, slot, submit);
        } catch (error) {
          say(slot, 'error', explain(error));
        }
      },
    },
    h('label', { for: 'username' }, channel === 'phone' ? 'Phone number' : channel === 'email' ? 'Email address' : 'Email address or phone number'),
    input,
    submit,
  );
  show(
    'Sign in',
    app.footer,
    h('p', { class: 'lead' }, LEAD[config.strategy ?? ''] ?? 'No password: we’ll send you a sign-in link or a one-time code.'),
    slot,
    form,
    managedButton && h('div', { class: 'divider' }, 'or'),
    managedButton,
  );
}

/** After a send was asked for: the next view, or why nothing was sent. Returns a canceller. */
function afterSend(app: App, username: string, outcome: Outcome, slot: HTMLElement, submit: HTMLButtonElement): () => void {
  switch (outcome.kind) {
    case 'linkSent':
      linkSentView(app, username, outcome.destination);
      break;
    case 'codeSent':
      codeView(app, username, outcome.destination);
      break;
    case 'signedIn':
      void accountView(app);
      break;
    case 'cooldown': {
      const left = h('strong', { class: 'seconds' });
      say(slot, 'info', 'We sent you a link or code moments ago — check your inbox. You can ask for another in ', left, '.');
      submit.disabled = true;
      return countdown(left, outcome.seconds, () => {
        submit.disabled = false;
        say(slot, 'info', 'You can ask for a new one now.');
      });
    }
    case 'lockedOut': {
      const left = h('strong', { class: 'seconds' });
      say(slot, 'error', 'Too many wrong attempts: sign-in is locked for this account. Try again in ', left, '.');
      return countdown(left, outcome.seconds, () => say(slot, 'info', 'You can try again now.'));
    }
    default:
      say(slot, 'error', `The pool answered unexpectedly (${outcome.kind}).`);
  }
  return () => {};
}

/**
 * A code field answering the pending round. A wrong code asks again (up to the pool's attempt
 * limit); when Cognito ends the attempt, or the account locks, it says so and stops.
 */
function codeForm(app: App, kind: 'link' | 'code', username: string): HTMLFormElement {
  const slot = h('div', { class: 'slot' });
  const input = h('input', { id: 'code', name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]*', maxlength: 16, required: true, autofocus: kind === 'code' });
  const submit = h('button', { type: 'submit', class: kind === 'code' ? 'primary' : 'secondary' }, kind === 'code' ? 'Sign in' : 'Sign in with the code');
  let wrong = 0;
  const over = (text: string) => {
    forgetPending();
    input.disabled = submit.disabled = true;
    // The code view has its own "Send a new code" below the form; the link's code may sit alone.
    const again = kind === 'link' && h('a', { href: '#', onclick: (e: Event) => (e.preventDefault(), startView(app, username)) }, 'Ask for a new link');
    say(slot, 'error', text, again && ' ', again);
  };
  const form = h(
    'form',
    {
      onsubmit: async (event: Event) => {
        event.preventDefault();
        try {
          const outcome = await busy(submit, 'Checking…', () => answerCode(input.value.trim()));
          if (outcome.kind === 'signedIn') {
            forgetPending();
            return void accountView(app);
          }
          if (outcome.kind === 'lockedOut') return over(`Too many wrong codes: sign-in is locked for this account for ${duration(outcome.seconds)}.`);
          wrong += 1;
          input.value = '';
          input.focus();
          say(slot, 'error', `That code is not right (${wrong} wrong). Check it and try again.`);
        } catch (error) {
          over(explain(error, kind));
        }
      },
    },
    h('label', { for: 'code' }, kind === 'code' ? 'Code' : 'Or type the code from the email'),
    input,
    slot,
    submit,
  );
  return form;
}

export function linkSentView(app: App, username: string, destination: string): void {
  rememberPending({ kind: 'link', username, destination });
  show(
    'Check your email',
    app.footer,
    h('p', { class: 'lead' }, 'We sent a sign-in link to ', h('strong', {}, destination), '.'),
    h('p', {}, 'Open it on this device or any other: it signs you in once, when you confirm on the page it opens.'),
    codeForm(app, 'link', username),
    h('p', { class: 'small' }, h('a', { href: '#', onclick: (e: Event) => (e.preventDefault(), forgetPending(), startView(app)) }, 'Use a different address')),
  );
}

export function codeView(app: App, username: string, destination: string): void {
  rememberPending({ kind: 'code', username, destination });
  show(
    'Enter your code',
    app.footer,
    h('p', { class: 'lead' }, destination.startsWith('+') ? 'We texted a code to ' : 'We emailed a code to ', h('strong', {}, destination), '.'),
    codeForm(app, 'code', username),
    h('p', { class: 'small' }, h('a', { href: '#', onclick: (e: Event) => (e.preventDefault(), forgetPending(), startView(app, username)) }, 'Send a new code')),
  );
}

/** The typed fallback code, offered on the callback page when this tab asked for the link. */
export function fallbackCodeForm(app: App): HTMLFormElement | undefined {
  const p = pending();
  return p?.kind === 'link' ? codeForm(app, 'link', p.username) : undefined;
}
