// Every code block of README.md and docs/*.md works as written. ```ts / ```js blocks run as programs (offline:
// no provider keys, so the `local` model answers); ```yaml blocks are workflows that must validate; ```json blocks
// must parse. Shell commands (```sh), output listings (```text) and blocks preceded by `<!-- not-run: why -->` are
// not run. A doc page that grows a block in another language fails here until it is given one of these.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MultiAgentOrchestrator, parseWorkflowText } from '@codexos/multi-agent-orchestrator';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const NOT_RUN = new Set(['sh', 'bash', 'shell', 'text', 'console', 'http', 'diff']);

interface Block {
  page: string;
  line: number;
  lang: string;
  code: string;
  skipped: boolean;
}

function blocksOf(page: string): Block[] {
  const lines = readFileSync(join(root, page), 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    const before = lines.slice(Math.max(0, start - 3), start).join('\n');
    out.push({
      page,
      line: start + 1,
      lang: open[1] || 'none',
      code: lines.slice(start + 1, end).join('\n'),
      skipped: /<!--\s*not-run\b/.test(before),
    });
    i = end;
  }
  return out;
}

const all = pages.flatMap(blocksOf);
// Inside the repository, so `@codexos/multi-agent-orchestrator` resolves through the workspace link.
const dir = join(root, '.scratch', `doc-blocks-${process.pid}`);
mkdirSync(dir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const offline = { OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '', GEMINI_API_KEY: '', GOOGLE_API_KEY: '' };

function runProgram(file: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, ...offline },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe.concurrent('documentation code blocks', () => {
  for (const b of all) {
    const name = `${b.page}:${b.line} (${b.lang})`;
    if (b.skipped || NOT_RUN.has(b.lang)) {
      it.skip(`${name} is not run (marked or a shell listing)`, () => {});
      continue;
    }
    it(name, { timeout: 180_000 }, async () => {
      if (b.lang === 'ts' || b.lang === 'js' || b.lang === 'typescript') {
        const file = join(dir, `${b.page.replace(/\W+/g, '-')}-${b.line}.mts`);
        writeFileSync(file, b.code);
        const r = await runProgram(file);
        expect(r.code, `${name}\n${r.err}${r.out}`).toBe(0);
      } else if (b.lang === 'yaml' || b.lang === 'yml') {
        const o = new MultiAgentOrchestrator({ store: { type: 'memory' } });
        try {
          const def = o.validateWorkflow(parseWorkflowText(b.code, { format: 'yaml', source: name }), {
            checkAgents: false,
          });
          expect(def.tasks.length).toBeGreaterThan(0);
        } finally {
          await o.close();
        }
      } else if (b.lang === 'json') {
        expect(() => JSON.parse(b.code)).not.toThrow();
      } else {
        throw new Error(`${name}: a \`\`\`${b.lang} block is neither run nor marked <!-- not-run: why -->`);
      }
    });
  }
});
