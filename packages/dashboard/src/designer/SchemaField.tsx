import { useEffect, useState } from 'react';

// A task's structured-output JSON Schema (`output.schema`), edited as JSON text. The shared document only ever
// receives parsed JSON objects: while the text does not parse, the draft stays local and the problem is shown.

interface Props {
  schema: unknown;
  disabled: boolean;
  onChange(schema: Record<string, unknown> | undefined): void;
  onFocus(): void;
  onBlur(): void;
}

export function parseSchemaText(text: string): { ok: true; schema: Record<string, unknown> | undefined } | { ok: false; error: string } {
  if (text.trim() === '') return { ok: true, schema: undefined };
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, error: 'a JSON Schema must be a JSON object' };
    return { ok: true, schema: v as Record<string, unknown> };
  } catch (e) {
    return { ok: false, error: `not valid JSON: ${(e as Error).message}` };
  }
}

const show = (schema: unknown) => (schema === undefined ? '' : JSON.stringify(schema, null, 2));

export function SchemaField(p: Props) {
  const [draft, setDraft] = useState(() => show(p.schema));
  const [error, setError] = useState<string | null>(null);
  const remote = show(p.schema);
  // Another participant's edit replaces the draft unless ours is unparsed work in progress.
  useEffect(() => {
    if (error === null) setDraft(remote);
  }, [remote]); // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <div className="field">
      <label htmlFor="f-output.schema">Output schema (JSON)</label>
      <textarea
        id="f-output.schema"
        name="output.schema"
        rows={5}
        value={draft}
        disabled={p.disabled}
        placeholder='{ "type": "object", "properties": { … } }'
        aria-invalid={error !== null || undefined}
        onFocus={p.onFocus}
        onBlur={p.onBlur}
        onChange={(e) => {
          setDraft(e.target.value);
          const r = parseSchemaText(e.target.value);
          setError(r.ok ? null : r.error);
          if (r.ok) p.onChange(r.schema);
        }}
      />
      {error && <div className="field-error" role="alert">output.schema: {error}</div>}
    </div>
  );
}
