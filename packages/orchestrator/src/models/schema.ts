import { type ZodType, z } from 'zod';
import { CodexError, ErrorCodes } from '../errors.js';
import type { SchemaLike } from './types.js';

/** A schema in both forms: JSON Schema for the wire and for editors, zod for validation. */
export interface NormalisedSchema {
  json: Record<string, unknown>;
  zod: ZodType;
}

const cache = new WeakMap<object, NormalisedSchema>();

function isZod(s: unknown): s is ZodType {
  return s instanceof z.ZodType || (typeof s === 'object' && s !== null && '_zod' in s);
}

/** zod or JSON Schema in, both out (memoised per schema object). Absent: any JSON object. */
export function normaliseSchema(s: SchemaLike | undefined, what = 'schema'): NormalisedSchema {
  const src = s ?? { type: 'object' };
  const hit = cache.get(src);
  if (hit) return hit;
  let out: NormalisedSchema;
  try {
    if (isZod(src)) {
      const { $schema: _drop, ...json } = z.toJSONSchema(src, { io: 'input', unrepresentable: 'any' }) as Record<
        string,
        unknown
      >;
      out = { json, zod: src };
    } else {
      const { $schema: _drop, ...json } = src;
      out = { json, zod: z.fromJSONSchema(src as Parameters<typeof z.fromJSONSchema>[0]) };
    }
  } catch (err) {
    throw new CodexError(ErrorCodes.CONFIG_INVALID, `Invalid ${what}: ${(err as Error).message}`, { cause: err });
  }
  cache.set(src, out);
  return out;
}

/** `items[0].title` from a zod issue path. */
export function pathText(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

export interface SchemaProblem {
  path: string;
  message: string;
}

/** Validates a value; problems name the field (`items[0].title: expected string, received number`). */
export function check(
  schema: NormalisedSchema,
  value: unknown,
): { ok: true; value: unknown } | { ok: false; problems: SchemaProblem[] } {
  const r = schema.zod.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  return {
    ok: false,
    problems: r.error.issues.slice(0, 10).map((i) => ({ path: pathText(i.path), message: i.message })),
  };
}

export function describeProblems(problems: SchemaProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join('; ');
}
