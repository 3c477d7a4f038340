import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

export interface Resource<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  reload: () => Promise<void>;
}

function asApiError(e: unknown): ApiError {
  return e instanceof ApiError ? e : new ApiError(0, 'console_error', (e as Error)?.message ?? String(e));
}

/**
 * Loads something from the api and reloads it when `deps` change. A slower, older answer never
 * overwrites a newer one (filters change while a request is in flight).
 */
export function useResource<T>(load: () => Promise<T>, deps: unknown[]): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const value = await loadRef.current();
      if (mine !== generation.current) return;
      setData(value);
      setError(null);
    } catch (e) {
      if (mine !== generation.current) return;
      setError(asApiError(e));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, []);

  // The caller names what the load depends on; the old data stays on screen until the new arrives.
  useEffect(() => {
    void reload();
  }, deps);

  return { data, error, loading, reload };
}

/** Runs one action (revoke, add, delete) and keeps its error to show next to the button that caused it. */
export function useAction<A extends unknown[], R>(
  run: (...args: A) => Promise<R>,
): { busy: boolean; error: ApiError | null; run: (...args: A) => Promise<R | undefined>; reset: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const runRef = useRef(run);
  runRef.current = run;
  const call = useCallback(async (...args: A) => {
    setBusy(true);
    setError(null);
    try {
      return await runRef.current(...args);
    } catch (e) {
      setError(asApiError(e));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run: call, reset: () => setError(null) };
}

/** Calls `tick` every `ms` while the tab is visible and `enabled`; never two calls at once. */
export function usePoll(tick: () => Promise<void>, ms: number, enabled: boolean): void {
  const tickRef = useRef(tick);
  tickRef.current = tick;
  useEffect(() => {
    if (!enabled) return;
    let running = false;
    const id = window.setInterval(() => {
      if (running || document.visibilityState !== 'visible') return;
      running = true;
      void tickRef.current().finally(() => {
        running = false;
      });
    }, ms);
    return () => window.clearInterval(id);
  }, [ms, enabled]);
}
