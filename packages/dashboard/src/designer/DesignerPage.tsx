import { useQuery } from '@tanstack/react-query';
import { ReactFlowProvider } from '@xyflow/react';
import { useCallback, useDeferredValue, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ApiError } from '../api/client.ts';
import type { TaskDef } from '../api/types.ts';
import { useApi, useSession } from '../auth/session.ts';
import { ErrorBox } from '../ui/bits.tsx';
import { notifyError, notifyInfo } from '../ui/notices.ts';
import { type ClipboardData, copyTasks, parseClipboard, pasteTasks } from './clipboard.ts';
import { colorFor } from './collab.ts';
import { DesignerCanvas } from './DesignerCanvas.tsx';
import { diffSummary, diffTasks } from './diff.ts';
import { layoutTasks, nextFreeSpot } from './layout.ts';
import * as M from './mutations.ts';
import { EdgeBuilder, LARGE_GRAPH, NodeBuilder } from './nodes.ts';
import { Presence } from './Presence.tsx';
import { handleShortcut, SHORTCUTS } from './shortcuts.ts';
import { TaskPanel } from './TaskPanel.tsx';
import type { GraphDiff, GraphModel, Peer, XY } from './types.ts';
import { useCollabSession, useModel, useSessionTick } from './useCollab.ts';
import { GraphValidator } from './validate.ts';
import { type VersionRef, VersionsPanel } from './VersionsPanel.tsx';
import { RunLauncher } from './RunLauncher.tsx';

interface DiffView {
  label: string;
  diff: GraphDiff;
  model: GraphModel;
}

let internalClipboard: ClipboardData | undefined;
const NO_PEERS: Peer[] = [];

export function DesignerPage() {
  const { id = '' } = useParams();
  const api = useApi();
  const me = useSession((s) => s.me);
  const token = useSession((s) => s.token) ?? '';
  const navigate = useNavigate();
  const record = useQuery({ queryKey: ['workflow', id], queryFn: () => api.getWorkflow(id), retry: false });
  const user = useMemo(() => ({ name: me?.userId ?? 'anonymous', color: colorFor(me?.userId ?? 'anonymous') }), [me?.userId]);
  const session = useCollabSession(api.collabUrl(), id, token, user);
  const model = useModel(session);
  useSessionTick(session);
  const role = record.data?.role;
  const readOnly = role === 'viewer' || (session?.denied?.includes('read-only') ?? false);

  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [panel, setPanel] = useState<'task' | 'versions' | 'run' | 'help' | null>(null);
  const [diffView, setDiffView] = useState<DiffView | null>(null);
  const [fitKey, setFitKey] = useState('initial');
  const builder = useRef(new NodeBuilder());
  const edgeBuilder = useRef(new EdgeBuilder());
  const doc = session?.doc;

  const locks = useQuery({
    queryKey: ['locks', id],
    queryFn: async () => ({ items: (await api.collabState(id)).locks }),
    refetchInterval: 3000,
    retry: false,
    enabled: !readOnly,
  });
  const lockMap = useMemo(() => {
    const m = new Map<string, string>();
    for (const l of locks.data?.items ?? []) if (l.holder !== me?.userId) m.set(l.taskId, l.holder);
    return m;
  }, [locks.data, me?.userId]);
  const myLocks = useMemo(() => new Set((locks.data?.items ?? []).filter((l) => l.holder === me?.userId).map((l) => l.taskId)), [locks.data, me?.userId]);

  // Seed an empty document from the stored definition, and lay out tasks that have no position yet.
  const seeded = useRef(false);
  useEffect(() => {
    if (!doc || !session || session.state !== 'synced' || readOnly || seeded.current || !record.data) return;
    seeded.current = true;
    const def = record.data.definition;
    if (model.tasks.size === 0 && def?.tasks?.length) {
      M.replaceAll(doc, def.tasks, layoutTasks(def.tasks), { name: def.name ?? id });
      session.undo.clear();
    } else {
      const missing = [...model.tasks.keys()].filter((t) => !model.positions.has(t));
      if (missing.length) {
        const laid = layoutTasks(model.tasks.values());
        M.moveTasks(doc, missing.map((t) => ({ id: t, position: laid.get(t) as XY })));
        session.undo.clear();
      }
    }
    setFitKey(`seeded-${Date.now()}`);
  }, [doc, session, session?.state, readOnly, record.data, model, id]);

  useEffect(() => {
    if (session?.state === 'synced') performance.mark('codexos:designer-synced');
  }, [session?.state]);
  // Schema checks of every task run after the canvas has painted (a deferred render), not in front of it.
  const checkedTasks = useDeferredValue(model.tasks);
  const validator = useRef(new GraphValidator());
  const issues = useMemo(() => validator.current.check(checkedTasks), [checkedTasks]);
  const peers = session?.peers ?? NO_PEERS;
  const editors = useMemo(() => {
    const m = new Map<string, Peer[]>();
    for (const p of peers) {
      const t = p.editingTaskId ?? p.selectedTaskId;
      if (t) m.set(t, [...(m.get(t) ?? []), p]);
    }
    return m;
  }, [peers]);

  const shown = diffView?.model ?? model;
  const fallback = useMemo(() => (diffView ? layoutTasks(diffView.model.tasks.values()) : undefined), [diffView]);
  const nodes = useMemo(
    () =>
      builder.current.build(shown.tasks.values(), diffView ? new Map([...(fallback ?? []), ...model.positions].filter(([k]) => shown.tasks.has(k))) : shown.positions, {
        issues: diffView ? undefined : issues,
        editors: diffView ? undefined : editors,
        locks: lockMap,
        diff: diffView ? new Map([...diffView.diff.tasks].map(([k, v]) => [k, { kind: v.kind, fields: v.fields }])) : undefined,
        readOnly: readOnly || !!diffView,
      }, selected),
    [shown, issues, editors, lockMap, diffView, readOnly, selected, fallback, model.positions],
  );
  // Edges depend on the tasks only: a move (a new positions map) does not walk the dependencies again.
  const shownTasks = shown.tasks;
  const edges = useMemo(
    () => edgeBuilder.current.build({ tasks: shownTasks }, { readOnly: readOnly || !!diffView, added: diffView?.diff.addedEdges, removed: diffView?.diff.removedEdges }),
    [shownTasks, readOnly, diffView],
  );
  // On a large graph, only the selected tasks' edges are React Flow edges (they follow a drag and can be clicked and
  // deleted); the others are drawn as one static layer. Selecting a task makes its edges interactive.
  const staticMode = !diffView && shownTasks.size > LARGE_GRAPH;
  const split = useMemo(() => {
    if (!staticMode) return { live: edges, still: undefined };
    const touches = (e: { source: string; target: string }) => selected.has(e.source) || selected.has(e.target);
    return { live: edges.filter(touches), still: edges.filter((e) => !touches(e)) };
  }, [staticMode, edges, selected]);

  const one = selected.size === 1 ? [...selected][0] : null;
  const selectedTask = one ? model.tasks.get(one) : undefined;
  useEffect(() => {
    session?.setSelected(one, false);
  }, [session, one]);

  const guard = useCallback(
    (fn: () => void) => {
      if (readOnly || !doc) return notifyInfo('You can view this workflow but not change it');
      if (diffView) return notifyInfo('Close the diff view to edit');
      fn();
    },
    [readOnly, doc, diffView],
  );

  const act = useMemo(
    () => ({
      add: () =>
        guard(() => {
          const tid = M.freshId('task', model.tasks);
          M.addTask(doc!, { id: tid, name: tid, agentId: 'assistant', input: { prompt: '' } }, nextFreeSpot(model.positions));
          setSelected(new Set([tid]));
          setPanel('task');
          setFitKey(`add-${tid}`);
        }),
      layout: () => guard(() => {
        const laid = layoutTasks(model.tasks.values());
        M.moveTasks(doc!, [...laid].map(([t, position]) => ({ id: t, position })));
        setFitKey(`layout-${Date.now()}`);
      }),
      undo: () => guard(() => session?.undo.undo()),
      redo: () => guard(() => session?.undo.redo()),
      copy: () => {
        internalClipboard = copyTasks(selected, model.tasks, model.positions);
        void navigator.clipboard?.writeText(JSON.stringify(internalClipboard)).catch(() => {});
        if (internalClipboard.tasks.length) notifyInfo(`Copied ${internalClipboard.tasks.length} task(s)`);
      },
      cut: () => guard(() => {
        internalClipboard = copyTasks(selected, model.tasks, model.positions);
        M.deleteTasks(doc!, [...selected].filter((t) => !lockMap.has(t)));
        setSelected(new Set());
      }),
      paste: () =>
        guard(() => {
          const paste = (data: ClipboardData | undefined) => {
            if (!data?.tasks.length) return;
            const items = pasteTasks(data, model.tasks);
            M.transact(doc!, () => { for (const it of items) M.addTask(doc!, it.task, it.position); });
            setSelected(new Set(items.map((i) => i.task.id)));
          };
          if (internalClipboard) paste(internalClipboard);
          else void navigator.clipboard?.readText().then((t) => paste(parseClipboard(t)), () => {});
        }),
      save: () => setPanel('versions'),
      selectAll: () => setSelected(new Set(model.tasks.keys())),
      escape: () => {
        if (diffView) setDiffView(null);
        else if (panel) setPanel(null);
        else setSelected(new Set());
      },
      help: () => setPanel((p) => (p === 'help' ? null : 'help')),
    }),
    [guard, model, doc, session, selected, lockMap, diffView, panel],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (handleShortcut(e, act, readOnly)) return;
      if (e.key === 'Enter' && one && !(e.target as HTMLElement)?.closest?.('input,textarea,select,button')) setPanel('task');
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [act, readOnly, one]);

  const onConnect = useCallback((source: string, target: string) => guard(() => {
    const r = M.connect(doc!, source, target);
    if (r === 'cycle') notifyError(new Error(`Connecting ${source} → ${target} would create a cycle`));
  }), [guard, doc]);
  const onDeleteNodes = useCallback((ids: string[]) => guard(() => {
    M.deleteTasks(doc!, ids.filter((t) => !lockMap.has(t)));
    setSelected(new Set());
  }), [guard, doc, lockMap]);
  const onDeleteEdges = useCallback((es: Array<{ source: string; target: string }>) => guard(() => {
    M.transact(doc!, () => { for (const e of es) M.disconnect(doc!, e.source, e.target); });
  }), [guard, doc]);
  const onMove = useCallback((moves: Array<{ id: string; position: XY }>) => {
    if (!readOnly && doc && !diffView) M.moveTasks(doc, moves.filter((m) => !lockMap.has(m.id)));
  }, [readOnly, doc, diffView, lockMap]);
  const onSelect = useCallback((ids: string[]) => setSelected(new Set(ids)), []);

  async function setLock(taskId: string, lock: boolean) {
    try {
      if (lock) await api.lockTask(id, taskId);
      else await api.unlockTask(id, taskId);
      await locks.refetch();
    } catch (err) {
      notifyError(err, lock ? 'Could not lock the task' : 'Could not release the lock');
    }
  }

  if (record.error && record.error instanceof ApiError && record.error.status === 404)
    return <div className="page"><h1>Workflow not found</h1><p><Link to="/workflows">Back to workflows</Link></p></div>;

  const summary = diffView ? diffSummary(diffView.diff) : null;
  return (
    <div className="designer">
      <header className="toolbar" aria-label="Designer toolbar">
        <Link to="/workflows" className="link">← Workflows</Link>
        <h1 title={id}>{(model.meta.name as string) || record.data?.name || id}</h1>
        <span className={`conn conn-${session?.state ?? 'connecting'}`} data-testid="conn-state">{session?.state ?? 'connecting'}</span>
        {readOnly && <span className="badge" data-testid="read-only">read-only</span>}
        {!readOnly && !diffView && (
          <div className="tools" role="toolbar" aria-label="Edit">
            <button type="button" onClick={act.add} title="Add task (N)">+ Task</button>
            <button type="button" onClick={act.layout} title="Auto-layout (L)">Auto-layout</button>
            <button type="button" onClick={act.undo} disabled={!session?.undo.canUndo()} title="Undo (Ctrl+Z)">Undo</button>
            <button type="button" onClick={act.redo} disabled={!session?.undo.canRedo()} title="Redo (Ctrl+Shift+Z)">Redo</button>
            <button type="button" onClick={() => onDeleteNodes([...selected])} disabled={selected.size === 0} title="Delete (Del)">Delete</button>
          </div>
        )}
        <div className="tools">
          <button type="button" onClick={() => setPanel(panel === 'versions' ? null : 'versions')}>Versions</button>
          {!readOnly && <button type="button" onClick={() => setPanel(panel === 'run' ? null : 'run')}>Run…</button>}
          <button type="button" className="link" onClick={act.help} aria-label="Keyboard shortcuts">?</button>
        </div>
        <Presence peers={peers} me={user} />
      </header>
      {record.error && !(record.error instanceof ApiError && record.error.status === 404) ? <ErrorBox error={record.error} retry={() => void record.refetch()} /> : null}
      {session?.denied && !readOnly && <div className="warn" role="alert">The server refused a change: {session.denied}</div>}
      {diffView && summary && (
        <div className="diff-bar" role="status" data-testid="diff-bar">
          Diff {diffView.label}: <span className="diff-added">{summary.added} added</span>, <span className="diff-removed">{summary.removed} removed</span>,{' '}
          <span className="diff-changed">{summary.changed} changed</span>
          <button type="button" onClick={() => setDiffView(null)}>Close diff</button>
        </div>
      )}
      <div className="designer-body">
        <ReactFlowProvider>
          <DesignerCanvas
            session={session}
            nodes={nodes}
            edges={split.live}
            staticEdges={split.still}
            positions={shown.positions}
            readOnly={readOnly || !!diffView}
            selected={selected}
            onSelect={onSelect}
            onConnect={onConnect}
            onDeleteNodes={onDeleteNodes}
            onDeleteEdges={onDeleteEdges}
            onMove={onMove}
            onOpen={(t) => { setSelected(new Set([t])); setPanel('task'); }}
            fitKey={fitKey}
          />
        </ReactFlowProvider>
        {panel === 'task' && selectedTask && !diffView && (
          <TaskPanel
            task={selectedTask}
            issues={issues.get(selectedTask.id) ?? []}
            readOnly={readOnly}
            lockedBy={lockMap.get(selectedTask.id) ?? null}
            lockedByMe={myLocks.has(selectedTask.id)}
            editors={editors.get(selectedTask.id) ?? []}
            taskIds={[...model.tasks.keys()]}
            onField={(path, value) => guard(() => M.setTaskField(doc!, selectedTask.id, path, value))}
            onRename={(to) => guard(() => {
              if (!/^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/.test(to) || model.tasks.has(to)) return notifyError(new Error(`'${to}' is not a free, valid task id`));
              M.renameTask(doc!, selectedTask.id, to);
              setSelected(new Set([to]));
            })}
            onLock={(l) => void setLock(selectedTask.id, l)}
            onRemoveDependency={(d) => guard(() => M.disconnect(doc!, d, selectedTask.id))}
            onFocusField={(editing, path) => {
              session?.setSelected(selectedTask.id, editing);
              if (editing && path && path.length > 1 && !readOnly && doc) M.ensureMap(doc, selectedTask.id, path.slice(0, -1));
            }}
            onClose={() => setPanel(null)}
          />
        )}
        {panel === 'task' && !selectedTask && !diffView && (
          <aside className="panel"><p className="muted">Select one task to edit it (double-click or Enter).</p></aside>
        )}
        {panel === 'versions' && (
          <VersionsPanel
            workflowId={id}
            readOnly={readOnly}
            liveTasks={() => [...model.tasks.values()]}
            onDiff={(a, b) => {
              const d = diffTasks(a.tasks, b.tasks);
              const union = new Map<string, TaskDef>([...a.tasks.map((t) => [t.id, t] as const), ...b.tasks.map((t) => [t.id, t] as const)]);
              const name = (r: VersionRef) => (r === 'live' ? 'live' : `v${r}`);
              setDiffView({ label: `${name(a.ref)} → ${name(b.ref)}`, diff: d, model: { tasks: union, positions: model.positions, meta: model.meta } });
              setFitKey(`diff-${Date.now()}`);
            }}
            onRestore={(v, tasks) => guard(() => {
              // The live document is what everyone edits: restore into it (undoable), then record the restore.
              M.replaceAll(doc!, tasks, new Map([...layoutTasks(tasks), ...model.positions]));
              setDiffView(null);
              api.restoreVersion(id, v, `Restored version ${v}`).then(
                (nv) => notifyInfo(`Restored version ${v} (saved as version ${nv.version})`),
                (err) => notifyError(err, `Version ${v} is in the live document, but recording the restore failed`),
              );
            })}
            onClose={() => setPanel(null)}
          />
        )}
        {panel === 'run' && <RunLauncher workflowId={id} selected={[...selected]} taskIds={[...model.tasks.keys()]} onStarted={(ex) => navigate(`/runs/${encodeURIComponent(ex)}`)} onClose={() => setPanel(null)} />}
        {panel === 'help' && (
          <aside className="panel" aria-label="Keyboard shortcuts">
            <header><h2>Keyboard</h2><button type="button" className="link" onClick={() => setPanel(null)} aria-label="Close help">×</button></header>
            <dl className="shortcuts">{SHORTCUTS.map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{v}</dd></div>)}</dl>
            {staticMode && (
              <p className="muted small" data-testid="large-graph-hint">
                This workflow has over {LARGE_GRAPH} tasks: the dependencies of the selected tasks can be clicked and deleted; the others are drawn as a
                light static layer (select a task to work on its edges).
              </p>
            )}
          </aside>
        )}
      </div>
    </div>
  );
}

