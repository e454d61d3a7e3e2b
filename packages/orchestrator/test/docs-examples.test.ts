import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');

/** The first complete ```ts program of a doc page, run as written against the package. */
function runFirstExample(page: string): { code: number | null; out: string; err: string } {
  const text = readFileSync(join(root, 'docs', page), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(text)?.[1];
  if (!block) throw new Error(`no ts example in ${page}`);
  // Written inside the repo so `@codexos/multi-agent-orchestrator` resolves through the workspace link.
  const dir = mkdtempSync(join(here, '.doc-'));
  const file = join(dir, 'example.mts');
  writeFileSync(file, block);
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '', GEMINI_API_KEY: '', GOOGLE_API_KEY: '' },
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

it('docs/workflows.md: the first example runs as written', () => {
  const r = runFirstExample('workflows.md');
  expect(r.code, r.err).toBe(0);
  expect(r.out).toMatch(/^completed 16 \[local offline model\] The total is 16/);
});

it('docs/tools.md: the first example runs as written', () => {
  const r = runFirstExample('tools.md');
  expect(r.code, r.err).toBe(0);
  expect(r.out).toBe('tool search\ncompleted 1 2\n');
});
