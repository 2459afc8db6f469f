// The signed-in session, whichever way it began: Amplify's (links and codes) or the page's own
// managed login tokens.
import { fetchAuthSession, signOut } from 'aws-amplify/auth';
import type { PoolConfig } from './config';
import { forgetManaged, managedTokens, refreshManaged } from './oauth';

export interface Session {
  via: 'Amplify' | 'managed login';
  idToken: string;
  /** Gets new tokens with the refresh token; returns the new ID token. */
  refresh(): Promise<string>;
  signOut(): Promise<void>;
}

export async function currentSession(config: PoolConfig): Promise<Session | undefined> {
  const managed = managedTokens();
  if (managed) {
    return {
      via: 'managed login',
      idToken: managed.id_token,
      refresh: async () => (await refreshManaged(config)).id_token,
      signOut: async () => {
        forgetManaged();
        // Ends managed login's own session too, when the pool names a sign-out URL.
        if (config.signOutUrl) location.assign(config.signOutUrl);
      },
    };
  }
  const amplify = await fetchAuthSession().catch(() => undefined);
  const idToken = amplify?.tokens?.idToken?.toString();
  if (!idToken) return undefined;
  return {
    via: 'Amplify',
    idToken,
    refresh: async () => {
      const fresh = await fetchAuthSession({ forceRefresh: true });
      const token = fresh.tokens?.idToken?.toString();
      if (!token) throw new Error('the refresh gave no ID token');
      return token;
    },
    signOut: () => signOut(),
  };
}
