import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

// examples/research: a search tool (local stub) and an MCP fetch tool, structured findings feeding a forEach, run
// offline through the CLI.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = join(root, 'packages', 'cli', 'bin', 'codexos.js');
const NO_KEYS = { OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '', GEMINI_API_KEY: '', GOOGLE_API_KEY: '' };
const run = (extra: string[]) =>
  spawnSync(
    process.execPath,
    [bin, 'run', 'examples/research/research.yaml', '--agents', 'examples/research/agents.ts', '--memory', ...extra],
    { cwd: root, encoding: 'utf8', env: { ...process.env, ...NO_KEYS }, timeout: 90_000 },
  );

it('runs offline: search, then MCP fetch of a URL search returned, findings fed to forEach (--json)', () => {
  const r = run(['--json']);
  expect(r.status, r.stderr).toBe(0);
  const res = JSON.parse(r.stdout);
  const calls = res.tasks.research.toolCalls;
  expect(calls.map((c: { tool: string }) => c.tool)).toEqual(['search', 'web/fetch']);
  expect(calls.every((c: { status: string }) => c.status === 'completed')).toBe(true);
  const found = calls[0].result.map((x: { url: string }) => x.url);
  expect(found).toContain(calls[1].arguments.url);
  const findings = res.tasks.research.output.findings;
  expect(findings.length).toBeGreaterThanOrEqual(1);
  for (const f of findings)
    expect(f).toEqual({
      title: expect.any(String),
      url: expect.stringMatching(/^https:/),
      summary: expect.any(String),
    });
  expect(res.tasks.summarise.output).toHaveLength(findings.length);
  expect(res.tasks.digest.output).toMatch(/^\[local offline model\]/);
}, 120_000);

it('--stream shows tool calls and each task’s text as it arrives', () => {
  const r = run(['--stream']);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/── research ──\n {2}→ search\(\{"query":/);
  expect(r.stdout).toMatch(/→ web\/fetch\(\{"url":"https:\/\/example\.org\/agents\//);
  expect(r.stdout).toMatch(/── summarise\[0\] ──\n\[local offline model\] Write one paragraph on/);
  expect(r.stdout).toContain('✔ research-digest completed');
}, 120_000);
