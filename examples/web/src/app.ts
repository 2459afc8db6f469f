// What every view shares: the pool's configuration and where links come back to.
import type { PoolConfig } from './config';

export const LINK_CALLBACK_PATH = '/auth/callback';

export interface App {
  config: PoolConfig;
  /** The card footer: which pool this page signs in to. */
  footer: string;
}

/** The redirect a link request names: this page's own callback (the pool must allow it). */
export function linkCallbackUrl(): string {
  return location.origin + LINK_CALLBACK_PATH;
}

/** A link request or code in flight in this tab, so a reload (or the callback page opened in
 * this same tab) can still take the typed code. Amplify keeps the Cognito session itself, in
 * this tab's sessionStorage, for 3 minutes. */
export interface Pending {
  kind: 'link' | 'code';
  username: string;
  destination: string;
  at: number;
}

const PENDING = 'pwp.pending';
const AMPLIFY_SESSION_MS = 3 * 60 * 1000;

export function rememberPending(p: Omit<Pending, 'at'>): void {
  sessionStorage.setItem(PENDING, JSON.stringify({ ...p, at: Date.now() }));
}

export function pending(): Pending | undefined {
  const p = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as Pending | null;
  return p && Date.now() - p.at < AMPLIFY_SESSION_MS ? p : undefined;
}

export function forgetPending(): void {
  sessionStorage.removeItem(PENDING);
}
