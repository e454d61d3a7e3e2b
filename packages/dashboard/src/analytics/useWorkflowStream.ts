import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import type { ApiClient } from '../api/client.ts';

/** Refresh the given queries whenever a run starts or ends anywhere (the server's workflow-level stream). */
export function useRefreshOnRuns(api: ApiClient, keys: string[][]): void {
  const qc = useQueryClient();
  const sig = JSON.stringify(keys);
  useEffect(() => {
    let ws: WebSocket | null = null;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let after = 0;
    const open = () => {
      if (stopped) return;
      ws = new WebSocket(`${api.workflowSocketUrl()}${after ? `&after=${after}` : ''}`);
      ws.onmessage = (m) => {
        try {
          const f = JSON.parse(String(m.data)) as { type?: string; events?: Array<{ seq?: number }> };
          if (f.type !== 'events' || !f.events?.length) return;
          for (const e of f.events) if (typeof e.seq === 'number') after = Math.max(after, e.seq);
        } catch {
          return;
        }
        for (const k of JSON.parse(sig) as string[][]) void qc.invalidateQueries({ queryKey: k });
      };
      ws.onclose = (ev) => {
        if (!stopped && ev.code !== 4401) timer = setTimeout(open, 2000);
      };
    };
    open();
    return () => {
      stopped = true;
      clearTimeout(timer);
      if (ws) {
        ws.onclose = null;
        ws.close();
      }
    };
  }, [api, qc, sig]);
}
