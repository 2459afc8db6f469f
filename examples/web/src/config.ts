// The pool's settings, exactly as the operator's output Secret has them: serve.mjs turns the
// mounted Secret into /config.json. Nothing else configures the page.

export type Strategy = 'magicLink' | 'emailOtp' | 'smsOtp' | 'native';

export interface PoolConfig {
  userPoolId: string;
  clientId: string;
  region: string;
  issuerUrl?: string;
  jwksUrl?: string;
  /** Written by operators that know it; without it the page learns the flow from the pool. */
  strategy?: Strategy;
  /** Managed login: present only when the pool's spec has a managedLogin section. */
  signInUrl?: string;
  tokenEndpoint?: string;
  managedLoginDomain?: string;
  signOutUrl?: string;
}

export async function loadConfig(): Promise<PoolConfig> {
  const response = await fetch('/config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`/config.json answered ${response.status}`);
  const config = (await response.json()) as PoolConfig;
  for (const key of ['userPoolId', 'clientId', 'region'] as const) {
    if (!config[key]) throw new Error(`the pool's Secret has no ${key}`);
  }
  // Operators that don't write the strategy still tell a native pool apart: only native pools
  // may have managed login. The other strategies announce themselves in the first challenge.
  if (!config.strategy && config.signInUrl) config.strategy = 'native';
  return config;
}

/**
 * Where Amplify should send Cognito calls. The operator points jwksUrl at an emulator when it
 * runs against one (AWS_ENDPOINT_URL), as `<endpoint>/<poolId>/.well-known/jwks.json`; on AWS
 * it names Cognito's own host, which Amplify finds by itself (undefined).
 */
export function userPoolEndpoint(config: PoolConfig): string | undefined {
  if (!config.jwksUrl) return undefined;
  const url = new URL(config.jwksUrl);
  if (/^cognito-idp\.[a-z0-9-]+\.amazonaws\.com$/.test(url.hostname)) return undefined;
  const suffix = `/${config.userPoolId}/.well-known/jwks.json`;
  if (!url.pathname.endsWith(suffix)) return undefined;
  return url.origin + url.pathname.slice(0, -suffix.length);
}

/** The managed login callback: the redirect_uri the Secret's signInUrl names, verbatim. */
export function managedRedirectUri(config: PoolConfig): string | undefined {
  if (!config.signInUrl || !config.tokenEndpoint) return undefined;
  return new URL(config.signInUrl).searchParams.get('redirect_uri') ?? undefined;
}
