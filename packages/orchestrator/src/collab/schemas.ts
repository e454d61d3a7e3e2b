import { z } from 'zod';

// zod schemas for everything that crosses the edge: the config section, manager options and op messages.

/** zod schema of the `collaboration` config section, with defaults. */
export const collabConfigSchema = z
  .object({
    enableRealtime: z.boolean().default(true),
    maxParticipants: z.number().int().positive().default(10),
    sessionTimeout: z.number().int().positive().default(3_600_000),
    conflictResolution: z.enum(['operational-transform', 'crdt', 'last-write-wins', 'custom']).default('crdt'),
    /** Bounds that keep one client from costing the server or the other clients more than its share. */
    limits: z
      .object({
        /** Bytes queued for a socket above which it is closed as a slow reader (close code 4509). */
        maxBufferedBytes: z
          .number()
          .int()
          .positive()
          .default(4 * 1024 * 1024),
        /** Awareness client ids one connection may introduce; more are ignored. */
        maxClientIdsPerConnection: z.number().int().positive().default(4),
        /** Presence entries per document; more are ignored (kept below the 10 000 a message may carry). */
        maxPresenceEntries: z.number().int().positive().max(10_000).default(1000),
        /** Largest awareness state accepted (characters of JSON); larger ones are ignored. */
        maxPresenceStateChars: z
          .number()
          .int()
          .positive()
          .default(16 * 1024),
        /** Presence not renewed for this long is dropped (stock clients renew every 15 s). */
        presenceTimeoutMs: z.number().int().positive().max(2_147_483_647).default(30_000),
        /** Ended sessions kept readable through getSession() before they are forgotten. */
        retainEndedSessions: z.number().int().min(0).default(100),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const key = z.union([z.string().max(200), z.number().int().min(0).max(1_000_000)]);

/** zod schema of one incoming path operation (`op` message) from a client. */
export const updateInputSchema = z
  .object({
    id: z.string().max(200).optional(),
    operation: z
      .object({ type: z.enum(['set', 'insert', 'delete', 'move']), to: z.number().int().min(0).optional() })
      .strict(),
    path: z.array(key).min(2).max(32),
    value: z.unknown().optional(),
    baseVersion: z.number().int().min(0).optional(),
    timestamp: z
      .object({ wall: z.number(), logical: z.number().int().min(0), node: z.string().max(200) })
      .strict()
      .optional(),
  })
  .strict();

export const cursorSchema = z.object({ x: z.number(), y: z.number() });

/** The awareness state our dashboard sets (stock clients may send anything; we only read these fields). */
export const presenceStateSchema = z
  .object({
    cursor: cursorSchema.nullish(),
    selectedTaskId: z.string().nullish(),
    activity: z
      .union([
        z.object({ kind: z.literal('idle') }),
        z.object({ kind: z.literal('viewing') }),
        z.object({ kind: z.literal('editing'), taskId: z.string() }),
      ])
      .nullish(),
  })
  .passthrough();
