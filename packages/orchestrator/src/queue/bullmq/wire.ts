import { decodeValue, encodeValue } from '../../store/codec.js';

// How values travel in jobs and replies (a handler's input, params and deps, its output, the outputs log): as JSON
// text when JSON gives back exactly the same value, else in the stores' encoding (v8 structured clone, base64) so
// a Date, Map, Set, BigInt or undefined arrives intact. Most values are plain JSON, and JSON text is several times
// cheaper to write and read than a v8 payload for the small values tasks pass around. A JSON payload starts with
// `~`, a character base64 never uses, so either form is read back; payloads of earlier releases are base64.

const JSON_MARK = '~';
/** Deeper values take the v8 path: the check stays cheap, and cycles cannot recurse far. */
const MAX_DEPTH = 32;

/** Encodes a value for a job or a reply; `label` names it in the error when it cannot be stored. */
export function encodeWire(value: unknown, label: string): string {
  if (jsonExact(value, 0)) return JSON_MARK + JSON.stringify(value);
  return encodeValue(value, label).toString('base64');
}

/**
 * A value to travel inside a job's JSON: itself when JSON keeps it exactly (no second encoding, no escaping), else
 * its v8 encoding in base64. Only for values that are never strings themselves (a string means encoded).
 */
export function wireObject<T extends object>(value: T, label: string): T | string {
  if (jsonExact(value, 0)) return value;
  return encodeValue(value, label).toString('base64');
}

/** Decodes what {@link encodeWire} wrote (or the base64 v8 payload an earlier release wrote). */
export function decodeWire(s: string): unknown {
  if (s.charCodeAt(0) === 126 /* ~ */) return JSON.parse(s.slice(1));
  return decodeValue(Buffer.from(s, 'base64'));
}

/** True when JSON.parse(JSON.stringify(v)) is the same value: plain data only, nothing JSON drops or changes. */
function jsonExact(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object': {
      if (v === null) return true;
      if (depth >= MAX_DEPTH) return false;
      if (Array.isArray(v)) {
        if (Object.getPrototypeOf(v) !== Array.prototype) return false;
        for (let i = 0; i < v.length; i++) if (!(i in v) || !jsonExact(v[i], depth + 1)) return false;
        return Object.keys(v).length === v.length;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const k in v) {
        if (!Object.hasOwn(v, k)) return false;
        if (!jsonExact((v as Record<string, unknown>)[k], depth + 1)) return false;
      }
      // Symbol keys and non-enumerable own properties are dropped by both encodings alike; a `__proto__` own key
      // would come back from JSON.parse as a prototype-less own key too, so it needs no special case.
      return true;
    }
    default:
      // undefined (dropped or turned into null by JSON), bigint, function, symbol
      return false;
  }
}
