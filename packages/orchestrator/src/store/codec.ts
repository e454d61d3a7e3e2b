import { deserialize, serialize } from 'node:v8';
import { CodexError, ErrorCodes } from '../errors.js';

// The one serialization contract of every store: task outputs and execution inputs are encoded once with the
// structured clone algorithm (v8.serialize), so memory, SQLite and Redis all give back what the task produced —
// Date, Map, Set, BigInt, undefined, typed arrays, RegExp, Error, cycles. Class instances come back as plain
// objects (structured clone keeps own data, not prototypes). Functions, symbols, Proxies, WeakMaps, promises and
// similar values cannot be stored: encoding them throws CDX_ERR_VALUE_NOT_SERIALIZABLE naming where they are.

/** First byte of every v8.serialize payload (the format's version tag); JSON text never starts with it. */
export const V8_TAG = 0xff;

/** Encodes a value for storage; `label` names it in the error (e.g. `output of task "fetch"`). */
export function encodeValue(value: unknown, label = 'value'): Buffer {
  try {
    return serialize(value);
  } catch (err) {
    const where = locateUnserializable(value, '$', 0, new Set());
    throw new CodexError(
      ErrorCodes.VALUE_NOT_SERIALIZABLE,
      `${label} cannot be stored${where ? ` at ${where.path} (${where.what})` : ''}: ${(err as Error).message}`,
      { issues: [{ path: where?.path ?? '$', message: (err as Error).message }], cause: err },
    );
  }
}

/** Strings, numbers, BigInts, booleans, undefined and null: always storable, and immutable (kept as they are). */
export function isStorablePrimitive(v: unknown): boolean {
  const t = typeof v;
  return v === null || (t !== 'object' && t !== 'function' && t !== 'symbol');
}

/**
 * What the engine hands a store for an output: nothing for a primitive (stores that need bytes encode it, at no
 * risk), else the bytes, encoded here once — which is also the check that the value can be stored at all.
 */
export function encodeOutput(value: unknown, label: string): Uint8Array | undefined {
  return isStorablePrimitive(value) ? undefined : encodeValue(value, label);
}

/** Decodes a value written by `encodeValue` (the stores' serialization). */
export function decodeValue(bytes: Uint8Array): unknown {
  return deserialize(bytes);
}

/** Bytes from storage written either by this codec (v8) or as JSON text by older versions. */
export function decodeStored(raw: Uint8Array | string | null | undefined): unknown {
  if (raw === null || raw === undefined) return undefined;
  if (typeof raw === 'string') return JSON.parse(raw);
  if (raw.length > 0 && raw[0] === V8_TAG) return deserialize(raw);
  return JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'));
}

/** Walks a value that failed to encode to name the first part that cannot be cloned (failure path only). */
function locateUnserializable(
  v: unknown,
  path: string,
  depth: number,
  seen: Set<object>,
): { path: string; what: string } | undefined {
  const t = typeof v;
  if (t === 'function') return { path, what: 'a function' };
  if (t === 'symbol') return { path, what: 'a symbol' };
  if (v === null || t !== 'object' || depth > 64) return undefined;
  const o = v as object;
  if (seen.has(o)) return undefined;
  seen.add(o);
  const children: [string, unknown][] = [];
  try {
    if (o instanceof Map) {
      let i = 0;
      for (const [k, val] of o) {
        children.push([`${path}<key ${i}>`, k], [`${path}.get(${i})`, val]);
        i++;
      }
    } else if (o instanceof Set) {
      let i = 0;
      for (const val of o) children.push([`${path}<item ${i++}>`, val]);
    } else if (Array.isArray(o)) {
      for (let i = 0; i < o.length; i++) children.push([`${path}[${i}]`, o[i]]);
    } else {
      for (const k of Object.keys(o)) children.push([`${path}.${k}`, (o as Record<string, unknown>)[k]]);
    }
  } catch {
    return { path, what: 'an object whose properties cannot be read' };
  }
  for (const [p, c] of children) {
    try {
      serialize(c);
    } catch {
      return locateUnserializable(c, p, depth + 1, seen) ?? { path: p, what: describe(c) };
    }
  }
  return { path, what: describe(o) };
}

function describe(v: unknown): string {
  if (v === null || typeof v !== 'object') return typeof v;
  let name: unknown;
  try {
    name = (v as { constructor?: { name?: string } }).constructor?.name;
  } catch {
    // A Proxy trap or getter that throws: say what we can.
  }
  return typeof name === 'string' && name ? `a ${name}` : 'an object';
}

/** The stored form of a transition's output: the engine's bytes when it encoded them, else encoded here. */
export function outputBytesOf(t: {
  taskKey: string;
  output?: unknown;
  outputBytes?: Uint8Array;
}): Uint8Array | undefined {
  if (t.outputBytes) return t.outputBytes;
  return t.output === undefined ? undefined : encodeValue(t.output, `output of task "${t.taskKey}"`);
}
