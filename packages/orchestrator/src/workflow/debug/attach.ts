import { encodeValue } from '../../store/codec.js';
import type { StoredTaskState } from '../../store/types.js';
import type { Execution } from '../execution.js';
import { DebugController } from './controller.js';
import type { DebugHost } from './host.js';
import type { DebugOptions } from './types.js';

export { DebugController } from './controller.js';
export { WaitSuspended } from './waitpoints.js';

const NAMES = ['waiting', 'queued', 'running', 'completed', 'failed', 'skipped'];

/** Builds the controller of one execution over the scheduler's own steps. */
export function createDebugger(ex: Execution, opts: DebugOptions | undefined): DebugController {
  const x = ex.internals;
  let ctl: DebugController | undefined;
  const host: DebugHost = {
    plan: x.plan,
    executionId: ex.executionId,
    workflowId: ex.workflowId,
    bus: x.svc.bus,
    limits: x.svc.limits,
    initialStatus: x.initialStatus,
    statusOf: (i) => NAMES[x.state[i]],
    scopeOf: (t) => x.scope(t),
    readyTasks: x.readyTasks,
    requeue: x.requeue,
    completeWith: (i, output) => {
      if (ctl?.isPinned(i)) x.extras.set(i, { ...x.extras.get(i), pinned: true });
      x.complete(i, output);
    },
    failWith: x.fail,
    park: x.park,
    pump: x.pump,
    writeMeta: (key, value) => x.meta(key, encodeValue(value, `debug record "${key}"`), value),
    saveStatus: x.saveStatus,
    loadStored: async () => (await x.svc.store.loadExecution(ex.executionId))?.tasks,
  };
  ctl = new DebugController(host, opts);
  return ctl;
}

/** A stored run with debug or waitpoint records gets its controller back on resume. */
export function hasDebugRecords(stored: Map<string, StoredTaskState> | undefined): boolean {
  if (!stored) return false;
  for (const k of stored.keys()) if (k.charCodeAt(0) === 36 /* $ */) return true;
  return false;
}
