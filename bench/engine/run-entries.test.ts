// bench/run.ts picks each area's entry scripts: bench.ts when present, else the files no sibling names.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { entriesOf, nestHeadings } from '../run.ts';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function area(files: Record<string, string>): string {
  dir = mkdtempSync(join(tmpdir(), 'bench-area-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('entriesOf', () => {
  it('prefers bench.ts', () => {
    const d = area({ 'bench.ts': '', 'other.ts': '' });
    expect(entriesOf(d)).toEqual([join(d, 'bench.ts')]);
  });

  it('skips helpers, spawned children, types and tests', () => {
    const d = area({
      'overhead.ts': "import { x } from './helper.ts'; spawn(join(here, 'child.ts'));",
      'helper.ts': 'export const x = 1;',
      'child.ts': '',
      'types.ts': '',
      'a.test.ts': '',
      'sub/deep.ts': "import '../second.js';",
      'second.ts': '',
    });
    expect(entriesOf(d)).toEqual([join(d, 'overhead.ts')]);
  });

  it('returns nothing for a missing area', () => {
    dir = join(tmpdir(), 'no-such-bench-area');
    expect(entriesOf(dir)).toEqual([]);
  });
});

describe('nestHeadings', () => {
  it('puts an area under RESULTS.md\'s top heading, leaving code fences alone', () => {
    expect(nestHeadings('# Area\n\n## Part\n```sh\n# comment\n```')).toBe('## Area\n\n### Part\n```sh\n# comment\n```');
    expect(nestHeadings('## Area\n### Part')).toBe('## Area\n### Part');
  });
});
