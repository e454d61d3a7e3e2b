import { check, type NormalisedSchema, type SchemaProblem } from './schema.js';

// Structured output: the model's answer is parsed as JSON and validated against the task's schema. Providers'
// native modes make a valid answer likely, not certain, so the check always runs.

export type Parsed = { ok: true; value: unknown } | { ok: false; problems: SchemaProblem[] };

/** The JSON in an answer: the whole text, else a fenced block, else the outermost object or array. */
export function extractJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  const t = text.trim();
  const candidates = [t];
  const fence = /```(?:json)?\s*([\s\S]*?)```/i.exec(t);
  if (fence?.[1]) candidates.push(fence[1].trim());
  const start = t.search(/[[{]/);
  if (start >= 0) {
    const end = Math.max(t.lastIndexOf('}'), t.lastIndexOf(']'));
    if (end > start) candidates.push(t.slice(start, end + 1));
  }
  for (const c of candidates) {
    try {
      return { ok: true, value: JSON.parse(c) };
    } catch {
      // try the next candidate
    }
  }
  return { ok: false, message: 'the answer is not JSON' };
}

/** Parses a model answer as JSON and validates it against a structured-output schema. */
export function parseStructured(text: string, schema: NormalisedSchema): Parsed {
  const j = extractJson(text);
  if (!j.ok) return { ok: false, problems: [{ path: '(root)', message: j.message }] };
  return check(schema, j.value);
}

/** What the model is told when its answer did not fit. */
export function correctionPrompt(problems: SchemaProblem[]): string {
  const list = problems.map((p) => `- ${p.path}: ${p.message}`).join('\n');
  return `Your answer did not match the required JSON schema:\n${list}\nReply again with only the JSON value, corrected.`;
}
