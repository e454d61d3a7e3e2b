import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../orchestrator/test/support/net.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const bin = join(root, 'packages', 'cli', 'bin', 'codexos.js');
const agents = join(root, 'packages', 'orchestrator', 'test', 'queue', 'fixtures', 'dist-agents.ts');

function cli(args: string[]) {
  const env = { ...process.env };
  delete env.REDIS_URL;
  delete env.CODEXOS_REDIS_URL;
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env, timeout: 170_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('codexos worker', () => {
  it('refuses to start without --redis (exit 2)', () => {
    const a = cli(['worker', '--agents', agents]);
    expect(a.code).toBe(2);
    expect(a.err).toContain('--redis');
  }, 180_000);

  it('names the field of a bad --config file and a bad --id (exit 2)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cdx-worker-'));
    const file = join(dir, 'codexos.yaml');
    writeFileSync(file, 'models:\n  rateLimits: { windowMs: -5 }\n');
    const bad = cli(['worker', '--redis', 'redis://127.0.0.1:1', '--config', file]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('CDX_ERR_CONFIG_INVALID');
    expect(bad.err).toContain('models.rateLimits.windowMs');
    const id = cli(['worker', '--redis', 'redis://127.0.0.1:1', '--agents', agents, '--id', 'a b']);
    expect(id.code).toBe(2);
    expect(id.err).toContain('--id may hold');
  }, 180_000);

  it('names host:port when Redis cannot be reached (exit 1, no hang)', async () => {
    const port = await freePort();
    const r = cli(['worker', '--redis', `redis://127.0.0.1:${port}`, '--agents', agents]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`CDX_ERR_REDIS_UNAVAILABLE: Redis at 127.0.0.1:${port} is unreachable`);
  }, 180_000);
});
