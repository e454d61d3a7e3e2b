// bench/run.ts picks each area's entry scripts: bench.ts when present, else the files no sibling names.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assembleResults, entriesOf, nestHeadings, sectionsOf } from '../run.ts';

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

describe('assembleResults', () => {
  const areas = ['engine', 'models'];
  it('rewrites the areas run now and keeps every other section as it was', () => {
    const first = assembleResults(['# R'], new Map([['engine', '# Engine\n\nold engine'], ['models', '# Models\n\nold models']]), '', areas);
    expect(sectionsOf(first)).toEqual(new Map([['engine', '## Engine\n\nold engine'], ['models', '## Models\n\nold models']]));
    const second = assembleResults(['# R'], new Map([['engine', '# Engine\n\nnew engine']]), first, areas);
    expect(sectionsOf(second)).toEqual(new Map([['engine', '## Engine\n\nnew engine'], ['models', '## Models\n\nold models']]));
    expect(second.indexOf('new engine')).toBeLessThan(second.indexOf('old models'));
  });

  it('names the command for an area that never ran, and keeps an unknown area after the known ones', () => {
    const md = assembleResults(['# R'], new Map([['zeta', '# Zeta']]), '', areas);
    expect(sectionsOf(md).get('models')).toContain('run.ts --only models');
    expect([...sectionsOf(md).keys()]).toEqual(['engine', 'models', 'zeta']);
  });
});
