import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';

// Security headers (helmet's defaults, without upgrade-insecure-requests: a server reached over plain http on a LAN
// address must still load its assets). @fastify/helmet builds a new helmet middleware, CSP string included, on
// every request; the options never change here, so the middleware is built once and applied to every response.

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;
type Helmet = (options: Record<string, unknown>) => Middleware;

/** The helmet library @fastify/helmet depends on (resolved from there, so both always agree on the version). */
function loadHelmet(): Helmet {
  const fromPlugin = createRequire(createRequire(import.meta.url).resolve('@fastify/helmet'));
  return fromPlugin('helmet') as Helmet;
}

/** Sets the security headers on every response, from one helmet middleware built at start. */
export function installSecurityHeaders(app: FastifyInstance): void {
  const apply = loadHelmet()({
    contentSecurityPolicy: { useDefaults: true, directives: { upgradeInsecureRequests: null } },
  });
  const done = (err?: unknown) => {
    if (err) throw err;
  };
  app.addHook('onRequest', (req, reply, next) => {
    apply(req.raw, reply.raw, done);
    next();
  });
}
