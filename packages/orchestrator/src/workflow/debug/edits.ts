import { CodexError, ErrorCodes } from '../../errors.js';
import { encodeValue } from '../../store/codec.js';
import type { PlannedTask } from '../types.js';
import type { DebugHost } from './host.js';
import type { DebugRecord, EditRecord, TaskOverride } from './types.js';

/**
 * Edits and pins of one run: a task's input or prompt changed for this run only, a task's output pinned (the
 * task is not called). Every change is journalled on the run's debug record: who, what, old → new.
 */
export class EditJournal {
  constructor(
    private readonly host: DebugHost,
    private readonly rec: DebugRecord,
    /** A task held after a failure (pause on failure) may still be pinned. */
    private readonly isHeld: (i: number) => boolean,
  ) {}

  record(e: EditRecord): void {
    this.rec.edits.push(e);
  }

  /** Edits a task that has not started: its input (merged over the definition's) and/or prompt, for this run. */
  editTask(taskId: string, change: TaskOverride, by?: string): void {
    const t = this.notStarted(taskId);
    const old = this.rec.overrides[t.id] ?? {};
    const next: TaskOverride = { ...old };
    if (change.input !== undefined) {
      encodeValue(change.input, `edited input of task "${taskId}"`);
      this.record({
        at: Date.now(),
        by,
        kind: 'input',
        taskId,
        old: old.input ?? t.def.input ?? {},
        new: change.input,
      });
      next.input = change.input;
    }
    if (change.prompt !== undefined) {
      this.record({
        at: Date.now(),
        by,
        kind: 'prompt',
        taskId,
        old: old.prompt ?? t.def.input?.prompt,
        new: change.prompt,
      });
      next.prompt = change.prompt;
    }
    this.rec.overrides[t.id] = next;
  }

  pin(taskId: string, output: unknown, by?: string): void {
    const t = this.notStarted(taskId, true);
    encodeValue(output, `pinned output of task "${taskId}"`);
    this.record({ at: Date.now(), by, kind: 'pin', taskId, old: this.rec.pins[t.id], new: output });
    this.rec.pins[t.id] = output;
  }

  override(i: number): TaskOverride | undefined {
    return this.rec.overrides[this.host.plan.tasks[i].id];
  }

  isPinned(i: number): boolean {
    return Object.hasOwn(this.rec.pins, this.host.plan.tasks[i].id);
  }

  pinned(i: number): unknown {
    return this.rec.pins[this.host.plan.tasks[i].id];
  }

  private notStarted(taskId: string, allowHeld = false): PlannedTask {
    const i = this.host.plan.byId.get(taskId);
    if (i === undefined)
      throw new CodexError(ErrorCodes.DEBUG_INVALID, `unknown task "${taskId}"`, {
        issues: [{ taskId, message: 'unknown task' }],
      });
    const st = this.host.statusOf(i);
    if (!(allowHeld && this.isHeld(i)) && st !== 'waiting' && st !== 'queued')
      throw new CodexError(
        ErrorCodes.TASK_STARTED,
        `task "${taskId}" has already started (${st}); edit tasks before they run`,
      );
    return this.host.plan.tasks[i];
  }
}
