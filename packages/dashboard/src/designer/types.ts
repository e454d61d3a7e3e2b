import type { TaskDef } from '../api/types.ts';

export interface XY {
  x: number;
  y: number;
}

/** The designer's plain view of the collaboration document (tasks, positions, meta). */
export interface GraphModel {
  tasks: Map<string, TaskDef>;
  positions: Map<string, XY>;
  meta: Record<string, unknown>;
}

export interface FieldIssue {
  /** Field path inside the task, e.g. `retry.maxAttempts`; '' for the task as a whole. */
  field: string;
  message: string;
}

export type DiffKind = 'added' | 'removed' | 'changed' | 'same';

export interface TaskDiff {
  id: string;
  kind: DiffKind;
  fields: string[];
}

export interface GraphDiff {
  tasks: Map<string, TaskDiff>;
  addedEdges: Set<string>;
  removedEdges: Set<string>;
}

/** Who is where, read from Yjs awareness (one entry per remote client). */
export interface Peer {
  clientId: number;
  name: string;
  color: string;
  cursor?: XY | null;
  selectedTaskId?: string | null;
  editingTaskId?: string | null;
}
