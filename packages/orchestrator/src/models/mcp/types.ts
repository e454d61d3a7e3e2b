import { z } from 'zod';

// `mcp: { servers: { name: { command, args } | { url, headers } } }` in the orchestrator's config.
export const mcpServerSchema = z.union([
  z
    .object({
      command: z.string().min(1).describe('Executable started as a child process (stdio transport)'),
      args: z.array(z.string()).optional(),
      env: z.record(z.string(), z.string()).optional(),
      cwd: z.string().optional(),
    })
    .strict(),
  z
    .object({
      url: z.string().url().describe('Streamable HTTP endpoint'),
      headers: z.record(z.string(), z.string()).optional().describe('Sent with every request (e.g. authorization)'),
    })
    .strict(),
]);

/** zod schema of the `mcp` config section, with defaults. */
export const mcpConfigSchema = z
  .object({
    servers: z
      .record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'use letters, digits, _ and -'), mcpServerSchema)
      .default({}),
    /** Per tool call, ms. */
    callTimeoutMs: z.number().int().positive().default(60_000),
  })
  .strict();

/** One configured MCP server: a command started over stdio, or a Streamable HTTP URL. */
export type McpServerConfig = z.output<typeof mcpServerSchema>;
/** The validated `mcp` config section: named servers and the per-call timeout. */
export type McpConfig = z.output<typeof mcpConfigSchema>;
/** The `mcp` config section as a user writes it (defaults not yet applied). */
export type McpConfigInput = z.input<typeof mcpConfigSchema>;
