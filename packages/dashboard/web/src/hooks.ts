import { useEffect, useRef, useState } from 'preact/hooks';

export interface Polled<T> {
  data: T | undefined;
  error: string | undefined;
  /** Read again now. */
  refresh: () => void;
}

/**
 * Reads `read` now and every `everyMs` while the view is shown (and the tab visible), keeping the
 * last answer; `deps` start it over.
 */
export function usePoll<T>(read: () => Promise<T>, everyMs: number, deps: unknown[]): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const reader = useRef(read);
  reader.current = read;
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const once = async (): Promise<void> => {
      if (document.visibilityState !== 'hidden') {
        try {
          const v = await reader.current();
          if (!live) return;
          setData(v);
          setError(undefined);
        } catch (err) {
          if (live) setError(err instanceof Error ? err.message : String(err));
        }
      }
      if (live && everyMs > 0) timer = setTimeout(() => void once(), everyMs);
    };
    void once();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [...deps, tick, everyMs]);
  return { data, error, refresh: () => setTick((t) => t + 1) };
}

export interface Action {
  /** What the last action said it did, or why it failed. */
  note: string | undefined;
  busy: boolean;
  /** Runs `act` (one at a time), notes what it answers, then calls `after`. */
  run: (act: () => Promise<string>) => Promise<void>;
}

/** A button's action against the cluster, with its outcome shown to the user. */
export function useAction(after: () => void = () => undefined): Action {
  const [note, setNote] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  return {
    note,
    busy,
    run: async (act) => {
      setBusy(true);
      try {
        setNote(await act());
      } catch (err) {
        setNote(`failed: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        setBusy(false);
        after();
      }
    },
  };
}
