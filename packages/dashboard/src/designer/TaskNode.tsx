import { Handle, type Node, type NodeProps, Position } from '@xyflow/react';
import { createContext, memo, useCallback, useContext, useSyncExternalStore } from 'react';
import type { StatusStore } from '../runs/statusStore.ts';
import type { TaskDef } from '../api/types.ts';
import type { DiffKind, FieldIssue, Peer } from './types.ts';

// One task on the canvas: id, name and agent; a red badge with the schema/graph issue count; who else is
// editing it; a lock when someone else holds it; the run status or the diff mark when those views are on.

export interface TaskNodeData extends Record<string, unknown> {
  task: TaskDef;
  issues?: FieldIssue[];
  editors?: Peer[];
  lockedBy?: string | null;
  diff?: DiffKind;
  diffFields?: string[];
  critical?: boolean;
  mark?: string;
}

export type TaskFlowNode = Node<TaskNodeData, 'task'>;

/** A run view provides its live statuses here; each node then follows its own task's status (see StatusStore). */
export const TaskStatusContext = createContext<StatusStore | null>(null);

/**
 * True when a canvas under the nodes draws their boxes in status colours (a large run graph, see StatusCanvas):
 * nodes are then transparent and a status change touches only their `data-status`, which no style reads.
 */
export const StatusLayerContext = createContext(false);

const noSubscribe = () => () => {};

/** The task's live status from the run's StatusStore, if a run view provides one; re-renders on that task only. */
function useLiveStatus(taskId: string): string | undefined {
  const store = useContext(TaskStatusContext);
  const subscribe = useCallback((fn: () => void) => (store ? store.subscribe(taskId, fn) : noSubscribe()), [store, taskId]);
  return useSyncExternalStore(subscribe, () => store?.get(taskId));
}

function TaskNodeView({ data, selected }: NodeProps<TaskFlowNode>) {
  const { task, issues, editors, lockedBy, diff, critical, diffFields, mark } = data;
  const status = useLiveStatus(task.id);
  const painted = useContext(StatusLayerContext);
  const cls = ['task-node', painted ? 'painted' : '', selected ? 'selected' : '', diff ? `diff-${diff}` : '', status && !painted ? `status-${status}` : '', critical ? 'critical' : '', issues?.length ? 'invalid' : '', ...(mark ? mark.split(' ').map((m) => `mark-${m}`) : [])]
    .filter(Boolean)
    .join(' ');
  const border = editors?.[0]?.color;
  return (
    <div className={cls} data-testid={`node-${task.id}`} data-status={status} data-diff={diff} data-mark={mark} style={border ? { outlineColor: border } : undefined}>
      <Handle type="target" position={Position.Left} />
      <div className="task-node-head">
        {mark?.includes('breakpoint') && <span className="bp-dot" title="Breakpoint" aria-label="breakpoint" />}
        <span className="task-id">{task.id}</span>
        {lockedBy && <span className="lock" title={`Locked by ${lockedBy}`} aria-label={`locked by ${lockedBy}`}>🔒</span>}
        {issues && issues.length > 0 && (
          <span className="issue-badge" title={issues.map((i) => `${i.field || 'task'}: ${i.message}`).join('\n')} data-testid={`issues-${task.id}`}>
            {issues.length}
          </span>
        )}
      </div>
      <div className="task-node-body">
        {task.name && task.name !== task.id ? <div className="task-name">{task.name}</div> : null}
        <div className="task-agent">{task.agentId || <em>no agent</em>}</div>
      </div>
      {status &&
        (painted ? (
          // The canvas writes the status word here; the empty line keeps the node the size it has elsewhere.
          <div className="task-status">{'\u00a0'}</div>
        ) : (
          <div className="task-status" data-testid={`status-${task.id}`}>{status}</div>
        ))}
      {diff && diff !== 'same' && <div className="diff-mark">{diff}{diffFields?.length ? `: ${diffFields.join(', ')}` : ''}</div>}
      {editors && editors.length > 0 && (
        <div className="editors">
          {editors.map((p) => (
            <span key={p.clientId} className="avatar tiny" style={{ background: p.color }} title={`${p.name} is editing`}>
              {p.name.slice(0, 1).toUpperCase()}
            </span>
          ))}
        </div>
      )}
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

export const TaskNode = memo(TaskNodeView);
export const nodeTypes = { task: TaskNode };
