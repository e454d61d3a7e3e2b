import { CodexError, ErrorCodes } from '@codexos/multi-agent-orchestrator';
import type { Command } from 'commander';
import { loadAgents } from './options.js';

// `codexos serve` and `codexos token create|revoke|list`: thin wrappers over @codexos/server (loaded on use, so
// the other commands do not pay for Fastify).

interface Io {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
  setExit(code: number): void;
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new CodexError(ErrorCodes.CONFIG_INVALID, `--port expects 0-65535, got "${v}"`);
  return n;
}

/** Where `codexos token …` finds a server's tokens: its data directory, or its Redis. */
interface TokenFlags {
  data: string;
  redis?: string;
  prefix: string;
}

export function registerServerCommands(program: Command, io: Io): void {
  program
    .command('serve')
    .description('start the CodexOS server: API, live events, collaboration, dashboard')
    .option('--port <n>', 'port (0 picks a free one)', '4000')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--data <dir>', 'data directory (SQLite state, documents, history)', '.codexos')
    .option('--agents <module>', 'TS/JS module exporting agent definitions (code handlers)')
    .option('--redis <url>', 'keep executions in Redis (redis://host:port) instead of SQLite')
    .option('--no-examples', 'do not load examples/ as workflows on first start')
    .option('--cors <origins>', 'comma-separated origins allowed by CORS (none by default)')
    .option('--public-metrics', 'serve /metrics without a token')
    .option('--grace <ms>', 'shutdown grace period for running tasks', '10000')
    .option('--log', 'log requests (tokens redacted)')
    .action(
      async (flags: {
        port: string;
        host: string;
        data: string;
        agents?: string;
        redis?: string;
        examples: boolean;
        cors?: string;
        publicMetrics?: boolean;
        grace: string;
        log?: boolean;
      }) => {
        const { startServer } = await import('@codexos/server');
        await startServer({
          port: port(flags.port),
          host: flags.host,
          data: flags.data,
          redis: flags.redis,
          agents: await loadAgents(flags.agents),
          examples: flags.examples ? undefined : false,
          corsOrigins: flags.cors
            ?.split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          publicMetrics: flags.publicMetrics,
          shutdownGraceMs: Number(flags.grace) || 10_000,
          logger: flags.log,
          out: io.out,
        });
      },
    );

  const token = program.command('token').description('API tokens of a server data directory');
  token
    .command('create')
    .description('create a token (printed once; only its hash is stored)')
    .requiredOption('--user <id>', 'user the token acts as')
    .option('--role <role>', 'admin | member', 'member')
    .option('--name <text>', 'what the token is for')
    .option('--data <dir>', 'data directory', '.codexos')
    .option('--redis <url>', 'the Redis of a server started with --redis (tokens live there)')
    .option('--prefix <prefix>', 'key prefix of that server in Redis', 'codexos')
    .action(async (flags: TokenFlags & { user: string; role: string; name?: string }) => {
      if (flags.role !== 'admin' && flags.role !== 'member')
        throw new CodexError(ErrorCodes.CONFIG_INVALID, `--role expects admin or member, got "${flags.role}"`);
      if (!/^[A-Za-z0-9_.@-]{1,100}$/.test(flags.user))
        throw new CodexError(ErrorCodes.CONFIG_INVALID, `--user may hold letters, digits and _ . @ - only`);
      const { openTokens } = await import('@codexos/server');
      const t = openTokens(flags.data, { redis: flags.redis, redisKeyPrefix: flags.prefix });
      try {
        const { token: secret, info } = await t.tokens.create(flags.user, flags.role, flags.name);
        io.out.write(`token ${info.id} for ${info.user} (${info.role}); shown once:\n${secret}\n`);
      } finally {
        await t.close();
      }
    });
  token
    .command('revoke')
    .description('revoke a token by id (the part after cdx_)')
    .argument('<id>')
    .option('--data <dir>', 'data directory', '.codexos')
    .option('--redis <url>', 'the Redis of a server started with --redis (tokens live there)')
    .option('--prefix <prefix>', 'key prefix of that server in Redis', 'codexos')
    .action(async (id: string, flags: TokenFlags) => {
      const { openTokens } = await import('@codexos/server');
      const t = openTokens(flags.data, { redis: flags.redis, redisKeyPrefix: flags.prefix });
      try {
        const tokenId = id.startsWith('cdx_') ? id.split('_')[1] : id;
        if (!(await t.tokens.revoke(tokenId)))
          throw new CodexError(ErrorCodes.CONFIG_INVALID, `no active token with id "${tokenId}"`);
        io.out.write(`revoked ${tokenId}\n`);
      } finally {
        await t.close();
      }
    });
  token
    .command('list')
    .description('list tokens (ids and users, never the secrets)')
    .option('--data <dir>', 'data directory', '.codexos')
    .option('--redis <url>', 'the Redis of a server started with --redis (tokens live there)')
    .option('--prefix <prefix>', 'key prefix of that server in Redis', 'codexos')
    .action(async (flags: TokenFlags) => {
      const { openTokens } = await import('@codexos/server');
      const t = openTokens(flags.data, { redis: flags.redis, redisKeyPrefix: flags.prefix });
      try {
        for (const i of await t.tokens.list(1000))
          io.out.write(
            `${i.id}  ${i.user.padEnd(16)} ${i.role.padEnd(7)} ${i.revokedAt ? 'revoked' : 'active '} ${i.name ?? ''}\n`,
          );
      } finally {
        await t.close();
      }
    });
}
