import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { buildServer, type CodexServer, openTokens } from '../src/index.js';
import { RedisRevocationFeed } from '../src/store/redis-revocations.js';
import { echoAgent, redisServerPair } from './helpers.js';

// Two servers on one Redis keep verified tokens cached; a revoke on either (or by the CLI) is announced on Redis
// and the other server refuses the token on its very next request.

const until = async (what: () => boolean) => {
  for (let i = 0; i < 2000 && !what(); i++) await new Promise((r) => setTimeout(r, 5));
  return what();
};

describe.skipIf(!process.env.REDIS_URL)('token revocation across servers', () => {
  it('a token revoked on one server is refused by the other on the next request', async () => {
    const { a, b, prefix } = await redisServerPair('revoke');
    const me = (app: CodexServer, token: string) =>
      app.inject({ url: '/api/me', headers: { authorization: `Bearer ${token}` } });
    try {
      expect(await until(() => !!a.codexos.store.revocations?.live && !!b.codexos.store.revocations?.live)).toBe(true);
      const root = (await a.codexos.tokens.create('root', 'admin')).token;
      const bob = (
        await a.inject({
          method: 'POST',
          url: '/api/tokens',
          headers: { authorization: `Bearer ${root}` },
          payload: { user: 'bob' },
        })
      ).json() as { id: string; token: string };
      const carl = (await a.codexos.tokens.create('carl', 'member')).token;
      // Both tokens verified (and cached) on b.
      expect([(await me(b, bob.token)).statusCode, (await me(b, carl)).statusCode]).toEqual([200, 200]);
      expect((await me(b, bob.token)).statusCode).toBe(200);

      const revoke = await a.inject({
        method: 'DELETE',
        url: `/api/tokens/${bob.id}`,
        headers: { authorization: `Bearer ${root}` },
      });
      expect(revoke.statusCode).toBe(204);
      expect(await until(() => b.codexos.tokens.revocationsHeard === 1)).toBe(true);
      expect((await me(b, bob.token)).statusCode).toBe(401);
      expect((await me(a, bob.token)).statusCode).toBe(401);
      expect((await me(b, carl)).statusCode).toBe(200);

      // `codexos token revoke --redis` reaches running servers the same way.
      const cli = openTokens('', { redis: process.env.REDIS_URL, redisKeyPrefix: prefix });
      try {
        expect(await cli.tokens.revoke(carl.slice(4, 20))).toBe(true);
      } finally {
        await cli.close();
      }
      expect(await until(() => b.codexos.tokens.revocationsHeard === 2 && a.codexos.tokens.revocationsHeard >= 2)).toBe(
        true,
      );
      expect([(await me(a, carl)).statusCode, (await me(b, carl)).statusCode]).toEqual([401, 401]);
      // A token revoked twice is announced once.
      expect(await a.codexos.tokens.revoke(bob.id)).toBe(false);
      expect((await me(b, root)).statusCode).toBe(200);
      expect(b.codexos.tokens.revocationsHeard).toBe(2);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('after the subscription drops, nothing cached before is trusted and announcements arrive again', async () => {
    const prefix = `cdx-revoke-gap-${randomUUID()}`;
    const a = await buildServer({
      config: { store: { type: 'redis' }, redis: { url: process.env.REDIS_URL, keyPrefix: prefix } },
      orchestratorOptions: { collaboration: { storePath: ':memory:' } },
      agents: [echoAgent],
    });
    const other = openTokens('', { redis: process.env.REDIS_URL, redisKeyPrefix: prefix });
    const me = (token: string) => a.inject({ url: '/api/me', headers: { authorization: `Bearer ${token}` } });
    try {
      const feed = a.codexos.store.revocations;
      expect(await until(() => !!feed?.live)).toBe(true);
      const ada = (await a.codexos.tokens.create('ada', 'member')).token;
      const bob = (await a.codexos.tokens.create('bob', 'member')).token;
      expect([(await me(ada)).statusCode, (await me(bob)).statusCode]).toEqual([200, 200]);
      // Cut the subscriber's socket (only this one: other suites share the Redis): the feed is not live until it
      // has reconnected and subscribed again.
      (feed as unknown as { sub: { stream: { destroy(): void } } }).sub.stream.destroy();
      expect(await until(() => !feed?.live)).toBe(true);
      // A revoke while no announcement can arrive: the cached token is not trusted meanwhile.
      expect(await other.tokens.revoke(ada.slice(4, 20))).toBe(true);
      expect((await me(ada)).statusCode).toBe(401);
      expect(await until(() => !!feed?.live)).toBe(true);
      expect((await me(bob)).statusCode).toBe(200);
      const heard = a.codexos.tokens.revocationsHeard;
      expect(await other.tokens.revoke(bob.slice(4, 20))).toBe(true);
      expect(await until(() => a.codexos.tokens.revocationsHeard === heard + 1)).toBe(true);
      expect((await me(bob)).statusCode).toBe(401);
    } finally {
      await other.close();
      await a.close();
    }
  });

  it('a feed whose first subscription failed (Redis down at start) goes live once Redis is back', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
    });
    const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    client.on('error', () => {});
    const feed = new RedisRevocationFeed(client, 'revoked');
    const heard: string[] = [];
    let gaps = 0;
    const listener = { onRevoked: (id: string) => heard.push(id), onGap: () => gaps++, onError: () => {} };
    let redis: ChildProcess | undefined;
    try {
      await expect(feed.subscribe(listener)).rejects.toThrow();
      expect(feed.live).toBe(false);
      redis = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      );
      expect(await until(() => feed.live)).toBe(true);
      expect(gaps).toBeGreaterThan(0);
      const pub = new Redis({ port, host: '127.0.0.1' });
      try {
        for (let i = 0; i < 200 && heard.length === 0; i++) {
          await pub.publish('revoked', 'tok-1');
          await new Promise((r) => setTimeout(r, 10));
        }
      } finally {
        pub.disconnect();
      }
      expect(heard[0]).toBe('tok-1');
    } finally {
      await feed.close();
      client.disconnect();
      redis?.kill('SIGKILL');
    }
  });
});
