// The operator's sign-in protocol (CUSTOM_AUTH), as a client sees it: the trigger's public
// challenge parameter `step` says what happened (README: "Sign-in protocol").
import { confirmSignIn, signIn, type SignInOutput } from 'aws-amplify/auth';

export type Outcome =
  | { kind: 'signedIn' }
  /** Magic-link pool, first round: say whether we hold a link or want one. */
  | { kind: 'askLink' }
  | { kind: 'linkSent'; destination: string }
  | { kind: 'codeSent'; destination: string }
  /** A link answer was refused and the pool allows another try. */
  | { kind: 'linkRefused' }
  | { kind: 'cooldown'; seconds: number }
  | { kind: 'lockedOut'; seconds: number };

function outcomeOf(output: SignInOutput): Outcome {
  if (output.isSignedIn) return { kind: 'signedIn' };
  const next = output.nextStep;
  if (next.signInStep !== 'CONFIRM_SIGN_IN_WITH_CUSTOM_CHALLENGE') {
    throw new Error(`unexpected sign-in step ${next.signInStep}`);
  }
  const info = next.additionalInfo ?? {};
  const seconds = Number(info.retryAfterSeconds ?? 0);
  switch (info.step) {
    case 'PROVIDE_AUTH_PARAMETERS':
      return { kind: 'askLink' };
    case 'PROVIDE_LINK':
      return { kind: 'linkRefused' };
    case 'LINK_SENT':
      return { kind: 'linkSent', destination: info.destination ?? '' };
    case 'CODE_SENT':
      return { kind: 'codeSent', destination: info.destination ?? '' };
    case 'COOLDOWN':
      return { kind: 'cooldown', seconds };
    case 'LOCKED_OUT':
      return { kind: 'lockedOut', seconds };
    default:
      throw new Error(`the pool answered an unknown step ${String(info.step)}`);
  }
}

/**
 * The browser's languages, by preference (`navigator.languages`, at most eight): the trigger
 * writes in the first one the pool has messages in, unless the user's `locale` attribute says
 * otherwise, else in the pool's default language.
 */
export function browserLocale(): string {
  const languages = navigator.languages?.length ? navigator.languages : [navigator.language];
  return languages.slice(0, 8).join(',');
}

/** Starts a sign-in: a code pool sends the code now; a link pool asks what we hold. */
export async function start(username: string): Promise<Outcome> {
  return outcomeOf(
    await signIn({
      username,
      options: { authFlowType: 'CUSTOM_WITHOUT_SRP', clientMetadata: { locale: browserLocale() } },
    }),
  );
}

/** Asks for a link back to `redirectUrl` (it must be in the pool's allow-list). */
export async function requestLink(redirectUrl: string): Promise<Outcome> {
  return outcomeOf(
    await confirmSignIn({
      challengeResponse: 'request',
      options: { clientMetadata: { action: 'request', redirectUrl, locale: browserLocale() } },
    }),
  );
}

/** Answers the pending round with a typed code (an OTP, or a link's fallback code). */
export async function answerCode(code: string): Promise<Outcome> {
  return outcomeOf(await confirmSignIn({ challengeResponse: code }));
}

/** Spends a link: a fresh sign-in for the link's user, answered with its token. */
export async function redeemLink(username: string, token: string): Promise<Outcome> {
  const first = await start(username);
  if (first.kind !== 'askLink') return first;
  return outcomeOf(
    await confirmSignIn({ challengeResponse: token, options: { clientMetadata: { action: 'redeem' } } }),
  );
}

export type Failure =
  /** Cognito ended the attempt: too many wrong answers, or a refused link. */
  | 'attemptOver'
  | 'sessionExpired'
  | 'redirectNotAllowed'
  | 'noSuchUser'
  /** The app client has no CUSTOM_AUTH: a native pool. */
  | 'notCustomAuth'
  | 'alreadySignedIn'
  | 'unreachable'
  | 'other';

/** Which failure an Amplify or Cognito error is. */
export function failureOf(error: unknown): Failure {
  const e = error as { name?: string; message?: string };
  const name = e?.name ?? '';
  const message = e?.message ?? '';
  // A trigger's error reaches the client inside Cognito's message (the trigger's own text).
  if (message.includes('redirect URL not in the pool')) return 'redirectNotAllowed';
  if (name === 'UserAlreadyAuthenticatedException') return 'alreadySignedIn';
  if (name === 'UserNotFoundException') return 'noSuchUser';
  if (message.includes('CUSTOM_AUTH') || message.includes('Auth flow not enabled')) return 'notCustomAuth';
  if (name === 'NotAuthorizedException') {
    return /session/i.test(message) ? 'sessionExpired' : 'attemptOver';
  }
  if (name === 'NetworkError' || error instanceof TypeError) return 'unreachable';
  return 'other';
}
