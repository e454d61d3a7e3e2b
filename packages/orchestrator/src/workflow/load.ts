import { readFile, stat } from 'node:fs/promises';
import { type Document, isMap, isScalar, LineCounter, parseDocument, visit } from 'yaml';
import { CodexError, type ErrorCode, ErrorCodes } from '../errors.js';

// Reading workflow files and untrusted values safely: size limits before parsing, syntax errors with a line
// number, and no `__proto__` / `constructor` / `prototype` keys anywhere (prototype pollution).

export const DEFAULT_MAX_WORKFLOW_BYTES = 5 * 1024 * 1024;
export const DEFAULT_MAX_INPUT_BYTES = 10 * 1024 * 1024;
const MAX_DEPTH = 64;
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export type WorkflowFormat = 'json' | 'yaml';

export function detectFormat(name: string): WorkflowFormat {
  return /\.json$/i.test(name) ? 'json' : 'yaml';
}

/** Throws UNSAFE_KEY for prototype-polluting keys and INPUT_TOO_LARGE for over-deep values. */
export function assertSafeValue(value: unknown, label: string, path = label, depth = 0): void {
  if (depth > MAX_DEPTH) {
    throw new CodexError(ErrorCodes.INPUT_TOO_LARGE, `${label} is nested deeper than ${MAX_DEPTH} levels at ${path}`, {
      issues: [{ path, message: 'nested too deep' }],
    });
  }
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) assertSafeValue(value[i], label, `${path}[${i}]`, depth + 1);
    return;
  }
  for (const key of Object.keys(value)) {
    if (UNSAFE_KEYS.has(key)) {
      throw new CodexError(ErrorCodes.UNSAFE_KEY, `${label} contains the forbidden key "${key}" at ${path}`, {
        issues: [{ path: `${path}.${key}`, message: `forbidden key "${key}"` }],
      });
    }
    assertSafeValue((value as Record<string, unknown>)[key], label, `${path}.${key}`, depth + 1);
  }
}

/** Nesting a YAML text may open before parsing: a few thousand levels overflow the parser's stack and V8 then
 * aborts the whole process (a fatal OOM in the RegExp compiler), which no try/catch can stop. */
const MAX_YAML_NESTING = 4 * MAX_DEPTH;

/**
 * Rejects YAML nested deeper than MAX_YAML_NESTING before the parser sees it. An upper bound, counted per line:
 * open indentation levels, block indicators (`- `, `? `, `: `) opening levels on the line, and open flow brackets.
 */
export function assertYamlNesting(text: string, source: string): void {
  const indents: number[] = [];
  let flow = 0;
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    let i = 0;
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (i === line.length || line[i] === '#') continue;
    while (indents.length && indents[indents.length - 1] >= i) indents.pop();
    indents.push(i);
    let inline = 0;
    while ((line[i] === '-' || line[i] === '?' || line[i] === ':') && (line[i + 1] === ' ' || line[i + 1] === '\t')) {
      inline++;
      i += 2;
      while (line[i] === ' ' || line[i] === '\t') i++;
    }
    let deepest = flow;
    for (; i < line.length; i++) {
      const c = line[i];
      if (c === '[' || c === '{') deepest = Math.max(deepest, ++flow);
      else if ((c === ']' || c === '}') && flow > 0) flow--;
    }
    if (indents.length + inline + deepest > MAX_YAML_NESTING)
      throw new CodexError(
        ErrorCodes.INPUT_TOO_LARGE,
        `${source} is nested deeper than ${MAX_YAML_NESTING} levels (line ${lineNo})`,
        { issues: [{ path: `line ${lineNo}`, message: 'nested too deep' }] },
      );
  }
}

/**
 * A plain copy of an untrusted value, with the checks of `assertSafeValue`: plain objects and arrays are copied by
 * reading each own enumerable property once, so a Proxy trap or a getter that throws becomes a CodexError (`code`,
 * naming where) and one that answers differently later cannot change what was validated. Other objects (Date, Map,
 * class instances) are kept as they are.
 */
export function plainCopy(value: unknown, label: string, code: ErrorCode): unknown {
  return copyValue(value, label, code, '$', 0);
}

function copyValue(value: unknown, label: string, code: ErrorCode, path: string, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) {
    throw new CodexError(ErrorCodes.INPUT_TOO_LARGE, `${label} is nested deeper than ${MAX_DEPTH} levels at ${path}`, {
      issues: [{ path, message: 'nested too deep' }],
    });
  }
  const read = <T>(at: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw new CodexError(code, `${label} could not be read at ${at}: ${(err as Error)?.message ?? String(err)}`, {
        issues: [{ path: at, message: 'could not be read' }],
        cause: err,
      });
    }
  };
  if (read(path, () => Array.isArray(value))) {
    const arr = value as unknown[];
    const n = read(path, () => arr.length);
    const out: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const at = `${path}[${i}]`;
      out[i] = copyValue(
        read(at, () => arr[i]),
        label,
        code,
        at,
        depth + 1,
      );
    }
    return out;
  }
  const proto = read(path, () => Object.getPrototypeOf(value));
  if (proto !== Object.prototype && proto !== null) return value;
  const src = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of read(path, () => Object.keys(src))) {
    const at = `${path}.${key}`;
    if (UNSAFE_KEYS.has(key)) {
      throw new CodexError(ErrorCodes.UNSAFE_KEY, `${label} contains the forbidden key "${key}" at ${path}`, {
        issues: [{ path: at, message: `forbidden key "${key}"` }],
      });
    }
    out[key] = copyValue(
      read(at, () => src[key]),
      label,
      code,
      at,
      depth + 1,
    );
  }
  return out;
}

/** Size of a value as JSON, stopping early once over `limit`. */
export function assertMaxSize(value: unknown, label: string, limit: number): void {
  let size: number;
  try {
    size = value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value) ?? '');
  } catch (err) {
    throw new CodexError(ErrorCodes.INPUT_TOO_LARGE, `${label} is not serialisable: ${(err as Error).message}`);
  }
  if (size > limit) {
    throw new CodexError(ErrorCodes.INPUT_TOO_LARGE, `${label} is ${size} bytes; the limit is ${limit} bytes`, {
      issues: [{ message: `${size} > ${limit} bytes` }],
    });
  }
}

/** Parses workflow text (JSON or YAML) with size limits, line-numbered syntax errors and unsafe keys refused. */
export function parseWorkflowText(
  text: string,
  opts: { format?: WorkflowFormat; source?: string; maxBytes?: number } = {},
): unknown {
  const source = opts.source ?? 'workflow';
  const limit = opts.maxBytes ?? DEFAULT_MAX_WORKFLOW_BYTES;
  const bytes = Buffer.byteLength(text);
  if (bytes > limit) {
    throw new CodexError(ErrorCodes.INPUT_TOO_LARGE, `${source} is ${bytes} bytes; the limit is ${limit} bytes`);
  }
  const format = opts.format ?? (text.trimStart().startsWith('{') ? 'json' : 'yaml');
  let value: unknown;
  if (format === 'json') {
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new CodexError(ErrorCodes.WORKFLOW_PARSE, `${source} is not valid JSON: ${(err as Error).message}`, {
        cause: err,
      });
    }
  } else {
    // maxAliasCount bounds "billion laughs" alias expansion. Duplicate keys are found after parsing, in one pass:
    // the parser's own `uniqueKeys` compares each key with every earlier one (minutes for 100k keys).
    assertYamlNesting(text, source);
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: true, lineCounter });
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      const where = e.linePos?.[0] ? ` (line ${e.linePos[0].line}, column ${e.linePos[0].col})` : '';
      throw new CodexError(
        ErrorCodes.WORKFLOW_PARSE,
        `${source} is not valid YAML${where}: ${e.message.split('\n')[0]}`,
        {
          issues: doc.errors.map((x) => ({ message: x.message.split('\n')[0] })),
        },
      );
    }
    const dup = firstDuplicateKey(doc);
    if (dup) {
      const { line, col } = lineCounter.linePos(dup.offset);
      throw new CodexError(
        ErrorCodes.WORKFLOW_PARSE,
        `${source} is not valid YAML (line ${line}, column ${col}): duplicate key "${dup.key}"`,
        { issues: [{ path: `line ${line}`, message: `duplicate key "${dup.key}"` }] },
      );
    }
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      throw new CodexError(ErrorCodes.WORKFLOW_PARSE, `${source} could not be read: ${(err as Error).message}`);
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CodexError(ErrorCodes.WORKFLOW_PARSE, `${source} must be an object with id, name and tasks`);
  }
  assertSafeValue(value, source, '$');
  return value;
}

/** The first mapping key that repeats within its mapping (compared as the object key it becomes), in one pass. */
function firstDuplicateKey(doc: Document): { key: string; offset: number } | undefined {
  let found: { key: string; offset: number } | undefined;
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return;
      const seen = new Set<string>();
      for (const pair of map.items) {
        const k = pair.key;
        if (!isScalar(k)) continue;
        const key = String(k.value);
        if (seen.has(key)) {
          found = { key, offset: k.range?.[0] ?? 0 };
          return visit.BREAK;
        }
        seen.add(key);
      }
    },
  });
  return found;
}

/** Reads and parses a workflow file (.yaml, .yml or .json) with the same checks as `parseWorkflowText`. */
export async function readWorkflowFile(path: string, maxBytes = DEFAULT_MAX_WORKFLOW_BYTES): Promise<unknown> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw new CodexError(
      ErrorCodes.WORKFLOW_PARSE,
      `Cannot read workflow file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  if (size > maxBytes)
    throw new CodexError(ErrorCodes.INPUT_TOO_LARGE, `${path} is ${size} bytes; the limit is ${maxBytes} bytes`);
  const text = await readFile(path, 'utf8');
  return parseWorkflowText(text, { format: detectFormat(path), source: path, maxBytes });
}
