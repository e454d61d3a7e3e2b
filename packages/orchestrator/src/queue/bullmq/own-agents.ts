import type { AgentDefinition } from '../../agents/types.js';
import type { RemoteModelCall } from '../types.js';

// Model-backed agents whose definition holds code a job cannot carry (tool handlers, a zod output schema) run on a
// worker only when that worker registered the same agent itself, from its own `--agents` module.

/** True when an output spec's schema is zod (code) rather than JSON Schema (data). */
export function isCodeSchema(o: RemoteModelCall['output']): boolean {
  return !!o && typeof (o.schema as { safeParse?: unknown }).safeParse === 'function';
}

/** True for a model-backed agent whose calls need its own definition: tools, or a zod output schema. */
export function needsOwnDefinition(agent: AgentDefinition): boolean {
  return !agent.handler && (!!agent.tools?.length || isCodeSchema(agent.output));
}

/**
 * The call a worker makes for a model-backed task, or undefined when it must stay in the orchestrator: an agent
 * with tools or a zod schema goes to workers only when one of them registered it (`workersHaveIt`), and then
 * without the schema (the worker takes it from its own registration). A task's own zod schema stays here.
 */
export function remoteModelCall(
  makeCall: () => RemoteModelCall,
  agent: AgentDefinition,
  workersHaveIt: boolean,
): RemoteModelCall | undefined {
  const code = needsOwnDefinition(agent);
  if (code && !workersHaveIt) return undefined;
  const call = makeCall();
  const codeOutput = isCodeSchema(call.output);
  if (!code) return codeOutput ? undefined : call;
  if (codeOutput && call.output !== agent.output) return undefined;
  return { ...call, output: codeOutput ? undefined : call.output, ownDefinition: true };
}
