import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type AgentDefinition,
  CodexError,
  ErrorCodes,
  type MultiAgentOrchestrator,
  parseWorkflowText,
} from '@codexos/multi-agent-orchestrator';

/** `--input k=v` pairs: values that parse as JSON are taken as JSON (numbers, booleans, lists), else as text. */
export function parseInputs(pairs: string[] = []): Record<string, unknown> {
  const input: Record<string, unknown> = Object.create(null);
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new CodexError(ErrorCodes.CONFIG_INVALID, `--input expects key=value, got "${p}"`);
    const key = p.slice(0, eq);
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
      throw new CodexError(ErrorCodes.UNSAFE_KEY, `--input key "${key}" is not allowed`);
    }
    const raw = p.slice(eq + 1);
    try {
      input[key] = JSON.parse(raw);
    } catch {
      input[key] = raw;
    }
  }
  return { ...input };
}

let tsLoader: Promise<unknown> | undefined;

/** TypeScript agent modules load through tsx's loader, registered once and only when one is asked for. */
function loadTypeScript(): Promise<unknown> {
  tsLoader ??= import('tsx/esm/api').then(({ register }) => register());
  return tsLoader;
}

/** Loads `--agents module.ts|js`: its default export (or `agents`) is an array of agent definitions. */
export async function loadAgents(path?: string): Promise<AgentDefinition[]> {
  return (await loadAgentsModule(path)).agents;
}

/** The agents module, with the MCP servers its agents' tools name (`export const mcp = { servers: {…} }`). */
export async function loadAgentsModule(path?: string): Promise<{ agents: AgentDefinition[]; mcp?: unknown }> {
  if (!path) return { agents: [] };
  let mod: { default?: unknown; agents?: unknown; mcp?: unknown };
  try {
    if (/\.[cm]?tsx?$/.test(path) && !(globalThis as Record<symbol, unknown>)[Symbol.for('codexos.tsLoader')])
      await loadTypeScript();
    mod = await import(pathToFileURL(resolve(path)).href);
  } catch (err) {
    throw new CodexError(ErrorCodes.CONFIG_INVALID, `cannot load agents module ${path}: ${(err as Error).message}`);
  }
  const list = mod.default ?? mod.agents;
  if (!Array.isArray(list))
    throw new CodexError(
      ErrorCodes.CONFIG_INVALID,
      `${path} must export an array of agents (default export or \`agents\`)`,
    );
  return { agents: list as AgentDefinition[], mcp: mod.mcp };
}

/** `--model-agents`: absent = none; bare flag = every id the module does not define; a list = only those. */
export type ModelAgentsFlag = boolean | string | undefined;

function allowedModelAgents(flag: ModelAgentsFlag): ((id: string) => boolean) | undefined {
  if (flag === undefined || flag === false) return undefined;
  if (flag === true || flag.trim() === '*') return () => true;
  const ids = new Set(
    flag
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
  return (id) => ids.has(id);
}

/**
 * Registers the given agents; an agent id the workflow names that they do not define is refused (a typo, or a
 * forgotten `--agents`, must not quietly become a model's answer), unless `--model-agents` allows it, in which
 * case it becomes a model-backed agent (the offline `local` model when no provider key is configured).
 */
export function registerAgentsFor(
  o: MultiAgentOrchestrator,
  tasks: { taskId: string; agentId: string }[],
  given: AgentDefinition[],
  modelAgents?: ModelAgentsFlag,
): string[] {
  for (const a of given) o.registerAgent(a);
  const allowed = allowedModelAgents(modelAgents);
  const unknown = new Map<string, string[]>();
  const added: string[] = [];
  for (const { taskId, agentId } of tasks) {
    if (o.agents.has(agentId)) continue;
    if (allowed?.(agentId)) {
      o.registerAgent({ id: agentId, name: agentId, instructions: `You are the ${agentId} agent.` });
      added.push(agentId);
      continue;
    }
    unknown.set(agentId, [...(unknown.get(agentId) ?? []), taskId]);
  }
  if (unknown.size > 0) {
    const ids = [...unknown.keys()];
    throw new CodexError(
      ErrorCodes.AGENT_UNKNOWN,
      `the workflow names agent${ids.length > 1 ? 's' : ''} that ${given.length ? 'the --agents module does not define' : 'no --agents module defines'}: ${ids.join(', ')}. ` +
        `Define ${ids.length > 1 ? 'them' : 'it'} in the --agents module, or run ${ids.length > 1 ? 'them' : 'it'} as model-only agents with --model-agents ${ids.join(',')}`,
      {
        issues: [...unknown].map(([agentId, taskIds]) => ({
          taskId: taskIds[0],
          path: 'agentId',
          message: `unknown agent "${agentId}"${taskIds.length > 1 ? ` (also tasks ${taskIds.slice(1).join(', ')})` : ''}`,
        })),
      },
    );
  }
  return added;
}

const MAX_INPUT_FILE_BYTES = 10 * 1024 * 1024;

/** `--input-file input.json|yaml`: an object of workflow inputs, read with the same safety checks as workflows. */
export async function readInputFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CodexError(
      ErrorCodes.CONFIG_INVALID,
      `Cannot read input file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const format = /\.json$/i.test(path) ? 'json' : 'yaml';
  try {
    return parseWorkflowText(text, { format, source: path, maxBytes: MAX_INPUT_FILE_BYTES }) as Record<string, unknown>;
  } catch (err) {
    // The parser's "must be an object with id, name and tasks" is about workflows; inputs only need an object.
    if ((err as CodexError).code === ErrorCodes.WORKFLOW_PARSE && /must be an object/.test((err as Error).message))
      throw new CodexError(ErrorCodes.CONFIG_INVALID, `${path} must hold an object of inputs (key: value)`);
    throw err;
  }
}

/** Which tasks of a (stored or raw) definition loop, and how: the summary names their units. */
export function loopKinds(definition: unknown): Map<string, 'forEach' | 'while'> {
  const kinds = new Map<string, 'forEach' | 'while'>();
  const tasks = (definition as { tasks?: unknown } | undefined)?.tasks;
  if (!Array.isArray(tasks)) return kinds;
  for (const t of tasks as Array<{ id?: unknown; forEach?: unknown; while?: unknown }>) {
    if (typeof t?.id !== 'string') continue;
    if (t.forEach) kinds.set(t.id, 'forEach');
    else if (t.while) kinds.set(t.id, 'while');
  }
  return kinds;
}
