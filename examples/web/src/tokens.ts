// Reading tokens: a link token's claims (to say whose link it is and whether it has expired,
// before anything is spent), and an ID token's claims with its signature checked against the
// pool's JWKS (the Secret's jwksUrl) and its issuer and audience against the Secret.
import type { PoolConfig } from './config';

function base64UrlBytes(part: string): Uint8Array<ArrayBuffer> {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function base64UrlJson(part: string): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(base64UrlBytes(part)));
}

export interface LinkClaims {
  sub: string;
  pool: string;
  client: string;
  exp: number;
}

/** The link's claims, unverified (the trigger checks its MAC); undefined if it isn't a link. */
export function linkClaims(token: string): LinkClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 2) return undefined;
  try {
    const c = base64UrlJson(parts[0]);
    if (typeof c.sub !== 'string' || typeof c.exp !== 'number') return undefined;
    return { sub: c.sub, pool: String(c.pool ?? ''), client: String(c.client ?? ''), exp: c.exp };
  } catch {
    return undefined;
  }
}

export function jwtClaims(jwt: string): Record<string, unknown> {
  return base64UrlJson(jwt.split('.')[1] ?? '');
}

/** How an ID token's user is named to a person: their address, else their username. */
export function accountName(claims: Record<string, unknown>): string {
  return String(claims.email ?? claims.phone_number ?? claims['cognito:username'] ?? claims.sub);
}

export type Verdict = 'verified' | 'invalid' | 'unchecked';

export async function verifyIdToken(jwt: string, config: PoolConfig): Promise<Verdict> {
  if (!config.jwksUrl) return 'unchecked';
  const [head, body, signature] = jwt.split('.');
  const header = base64UrlJson(head);
  let keys: (JsonWebKey & { kid?: string })[];
  try {
    keys = (await (await fetch(config.jwksUrl)).json()).keys;
  } catch {
    return 'unchecked';
  }
  const jwk = keys.find((k) => k.kid === header.kid);
  if (!jwk || header.alg !== 'RS256') return 'invalid';
  const key = await crypto.subtle.importKey('jwk', jwk, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']);
  const signed = new TextEncoder().encode(`${head}.${body}`);
  const ok = await crypto.subtle.verify('RSASSA-PKCS1-v1_5', key, base64UrlBytes(signature), signed);
  const claims = base64UrlJson(body);
  const issuer = !config.issuerUrl || claims.iss === config.issuerUrl;
  return ok && issuer && claims.aud === config.clientId ? 'verified' : 'invalid';
}
