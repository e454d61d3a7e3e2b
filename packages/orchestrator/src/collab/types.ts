import type { Redis } from 'ioredis';
import type { Doc as YDoc } from 'yjs';
import type { CollabStore } from './store.js';

// The collaboration pillar's types: operations, participants, locks, audit entries and the small
// extension points (ConflictStrategy, Authenticate).

/** A participant's rights on a workflow: `owner` (all, including roles), `editor` (edits) or `viewer` (read-only). */
export type Role = 'owner' | 'editor' | 'viewer';
/** Conflict-resolution strategy of a collaboration session. */
export type StrategyName = 'crdt' | 'operational-transform' | 'last-write-wins' | 'custom';
/** Kind of a path operation on the workflow document. */
export type OperationType = 'set' | 'insert' | 'delete' | 'move';
/** A path into the workflow document: root (`tasks`, `positions`, `meta`), then map keys / array indexes. */
export type Path = Array<string | number>;

/** Hybrid logical clock timestamp: wall ms, logical counter, node id (deterministic tie-break). */
export interface Hlc {
  wall: number;
  logical: number;
  node: string;
}

/** The operation every strategy accepts (the seed's `update.operation.type` / `update.path`). */
export interface UpdateInput {
  operation: { type: OperationType /** `move` only: destination index in the same array. */; to?: number };
  path: Path;
  value?: unknown;
  /** The session version the author saw; concurrent ops are those applied after it. */
  baseVersion?: number;
  /** Author's HLC (last-write-wins); the server stamps one when absent. */
  timestamp?: Hlc;
  /** Client op id, echoed in acks and used as a tie-break after the user id. */
  id?: string;
}

/** An applied update as broadcast to listeners (`updates:broadcast`). */
export interface AppliedUpdate {
  operation: { type: OperationType; to?: number };
  path: Path;
  value?: unknown;
  userId: string;
  sessionId?: string;
  workflowId: string;
  version: number;
  timestamp: number;
  /** `op` for applyUpdate / op messages, `yjs` for updates from Yjs clients. */
  source: 'op' | 'yjs';
  id?: string;
}

/** Outcome of applying one operation: whether it applied, the new version and what was applied after transformation. */
export interface ApplyResult {
  applied: boolean;
  version: number;
  /** What was actually applied after transformation (empty when the op lost or was a no-op). */
  updates: AppliedUpdate[];
  reason?: string;
}

/** A user in a collaboration session: role, join/activity times, open connections and presence. */
export interface Participant {
  userId: string;
  role: Role;
  joinedAt: number;
  lastActiveAt: number;
  connections: number;
  /** Presence from awareness or `updatePresence`: cursor, selected task, activity. */
  cursor?: CursorPosition;
  selectedTaskId?: string;
  activity?: Activity;
}

/** A participant's cursor position on the workflow canvas. */
export interface CursorPosition {
  x: number;
  y: number;
}
/** What a participant is doing: idle, editing a task, or viewing. */
export type Activity = { kind: 'idle' } | { kind: 'editing'; taskId: string } | { kind: 'viewing' };

/** Public view of a collaboration session: workflow, strategy, version, participants and state. */
export interface SessionInfo {
  id: string;
  workflowId: string;
  strategy: StrategyName;
  createdBy: string;
  createdAt: number;
  lastActivityAt: number;
  version: number;
  participants: Participant[];
  state: 'active' | 'ended';
}

/** An expiring exclusive edit lock on one task of a workflow, held by one user. */
export interface TaskLock {
  workflowId: string;
  taskId: string;
  holder: string;
  acquiredAt: number;
  expiresAt: number;
}

/** One entry of a workflow's append-only audit trail: who did what, where and when. */
export interface AuditEntry {
  seq?: number;
  workflowId: string;
  sessionId?: string;
  userId: string;
  at: number;
  action: 'set' | 'insert' | 'delete' | 'move' | 'rejected' | 'lock' | 'unlock' | 'join' | 'leave' | 'role' | 'session';
  path?: string;
  oldValue?: unknown;
  newValue?: unknown;
  detail?: string;
}

/** Filter of an audit-trail query: workflow, user, session, action, path prefix, start time and limit. */
export interface AuditQuery {
  workflowId?: string;
  userId?: string;
  sessionId?: string;
  action?: AuditEntry['action'];
  pathPrefix?: string;
  since?: number;
  limit?: number;
}

/** Read-only view strategies get of the shared document. */
export interface DocView {
  doc: YDoc;
  get(path: Path): unknown;
  version: number;
}

/** What a conflict strategy sees: the document, the acting user and the updates applied since the op's base version. */
export interface StrategyContext {
  view: DocView;
  userId: string;
  /** Updates applied after the op's baseVersion, oldest first. */
  concurrent: AppliedUpdate[];
}

/**
 * The one conflict-resolution contract: turn an incoming op into the ops to apply now (possibly none).
 * Implementations keep whatever per-session state they need (OT history, LWW registers).
 */
export interface ConflictStrategy {
  readonly name: StrategyName;
  resolve(op: UpdateInput, ctx: StrategyContext): UpdateInput[];
}

/** The function behind the `custom` strategy: maps an incoming op to the ops to apply, or null to reject it. */
export type CustomResolver = (op: UpdateInput, ctx: StrategyContext) => UpdateInput | UpdateInput[] | null;

/** Pluggable token check: never log or store the token itself. */
export type Authenticate = (
  token: string | undefined,
  workflowId: string,
) => { userId: string; role?: Role } | null | undefined | Promise<{ userId: string; role?: Role } | null | undefined>;

/** Per-client bounds (see `limits` in schemas.ts for what each means and its default). */
export interface CollabLimits {
  maxBufferedBytes: number;
  maxClientIdsPerConnection: number;
  maxPresenceEntries: number;
  maxPresenceStateChars: number;
  presenceTimeoutMs: number;
  retainEndedSessions: number;
}

/** The `collaboration` config section after defaults: realtime switch, participant cap, session timeout, strategy and limits. */
export interface CollabConfig {
  enableRealtime: boolean;
  maxParticipants: number;
  sessionTimeout: number;
  conflictResolution: StrategyName;
  limits: CollabLimits;
}

/** What callers pass: every field optional, `limits` field by field. */
export type CollabConfigInput = Partial<Omit<CollabConfig, 'limits'>> & { limits?: Partial<CollabLimits> };

/** Options of the CollaborationManager: storage, Redis fan-out, custom resolver and lock lifetime. */
export interface CollaborationManagerOptions {
  /** SQLite file for documents, roles and the audit trail (default `:memory:`). */
  storePath?: string;
  /** Share one store between managers (tests, several managers in one process). */
  store?: CollabStore;
  /** ioredis client or URL: documents served by several processes stay in sync through pub/sub. */
  redis?: Redis | string;
  redisKeyPrefix?: string;
  /** The function behind the `custom` strategy (per-session override in createSession). */
  resolver?: CustomResolver;
  /** Role of a joiner with no stored role; the first user of a workflow becomes its owner. */
  defaultRole?: Role;
  /** Default task-lock lifetime (ms). */
  lockTtlMs?: number;
}

/** Events the CollaborationManager emits (sessions, participants, presence, updates, locks) and their payloads. */
export interface CollaborationEvents {
  'session:created': (s: SessionInfo) => void;
  'session:ended': (e: { sessionId: string; workflowId: string; reason: 'timeout' | 'ended' | 'closed' }) => void;
  'participant:joined': (e: { sessionId: string; workflowId: string; participant: Participant }) => void;
  'participant:left': (e: { sessionId: string; workflowId: string; participantId: string }) => void;
  'cursor:moved': (e: {
    sessionId: string;
    workflowId: string;
    participantId: string;
    position: CursorPosition;
    selectedTaskId?: string;
  }) => void;
  'presence:changed': (e: {
    sessionId: string;
    workflowId: string;
    participantId: string;
    activity?: Participant['activity'];
    selectedTaskId?: string;
  }) => void;
  'updates:broadcast': (e: { sessionId: string; workflowId: string; updates: AppliedUpdate[] }) => void;
  'update:rejected': (e: {
    sessionId?: string;
    workflowId: string;
    userId: string;
    path?: string;
    code: string;
    reason: string;
  }) => void;
  'lock:acquired': (l: TaskLock) => void;
  'lock:released': (l: TaskLock & { reason: 'released' | 'disconnect' | 'session-ended' }) => void;
  'lock:expired': (l: TaskLock) => void;
  /** A persistence write failed; documents stay live and the write is retried with the next one. */
  'store:error': (e: { workflowId?: string; error: { code: string; message: string } }) => void;
}
