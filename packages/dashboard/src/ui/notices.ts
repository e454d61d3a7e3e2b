import { create } from 'zustand';
import { describeError } from '../api/client.ts';

// App-wide messages: a failed request shows here (clear text, dismissable) and never throws away the page's state.

export interface Notice {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

interface NoticeState {
  notices: Notice[];
  push(kind: Notice['kind'], text: string): void;
  dismiss(id: number): void;
}

let seq = 0;

export const useNotices = create<NoticeState>((set) => ({
  notices: [],
  push(kind, text) {
    const id = ++seq;
    set((s) => ({ notices: [...s.notices.filter((n) => n.text !== text).slice(-4), { id, kind, text }] }));
    if (kind === 'info') setTimeout(() => useNotices.getState().dismiss(id), 4000);
  },
  dismiss(id) {
    set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
  },
}));

export const notifyError = (err: unknown, what?: string) =>
  useNotices.getState().push('error', what ? `${what}: ${describeError(err)}` : describeError(err));
export const notifyInfo = (text: string) => useNotices.getState().push('info', text);
