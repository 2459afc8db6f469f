// Managed login (native pools): the authorization code flow with PKCE, done by the page itself
// against the Secret's signInUrl and tokenEndpoint. The verifier and state never leave this tab
// (sessionStorage) until the code exchange.
import { managedRedirectUri, type PoolConfig } from './config';

const PENDING = 'pwp.oauth.pending';
const TOKENS = 'pwp.oauth.tokens';

export interface OAuthTokens {
  id_token: string;
  access_token: string;
  refresh_token?: string;
}

function randomUrlSafe(bytes: number): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...raw)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function challengeOf(verifier: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  return btoa(String.fromCharCode(...digest)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Sends the browser to the managed login pages. */
export async function beginManagedLogin(config: PoolConfig): Promise<void> {
  const state = randomUrlSafe(24);
  const verifier = randomUrlSafe(48);
  sessionStorage.setItem(PENDING, JSON.stringify({ state, verifier }));
  const url = new URL(config.signInUrl!);
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', await challengeOf(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  location.assign(url.toString());
}

export class CallbackRefused extends Error {}

async function tokenRequest(config: PoolConfig, form: Record<string, string>): Promise<OAuthTokens> {
  const response = await fetch(config.tokenEndpoint!, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: config.clientId, ...form }),
  });
  const body = await response.json();
  if (!response.ok) throw new CallbackRefused(`the token endpoint refused: ${body.error ?? response.status}`);
  return body as OAuthTokens;
}

/**
 * Completes a managed login callback (`?code=…&state=…`): the state must be the one this tab
 * sent, else the response is refused (a forged or replayed callback) and no code is exchanged.
 */
export async function completeManagedLogin(config: PoolConfig, params: URLSearchParams): Promise<OAuthTokens> {
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as { state: string; verifier: string } | null;
  sessionStorage.removeItem(PENDING);
  if (params.get('error')) throw new CallbackRefused(`managed login answered ${params.get('error')}`);
  const code = params.get('code');
  if (!pending || !code || params.get('state') !== pending.state) {
    throw new CallbackRefused('this sign-in response was not started from this page (its state does not match)');
  }
  const tokens = await tokenRequest(config, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: managedRedirectUri(config)!,
    code_verifier: pending.verifier,
  });
  sessionStorage.setItem(TOKENS, JSON.stringify(tokens));
  return tokens;
}

export function managedTokens(): OAuthTokens | undefined {
  return JSON.parse(sessionStorage.getItem(TOKENS) ?? 'null') ?? undefined;
}

export async function refreshManaged(config: PoolConfig): Promise<OAuthTokens> {
  const current = managedTokens();
  if (!current?.refresh_token) throw new Error('no refresh token');
  const fresh = await tokenRequest(config, { grant_type: 'refresh_token', refresh_token: current.refresh_token });
  const tokens = { ...current, ...fresh };
  sessionStorage.setItem(TOKENS, JSON.stringify(tokens));
  return tokens;
}

export function forgetManaged(): void {
  sessionStorage.removeItem(TOKENS);
}
