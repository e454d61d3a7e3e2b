import type { ServerRole, User, WorkflowRole, WorkflowSummary, WorkflowVersion } from '../types.js';

// The server's own state, one repository per concern. SQLite (default) and Redis implement the same contracts;
// test/store/conformance.ts holds both to them.

/** A workflow definition as stored: validated, with an id, a name and tasks. */
export type Definition = Record<string, unknown> & { id: string; name: string; tasks: unknown[] };

/** Stored workflows and their immutable versions. */
export interface WorkflowRepo {
  get(id: string): Promise<WorkflowSummary | undefined>;
  /** Saves a new version (creating the workflow on its first); numbers never collide under concurrent saves. */
  save(
    def: Definition,
    author: string,
    message: string,
  ): Promise<{ workflow: WorkflowSummary; version: WorkflowVersion }>;
  /** One version with its definition (the current one when `version` is omitted). */
  version(id: string, version?: number): Promise<WorkflowVersion | undefined>;
  /** Versions newest first, below `before`, without definitions. */
  versions(id: string, limit: number, before?: number): Promise<WorkflowVersion[]>;
  /** Workflows ordered by id after `after`; `ids` restricts to the ones a member can see; `q` matches id or name. */
  list(opts: { limit: number; after?: string; ids?: Set<string>; q?: string }): Promise<WorkflowSummary[]>;
  remove(id: string): Promise<boolean>;
  count(): Promise<number>;
}

/** A token as stored: only the SHA-256 of its secret, never the secret. */
export interface StoredToken {
  id: string;
  userId: string;
  role: ServerRole;
  hash: Buffer;
  name?: string;
  createdAt: number;
  lastUsedAt?: number;
  revokedAt?: number;
}

/** Users and their API tokens. */
export interface UserTokenRepo {
  /** Creates the user or changes their server role. */
  upsertUser(id: string, role: ServerRole, at: number): Promise<void>;
  getUser(id: string): Promise<User | undefined>;
  insertToken(t: { id: string; userId: string; hash: Buffer; name?: string; createdAt: number }): Promise<void>;
  /** The token row with its user's role. */
  token(id: string): Promise<StoredToken | undefined>;
  touchToken(id: string, at: number): Promise<void>;
  /** Marks a token revoked; false when it does not exist or already was. */
  revokeToken(id: string, at: number): Promise<boolean>;
  /** Newest first, strictly after `after` = [createdAt, id] in that order. */
  listTokens(limit: number, after?: [number, string]): Promise<StoredToken[]>;
  countTokens(): Promise<number>;
}

/** Per-workflow roles of users. */
export interface RoleRepo {
  get(workflowId: string, userId: string): Promise<WorkflowRole | undefined>;
  set(workflowId: string, userId: string, role: WorkflowRole): Promise<void>;
  remove(workflowId: string, userId: string): Promise<boolean>;
  removeAll(workflowId: string): Promise<void>;
  /** Holders of a role on a workflow, ordered by user id. */
  list(workflowId: string): Promise<Array<{ userId: string; role: WorkflowRole }>>;
  /** Workflow ids a user holds any role on. */
  workflowsOf(userId: string): Promise<string[]>;
}

/** What an access-audit entry says happened. */
export type AccessOutcome = 'ok' | 'denied' | 'rejected' | 'error';

/** One access-audit entry; `seq` grows by one per entry, across every server on the store. */
export interface AccessEntry {
  seq: number;
  at: number;
  userId?: string;
  tokenId?: string;
  ip: string;
  method: string;
  route?: string;
  path: string;
  status: number;
  outcome: AccessOutcome;
}

/** Filters of an audit query. */
export interface AuditQuery {
  beforeSeq?: number;
  userId?: string;
  outcome?: AccessOutcome;
}

/** The append-only access audit: entries are added, never changed or removed. */
export interface AuditRepo {
  append(e: Omit<AccessEntry, 'seq'>): Promise<void>;
  /** Newest first. */
  list(limit: number, q?: AuditQuery): Promise<AccessEntry[]>;
}

/** Which stored version a run is pinned to, who started it, and whether a shutdown interrupted it. */
export interface RunPin {
  executionId: string;
  workflowId: string;
  version: number;
  startedBy: string;
  startedAt: number;
  interrupted: boolean;
  /** Model used per task (`task` or `task#iteration`), recorded when the run ends. */
  models?: Record<string, string>;
}

/** Run pins, shared by every server on the store (a resume or rerun elsewhere uses the pinned version). */
export interface RunRepo {
  /** Records a new run's pin (not interrupted, no models yet). */
  pin(p: Omit<RunPin, 'interrupted' | 'models'>): Promise<void>;
  get(executionId: string): Promise<RunPin | undefined>;
  /** Pins of several runs at once (runs without one are absent from the map). */
  getMany(executionIds: string[]): Promise<Map<string, RunPin>>;
  /** Flags runs for resume on the next start, or clears the flag; runs without a pin are ignored. */
  setInterrupted(executionIds: string[], interrupted: boolean): Promise<void>;
  /** Ids of runs flagged interrupted. */
  interrupted(): Promise<string[]>;
  setModels(executionId: string, models: Record<string, string>): Promise<void>;
}

/** Small server-wide settings (whether the first start is done). */
export interface MetaRepo {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
}

/** What a server does with announced revocations. */
export interface RevocationListener {
  /** A token was revoked (by any server on the store, or the CLI). */
  onRevoked(tokenId: string): void;
  /** Announcements may have been missed (the subscription dropped or came back): forget what was cached. */
  onGap(): void;
  onError?(err: Error): void;
}

/**
 * Token revocations announced to every server on a shared store (Redis pub/sub). Absent on SQLite, where a
 * revoke happens in the one server process and clears its cache directly.
 */
export interface RevocationFeed {
  /** Adds a listener (connecting on the first); resolves once subscribed, to a function that removes it. */
  subscribe(listener: RevocationListener): Promise<() => void>;
  /** True while announcements arrive (subscribed and connected): cache verified tokens only then. */
  readonly live: boolean;
  close(): Promise<void>;
}

/** Every repository of the server, on one backend. */
export interface ServerStore {
  readonly kind: 'sqlite' | 'redis';
  readonly workflows: WorkflowRepo;
  readonly users: UserTokenRepo;
  readonly roles: RoleRepo;
  readonly audit: AuditRepo;
  readonly meta: MetaRepo;
  readonly runs: RunRepo;
  /** Revocations made by other servers on the store (Redis); undefined when revocation is local (SQLite). */
  readonly revocations?: RevocationFeed;
  /** Releases what the store opened itself (a shared connection is left to its owner). */
  close(): Promise<void>;
}
