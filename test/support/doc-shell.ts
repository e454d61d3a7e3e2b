// Runs the ```sh blocks of the docs as a user would type them, in a scratch folder that links the repository's
// examples/ and packages/, with `codexos` on PATH. Per command:
// - `cmd &` and `codexos serve` / `codexos worker` / `npm start` (long-running): started, waited for (the server's
//   banner and /health, the worker's "serving" line), left running for the rest of the block, then stopped with
//   SIGTERM, which must end them cleanly. The server's first admin token is exported as TOKEN, as a user copies it.
// - `redis-server ...`: the suite's Redis (REDIS_URL) stands in; every redis:// URL in the block is rewritten to it
//   (with a --prefix of the block's own), and http://127.0.0.1:4000 to the server the block started.
// - `npm ci`: the install this suite runs after. `npm test`, `npm run <script>`, `npx vitest run <paths>` (after
//   any env assignments and `nice`): would run this suite inside itself, so the script and the paths they name
//   must exist. `npm install <workspace package>`: test/packaging.test.ts installs the packed tarballs; here the
//   name must be a workspace package.
// - anything else: run with bash; it must exit 0.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where and with what a block runs. */
export interface ShellOptions {
  root: string;
  scratch: string;
  env: Record<string, string>;
  name: string;
}

interface Background {
  cmd: string;
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

/** Joins `\` continuations, drops comments and blank lines, splits `a && b`. */
export function commandsOf(block: string): string[] {
  const lines: string[] = [];
  let open = '';
  for (const raw of block.replace(/\\\n\s*/g, ' ').split('\n')) {
    // A quoted argument spanning lines (`node -e "...`) continues the command until its quote closes.
    if (open) open += `\n${raw}`;
    else open = raw.replace(/(^|\s)#\s.*$/, '').trim();
    if (((open.match(/"/g) ?? []).length % 2 === 0 && (open.match(/'/g) ?? []).length % 2 === 0) || !open) {
      if (open && !open.startsWith('#')) lines.push(open);
      open = '';
    }
  }
  if (open) lines.push(open);
  return lines.flatMap((l) => (l.includes('\n') ? [l] : l.split(/\s+&&\s+/)));
}

function workspacePackages(root: string): string[] {
  const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  return workspaces.map((w) => JSON.parse(readFileSync(join(root, w, 'package.json'), 'utf8')).name as string);
}

function sandbox(opts: ShellOptions): { cwd: string; bin: string } {
  const cwd = mkdtempSync(join(opts.scratch, 'sh-'));
  for (const f of ['examples', 'packages', 'node_modules', 'package.json', 'test', 'tools', 'bench'])
    if (existsSync(join(opts.root, f))) symlinkSync(join(opts.root, f), join(cwd, f));
  const bin = join(cwd, '.bin');
  mkdirSync(bin);
  const codexos = join(bin, 'codexos');
  const main = join(opts.root, 'packages', 'cli', 'bin', 'codexos.js');
  writeFileSync(codexos, `#!/bin/sh\nexec "${process.execPath}" --conditions=@codexos/source "${main}" "$@"\n`, {
    mode: 0o755,
  });
  return { cwd, bin };
}

function startBackground(cmd: string, cwd: string, env: NodeJS.ProcessEnv): Background {
  // exec: the signal reaches the command itself, not only the shell.
  // Its own process group, so SIGTERM reaches what it starts too (npm start runs the server as a child).
  const child = spawn('bash', ['-c', `exec ${cmd}`], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let text = '';
  child.stdout?.on('data', (d) => (text += d));
  child.stderr?.on('data', (d) => (text += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { cmd, child, out: () => text, exited };
}

async function until(bg: Background, what: string, ok: () => boolean | Promise<boolean>): Promise<void> {
  let gone = false;
  void bg.exited.then(() => (gone = true));
  const deadline = Date.now() + 180_000;
  while (!(await ok())) {
    if (gone) throw new Error(`\`${bg.cmd}\` ended before ${what}:\n${bg.out()}`);
    if (Date.now() > deadline) throw new Error(`\`${bg.cmd}\` did not get to ${what}:\n${bg.out()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs one ```sh block; resolves with how many commands it ran or checked. Throws naming the command that failed. */
export async function runShellBlock(block: string, opts: ShellOptions): Promise<{ commands: number }> {
  const { cwd, bin } = sandbox(opts);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENAI_API_KEY: '',
    ANTHROPIC_API_KEY: '',
    GEMINI_API_KEY: '',
    GOOGLE_API_KEY: '',
    ...opts.env,
    PATH: `${bin}:${process.env.PATH}`,
  };
  const redis = opts.env.REDIS_URL || process.env.REDIS_URL || '';
  const scripts = JSON.parse(readFileSync(join(opts.root, 'package.json'), 'utf8')).scripts as Record<string, string>;
  const background: Background[] = [];
  let server = '';
  let count = 0;
  const rewrite = (cmd: string) => {
    let c = cmd.replace(/redis:\/\/[^\s'"]+/g, redis);
    // Keys of this block only: other suites share the Redis.
    if (/^codexos (worker|run|resume)\b.*--redis/.test(c) && !/--prefix/.test(c))
      c = c.replace(/(\s*&)?$/, ` --prefix ${opts.env.CODEXOS_PREFIX}$1`);
    if (server) c = c.replaceAll('http://127.0.0.1:4000', server);
    return c;
  };
  try {
    for (const raw of commandsOf(block)) {
      count++;
      const cmd = rewrite(raw);
      let m: RegExpExecArray | null;
      if (/^npm ci\b/.test(cmd)) continue;
      if (/^npm test$/.test(cmd)) {
        if (!scripts.test) throw new Error(`${opts.name}: no "test" script for \`${raw}\``);
        continue;
      }
      if ((m = /^(?:\w+=\S+\s+)*(?:nice(?:\s+-n\s+-?\d+)?\s+)?npm run (\S+)/.exec(cmd))) {
        if (!scripts[m[1]]) throw new Error(`${opts.name}: no "${m[1]}" script for \`${raw}\``);
        continue;
      }
      if ((m = /^(?:\w+=\S+\s+)*(?:nice(?:\s+-n\s+-?\d+)?\s+)?npx vitest run (.+)$/.exec(cmd))) {
        for (const p of m[1].split(/\s+/).filter((a) => !a.startsWith('-')))
          if (!existsSync(join(opts.root, p))) throw new Error(`${opts.name}: \`${raw}\` names ${p}, which does not exist`);
        continue;
      }
      if ((m = /^npm install (.+)$/.exec(cmd))) {
        const known = workspacePackages(opts.root);
        for (const p of m[1].split(/\s+/).filter((a) => !a.startsWith('-')))
          if (!known.includes(p)) throw new Error(`${opts.name}: \`${raw}\` installs ${p}, not a package of this repository`);
        continue;
      }
      if (/^redis-server\b/.test(cmd)) {
        if (!redis) throw new Error(`${opts.name}: \`${raw}\` needs the suite's Redis (redis-server on PATH)`);
        continue;
      }
      const serve = /^(codexos serve\b|npm start\b)/.test(cmd);
      const worker = /^codexos worker\b/.test(cmd);
      if (serve || worker || /&$/.test(cmd)) {
        let c = cmd.replace(/\s*&$/, '');
        if (serve) {
          // A free port: 4000 may be taken on a shared machine; the commands after it are rewritten to match.
          c = /--port\s+\d+/.test(c) ? c.replace(/--port\s+\d+/, '--port 0') : `${c} ${c.startsWith('npm') ? '-- ' : ''}--port 0`;
          // What npm runs for `npm start`, without npm itself (its cache lock is shared with the packaging test)
          // and without `prestart`'s dashboard build (the dashboard tests build it).
          if (c.startsWith('npm start')) c = c.replace(/^npm start(\s+--)?/, scripts.start);
        }
        const bg = startBackground(c, cwd, env);
        background.push(bg);
        if (serve) {
          await until(bg, 'its banner', () => /listening on (http:\/\/\S+)/.test(bg.out()));
          server = /listening on (http:\/\/\S+)/.exec(bg.out())?.[1] ?? '';
          const token = /first admin token[^\n]*\n\s*(\S+)/.exec(bg.out())?.[1];
          if (token) env.TOKEN = token;
          await until(bg, 'a healthy /health', async () => (await fetch(`${server}/health`).catch(() => null))?.ok === true);
        } else if (worker) await until(bg, 'serving', () => /serving/.test(bg.out()));
        continue;
      }
      const r = spawnSync('bash', ['-c', cmd], { cwd, env, encoding: 'utf8', timeout: 180_000 });
      if (r.status !== 0)
        throw new Error(`${opts.name}: \`${raw}\` exited ${r.status ?? r.signal}:\n${r.stderr}${r.stdout}`.slice(0, 4000));
    }
  } finally {
    for (const bg of background.reverse()) {
      try {
        if (bg.child.pid) process.kill(-bg.child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      await bg.exited;
      // The server and the worker handle SIGTERM: they finish and say so, rather than die mid-write.
      if (/\bcodexos(\.js)? (serve|worker)\b/.test(bg.cmd)) {
        for (let i = 0; i < 50 && !/\bstopped\b/.test(bg.out()); i++) await new Promise((r) => setTimeout(r, 100));
        if (!/\bstopped\b/.test(bg.out())) throw new Error(`\`${bg.cmd}\` did not stop cleanly on SIGTERM:\n${bg.out()}`);
      }
    }
  }
  return { commands: count };
}

function helpOf(root: string, args: string[]): string {
  const main = join(root, 'packages', 'cli', 'bin', 'codexos.js');
  const r = spawnSync(process.execPath, ['--conditions=@codexos/source', main, ...args, '--help'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return `${r.stdout}${r.stderr}`;
}

/**
 * A ```text block of `codexos ...` synopses: each command must exist (`codexos --help`) and each --flag it shows
 * must be one of that command's options. Answers the problems found.
 */
export async function checkUsage(block: string, root: string): Promise<string[]> {
  const problems: string[] = [];
  const top = helpOf(root, []);
  const helps = new Map<string, string>();
  for (const line of block.split('\n').map((l) => l.replace(/\s+#\s.*$/, '').trim())) {
    if (!line.startsWith('codexos')) continue;
    const words = line.split(/\s+/);
    if (words[1]?.startsWith('-')) {
      for (const f of line.match(/--[\w-]+/g) ?? []) if (!top.includes(f)) problems.push(`${line}: codexos has no ${f}`);
      continue;
    }
    const sub = words[1];
    if (!new RegExp(`^\\s+${sub}\\b`, 'm').test(top)) {
      problems.push(`${line}: no command "${sub}" in codexos --help`);
      continue;
    }
    // `token create|revoke|list` and `token create ...`: the subcommand's own help.
    const second = words[2] && /^[a-z][\w|]*$/.test(words[2]) ? words[2].split('|') : [];
    const keys = second.length ? second.map((s) => `${sub} ${s}`) : [sub];
    for (const key of keys) {
      if (!helps.has(key)) helps.set(key, helpOf(root, key.split(' ')));
      const help = helps.get(key) ?? '';
      for (const f of line.match(/--[\w-]+/g) ?? [])
        if (!help.includes(f)) problems.push(`${line}: codexos ${key} has no ${f}`);
    }
  }
  if (!problems.length && !helps.size) problems.push('no codexos command in the block');
  return problems;
}

/**
 * A ```text tree of the repository: each entry's first word is a path under the entry above it at a smaller
 * indent (a later word on a continuation line is prose). Answers the paths that do not exist.
 */
export function checkLayout(block: string, root: string): string[] {
  const missing: string[] = [];
  const stack: { indent: number; path: string }[] = [];
  for (const line of block.split('\n')) {
    const m = /^(\s*)(\S+)/.exec(line);
    if (!m) continue;
    const indent = m[1].length;
    // Continuation lines of a description start far right.
    if (indent > 12) continue;
    const word = m[2];
    if (!/[/.]/.test(word)) continue;
    while (stack.length && stack[stack.length - 1].indent >= indent) stack.pop();
    const parent = stack.length ? stack[stack.length - 1].path : '';
    const path = join(parent, word.replace(/\/$/, ''));
    if (!existsSync(join(root, path))) missing.push(path);
    if (word.endsWith('/')) stack.push({ indent, path });
  }
  return missing;
}
