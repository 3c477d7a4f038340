import { useEffect, useState } from 'preact/hooks';

/** A few pages under /console, addressed by path so a reload or a shared link lands on the same page. */
export const BASE = '/console';
export const PAGES = ['keys', 'audit', 'usage', 'credentials', 'webhooks', 'gateway-keys'] as const;
export type Page = (typeof PAGES)[number];

export interface Location {
  page: Page;
  query: URLSearchParams;
}

function read(): Location {
  const rest = window.location.pathname.startsWith(BASE) ? window.location.pathname.slice(BASE.length) : '';
  const name = rest.split('/').filter(Boolean)[0];
  const page = (PAGES as readonly string[]).includes(name ?? '') ? (name as Page) : 'keys';
  return { page, query: new URLSearchParams(window.location.search) };
}

const NAVIGATED = 'keyvault:navigated';

export function href(page: Page, query: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) params.set(k, v);
  const qs = params.toString();
  return `${BASE}/${page}${qs ? `?${qs}` : ''}`;
}

/** Moves to a page; `replace` for filter changes, so Back leaves the page rather than undoing a filter. */
export function navigate(to: string, replace = false): void {
  if (replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.dispatchEvent(new Event(NAVIGATED));
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const update = () => setLoc(read());
    window.addEventListener('popstate', update);
    window.addEventListener(NAVIGATED, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(NAVIGATED, update);
    };
  }, []);
  return loc;
}

/** For <a href> inside the app: same-tab clicks move without reloading the page. */
export function onLinkClick(e: MouseEvent): void {
  const a = e.currentTarget as HTMLAnchorElement;
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(a.getAttribute('href')!);
}
