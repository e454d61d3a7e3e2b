import { describe, expect, it } from 'vitest';
import {
  inView,
  LABEL_ZOOM,
  LOW_ZOOM,
  type PaintContext,
  type PaintScene,
  StatusPainter,
  screenRect,
  statusStyle,
  type Transform,
} from '../src/runs/statusPaint.ts';
import { StatusStore } from '../src/runs/statusStore.ts';

/** A 2D context that records what is drawn: each fill with its colour and box, each clear, each label. */
function recorder() {
  const calls: Array<{ op: string; args: number[]; style?: string; text?: string }> = [];
  let path: number[] = [];
  const ctx = {
    fillStyle: '' as unknown,
    strokeStyle: '' as unknown,
    lineWidth: 1,
    font: '',
    textBaseline: 'alphabetic' as CanvasTextBaseline,
    clearRect: (...a: number[]) => calls.push({ op: 'clear', args: a }),
    fillRect: (...a: number[]) => calls.push({ op: 'fill', args: a, style: String(ctx.fillStyle) }),
    strokeRect: () => {},
    beginPath: () => {
      path = [];
    },
    roundRect: (...a: number[]) => {
      path = a.slice(0, 4);
    },
    fill: () => calls.push({ op: 'fill', args: path, style: String(ctx.fillStyle) }),
    stroke: () => calls.push({ op: 'stroke', args: path, style: String(ctx.strokeStyle) }),
    fillText: (text: string, x: number, y: number) =>
      calls.push({ op: 'text', args: [x, y], text, style: String(ctx.fillStyle) }),
  };
  return { ctx: ctx as unknown as PaintContext, calls };
}

const positions = new Map([
  ['a', { x: 0, y: 0 }],
  ['b', { x: 300, y: 0 }],
  ['far', { x: 100_000, y: 0 }],
]);
const sizes = new Map([['a', { width: 200, height: 80 }]]);

function scene(statuses: Map<string, string>, transform: Transform): PaintScene {
  return { positions, sizes, status: (id) => statuses.get(id), transform, width: 800, height: 600 };
}

describe('status canvas painter', () => {
  it('maps each status to the small graph’s node colours, and to strong fills when zoomed out', () => {
    expect(statusStyle('completed', 1)).toEqual({ fill: '#f1fbf5', stroke: '#1f9d55', label: '#11663a' });
    expect(statusStyle('completed', LOW_ZOOM / 2).fill).toBe('#1f9d55');
    expect(statusStyle('running', LOW_ZOOM / 2).fill).toBe('#2f7de1');
    expect(statusStyle('failed', LOW_ZOOM / 2).fill).toBe('#d64545');
    // Pending stays a white box with a grey border at any zoom; an unknown status is drawn as pending.
    expect(statusStyle('pending', LOW_ZOOM / 2)).toEqual(statusStyle('pending', 1));
    expect(statusStyle('no-such-status', 1)).toEqual(statusStyle('pending', 1));
    expect(statusStyle(undefined, 1)).toEqual(statusStyle('pending', 1));
    const zoomedOut = ['pending', 'queued', 'running', 'retrying', 'completed', 'failed', 'skipped'].map(
      (s) => statusStyle(s, 0.1).fill,
    );
    expect(new Set(zoomedOut).size).toBe(zoomedOut.length);
  });

  it('places a task’s box under the viewport transform and culls boxes out of view', () => {
    expect(screenRect({ x: 100, y: 50 }, { width: 200, height: 64 }, [10, 20, 0.5])).toEqual({
      x: 60,
      y: 45,
      w: 100,
      h: 32,
    });
    expect(inView({ x: -99, y: 0, w: 100, h: 10 }, 800, 600)).toBe(true);
    expect(inView({ x: -100, y: 0, w: 100, h: 10 }, 800, 600)).toBe(false);
    expect(inView({ x: 800, y: 0, w: 100, h: 10 }, 800, 600)).toBe(false);
    expect(inView({ x: 10, y: 599, w: 100, h: 10 }, 800, 600)).toBe(true);
  });

  it('draws every task in view on a new scene, with its measured size or the default one', () => {
    const { ctx, calls } = recorder();
    const p = new StatusPainter(
      ctx,
      scene(
        new Map([
          ['a', 'completed'],
          ['b', 'running'],
          ['far', 'failed'],
        ]),
        [0, 0, 1],
      ),
    );
    p.paintAll();
    expect(calls[0]).toEqual({ op: 'clear', args: [0, 0, 800, 600] });
    const fills = calls.filter((c) => c.op === 'fill');
    expect(fills.map((c) => c.style)).toEqual(['#f1fbf5', '#f1f6fe']);
    // The border is drawn inside the box: a's measured 200×80, b's default 200×64, inset by half a line.
    expect(fills[0].args).toEqual([0.5, 0.5, 199, 79]);
    expect(fills[1].args).toEqual([300.5, 0.5, 199, 63]);
    expect(p.drawn).toBe(2);
    // At full zoom the status word is written in the box.
    expect(calls.filter((c) => c.op === 'text').map((c) => c.text)).toEqual(['COMPLETED', 'RUNNING']);
    // Below LABEL_ZOOM the word would be unreadable: boxes only.
    const small = recorder();
    new StatusPainter(small.ctx, scene(new Map([['a', 'completed']]), [0, 0, LABEL_ZOOM - 0.01])).paintAll();
    expect(small.calls.filter((c) => c.op === 'text')).toEqual([]);
    expect(small.calls.filter((c) => c.op === 'fill').length).toBe(2);
  });

  it('redraws only the tasks whose status changed, each cleared first; zoomed out, as plain filled boxes', () => {
    const statuses = new Map([
      ['a', 'queued'],
      ['b', 'queued'],
    ]);
    const { ctx, calls } = recorder();
    const p = new StatusPainter(ctx, scene(statuses, [0, 0, 0.1]));
    p.paintAll();
    calls.length = 0;
    statuses.set('b', 'completed');
    p.paint(['b', 'gone']);
    expect(calls).toEqual([
      { op: 'clear', args: [30, 0, 21, 8] },
      { op: 'fill', args: [30, 0, 20, 6.4], style: '#1f9d55' },
    ]);
  });

  it('is woken by the status store with the ids that changed in each snapshot', () => {
    const store = new StatusStore();
    const seen: string[][] = [];
    const off = store.subscribeAll((ids) => seen.push(ids));
    store.set(
      new Map([
        ['a', 'queued'],
        ['b', 'queued'],
      ]),
    );
    store.set(
      new Map([
        ['a', 'queued'],
        ['b', 'running'],
      ]),
    );
    store.set(
      new Map([
        ['a', 'queued'],
        ['b', 'running'],
      ]),
    );
    off();
    store.set(
      new Map([
        ['a', 'completed'],
        ['b', 'running'],
      ]),
    );
    expect(seen).toEqual([['a', 'b'], ['b']]);
  });
});
