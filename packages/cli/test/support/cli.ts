// What the CLI tests share: paths, the `codexos` binary as a child process, its main() in this process, and
// waiting for a running CLI's task log.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root: the CLI runs from there, as a user in a clone would. */
export const root = join(here, '..', '..', '..', '..');
/** The `codexos` binary. */
export const bin = join(root, 'packages', 'cli', 'bin', 'codexos.js');
/** A file of packages/cli/test/fixtures. */
export const fx = (f: string): string => join(here, '..', 'fixtures', f);
/** A fresh temporary folder. */
export const tempDir = (prefix = 'cdx-cli-'): string => mkdtempSync(join(tmpdir(), prefix));

/** What one CLI call gave: exit code, stdout and stderr. */
export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

/** Runs `codexos <args>` as a child process from the repository root and waits for it. */
export function cli(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function sink() {
  let text = '';
  return {
    stream: {
      write: (s: string) => {
        text += s;
        return true;
      },
      isTTY: false,
    } as never,
    text: () => text,
  };
}

/** The CLI's main() in this process (no process start-up): for checks that need no signals or exit codes of a process. */
export async function inProc(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const { main } = await import('../../src/main.js');
  const out = sink();
  const err = sink();
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const code = await main(args, { out: out.stream, err: err.stream });
    return { code, out: out.text(), err: err.text() };
  } finally {
    for (const k of Object.keys(env)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

/** Resolves once the fixture agents' log (CDX_TEST_LOG) names `text`: polls the file, not the clock. */
export async function untilLogged(log: string, text: string): Promise<void> {
  while (!(existsSync(log) && readFileSync(log, 'utf8').includes(text))) await new Promise((r) => setTimeout(r, 20));
}
