import { NODE_H, NODE_W } from '../designer/layout.ts';
import type { XY } from '../designer/types.ts';

// Task statuses of a large run graph drawn on one canvas under the nodes (see StatusCanvas): a status change
// repaints that task's box on the canvas, and the nodes' DOM (text, borders) is not restyled, re-laid out or
// re-rastered. A browser without a GPU otherwise re-rasters the whole strip of tiny nodes around each change.

type Size = { width: number; height: number };
/** React Flow's viewport transform: pan x, pan y, zoom. */
export type Transform = readonly [number, number, number];

/** A task's box on the canvas, in CSS pixels. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** How one status is drawn: the box's fill and border, and the colour of its status word. */
export interface StatusStyle {
  fill: string;
  stroke: string;
  label: string;
}

/** Below this zoom a node's text is unreadable: boxes are filled with their status colour, to be told apart. */
export const LOW_ZOOM = 0.35;
/** From this zoom on, the status word is written in the box (where a small graph's node shows it). */
export const LABEL_ZOOM = 0.6;

const BORDER = '#b9c0cc';
// Light fills are the small graph's node backgrounds (styles.css `.task-node.status-*`); strong ones are the
// border colours, used when zoomed out.
const STYLES: Record<string, { light: string; strong: string; stroke: string; label: string }> = {
  pending: { light: '#ffffff', strong: '#ffffff', stroke: BORDER, label: '#667085' },
  queued: { light: '#eef0f4', strong: '#c3c9d4', stroke: BORDER, label: '#444444' },
  running: { light: '#f1f6fe', strong: '#2f7de1', stroke: '#2f7de1', label: '#1b4f99' },
  retrying: { light: '#fff9ec', strong: '#e0a030', stroke: '#c77d00', label: '#7a4d00' },
  interrupted: { light: '#fff9ec', strong: '#e0a030', stroke: '#c77d00', label: '#7a4d00' },
  completed: { light: '#f1fbf5', strong: '#1f9d55', stroke: '#1f9d55', label: '#11663a' },
  failed: { light: '#fff4f4', strong: '#d64545', stroke: '#d64545', label: '#8a1c1c' },
  skipped: { light: '#f5f5f5', strong: '#d0d4db', stroke: '#d0d4db', label: '#777777' },
  cancelled: { light: '#f5f5f5', strong: '#d0d4db', stroke: '#d0d4db', label: '#777777' },
  paused: { light: '#f3e8fd', strong: '#8e44ad', stroke: '#8e44ad', label: '#5b2a86' },
  waiting: { light: '#f3e8fd', strong: '#8e44ad', stroke: '#8e44ad', label: '#5b2a86' },
};

/** The fill, border and label colour of a status at a zoom (an unknown status is drawn as pending). */
export function statusStyle(status: string | undefined, zoom: number): StatusStyle {
  const s = STYLES[status ?? 'pending'] ?? STYLES.pending;
  const strong = zoom < LOW_ZOOM;
  return {
    fill: strong ? s.strong : s.light,
    stroke: strong && status !== 'pending' ? s.strong : s.stroke,
    label: s.label,
  };
}

/** A task's box on screen from its graph position and measured size under the viewport transform. */
export function screenRect(pos: XY, size: Size, [tx, ty, zoom]: Transform): Rect {
  return { x: pos.x * zoom + tx, y: pos.y * zoom + ty, w: size.width * zoom, h: size.height * zoom };
}

/** Whether a box overlaps the canvas (width × height CSS pixels). */
export function inView(r: Rect, width: number, height: number): boolean {
  return r.x + r.w > 0 && r.y + r.h > 0 && r.x < width && r.y < height;
}

/** The 2D context calls the painter uses (a canvas's context, or a recorder in tests). */
export type PaintContext = Pick<
  CanvasRenderingContext2D,
  'clearRect' | 'fillRect' | 'strokeRect' | 'beginPath' | 'roundRect' | 'fill' | 'stroke' | 'fillText'
> & { fillStyle: unknown; strokeStyle: unknown; lineWidth: number; font: string; textBaseline: CanvasTextBaseline };

/** What the painter reads: where tasks are, their sizes, their statuses, the viewport and the canvas size. */
export interface PaintScene {
  positions: ReadonlyMap<string, XY>;
  sizes: ReadonlyMap<string, Size>;
  status(taskId: string): string | undefined;
  transform: Transform;
  width: number;
  height: number;
}

/** Draws task boxes: all of them on a new scene, only the changed ones (cleared and redrawn) on status changes. */
export class StatusPainter {
  /** Boxes drawn since the painter was made (tests count them). */
  drawn = 0;

  constructor(
    private readonly ctx: PaintContext,
    private readonly scene: PaintScene,
  ) {}

  /** Clear the canvas and draw every task in view. */
  paintAll(): void {
    const { width, height } = this.scene;
    this.ctx.clearRect(0, 0, width, height);
    for (const id of this.scene.positions.keys()) this.paintTask(id, false);
  }

  /** Redraw the given tasks (their boxes do not overlap, so each is cleared and drawn on its own). */
  paint(taskIds: Iterable<string>): void {
    for (const id of taskIds) this.paintTask(id, true);
  }

  private paintTask(id: string, clear: boolean): void {
    const pos = this.scene.positions.get(id);
    if (!pos) return;
    const { transform, width, height } = this.scene;
    const r = screenRect(pos, this.scene.sizes.get(id) ?? { width: NODE_W, height: NODE_H }, transform);
    if (!inView(r, width, height)) return;
    const ctx = this.ctx;
    if (clear) ctx.clearRect(Math.floor(r.x), Math.floor(r.y), Math.ceil(r.w) + 1, Math.ceil(r.h) + 1);
    const zoom = transform[2];
    const status = this.scene.status(id);
    const style = statusStyle(status, zoom);
    this.drawn++;
    ctx.fillStyle = style.fill;
    // Under a few pixels a box is a plain rectangle: rounded corners and a border would not show.
    if (r.w < 24 || r.h < 8) {
      ctx.fillRect(r.x, r.y, r.w, r.h);
      return;
    }
    // The border drawn inside the box (as CSS draws it), so a box never spills onto its neighbours.
    const lw = Math.max(zoom, 0.5);
    ctx.lineWidth = lw;
    ctx.strokeStyle = style.stroke;
    ctx.beginPath();
    ctx.roundRect(r.x + lw / 2, r.y + lw / 2, r.w - lw, r.h - lw, 8 * zoom);
    ctx.fill();
    ctx.stroke();
    if (zoom >= LABEL_ZOOM && status) {
      ctx.fillStyle = style.label;
      ctx.font = `600 ${Math.round(10 * zoom)}px system-ui, sans-serif`;
      ctx.textBaseline = 'bottom';
      ctx.fillText(status.toUpperCase(), r.x + 8 * zoom, r.y + r.h - 6 * zoom);
    }
  }
}
