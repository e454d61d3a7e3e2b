import { useEffect, useRef, useState } from 'react';
import { flushSync } from 'react-dom';
import type { ApiClient } from '../api/client.ts';
import type { LiveEvent } from '../api/types.ts';
import { afterPaint } from './afterPaint.ts';
import { FrameBatcher } from './frameBatch.ts';
import { lagProbe } from './lagProbe.ts';
import { applyEvents, emptyRun, type LiveRun } from './live.ts';

// Follow one execution over the live-events socket. Events are collected and folded into the state once per
// animation frame, rendered before that frame paints (one render per painted frame, however many socket frames
// arrived). When the socket drops before the run ended, it reconnects with `after=<last seq>`,
// so nothing is missed or applied twice.

export function useLiveRun(
  api: ApiClient,
  executionId: string,
  onEnd?: () => void,
): { run: LiveRun; connected: boolean; ended: boolean } {
  const [run, setRun] = useState<LiveRun>(() => emptyRun(executionId));
  const [connected, setConnected] = useState(false);
  const [ended, setEnded] = useState(false);
  const lastSeq = useRef(0);
  const endRef = useRef(onEnd);
  endRef.current = onEnd;

  useEffect(() => {
    let ws: WebSocket | null = null;
    let stopped = false;
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let cancelEnd: (() => void) | undefined;
    const batch = new FrameBatcher<LiveEvent>((evs) => {
      // Rendered now, inside the animation frame, so the statuses are on screen when this frame paints.
      lagProbe?.flushing();
      flushSync(() => setRun((r) => applyEvents(r, evs)));
      lagProbe?.committed();
    });
    lastSeq.current = 0;
    setRun(emptyRun(executionId));
    setEnded(false);
    const open = () => {
      if (stopped) return;
      ws = new WebSocket(api.executionSocketUrl(executionId, lastSeq.current || undefined));
      ws.onopen = () => {
        attempt = 0;
        setConnected(true);
      };
      ws.onmessage = (m) => {
        let frame: { type?: string; events?: LiveEvent[] };
        try {
          frame = JSON.parse(String(m.data));
        } catch {
          return;
        }
        if (frame.type === 'events' && Array.isArray(frame.events) && frame.events.length) {
          const evs = frame.events;
          let newest = 0;
          for (const e of evs) {
            if (typeof e.seq === 'number' && e.seq > lastSeq.current) lastSeq.current = e.seq;
            if (typeof e.at === 'number' && e.at > newest) newest = e.at;
          }
          batch.push(evs);
          lagProbe?.received(newest);
        } else if (frame.type === 'end') {
          batch.flush();
          stopped = true;
          // What the end sets off (refetching the run, its profile) waits for the frame that paints the last statuses.
          cancelEnd = afterPaint(() => {
            setEnded(true);
            endRef.current?.();
          });
        }
      };
      ws.onclose = (ev) => {
        batch.flush();
        setConnected(false);
        if (stopped || ev.code === 1000 || ev.code === 4404 || ev.code === 4401) {
          if (ev.code === 1000 && !stopped) {
            stopped = true;
            setEnded(true);
            endRef.current?.();
          }
          return;
        }
        timer = setTimeout(open, Math.min(5000, 250 * 2 ** attempt++));
      };
    };
    open();
    return () => {
      stopped = true;
      batch.dispose();
      cancelEnd?.();
      clearTimeout(timer);
      if (ws) {
        ws.onclose = null;
        ws.close();
      }
    };
  }, [api, executionId]);

  return { run, connected, ended };
}
