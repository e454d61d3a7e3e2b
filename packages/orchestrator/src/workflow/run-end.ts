import { type CodexError, ErrorCodes, type ErrorInfo } from '../errors.js';
import type { EventBus } from '../events.js';
import { type ExecutionHeader, STATE_SCHEMA_VERSION, type StateStore } from '../store/types.js';
import type { ExecutionOptions } from './execution-state.js';
import type { Journal } from './journal.js';
import { publishEnd } from './run-events.js';
import type { ExecutionResult, Plan } from './types.js';

/** The stored header of a run: written `running` when it starts and again with its end status. */
export function runHeader(
  plan: Plan,
  executionId: string,
  input: unknown,
  inputBytes: Uint8Array | undefined,
  status: ExecutionHeader['status'],
  startedAt: number,
  end?: { finishedAt: number; error?: ErrorInfo },
): ExecutionHeader {
  const h: ExecutionHeader = {
    executionId,
    workflowId: plan.def.id,
    status,
    definition: plan.def,
    input,
    inputBytes,
    startedAt,
    schemaVersion: STATE_SCHEMA_VERSION,
  };
  if (end) {
    h.finishedAt = end.finishedAt;
    h.error = end.error;
  }
  return h;
}

/** The error a run ends with: a task's timeout or spent budget keeps its own code rather than TASK_FAILED's. */
export function endError(err?: CodexError, cause?: ErrorInfo): ErrorInfo | undefined {
  if (!err) return undefined;
  const own = cause?.code === ErrorCodes.TASK_TIMEOUT || cause?.code === ErrorCodes.BUDGET_EXCEEDED;
  return { code: own ? cause!.code : err.code, message: err.message };
}

/**
 * The end of a run: writes what is still buffered and the final header, then publishes the end event and hands the
 * result over. A store that fails at this point turns the run failed with CDX_ERR_STORE.
 */
export function persistEnd(
  journal: Journal,
  store: StateStore,
  bus: EventBus,
  header: ExecutionHeader,
  result: ExecutionResult,
  resolve: (r: ExecutionResult) => void,
  lease: ExecutionOptions['lease'],
): void {
  const persist = async (): Promise<void> => {
    const rest = await journal.drain();
    if (store.endExecution) {
      // Last transitions, final header and the lease in one commit.
      await store.endExecution(header, rest, lease?.owner);
      lease?.handedBack();
      return;
    }
    if (rest.length) await store.appendTransitions(rest);
    await store.saveExecution(header);
  };
  const emit = (): void => {
    publishEnd(bus, result);
    resolve(result);
  };
  persist().then(emit, (e) => {
    result.status = 'failed';
    // Keep the first store error (the one that ended the run) rather than the follow-up failure to save.
    if (result.error?.code !== ErrorCodes.STORE) {
      result.error = { code: ErrorCodes.STORE, message: `state store write failed: ${(e as Error).message}` };
    }
    emit();
  });
}
