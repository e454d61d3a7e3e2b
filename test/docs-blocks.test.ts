// Every code block of README.md, docs/*.md and packages/server/API.md works as written; none is skipped.
// - ```ts / ```js: run as programs, offline (no provider keys: the `local` model answers), with REDIS_URL of the
//   suite's Redis. `<!-- doc-test: with the stand-in providers ... -->` runs one with OPENAI/ANTHROPIC/GEMINI keys
//   and *_BASE_URL pointing at local servers that speak the providers' wire formats. `<!-- doc-test: a server ...
//   -->` starts the block, waits for it to listen on PORT, runs the next block as its client, then stops it.
// - ```yaml: a workflow that must validate (`<!-- doc-test: orchestrator config -->`: a config file that must parse
//   with parseConfig); ```json: must parse.
// - ```sh: run by shell-commands.ts in a scratch folder with `codexos` on PATH (see there for what each kind of
//   command does); ```text: `<!-- doc-test: codexos usage -->` lines are checked against the CLI's own options,
//   `<!-- doc-test: repository layout -->` paths must exist, `<!-- doc-test: output of ... -->` samples must match.
// A block in another language, or a ```text block with no doc-test line, fails here.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { MultiAgentOrchestrator, parseConfig, parseWorkflowText } from '@codexos/multi-agent-orchestrator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type FakeServer, startFakeAnthropic, startFakeGemini, startFakeOpenAI } from '../packages/orchestrator/test/models/fake-servers/index.js';
import { freePort } from '../packages/orchestrator/test/support/net.js';
import { checkLayout, checkUsage, runShellBlock } from './support/doc-shell.js';

const root = join(import.meta.dirname, '..');
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
  'packages/server/API.md',
].filter((p) => existsSync(join(root, p)));

interface Block {
  page: string;
  line: number;
  lang: string;
  code: string;
  /** The text of a `<!-- doc-test: ... -->` line just before the block. */
  directive: string;
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
      directive: /<!--\s*doc-test:\s*([\s\S]*?)-->/.exec(before)?.[1].trim() ?? '',
    });
    i = end;
  }
  return out;
}

const all = pages.flatMap(blocksOf);
// Inside the repository, so `@codexos/multi-agent-orchestrator` resolves through the workspace link.
const dir = join(root, '.scratch', `doc-blocks-${process.pid}`);
mkdirSync(dir, { recursive: true });

const offline = { OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '', GEMINI_API_KEY: '', GOOGLE_API_KEY: '' };
let providers: FakeServer[] = [];
let providerEnv: Record<string, string> = {};

beforeAll(async () => {
  providers = await Promise.all([startFakeOpenAI(), startFakeAnthropic(), startFakeGemini()]);
  const [openai, anthropic, gemini] = providers;
  providerEnv = {
    OPENAI_API_KEY: 'sk-doc-test',
    OPENAI_BASE_URL: `${openai.url}/v1`,
    ANTHROPIC_API_KEY: 'sk-ant-doc-test',
    ANTHROPIC_BASE_URL: anthropic.url,
    GEMINI_API_KEY: 'doc-test',
    GEMINI_BASE_URL: gemini.url,
  };
});
afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  rmSync(dir, { recursive: true, force: true });
});

function start(file: string, env: Record<string, string>): { child: ChildProcess; done: Promise<Result> } {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: root,
    env: { ...process.env, ...offline, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
  const done = new Promise<Result>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err });
    }),
  );
  return { child, done };
}

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

function programFile(b: Block): string {
  const file = join(dir, `${b.page.replace(/\W+/g, '-')}-${b.line}.mts`);
  writeFileSync(file, b.code);
  return file;
}

async function listening(port: number, server: Promise<Result>): Promise<void> {
  let exited = false;
  void server.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`the server exited before it listened on ${port}: ${JSON.stringify(await server)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const RUNS = new Set(['ts', 'js', 'typescript']);

describe.concurrent('documentation code blocks', () => {
  for (let i = 0; i < all.length; i++) {
    const b = all[i];
    const name = `${b.page}:${b.line} (${b.lang})`;
    const prev = all[i - 1];
    // A server's client runs inside the server's test.
    if (prev && /^a server/.test(prev.directive) && prev.page === b.page) continue;
    it(name, { timeout: 600_000 }, async () => {
      const env: Record<string, string> = {
        REDIS_URL: process.env.REDIS_URL ?? '',
        CODEXOS_PREFIX: `doc-${process.pid}-${b.line}`,
        ...(/stand-in providers/.test(b.directive) ? providerEnv : {}),
      };
      if (RUNS.has(b.lang) && /^a server/.test(b.directive)) {
        const client = all[i + 1];
        expect(client && RUNS.has(client.lang), `${name}: a server block is followed by its client`).toBe(true);
        const port = await freePort();
        const server = start(programFile(b), { ...env, PORT: String(port) });
        try {
          await listening(port, server.done);
          const r = await start(programFile(client), { ...env, PORT: String(port) }).done;
          expect(r.code, `${b.page}:${client.line} (client)\n${r.err}${r.out}`).toBe(0);
        } finally {
          server.child.kill('SIGTERM');
        }
        const stopped = await server.done;
        expect(stopped.signal ?? stopped.code, stopped.err).not.toBeNull();
      } else if (RUNS.has(b.lang)) {
        const r = await start(programFile(b), env).done;
        expect(r.code, `${name}\n${r.err}${r.out}`).toBe(0);
      } else if ((b.lang === 'yaml' || b.lang === 'yml') && /^orchestrator config/.test(b.directive)) {
        const cfg = parseConfig(parseYaml(b.code));
        expect(Object.keys(cfg).length).toBeGreaterThan(0);
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
      } else if (b.lang === 'sh' || b.lang === 'bash') {
        const ran = await runShellBlock(b.code, { root, scratch: dir, env, name });
        expect(ran.commands, `${name}: nothing in the block ran`).toBeGreaterThan(0);
      } else if (b.lang === 'text' && /^codexos usage/.test(b.directive)) {
        expect(await checkUsage(b.code, root)).toEqual([]);
      } else if (b.lang === 'text' && /^repository layout/.test(b.directive)) {
        expect(checkLayout(b.code, root)).toEqual([]);
      } else {
        throw new Error(`${name}: a \`\`\`${b.lang} block that the doc test does not know how to run`);
      }
    });
  }
});

describe('shell blocks: test commands are checked, not run inside this suite', () => {
  it('`nice` and env assignments before `npx vitest run` / `npm run` still mark a test command', async () => {
    const env = { REDIS_URL: '', CODEXOS_PREFIX: `doc-${process.pid}-shell` };
    const opts = { root, scratch: dir, env, name: 'inline' };
    await expect(
      runShellBlock('SOAK=1 nice -n 10 npx vitest run test/reliability/no-such.test.ts', opts),
    ).rejects.toThrow(/names test\/reliability\/no-such\.test\.ts, which does not exist/);
    await expect(runShellBlock('nice npm run no-such-script', opts)).rejects.toThrow(/no "no-such-script" script/);
    expect(
      (await runShellBlock('SOAK=1 nice -n 10 npx vitest run test/reliability/collab-load.test.ts', opts)).commands,
    ).toBe(1);
  });
});
