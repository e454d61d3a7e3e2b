// `npm run docs:check`: builds the API reference into a temporary folder (TypeDoc's validation fails the build when
// an exported symbol has no description) and compares it with the committed docs/api, file by file, so a change
// to the public API or its TSDoc that was not followed by `npm run docs` fails here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const committed = join(here, '..', '..', 'docs', 'api');
const fresh = mkdtempSync(join(tmpdir(), 'codexos-apidoc-'));

function files(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

try {
  const bin = join(here, 'node_modules', 'typedoc', 'bin', 'typedoc');
  const r = spawnSync(process.execPath, [bin, '--options', 'typedoc.json', '--out', fresh], { cwd: here, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const want = new Map(files(fresh).map((f) => [relative(fresh, f), f]));
  const have = new Map(files(committed).map((f) => [relative(committed, f), f]));
  const stale = [];
  for (const [rel, f] of want) {
    if (!have.has(rel)) stale.push(`missing: docs/api/${rel}`);
    else if (!readFileSync(f).equals(readFileSync(have.get(rel)))) stale.push(`differs: docs/api/${rel}`);
  }
  for (const rel of have.keys()) if (!want.has(rel)) stale.push(`not generated any more: docs/api/${rel}`);
  if (stale.length) {
    console.error(`docs/api is stale (${stale.length} files); run \`npm run docs\` and commit docs/api:`);
    for (const s of stale.slice(0, 20)) console.error(`  ${s}`);
    if (stale.length > 20) console.error(`  … and ${stale.length - 20} more`);
    process.exitCode = 1;
  } else console.log(`docs/api is up to date (${want.size} files)`);
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
