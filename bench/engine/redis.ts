// A throwaway redis-server on a free loopback port (persistence off), for the BullMQ peers.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, Socket } from 'node:net';

export interface RedisHandle {
  url: string;
  host: string;
  port: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Sends one RESP command and resolves with the first reply line. */
export function redisCommand(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    let buf = '';
    sock.setTimeout(2_000, () => sock.destroy(new Error('redis timeout')));
    sock.on('error', reject);
    sock.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\r\n');
      if (nl >= 0) {
        sock.end();
        resolve(buf.slice(0, nl));
      }
    });
    sock.connect(port, '127.0.0.1', () => {
      sock.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
  });
}

export async function startRedis(): Promise<RedisHandle> {
  const port = await freePort();
  // `--port 0` would disable TCP altogether, hence the explicit free port.
  const proc: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    { stdio: 'ignore' },
  );
  // Never leave a server behind, even when the bench dies on an uncaught error or a signal.
  const killOnExit = () => proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => process.exit(130));
  const spawnError = new Promise<never>((_, reject) => proc.once('error', reject));
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if ((await Promise.race([redisCommand(port, 'PING'), spawnError])) === '+PONG') break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('redis-server is not installed');
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
}

/** REDIS_URL from the bench runner, or a private server when a pair is run by hand. */
export async function redisForChild(): Promise<{ host: string; port: number; stop(): Promise<void> }> {
  const env = process.env.REDIS_URL;
  if (env) {
    const u = new URL(env);
    return { host: u.hostname, port: Number(u.port || 6379), async stop() {} };
  }
  return startRedis();
}
