import { useEffect, useState } from 'react';
import type { TaskDef } from '../api/types.ts';
import { SchemaField } from './SchemaField.tsx';
import type { FieldIssue, Peer } from './types.ts';

// The side panel: every field of one task, written to the shared document as you type (one Y.Map key per
// field, so two people editing different fields both keep theirs). Issues from the JSON Schema show under the
// field they concern; a viewer, or anyone while another user holds the task's lock, sees the fields read-only.

interface Props {
  task: TaskDef;
  issues: FieldIssue[];
  readOnly: boolean;
  lockedBy: string | null;
  lockedByMe: boolean;
  editors: Peer[];
  taskIds: string[];
  onField(path: string[], value: unknown): void;
  onRename(to: string): void;
  onLock(lock: boolean): void;
  onRemoveDependency(dep: string): void;
  /** Focus moved into (or out of) a field: presence says "editing", nested maps get prepared. */
  onFocusField(editing: boolean, path?: string[]): void;
  onClose(): void;
}

const KNOWN = new Set(['id', 'name', 'agentId', 'type', 'input', 'dependencies', 'when', 'forEach', 'while', 'maxIterations', 'retry', 'timeoutMs', 'onError', 'cache', 'description', 'output']);
const num = (v: string): unknown => (v.trim() === '' ? undefined : Number.isFinite(Number(v)) ? Number(v) : v);
const str = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

function Issues({ issues, field }: { issues: FieldIssue[]; field: string }) {
  const mine = issues.filter((i) => i.field === field || i.field.startsWith(`${field}.`) || i.field.startsWith(`${field}[`));
  if (!mine.length) return null;
  return (
    <div className="field-error" role="alert">
      {mine.map((i, n) => <div key={n}>{i.field !== field ? `${i.field}: ` : ''}{i.message}</div>)}
    </div>
  );
}

export function TaskPanel(p: Props) {
  const { task, issues } = p;
  const disabled = p.readOnly || (p.lockedBy !== null && !p.lockedByMe);
  const [idDraft, setIdDraft] = useState(task.id);
  useEffect(() => setIdDraft(task.id), [task.id]);
  const input = (task.input ?? {}) as Record<string, unknown>;
  const retry = (task.retry ?? {}) as Record<string, unknown>;
  const onError = task.onError;
  const onErrorKind = typeof onError === 'object' && onError ? 'fallback' : (onError ?? 'fail');

  const text = (label: string, path: string[], value: unknown, opts: { area?: boolean; number?: boolean; placeholder?: string } = {}) => {
    const field = path.join('.');
    const common = {
      id: `f-${field}`,
      name: field,
      value: str(value),
      disabled,
      placeholder: opts.placeholder,
      'aria-invalid': issues.some((i) => i.field === field) || undefined,
      onFocus: () => p.onFocusField(true, path),
      onBlur: () => p.onFocusField(false),
    };
    return (
      <div className="field">
        <label htmlFor={common.id}>{label}</label>
        {opts.area ? (
          <textarea {...common} rows={4} onChange={(e) => p.onField(path, e.target.value)} />
        ) : (
          <input {...common} inputMode={opts.number ? 'numeric' : undefined} onChange={(e) => p.onField(path, opts.number ? num(e.target.value) : e.target.value)} />
        )}
        <Issues issues={issues} field={field} />
      </div>
    );
  };

  return (
    <aside className="panel" aria-label={`Task ${task.id}`} data-testid="task-panel">
      <header>
        <h2>Task</h2>
        <button type="button" className="link" onClick={p.onClose} aria-label="Close panel">×</button>
      </header>
      {p.editors.length > 0 && <div className="muted small">Also here: {p.editors.map((e) => e.name).join(', ')}</div>}
      {p.lockedBy && !p.lockedByMe && <div className="warn" role="status">🔒 Locked by {p.lockedBy}: read-only until they release it.</div>}
      {!p.readOnly && (
        <div className="panel-actions">
          {p.lockedByMe ? (
            <button type="button" onClick={() => p.onLock(false)}>Release lock</button>
          ) : (
            <button type="button" disabled={p.lockedBy !== null} onClick={() => p.onLock(true)}>Lock task</button>
          )}
        </div>
      )}
      <div className="field">
        <label htmlFor="f-id">Id</label>
        <input
          id="f-id"
          name="id"
          value={idDraft}
          disabled={disabled}
          onChange={(e) => setIdDraft(e.target.value)}
          onBlur={() => idDraft !== task.id && p.onRename(idDraft)}
          onKeyDown={(e) => e.key === 'Enter' && idDraft !== task.id && p.onRename(idDraft)}
        />
        <Issues issues={issues} field="id" />
      </div>
      {text('Name', ['name'], task.name)}
      {text('Agent', ['agentId'], task.agentId)}
      <div className="field">
        <label htmlFor="f-type">Type</label>
        <select id="f-type" value={task.type ?? ''} disabled={disabled} onChange={(e) => p.onField(['type'], e.target.value || undefined)}>
          <option value="">(unspecified)</option>
          <option value="sequential">sequential</option>
          <option value="parallel">parallel</option>
        </select>
        <Issues issues={issues} field="type" />
      </div>
      {text('Prompt template', ['input', 'prompt'], input.prompt, { area: true, placeholder: 'Use {{ input.x }} and {{ outputs.task.field }}' })}
      <div className="field">
        <span className="label">Dependencies</span>
        <ul className="deps">
          {(task.dependencies ?? []).map((d) => (
            <li key={d}>
              {d}
              {!disabled && <button type="button" className="link" aria-label={`Remove dependency ${d}`} onClick={() => p.onRemoveDependency(d)}>×</button>}
            </li>
          ))}
          {(task.dependencies ?? []).length === 0 && <li className="muted">none — drag from a node's right handle to connect</li>}
        </ul>
        <Issues issues={issues} field="dependencies" />
      </div>
      {text('When (condition)', ['when'], task.when, { placeholder: 'outputs.review.score >= 0.8' })}
      {text('For each (list expression)', ['forEach'], task.forEach)}
      {text('While (loop condition)', ['while'], task.while)}
      {text('Max iterations', ['maxIterations'], task.maxIterations, { number: true })}
      <fieldset>
        <legend>Retry</legend>
        {text('Max attempts', ['retry', 'maxAttempts'], retry.maxAttempts, { number: true })}
        {text('Initial delay (ms)', ['retry', 'initialDelayMs'], retry.initialDelayMs, { number: true })}
        {text('Backoff multiplier', ['retry', 'backoffMultiplier'], retry.backoffMultiplier, { number: true })}
      </fieldset>
      {text('Timeout (ms)', ['timeoutMs'], task.timeoutMs, { number: true })}
      <div className="field">
        <label htmlFor="f-onError">On error</label>
        <select
          id="f-onError"
          value={onErrorKind}
          disabled={disabled}
          onChange={(e) => p.onField(['onError'], e.target.value === 'fallback' ? { fallback: p.taskIds.find((t) => t !== task.id) ?? '' } : e.target.value === 'fail' ? undefined : e.target.value)}
        >
          <option value="fail">fail the workflow</option>
          <option value="continue">continue</option>
          <option value="fallback">run a fallback task</option>
        </select>
        {onErrorKind === 'fallback' && (
          <select aria-label="Fallback task" value={(onError as { fallback: string }).fallback} disabled={disabled} onChange={(e) => p.onField(['onError', 'fallback'], e.target.value)}>
            {p.taskIds.filter((t) => t !== task.id).map((t) => <option key={t} value={t}>{t}</option>)}
          </select>
        )}
        <Issues issues={issues} field="onError" />
      </div>
      <div className="field checkbox">
        <label>
          <input type="checkbox" checked={task.cache === true} disabled={disabled} onChange={(e) => p.onField(['cache'], e.target.checked || undefined)} /> Cache identical runs
        </label>
      </div>
      <SchemaField
        schema={(task.output as { schema?: unknown } | undefined)?.schema}
        disabled={disabled}
        onChange={(schema) => p.onField(['output'], schema === undefined ? undefined : { schema })}
        onFocus={() => p.onFocusField(true)}
        onBlur={() => p.onFocusField(false)}
      />
      <Issues issues={issues} field="output" />
      {text('Description', ['description'], task.description, { area: true })}
      {issues
        .filter((i) => !KNOWN.has(i.field.split(/[.[]/)[0]))
        .map((i, n) => <div key={n} className="field-error" role="alert">{i.field || 'task'}: {i.message}</div>)}
    </aside>
  );
}
