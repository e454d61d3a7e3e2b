import { parseDocument, stringify } from 'yaml';
import type { TaskDef, WorkflowDefinition } from '../api/types.ts';
import { validateGraph } from '../designer/validate.ts';

// Import of a workflow file: parse YAML or JSON locally first, so syntax errors come back with line numbers and
// nothing is sent (or changed) until the file is a well-formed workflow.

export interface ImportIssue {
  line?: number;
  column?: number;
  message: string;
}

export type ImportResult = { ok: true; definition: WorkflowDefinition } | { ok: false; issues: ImportIssue[] };

/** Parse a YAML or JSON workflow file and check it; issues carry 1-based line numbers where known. */
export function parseWorkflowFile(text: string, fileName = ''): ImportResult {
  // JSON is parsed by the YAML parser too (YAML 1.2 is a superset of JSON): it reports line numbers, which
  // JSON.parse does not.
  const isJson = /\.json$/i.test(fileName) || /^\s*[{[]/.test(text);
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length)
    return {
      ok: false,
      issues: doc.errors.map((e) => ({
        line: e.linePos?.[0]?.line,
        column: e.linePos?.[0]?.col,
        message: `Invalid ${isJson ? 'JSON' : 'YAML'}: ${e.message.split('\n')[0]}`,
      })),
    };
  const lineFor = (path: Array<string | number>): number | undefined => {
    for (let n = path.length; n > 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return text.slice(0, node.range[0]).split('\n').length;
    }
    return undefined;
  };
  return checkDefinition(doc.toJS(), lineFor);
}

export function checkDefinition(
  data: unknown,
  lineFor: (path: Array<string | number>) => number | undefined = () => undefined,
): ImportResult {
  const issues: ImportIssue[] = [];
  if (!data || typeof data !== 'object' || Array.isArray(data))
    return { ok: false, issues: [{ line: 1, message: 'A workflow file must be a mapping with id and tasks' }] };
  const d = data as Record<string, unknown>;
  if (typeof d.id !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/.test(d.id))
    issues.push({ line: lineFor(['id']) ?? 1, message: 'id: required, letters, digits and _ . : -' });
  if (!Array.isArray(d.tasks) || d.tasks.length === 0)
    issues.push({ line: lineFor(['tasks']) ?? 1, message: 'tasks: at least one task is required' });
  else {
    const tasks = new Map<string, TaskDef>();
    d.tasks.forEach((t, i) => {
      const task = (t ?? {}) as TaskDef;
      if (typeof task.id !== 'string') {
        issues.push({ line: lineFor(['tasks', i]), message: `tasks[${i}].id: is required` });
        return;
      }
      if (tasks.has(task.id))
        issues.push({ line: lineFor(['tasks', i, 'id']), message: `tasks[${i}].id: duplicate task id '${task.id}'` });
      tasks.set(task.id, task);
    });
    const index = new Map((d.tasks as TaskDef[]).map((t, i) => [t?.id, i]));
    for (const [id, list] of validateGraph(tasks)) {
      const i = index.get(id) ?? 0;
      for (const issue of list) {
        const field = issue.field.split(/[.[]/)[0];
        issues.push({
          line: lineFor(field ? ['tasks', i, field] : ['tasks', i]),
          message: `task '${id}'${issue.field ? ` ${issue.field}` : ''}: ${issue.message}`,
        });
      }
    }
  }
  if (issues.length) return { ok: false, issues };
  return { ok: true, definition: d as unknown as WorkflowDefinition };
}

export function toYaml(def: WorkflowDefinition): string {
  return stringify(def, { lineWidth: 0 });
}
