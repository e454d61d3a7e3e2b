import { CodexError, ErrorCodes } from '../errors.js';
import type { CollaborationManager } from './manager.js';
import { applyToDoc, getJson, pathKey, validatePath } from './paths.js';
import type { DocRoom, OpOrigin } from './room.js';
import { updateInputSchema } from './schemas.js';
import type { Session } from './session.js';
import type { AppliedUpdate, ApplyResult, Role, UpdateInput } from './types.js';

// The write path for path operations (API and wire `op` messages): validate, check role and locks, resolve
// through the session's strategy, apply in one Yjs transaction per op, audit every change.

export function parseOp(u: unknown): UpdateInput {
  const r = updateInputSchema.safeParse(u);
  if (!r.success)
    throw new CodexError(
      ErrorCodes.COLLAB,
      `Invalid update: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  validatePath(r.data.path);
  return r.data as UpdateInput;
}

export function applyOps(
  m: CollaborationManager,
  s: Session,
  room: DocRoom,
  userId: string,
  role: Role,
  inputs: UpdateInput[],
): ApplyResult {
  for (const op of inputs)
    checkWrite(m, s, userId, role, pathKey(op.path), op.path[0] === 'tasks' ? String(op.path[1]) : undefined);
  const applied: AppliedUpdate[] = [];
  const origin: OpOrigin = { kind: 'op', userId };
  for (const input of inputs) {
    const prims = s.strategy.resolve(input, {
      userId,
      concurrent: s.concurrentSince(input.baseVersion ?? s.version),
      view: { doc: room.doc, version: s.version, get: (path) => getJson(room.doc, path) },
    });
    if (prims.length === 0) continue;
    const version = s.version + 1;
    const now = Date.now();
    const batch: AppliedUpdate[] = [];
    room.doc.transact(() => {
      for (const prim of prims) {
        validatePath(prim.path);
        const oldValue = getJson(room.doc, prim.path);
        if (!applyToDoc(room.doc, prim)) continue;
        const value =
          prim.operation.type === 'delete'
            ? undefined
            : getJson(
                room.doc,
                prim.operation.type === 'move' ? [...prim.path.slice(0, -1), prim.operation.to ?? 0] : prim.path,
              );
        batch.push({
          operation: prim.operation,
          path: prim.path,
          value,
          userId,
          sessionId: s.id,
          workflowId: s.workflowId,
          version,
          timestamp: now,
          source: 'op',
          id: input.id,
        });
        m.audit({
          workflowId: s.workflowId,
          sessionId: s.id,
          userId,
          at: now,
          action: prim.operation.type,
          path: pathKey(prim.path),
          oldValue,
          newValue: value,
        });
      }
    }, origin);
    if (batch.length === 0) continue;
    s.version = version;
    s.record(batch);
    applied.push(...batch);
  }
  s.touch(Date.now(), userId);
  if (applied.length) m.queueBroadcast(s, applied);
  return {
    applied: applied.length > 0,
    version: s.version,
    updates: applied,
    reason: applied.length ? undefined : 'superseded by a concurrent update',
  };
}

/** Role and lock checks shared by ops and Yjs updates; rejections are audited and emitted. */
export function checkWrite(
  m: CollaborationManager,
  s: Session,
  userId: string,
  role: Role,
  path: string | undefined,
  taskId: string | undefined,
): void {
  let err: CodexError | undefined;
  if (role === 'viewer')
    err = new CodexError(
      ErrorCodes.COLLAB_FORBIDDEN,
      `${userId} is a viewer of workflow ${s.workflowId} and cannot edit it`,
    );
  else if (taskId !== undefined) {
    const lock = m.locks.get(s.workflowId, taskId);
    if (lock && lock.holder !== userId)
      err = new CodexError(ErrorCodes.COLLAB_LOCKED, `Task '${taskId}' is locked by ${lock.holder}`);
  }
  if (!err) return;
  m.audit({ workflowId: s.workflowId, sessionId: s.id, userId, action: 'rejected', path, detail: err.message });
  m.emit('update:rejected', {
    sessionId: s.id,
    workflowId: s.workflowId,
    userId,
    path,
    code: err.code,
    reason: err.message,
  });
  throw err;
}
