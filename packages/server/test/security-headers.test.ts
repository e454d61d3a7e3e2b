import helmet from '@fastify/helmet';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { installSecurityHeaders } from '../src/http/security-headers.js';

// The security headers built once at start are exactly those @fastify/helmet sets with the same options.

async function headersOf(setup: (app: ReturnType<typeof Fastify>) => Promise<void> | void) {
  const app = Fastify();
  await setup(app);
  app.get('/x', async () => ({ ok: true }));
  const out = [];
  for (const url of ['/x', '/missing']) {
    const r = await app.inject({ url });
    const { date: _d, 'content-length': _l, connection: _c, ...h } = r.headers;
    out.push([r.statusCode, h]);
  }
  await app.close();
  return out;
}

describe('security headers', () => {
  it('match @fastify/helmet with the server options, on routes and on 404s', async () => {
    const ours = await headersOf((app) => installSecurityHeaders(app));
    const theirs = await headersOf(async (app) => {
      await app.register(helmet, {
        global: true,
        contentSecurityPolicy: { useDefaults: true, directives: { upgradeInsecureRequests: null } },
      });
    });
    expect(ours).toEqual(theirs);
    const h = ours[0][1] as Record<string, string>;
    expect(Object.keys(h).length).toBeGreaterThan(10);
    expect(h['content-security-policy']).toContain("default-src 'self'");
    expect(h['content-security-policy']).not.toContain('upgrade-insecure-requests');
    expect(h['strict-transport-security']).toContain('max-age=');
  });
});
