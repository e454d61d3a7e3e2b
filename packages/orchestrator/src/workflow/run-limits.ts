import { CodexError, ErrorCodes } from '../errors.js';

/**
 * Arms a run's abort signal and workflow timeout. Answers what disarms both when the run ends: a caller may reuse
 * one signal for many runs, so no listener per finished run is left on it. An already aborted signal cancels now.
 */
export function armRunLimits(
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  cancel: (reason: string) => void,
  timedOut: (err: CodexError) => void,
  workflowId: string,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const disarm = (): void => {
    if (timer) clearTimeout(timer);
    if (onAbort) signal!.removeEventListener('abort', onAbort);
  };
  if (signal) {
    if (signal.aborted) {
      cancel(String(signal.reason ?? 'aborted'));
      return disarm;
    }
    const abort = (): void => cancel(String(signal.reason ?? 'aborted'));
    onAbort = abort;
    signal.addEventListener('abort', abort, { once: true });
  }
  if (timeoutMs) {
    timer = setTimeout(
      () =>
        timedOut(
          new CodexError(ErrorCodes.WORKFLOW_TIMEOUT, `Workflow "${workflowId}" timed out after ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
  }
  return disarm;
}
