import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type AgentDefinition,
  CodexError,
  ErrorCodes,
  type MultiAgentOrchestrator,
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

/** Loads `--agents module.ts|js`: its default export (or `agents`) is an array of agent definitions. */
export async function loadAgents(path?: string): Promise<AgentDefinition[]> {
  if (!path) return [];
  let mod: { default?: unknown; agents?: unknown };
  try {
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
  return list as AgentDefinition[];
}

/**
 * Registers the given agents, then a model-backed agent for every other agent id the workflow names, so a
 * workflow file runs on its own (with the offline local model when no provider key is configured).
 */
export function registerAgentsFor(
  o: MultiAgentOrchestrator,
  agentIds: Iterable<string>,
  given: AgentDefinition[],
): string[] {
  for (const a of given) o.registerAgent(a);
  const added: string[] = [];
  for (const id of new Set(agentIds)) {
    if (o.agents.has(id)) continue;
    o.registerAgent({ id, name: id, instructions: `You are the ${id} agent.` });
    added.push(id);
  }
  return added;
}
