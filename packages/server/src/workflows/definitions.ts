import {
  CodexError,
  type ErrorIssue,
  isCodexError,
  type MultiAgentOrchestrator,
  parseWorkflowText,
} from '@codexos/multi-agent-orchestrator';
import { stringify } from 'yaml';
import type { Definition } from '../store/types.js';

// Turning what a client sends (an object, or YAML/JSON text) into a validated definition, with issue paths
// prefixed by where they were in the request body.

export function validateDefinition(o: MultiAgentOrchestrator, raw: unknown, where: string): Definition {
  try {
    o.validateWorkflow(raw, { checkAgents: false });
  } catch (err) {
    if (isCodexError(err)) throw prefixIssues(err, where);
    throw err;
  }
  // Keep what the author wrote (not the normalised form) so exports read like the source.
  return raw as Definition;
}

export function parseDefinitionText(text: string, format: 'yaml' | 'json' | undefined, where: string): unknown {
  try {
    return parseWorkflowText(text, { format, source: where });
  } catch (err) {
    if (isCodexError(err)) throw prefixIssues(err, where);
    throw err;
  }
}

function prefixIssues(err: CodexError, where: string): CodexError {
  const issues: ErrorIssue[] = (err.issues.length ? err.issues : [{ message: err.message }]).map((i) => ({
    ...i,
    path: i.path
      ? `${where}.${i.path.replace(/^\$\.?/, '')}`.replace(/\.$/, '')
      : i.taskId
        ? `${where}.tasks[${i.taskId}]`
        : where,
  }));
  return new CodexError(err.code, err.message, { issues });
}

export function exportDefinition(def: Record<string, unknown>, format: 'yaml' | 'json'): string {
  return format === 'json' ? `${JSON.stringify(def, null, 2)}\n` : stringify(def);
}
