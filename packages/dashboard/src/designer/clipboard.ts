import type { TaskDef } from '../api/types.ts';
import { freshId } from './mutations.ts';
import type { XY } from './types.ts';

// Copy/paste of tasks: the clipboard holds plain task definitions with positions. Pasted tasks get fresh ids;
// dependencies between copied tasks follow the renames, dependencies on tasks outside the copy are kept when
// those tasks still exist.

export interface ClipboardData {
  kind: 'codexos/tasks';
  tasks: Array<{ task: TaskDef; position: XY }>;
}

export function copyTasks(
  ids: Iterable<string>,
  tasks: Map<string, TaskDef>,
  positions: Map<string, XY>,
): ClipboardData {
  const out: ClipboardData = { kind: 'codexos/tasks', tasks: [] };
  for (const id of ids) {
    const t = tasks.get(id);
    if (t) out.tasks.push({ task: structuredClone(t), position: positions.get(id) ?? { x: 0, y: 0 } });
  }
  return out;
}

export function parseClipboard(text: string): ClipboardData | undefined {
  try {
    const d = JSON.parse(text) as ClipboardData;
    return d && d.kind === 'codexos/tasks' && Array.isArray(d.tasks) ? d : undefined;
  } catch {
    return undefined;
  }
}

export function pasteTasks(
  data: ClipboardData,
  existing: Map<string, TaskDef>,
  offset: XY = { x: 40, y: 40 },
): Array<{ task: TaskDef; position: XY }> {
  const taken = new Set(existing.keys());
  const rename = new Map<string, string>();
  for (const { task } of data.tasks) {
    const id = freshId(`${task.id}-copy`, taken);
    taken.add(id);
    rename.set(task.id, id);
  }
  return data.tasks.map(({ task, position }) => ({
    task: {
      ...structuredClone(task),
      id: rename.get(task.id) as string,
      dependencies: (task.dependencies ?? []).flatMap((d) =>
        rename.has(d) ? [rename.get(d) as string] : existing.has(d) ? [d] : [],
      ),
    },
    position: { x: position.x + offset.x, y: position.y + offset.y },
  }));
}
