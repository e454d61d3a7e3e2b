// Starts a throwaway redis-server for integration tests when the binary is on PATH (CI installs it).
// Tests that need Redis read REDIS_URL and skip with a reason when it is absent.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from '../packages/orchestrator/test/support/net.js';

let redis: ChildProcess | undefined;

export async function setup(): Promise<void> {
  if (process.env.REDIS_URL) return;
  if (spawnSync('which', ['redis-server']).status !== 0) return;
  const port = await freePort();
  redis = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], {
    stdio: 'ignore',
  });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const r = spawnSync('redis-cli', ['-p', String(port), 'ping']);
    if (r.stdout?.toString().trim() === 'PONG') break;
    await new Promise((res) => setTimeout(res, 100));
  }
  process.env.REDIS_URL = `redis://127.0.0.1:${port}`;
}

export async function teardown(): Promise<void> {
  redis?.kill('SIGTERM');
}
