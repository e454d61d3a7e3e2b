import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import type { WebSocket } from 'ws';
import type * as Y from 'yjs';
import { CodexError, ErrorCodes, toErrorInfo } from '../errors.js';
import { LockTable } from './locks.js';
import { docJson, seedDoc } from './paths.js';
import { CLOSE_SESSION_ENDED } from './protocol/messages.js';
import type { DocRoom } from './room.js';
import { RoomRegistry } from './rooms.js';
import { collabConfigSchema } from './schemas.js';
import { Session } from './session.js';
import { ManagerSocketHost } from './socket-host.js';
import { SocketHub } from './sockets.js';
import { CollabStore } from './store.js';
import { createStrategy } from './strategies/index.js';
import type {
  AppliedUpdate,
  ApplyResult,
  AuditEntry,
  AuditQuery,
  CollabConfig,
  CollabConfigInput,
  CollaborationEvents,
  CollaborationManagerOptions,
  CursorPosition,
  CustomResolver,
  Participant,
  Role,
  SessionInfo,
  StrategyName,
  TaskLock,
  UpdateInput,
} from './types.js';
import { applyOps, parseOp } from './writes.js';

export type { CollaborationEvents, CollaborationManagerOptions } from './types.js';

/** Runs real-time editing sessions on workflow documents: participants, roles, conflict resolution, locks and audit. */
export class CollaborationManager extends EventEmitter<CollaborationEvents> {
  readonly config: CollabConfig;
  readonly store: CollabStore;
  private readonly ownsStore: boolean;
  /** @internal */ readonly sessions = new Map<string, Session>();
  /** @internal */ readonly active = new Map<string, Session>();
  readonly locks: LockTable;
  private readonly sweeper: NodeJS.Timeout;
  private pending = new Map<string, AppliedUpdate[]>();
  private flushScheduled = false;
  private readonly sockets: SocketHub;
  private readonly rooms: RoomRegistry;
  /** Ended sessions still readable through getSession(), oldest first. */
  private readonly ended = new Set<string>();
  private readonly offStoreError: () => void;
  private readonly unloadQueued = new Set<string>();

  constructor(
    config: CollabConfigInput = {},
    private readonly opts: CollaborationManagerOptions = {},
  ) {
    super();
    this.config = collabConfigSchema.parse(config);
    this.ownsStore = !opts.store;
    this.store = opts.store ?? new CollabStore(opts.storePath ?? ':memory:');
    this.locks = new LockTable((l) => this.emit('lock:expired', l));
    const host = new ManagerSocketHost(this);
    this.sockets = new SocketHub(host);
    const storeError = (err: unknown, workflowId?: string) =>
      this.emit('store:error', { workflowId, error: toErrorInfo(err) });
    this.offStoreError = this.store.onError((err) => storeError(err));
    this.rooms = new RoomRegistry(
      this.store,
      {
        onConnChanges: (conn, changes) => host.onConnChanges(conn, changes),
        onPresence: (conn, entries) => host.onPresence(conn, entries),
        onStoreError: (err) => storeError(err),
      },
      this.config.limits,
      opts.redis ? { client: opts.redis, keyPrefix: opts.redisKeyPrefix } : undefined,
    );
    const every = Math.max(20, Math.min(30_000, Math.floor(this.config.sessionTimeout / 4)));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  // ---- sessions -------------------------------------------------------------------------------------------

  /** Start a session on a workflow (or join the active one: one session per workflow at a time). */
  async createSession(
    workflowId: string,
    userId: string,
    opts: { conflictResolution?: StrategyName; resolver?: CustomResolver } = {},
  ): Promise<SessionInfo> {
    const existing = this.active.get(workflowId);
    if (existing) return this.joinSession(existing.id, userId);
    const strategy = createStrategy(
      opts.conflictResolution ?? this.config.conflictResolution,
      opts.resolver ?? this.opts.resolver,
    );
    // The document loads before the session exists: a load that fails leaves no session behind.
    await this.room(workflowId);
    const raced = this.active.get(workflowId);
    if (raced) return this.joinSession(raced.id, userId);
    const now = Date.now();
    const session = new Session(randomUUID(), workflowId, strategy, userId, now);
    this.sessions.set(session.id, session);
    this.active.set(workflowId, session);
    this.audit({ workflowId, sessionId: session.id, userId, action: 'session', detail: `created (${strategy.name})` });
    this.emit('session:created', session.info());
    return this.joinSession(session.id, userId);
  }

  async joinSession(sessionId: string, userId: string, opts: { role?: Role } = {}): Promise<SessionInfo> {
    const s = this.requireSession(sessionId);
    this.join(s, userId, opts.role);
    return s.info();
  }

  /** @internal */ join(s: Session, userId: string, tokenRole?: Role): Participant {
    if (!s.participants.has(userId) && s.participants.size >= this.config.maxParticipants) {
      throw new CodexError(
        ErrorCodes.COLLAB_FULL,
        `Session ${s.id} is full: maxParticipants is ${this.config.maxParticipants}`,
      );
    }
    const { participant, isNew } = s.addParticipant(
      userId,
      tokenRole ?? this.roleFor(s.workflowId, userId),
      Date.now(),
    );
    s.touch(Date.now());
    if (isNew) {
      this.audit({ workflowId: s.workflowId, sessionId: s.id, userId, action: 'join', detail: participant.role });
      this.emit('participant:joined', { sessionId: s.id, workflowId: s.workflowId, participant: { ...participant } });
    }
    return participant;
  }

  async leaveSession(sessionId: string, userId: string): Promise<void> {
    const s = this.requireSession(sessionId);
    this.leave(s, userId);
  }

  /** @internal */ leave(s: Session, userId: string): void {
    if (!s.participants.delete(userId)) return;
    for (const l of this.locks.releaseAll(s.workflowId, userId))
      this.emit('lock:released', { ...l, reason: 'disconnect' });
    this.audit({ workflowId: s.workflowId, sessionId: s.id, userId, action: 'leave' });
    this.emit('participant:left', { sessionId: s.id, workflowId: s.workflowId, participantId: userId });
  }

  async endSession(sessionId: string, reason: 'ended' | 'timeout' | 'closed' = 'ended'): Promise<void> {
    const s = this.sessions.get(sessionId);
    if (!s || s.state === 'ended') return;
    s.state = 'ended';
    if (this.active.get(s.workflowId) === s) this.active.delete(s.workflowId);
    const room = this.rooms.get(s.workflowId);
    if (room) for (const c of [...room.conns]) c.ws.close(CLOSE_SESSION_ENDED, `session ${reason}`);
    for (const l of this.locks.releaseAll(s.workflowId)) this.emit('lock:released', { ...l, reason: 'session-ended' });
    this.audit({
      workflowId: s.workflowId,
      sessionId,
      userId: 'system',
      action: 'session',
      detail: `ended (${reason})`,
    });
    this.emit('session:ended', { sessionId, workflowId: s.workflowId, reason });
    this.collect(sessionId);
    this.unloadWhenIdle(s.workflowId);
  }

  /** Ended sessions are kept readable for the most recent `limits.retainEndedSessions`, then forgotten. */
  private collect(sessionId: string): void {
    this.ended.add(sessionId);
    for (const id of this.ended) {
      if (this.ended.size <= this.config.limits.retainEndedSessions) break;
      this.ended.delete(id);
      this.sessions.delete(id);
    }
  }

  /** @internal Unload a workflow's room once nobody is connected (checked after this turn, writes flushed first). */
  unloadWhenIdle(workflowId: string): void {
    const room = this.rooms.get(workflowId);
    if (!room || room.conns.size > 0 || this.unloadQueued.has(workflowId)) return;
    this.unloadQueued.add(workflowId);
    setImmediate(() => {
      this.unloadQueued.delete(workflowId);
      this.rooms
        .unloadIfIdle(workflowId)
        .catch((err: unknown) => this.emit('store:error', { workflowId, error: toErrorInfo(err) }));
    });
  }

  /** Documents loaded in memory (rooms). */
  get loadedDocuments(): number {
    return this.rooms.size;
  }

  getSession(sessionId: string): SessionInfo | undefined {
    return this.sessions.get(sessionId)?.info();
  }

  activeSession(workflowId: string): SessionInfo | undefined {
    return this.active.get(workflowId)?.info();
  }

  getParticipants(sessionId: string): Participant[] {
    return this.requireSession(sessionId).info().participants;
  }

  /** @internal */ requireSession(sessionId: string): Session {
    const s = this.sessions.get(sessionId);
    if (!s) throw new CodexError(ErrorCodes.COLLAB_SESSION, `Unknown session ${sessionId}`);
    if (s.state !== 'active') throw new CodexError(ErrorCodes.COLLAB_SESSION, `Session ${sessionId} has ended`);
    return s;
  }

  private sweep(): void {
    const now = Date.now();
    for (const s of this.active.values())
      if (now - s.lastActivityAt >= this.config.sessionTimeout) void this.endSession(s.id, 'timeout');
    this.locks.sweep();
  }

  // ---- roles ----------------------------------------------------------------------------------------------

  roleFor(workflowId: string, userId: string): Role {
    const stored = this.store.getRole(workflowId, userId);
    if (stored) return stored;
    if (this.store.roles(workflowId).length === 0) {
      this.store.setRole(workflowId, userId, 'owner');
      return 'owner';
    }
    return this.opts.defaultRole ?? 'editor';
  }

  /** Change a user's role; when `byUserId` is given it must be an owner of the workflow. */
  setRole(workflowId: string, userId: string, role: Role, byUserId?: string): void {
    if (byUserId !== undefined && this.roleFor(workflowId, byUserId) !== 'owner') {
      throw new CodexError(ErrorCodes.COLLAB_FORBIDDEN, `Only an owner can change roles on workflow ${workflowId}`);
    }
    this.store.setRole(workflowId, userId, role);
    const s = this.active.get(workflowId);
    const p = s?.participants.get(userId);
    if (p) p.role = role;
    const room = this.rooms.get(workflowId);
    if (room) for (const c of room.conns) if (c.userId === userId) c.role = role;
    this.audit({ workflowId, userId: byUserId ?? 'system', action: 'role', path: userId, newValue: role });
  }

  // ---- updates --------------------------------------------------------------------------------------------

  /** Apply path operations through the session's conflict strategy. Throws on viewer writes and foreign locks. */
  async applyUpdate(sessionId: string, userId: string, update: UpdateInput | UpdateInput[]): Promise<ApplyResult> {
    const s = this.requireSession(sessionId);
    const p = s.participants.get(userId);
    if (!p) throw new CodexError(ErrorCodes.COLLAB_SESSION, `${userId} has not joined session ${sessionId}`);
    const room = await this.room(s.workflowId);
    const inputs = (Array.isArray(update) ? update : [update]).map((u) => parseOp(u));
    return applyOps(this, s, room, userId, p.role, inputs);
  }

  /** @internal */ queueBroadcast(s: Session, updates: AppliedUpdate[]): void {
    if (this.listenerCount('updates:broadcast') === 0) return;
    const list = this.pending.get(s.id);
    if (list) list.push(...updates);
    else this.pending.set(s.id, [...updates]);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const pending = this.pending;
      this.pending = new Map();
      for (const [sessionId, list] of pending)
        this.emit('updates:broadcast', { sessionId, workflowId: list[0].workflowId, updates: list });
    });
  }

  // ---- presence and locks ---------------------------------------------------------------------------------

  moveCursor(sessionId: string, userId: string, position: CursorPosition, selectedTaskId?: string): void {
    const s = this.requireSession(sessionId);
    const p = s.participants.get(userId);
    if (!p) throw new CodexError(ErrorCodes.COLLAB_SESSION, `${userId} has not joined session ${sessionId}`);
    p.cursor = position;
    if (selectedTaskId !== undefined) p.selectedTaskId = selectedTaskId;
    s.touch(Date.now(), userId);
    this.emit('cursor:moved', {
      sessionId,
      workflowId: s.workflowId,
      participantId: userId,
      position,
      selectedTaskId: p.selectedTaskId,
    });
  }

  setActivity(sessionId: string, userId: string, activity: Participant['activity']): void {
    const s = this.requireSession(sessionId);
    const p = s.participants.get(userId);
    if (!p) throw new CodexError(ErrorCodes.COLLAB_SESSION, `${userId} has not joined session ${sessionId}`);
    p.activity = activity;
    s.touch(Date.now(), userId);
    this.emit('presence:changed', {
      sessionId,
      workflowId: s.workflowId,
      participantId: userId,
      activity,
      selectedTaskId: p.selectedTaskId,
    });
  }

  lockTask(sessionId: string, taskId: string, userId: string, ttlMs = this.opts.lockTtlMs ?? 30_000): TaskLock {
    const s = this.requireSession(sessionId);
    const p = s.participants.get(userId);
    if (!p) throw new CodexError(ErrorCodes.COLLAB_SESSION, `${userId} has not joined session ${sessionId}`);
    if (p.role === 'viewer')
      throw new CodexError(ErrorCodes.COLLAB_FORBIDDEN, `${userId} is a viewer and cannot lock tasks`);
    const lock = this.locks.acquire(s.workflowId, taskId, userId, ttlMs);
    s.touch(Date.now(), userId);
    this.audit({
      workflowId: s.workflowId,
      sessionId,
      userId,
      action: 'lock',
      path: `tasks.${taskId}`,
      detail: `until ${lock.expiresAt}`,
    });
    this.emit('lock:acquired', lock);
    return lock;
  }

  unlockTask(sessionId: string, taskId: string, userId: string): void {
    const s = this.requireSession(sessionId);
    const lock = this.locks.release(s.workflowId, taskId, userId);
    if (!lock) return;
    this.audit({ workflowId: s.workflowId, sessionId, userId, action: 'unlock', path: `tasks.${taskId}` });
    this.emit('lock:released', { ...lock, reason: 'released' });
  }

  getLocks(workflowId: string): TaskLock[] {
    return this.locks.list(workflowId);
  }

  // ---- documents and audit --------------------------------------------------------------------------------

  /** The live Y.Doc of a workflow (loaded from the store on first use). */
  async getYDoc(workflowId: string): Promise<Y.Doc> {
    return (await this.room(workflowId)).doc;
  }

  async getDocument(
    workflowId: string,
  ): Promise<{ tasks: Record<string, unknown>; positions: Record<string, unknown>; meta: Record<string, unknown> }> {
    return docJson(await this.getYDoc(workflowId));
  }

  /** Fill an empty document from a workflow definition (tasks keyed by id; dependencies as arrays). */
  async seedDocument(
    workflowId: string,
    definition: { name?: string; version?: string; tasks: Array<{ id: string } & Record<string, unknown>> },
  ): Promise<boolean> {
    return seedDoc(await this.getYDoc(workflowId), workflowId, definition, { kind: 'op', userId: 'system' });
  }

  queryAudit(q: AuditQuery = {}): AuditEntry[] {
    return this.store.queryAudit(q);
  }

  /** @internal */ audit(e: Omit<AuditEntry, 'at'> & { at?: number }): void {
    this.store.audit({ ...e, at: e.at ?? Date.now() });
  }

  /** Attach an upgraded, authenticated socket to a workflow's document (see ws-server.ts, sockets.ts). */
  connect(ws: WebSocket, workflowId: string, identity: { userId: string; role?: Role }): Promise<void> {
    return this.sockets.connect(ws, workflowId, identity);
  }

  /** @internal */ room(workflowId: string): Promise<DocRoom> {
    return this.rooms.load(workflowId);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    for (const s of [...this.active.values()]) await this.endSession(s.id, 'closed');
    await this.rooms.close();
    this.offStoreError();
    if (this.ownsStore) this.store.close();
    else this.store.flushInBackground();
  }
}
