import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { workflowJsonSchema } from '../../src/index.js';

it('the published workflow-schema.json matches the zod schema (regenerate with `npm run schema`)', () => {
  const file = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'workflow-schema.json');
  expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(workflowJsonSchema());
});
