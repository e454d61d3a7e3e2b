// The published shape: every package is packed with `npm pack`, the tarballs are installed into an empty project
// outside the workspace, and that project uses them with plain `node`, `tsc` and `npx codexos` — no TypeScript
// loader, no workspace links, no "@codexos/source" condition.
import { type SpawnSyncOptions, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'cdx-pack-'));
const project = join(work, 'consumer');
const tarballs = join(work, 'tgz');
// Child processes get a plain environment: the workspace's source condition must not leak into the consumer.
const env = { ...process.env, NODE_OPTIONS: '', npm_config_update_notifier: 'false', npm_config_fund: 'false' };

function sh(cmd: string, args: string[], opts: SpawnSyncOptions = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 480_000, ...opts });
  return { code: r.status, out: String(r.stdout ?? ''), err: String(r.stderr ?? '') };
}

interface Packed {
  name: string;
  filename: string;
  size: number;
  unpackedSize: number;
  files: Array<{ path: string }>;
}

/** Workspace packages that have sources yet (a package still being written is not published). */
function publishable(): string[] {
  const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  return workspaces.filter((w) => existsSync(join(root, w, 'dist')));
}

let packed: Packed[] = [];

beforeAll(() => {
  const build = sh('npm', ['run', 'build', '--silent'], { cwd: root });
  expect(build.code, build.err + build.out).toBe(0);
  mkdirSync(tarballs);
  const pack = sh(
    'npm',
    ['pack', '--json', '--silent', '--pack-destination', tarballs, ...publishable().flatMap((w) => ['-w', w])],
    { cwd: root },
  );
  expect(pack.code, pack.err).toBe(0);
  packed = JSON.parse(pack.out) as Packed[];
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // The dashboard is a static bundle with no runtime dependencies; the server finds it where npm put it.
  const files = packed.map((p) => join(tarballs, p.filename));
  // Offline from the npm cache when it holds everything; otherwise the registry fills the gaps.
  // Install scripts are skipped: better-sqlite3 would compile SQLite from source for minutes when no prebuilt binary
  // can be downloaded, so the workspace's own build of the same version is copied in instead.
  const flags = ['install', '--ignore-scripts', '--no-audit', '--no-fund'];
  let install = sh('npm', [...flags, '--offline', ...files], { cwd: project });
  if (install.code !== 0 && /ENOTCACHED/.test(install.err))
    install = sh('npm', [...flags, '--prefer-offline', ...files], { cwd: project });
  expect(install.code, install.err).toBe(0);
  const addon = join('node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  mkdirSync(dirname(join(project, addon)), { recursive: true });
  cpSync(join(root, addon), join(project, addon));
}, 900_000);

// The consumer's node_modules is large: removed in the background so a busy disk does not time the hook out.
afterAll(() => {
  spawn('rm', ['-rf', work], { detached: true, stdio: 'ignore' }).unref();
});

describe('published tarballs', () => {
  it('ship compiled JavaScript, declarations and source maps, and no tests, fixtures, sources or secrets', () => {
    const names = packed.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['@codexos/multi-agent-orchestrator', '@codexos/cli']));
    for (const p of packed) {
      const paths = p.files.map((f) => f.path);
      console.log(`${p.filename}: ${(p.size / 1024).toFixed(0)} KiB packed, ${(p.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${paths.length} files`);
      expect(paths).toContain('package.json');
      expect(paths.some((f) => f.endsWith('.js'))).toBe(true);
      for (const f of paths) {
        expect(f).not.toMatch(/(^|\/)(test|tests|__tests__|fixtures|src|node_modules)\//);
        expect(f).not.toMatch(/\.test\.|\.db(-wal|-shm)?$|(^|\/)\.env|\.npmrc$|\.tsbuildinfo$|\.tgz$/);
      }
      if (p.name !== '@codexos/dashboard') {
        expect(paths.some((f) => f.endsWith('.d.ts'))).toBe(true);
        expect(paths.some((f) => f.endsWith('.js.map'))).toBe(true);
      }
      // Installed packages are read where npm put them.
      const here = join(project, 'node_modules', ...p.name.split('/'));
      const installed = existsSync(here) ? here : join(root, 'packages', p.name.split('/')[1]);
      for (const f of paths.filter((x) => /\.(js|json|d\.ts|md)$/.test(x))) {
        const text = readFileSync(join(installed, f), 'utf8');
        expect(text, f).not.toMatch(/\bsk-(ant-)?[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY|AIza[0-9A-Za-z_-]{30,}/);
      }
    }
  });

  it('a plain .mjs imports the library with node and runs a two-task workflow', () => {
    writeFileSync(
      join(project, 'two-tasks.mjs'),
      `import { MultiAgentOrchestrator } from '@codexos/multi-agent-orchestrator';
const o = new MultiAgentOrchestrator({ store: { type: 'memory' } });
o.registerAgent({ id: 'shout', handler: (ctx) => ctx.prompt.toUpperCase() });
o.registerAgent({ id: 'count', handler: (ctx) => String(ctx.deps.greet).length });
const r = await o.executeWorkflow({ id: 'two', name: 'Two tasks', version: '1', tasks: [
  { id: 'greet', agentId: 'shout', input: { prompt: 'hello {{ input.who }}' } },
  { id: 'measure', agentId: 'count', dependencies: ['greet'] },
] }, { input: { who: 'world' } });
console.log(JSON.stringify({ status: r.status, greet: r.tasks.greet.output, measure: r.tasks.measure.output }));
await o.close();
`,
    );
    const r = sh(process.execPath, ['two-tasks.mjs'], { cwd: project });
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ status: 'completed', greet: 'HELLO WORLD', measure: 11 });
  });

  it('the installed server serves the installed dashboard at /', () => {
    writeFileSync(
      join(project, 'serve.mjs'),
      `import { startServer } from '@codexos/server';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const out = { write: () => true };
const s = await startServer({ port: 0, data: mkdtempSync(join(tmpdir(), 'cdx-serve-')), examples: false, out });
const res = await fetch(s.url + '/');
const html = await res.text();
console.log(JSON.stringify({ status: res.status, app: /<script[^>]+src="[^"]*assets\\/[^"]+\\.js"/.test(html) }));
await s.stop();
process.exit(0);
`,
    );
    const r = sh(process.execPath, ['serve.mjs'], { cwd: project, timeout: 120_000 });
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out.trim().split('\n').pop() ?? '{}')).toEqual({ status: 200, app: true });
  });

  it('a TypeScript consumer type-checks against the published declarations', () => {
    writeFileSync(
      join(project, 'consumer.ts'),
      `import {
  type AgentDefinition,
  type ExecutionResult,
  MultiAgentOrchestrator,
  type OrchestratorEvents,
  type WorkflowDefinitionInput,
} from '@codexos/multi-agent-orchestrator';

const agent: AgentDefinition = { id: 'echo', handler: async (ctx) => ctx.prompt };
const onDone = (e: OrchestratorEvents['task:completed']): string => \`\${e.taskId} \${e.duration.toFixed(0)}ms\`;
const workflow: WorkflowDefinitionInput = { id: 'w', name: 'W', version: '1', tasks: [{ id: 'a', agentId: 'echo' }] };

export async function run(): Promise<ExecutionResult['status']> {
  const o = new MultiAgentOrchestrator({ store: { type: 'memory' } });
  o.registerAgent(agent);
  o.on('task:completed', (e) => console.log(onDone(e)));
  const result: ExecutionResult = await o.executeWorkflow(workflow);
  await o.close();
  return result.status;
}
// @ts-expect-error an ExecutionResult's status is a closed union
const wrong: ExecutionResult['status'] = 'exploded';
`,
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2023',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = sh(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project });
    expect(r.code, r.out + r.err).toBe(0);
  });

  it('npx codexos validates and runs an example with plain node (TypeScript agents through tsx)', () => {
    cpSync(join(root, 'examples', 'data-analysis.yaml'), join(project, 'pipeline.yaml'));
    cpSync(join(root, 'examples', 'agents.ts'), join(project, 'agents.ts'));
    const version = sh('npx', ['--no', '--', 'codexos', '--version'], { cwd: project });
    expect(version.out.trim()).toBe(JSON.parse(readFileSync(join(root, 'packages/cli/package.json'), 'utf8')).version);
    const valid = sh('npx', ['--no', '--', 'codexos', 'validate', 'pipeline.yaml', '--agents', 'agents.ts'], { cwd: project });
    expect(valid.code, valid.err).toBe(0);
    expect(valid.out).toContain('is valid (6 tasks)');
    const run = sh('npx', ['--no', '--', 'codexos', 'run', 'pipeline.yaml', '--agents', 'agents.ts', '--json'], {
      cwd: project,
    });
    expect(run.code, run.err).toBe(0);
    const result = JSON.parse(run.out);
    expect(result.status).toBe('completed');
    expect(result.tasks['create-report'].output).toContain('[local offline model]');
    expect(existsSync(join(project, '.codexos', 'state.db'))).toBe(true);
  });
});
