// Designer keyboard shortcuts (ignored while typing in a field). Delete/Backspace are handled by the canvas.

export interface ShortcutHandlers {
  add(): void;
  layout(): void;
  undo(): void;
  redo(): void;
  copy(): void;
  paste(): void;
  cut(): void;
  save(): void;
  selectAll(): void;
  escape(): void;
  help(): void;
}

export const SHORTCUTS: Array<[string, string]> = [
  ['N', 'add a task'],
  ['L', 'auto-layout'],
  ['Ctrl/⌘ Z', 'undo (your own edits)'],
  ['Ctrl/⌘ Shift Z, Ctrl Y', 'redo'],
  ['Ctrl/⌘ C / X / V', 'copy / cut / paste tasks'],
  ['Ctrl/⌘ A', 'select all'],
  ['Ctrl/⌘ S', 'save a version'],
  ['Delete, Backspace', 'delete selection'],
  ['Enter', 'edit the selected task'],
  ['Esc', 'clear selection / close panel'],
  ['?', 'this help'],
];

function typing(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  return (
    !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable)
  );
}

export function handleShortcut(e: KeyboardEvent, h: ShortcutHandlers, readOnly: boolean): boolean {
  if (typing(e.target)) return false;
  const mod = e.ctrlKey || e.metaKey;
  const k = e.key.toLowerCase();
  let fn: (() => void) | undefined;
  if (mod && k === 'z' && !e.shiftKey) fn = readOnly ? undefined : h.undo;
  else if (mod && ((k === 'z' && e.shiftKey) || k === 'y')) fn = readOnly ? undefined : h.redo;
  else if (mod && k === 'c') fn = h.copy;
  else if (mod && k === 'x') fn = readOnly ? undefined : h.cut;
  else if (mod && k === 'v') fn = readOnly ? undefined : h.paste;
  else if (mod && k === 's') fn = readOnly ? undefined : h.save;
  else if (mod && k === 'a') fn = h.selectAll;
  else if (!mod && !e.altKey && k === 'n') fn = readOnly ? undefined : h.add;
  else if (!mod && !e.altKey && k === 'l') fn = readOnly ? undefined : h.layout;
  else if (k === 'escape') fn = h.escape;
  else if (e.key === '?') fn = h.help;
  if (!fn) return false;
  e.preventDefault();
  fn();
  return true;
}
