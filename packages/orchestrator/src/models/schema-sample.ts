// Deterministic values that conform to a JSON Schema, for the offline `local` model: the same schema and seed
// always give the same value. Covers what structured-output and tool schemas use (objects, arrays, strings with
// common formats, numbers with bounds, enums, const, anyOf/oneOf, $ref into $defs); strings carry the offline label
// where their constraints leave room for it.

type Schema = Record<string, unknown>;

export const OFFLINE_LABEL = '[local offline model]';

export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SampleOptions {
  seed: number;
  /** Words strings are made of (e.g. from the prompt and tool results). */
  words?: string[];
  /** URLs seen so far (e.g. in tool results): URL fields take these first. */
  urls?: string[];
}

/** A deterministic value that satisfies a JSON Schema (the offline model's structured answers). */
export function sampleFromSchema(schema: unknown, opts: SampleOptions): unknown {
  const r = rng(opts.seed);
  const words = (opts.words ?? []).filter((w) => /^[\p{L}\p{N}][\p{L}\p{N}._-]*$/u.test(w)).slice(0, 200);
  const root = (schema ?? {}) as Schema;
  const defs = { ...(root.$defs as Schema), ...(root.definitions as Schema) };
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)] as T;
  let urlIndex = 0;
  const word = () => (words.length ? pick(words) : pick(['alpha', 'beta', 'gamma', 'delta', 'omega']));

  const str = (s: Schema, key: string): string => {
    const min = (s.minLength as number | undefined) ?? 0;
    const max = (s.maxLength as number | undefined) ?? Infinity;
    const fmt = s.format as string | undefined;
    let v: string;
    if (fmt === 'date-time') v = new Date(Date.UTC(2024, 0, 1 + Math.floor(r() * 365))).toISOString();
    else if (fmt === 'date') v = new Date(Date.UTC(2024, 0, 1 + Math.floor(r() * 365))).toISOString().slice(0, 10);
    else if (fmt === 'email') v = `${word().toLowerCase()}@example.org`;
    else if (fmt === 'uri' || fmt === 'url' || /url|uri|link|href/i.test(key))
      v = opts.urls?.length
        ? (opts.urls[urlIndex++ % opts.urls.length] as string)
        : `https://example.org/${encodeURIComponent(word().toLowerCase())}`;
    else if (fmt === 'uuid')
      v = '00000000-0000-4000-8000-'.concat(
        Math.floor(r() * 1e12)
          .toString(16)
          .padStart(12, '0'),
      );
    else v = `${OFFLINE_LABEL} ${word()} ${word()}`;
    if (v.length > max) v = v.slice(0, max);
    while (v.length < min) v += 'x';
    return v;
  };

  const num = (s: Schema, integer: boolean): number => {
    let lo = (s.minimum as number | undefined) ?? (s.exclusiveMinimum as number | undefined) ?? 0;
    let hi = (s.maximum as number | undefined) ?? (s.exclusiveMaximum as number | undefined) ?? lo + 100;
    if (typeof s.exclusiveMinimum === 'number') lo += integer ? 1 : 1e-6;
    if (typeof s.exclusiveMaximum === 'number') hi -= integer ? 1 : 1e-6;
    if (integer) {
      lo = Math.ceil(lo);
      hi = Math.floor(hi);
    }
    let v = lo + r() * Math.max(0, hi - lo);
    if (integer) v = Math.round(v);
    else v = Math.round(v * 100) / 100;
    const m = s.multipleOf as number | undefined;
    if (m) v = Math.ceil(lo / m) * m;
    return Math.min(Math.max(v, lo), hi);
  };

  const gen = (raw: unknown, key: string, depth: number): unknown => {
    let s = (raw ?? {}) as Schema;
    if (typeof s.$ref === 'string') {
      const name = s.$ref.replace(/^#\/(\$defs|definitions)\//, '');
      s = s.$ref === '#' ? root : ((defs[name] as Schema) ?? {});
    }
    if ('const' in s) return s.const;
    if (Array.isArray(s.enum)) return pick(s.enum);
    if ('default' in s && depth > 0) return s.default;
    const alts = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
    if (alts?.length) {
      const real = alts.filter((a) => a.type !== 'null');
      return gen(real.length ? pick(real) : alts[0], key, depth);
    }
    if (Array.isArray(s.allOf) && s.allOf.length) return gen(Object.assign({}, ...(s.allOf as Schema[])), key, depth);
    let type = s.type as string | string[] | undefined;
    if (Array.isArray(type)) type = type.find((t) => t !== 'null') ?? 'null';
    type ??= s.properties ? 'object' : s.items ? 'array' : 'string';
    switch (type) {
      case 'object': {
        const out: Record<string, unknown> = {};
        const props = (s.properties ?? {}) as Record<string, Schema>;
        const required = new Set((s.required as string[] | undefined) ?? []);
        // Optional fields are filled too (they make the value useful) until the nesting gets deep.
        for (const [k, p] of Object.entries(props)) if (required.has(k) || depth < 4) out[k] = gen(p, k, depth + 1);
        return out;
      }
      case 'array': {
        const min = (s.minItems as number | undefined) ?? 1;
        const max = (s.maxItems as number | undefined) ?? Math.max(min, 3);
        const n = depth > 5 ? min : Math.min(max, Math.max(min, 2 + Math.floor(r() * 2)));
        const items = Array.isArray(s.prefixItems) ? (s.prefixItems as Schema[]) : undefined;
        return Array.from({ length: n }, (_, i) => gen(items?.[i] ?? s.items, key, depth + 1));
      }
      case 'string':
        return str(s, key);
      case 'integer':
        return num(s, true);
      case 'number':
        return num(s, false);
      case 'boolean':
        return r() < 0.5;
      case 'null':
        return null;
      default:
        return null;
    }
  };
  return gen(root, '', 0);
}
