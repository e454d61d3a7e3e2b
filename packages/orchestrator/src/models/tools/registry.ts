import { CodexError, ErrorCodes } from '../../errors.js';
import { type NormalisedSchema, normaliseSchema } from '../schema.js';
import type { ToolContext, ToolDefinition, ToolRef, ToolSpec } from '../types.js';

/** A tool ready for the loop: the name the model sees (`wireName`), its schema in both forms, its handler. */
export interface ResolvedTool {
  /** As the agent named it: `search`, `github/create_issue`. */
  name: string;
  /** Provider-safe name (`[A-Za-z0-9_-]{1,64}`). */
  wireName: string;
  description?: string;
  schema: NormalisedSchema;
  handler: (args: unknown, ctx: ToolContext) => unknown | Promise<unknown>;
}

/** Where `server/tool` names come from (the MCP connections). */
export interface ToolSource {
  has(server: string): boolean;
  list(server: string): Promise<ResolvedTool[]>;
}

export function toSpec(t: ResolvedTool): ToolSpec {
  return { name: t.wireName, description: t.description, parameters: t.schema.json };
}

function resolveDefinition(def: ToolDefinition): ResolvedTool {
  return {
    name: def.name,
    wireName: def.name,
    description: def.description,
    schema: normaliseSchema(def.inputSchema, `input schema of tool "${def.name}"`),
    handler: def.handler as ResolvedTool['handler'],
  };
}

/**
 * Tools by name: those registered in code and, for `server/tool` or `server/*`, those of a connected MCP server.
 * Agents may also pass definitions inline.
 */
export class ToolRegistry {
  private readonly local = new Map<string, ToolDefinition>();

  constructor(private readonly source?: ToolSource) {}

  register(def: ToolDefinition): void {
    if (!def?.name || typeof def.handler !== 'function') {
      throw new CodexError(ErrorCodes.AGENT_INVALID, `A tool needs a name and a handler function`);
    }
    normaliseSchema(def.inputSchema, `input schema of tool "${def.name}"`);
    this.local.set(def.name, def);
  }

  has(name: string): boolean {
    return this.local.has(name);
  }

  async resolve(refs: ToolRef[]): Promise<ResolvedTool[]> {
    const out: ResolvedTool[] = [];
    for (const ref of refs) {
      if (typeof ref === 'object' && typeof (ref as ToolDefinition).handler === 'function') {
        out.push(resolveDefinition(ref as ToolDefinition));
        continue;
      }
      const name = typeof ref === 'string' ? ref : ref.name;
      const local = this.local.get(name);
      if (local) {
        out.push(resolveDefinition(local));
        continue;
      }
      const slash = name.indexOf('/');
      const server = slash > 0 ? name.slice(0, slash) : undefined;
      if (server && this.source?.has(server)) {
        const pattern = name.slice(slash + 1);
        const tools = await this.source.list(server);
        const hit = pattern === '*' ? tools : tools.filter((t) => t.name === name);
        if (hit.length === 0) {
          throw new CodexError(
            ErrorCodes.TOOL_UNKNOWN,
            `MCP server "${server}" has no tool "${pattern}" (it has: ${tools.map((t) => t.name).join(', ') || 'none'})`,
          );
        }
        out.push(...hit);
        continue;
      }
      throw new CodexError(
        ErrorCodes.TOOL_UNKNOWN,
        server
          ? `Unknown tool "${name}": no MCP server "${server}" is configured (mcp.servers)`
          : `Unknown tool "${name}": register it with registerTool() or give the agent its definition`,
      );
    }
    return withWireNames(out);
  }
}

/** Provider-safe, unique wire names. */
function withWireNames(tools: ResolvedTool[]): ResolvedTool[] {
  const seen = new Set<string>();
  const names = new Set<string>();
  // The same tool named twice (`search` and `web/*`) is offered once.
  const unique = tools.filter((t) => !names.has(t.name) && names.add(t.name));
  return unique.map((t) => {
    let w = t.wireName.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 60) || 'tool';
    for (let n = 2; seen.has(w); n++) w = `${w.slice(0, 58)}_${n}`;
    seen.add(w);
    return w === t.wireName ? t : { ...t, wireName: w };
  });
}
