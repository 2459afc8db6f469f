#!/usr/bin/env node
// Serves the built sign-in page and /config.json, made from a directory of Secret files — the
// pool's output Secret mounted as a volume (one file per key) — read afresh on each request, as
// the kubelet updates a mounted Secret in place. No dependencies: plain node.
//
//   node serve.mjs --secret-dir DIR [--port 3000] [--host 127.0.0.1] [--root dist]
import { createServer } from 'node:http';
import { readFile, readdir, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    'secret-dir': { type: 'string', default: process.env.PWP_SECRET_DIR },
    port: { type: 'string', default: process.env.PORT ?? '3000' },
    host: { type: 'string', default: '127.0.0.1' },
    root: { type: 'string', default: fileURLToPath(new URL('dist', import.meta.url)) },
  },
});
if (!args['secret-dir']) {
  console.error('serve.mjs: --secret-dir DIR (the output Secret, one file per key) is required');
  process.exit(2);
}
const root = resolve(args.root);

// The page's settings and the Secret keys they come from: the documented key, then its
// envFrom alias. Nothing else in the directory reaches the browser.
const KEYS = {
  userPoolId: ['userPoolId', 'COGNITO_USER_POOL_ID'],
  clientId: ['clientId', 'COGNITO_CLIENT_ID'],
  region: ['region', 'COGNITO_REGION'],
  issuerUrl: ['issuerUrl', 'COGNITO_ISSUER_URL'],
  jwksUrl: ['jwksUrl', 'COGNITO_JWKS_URL'],
  strategy: ['strategy', 'PASSWORDLESS_STRATEGY'],
  signInUrl: ['signInUrl', 'COGNITO_SIGN_IN_URL'],
  tokenEndpoint: ['tokenEndpoint', 'COGNITO_TOKEN_ENDPOINT'],
  managedLoginDomain: ['managedLoginDomain', 'COGNITO_DOMAIN'],
  signOutUrl: ['signOutUrl', 'COGNITO_SIGN_OUT_URL'],
};

async function poolConfig() {
  const dir = args['secret-dir'];
  // A mounted Secret also holds `..data` and timestamped directories: only plain key names.
  const names = new Set((await readdir(dir)).filter((n) => !n.startsWith('.')));
  const config = {};
  for (const [setting, keys] of Object.entries(KEYS)) {
    const key = keys.find((k) => names.has(k));
    if (key) config[setting] = (await readFile(join(dir, key), 'utf8')).trim();
  }
  return config;
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json' };

function originOf(url) {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

// The page talks to its own server, Cognito (or the emulator: jwksUrl's origin) and the
// managed login token endpoint; nothing else.
function securityHeaders(config) {
  const connect = new Set(["'self'", originOf(config.jwksUrl), originOf(config.tokenEndpoint)].filter(Boolean));
  return {
    'Content-Security-Policy': `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${[...connect].join(' ')}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'`,
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
  };
}

async function fileFor(pathname) {
  const path = normalize(join(root, decodeURIComponent(pathname)));
  if (path !== root && !path.startsWith(root + sep)) return undefined;
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile()) return path;
  // Client-side routes (/auth/callback, a managed login callback) get the page itself.
  return extname(pathname) ? undefined : join(root, 'index.html');
}

const server = createServer(async (req, res) => {
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const { pathname } = new URL(req.url ?? '/', 'http://page');
    const config = await poolConfig();
    const headers = securityHeaders(config);
    if (pathname === '/config.json') {
      res.writeHead(200, { ...headers, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify(config));
      return;
    }
    const file = await fileFor(pathname);
    if (!file) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    const hashed = file.includes(`${sep}assets${sep}`);
    res.writeHead(200, {
      ...headers,
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Cache-Control': hashed ? 'public, max-age=31536000, immutable' : 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : await readFile(file));
  } catch (error) {
    console.error(`serve.mjs: ${req.method} ${req.url}: ${error.message}`);
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end('server error\n');
  }
});

server.listen(Number(args.port), args.host, () => {
  console.log(`serve.mjs: the sign-in page on http://localhost:${server.address().port}/ (Secret files from ${args['secret-dir']})`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
