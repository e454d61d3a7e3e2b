// The shipped catalog is checked against the Anthropic SDK's own data: a model past its end of life, or one the
// SDK no longer lists, must be marked deprecated (selected only when pinned or preferred), so nobody is routed to
// it by default and the SDK's deprecation warning never fires for a catalog default.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CATALOG } from '../../src/models/catalog-data.js';

const sdk = dirname(createRequire(import.meta.url).resolve('@anthropic-ai/sdk'));
const read = (f: string) => readFileSync(join(sdk, f), 'utf8');

/** `'claude-sonnet-4-5': 'November 30th, 2026'` entries of the SDK's deprecated-models table. */
function endOfLife(): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of read('internal/data/deprecated-models.js').matchAll(/'([^']+)':\s*'([^']+)'/g))
    out.set(m[1], Date.parse(m[2].replace(/(\d+)(st|nd|rd|th)/, '$1')));
  return out;
}

describe('catalog dates', () => {
  const anthropic = DEFAULT_CATALOG.filter((m) => m.provider === 'anthropic' && !m.deprecated);

  it('no current Anthropic model is past the end of life the SDK lists', () => {
    const eol = endOfLife();
    expect(eol.size).toBeGreaterThan(0);
    const past = anthropic.filter((m) => (eol.get(m.providerModel ?? m.id) ?? Number.POSITIVE_INFINITY) <= Date.now());
    expect(past.map((m) => m.id)).toEqual([]);
  });

  it('every current Anthropic model is one the SDK still knows', () => {
    const known = new Set(
      read('resources/messages/messages.d.ts')
        .match(/'claude-[a-z0-9.-]+'/g)
        ?.map((s) => s.slice(1, -1)),
    );
    expect(known.size).toBeGreaterThan(0);
    expect(anthropic.filter((m) => !known.has(m.providerModel ?? m.id)).map((m) => m.id)).toEqual([]);
  });
});
