import { existsSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve, sep } from 'node:path';

/**
 * Where `npm run build` puts the console: `dist/console` under the repository (or image) root.
 * The api runs from `dist/apps/api/...` when built and from `apps/api/src` under the tests, so
 * the folder is found by walking up from this file rather than by a fixed relative path.
 */
export function findConsoleRoot(from: string = __dirname): string | null {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, 'dist', 'console');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

export type ConsoleFile =
  | { kind: 'file'; path: string; immutable: boolean }
  | { kind: 'page' }
  | { kind: 'missing' };

/**
 * Maps the path under /console to what to send: a built file, the single page (for the
 * console's own routes such as /console/keys), or nothing (an asset that does not exist must
 * be a 404, not index.html, or the browser would run HTML as a script).
 */
export function resolveConsoleFile(root: string, segments: readonly string[]): ConsoleFile {
  const parts = segments.filter((s) => s !== '');
  // Dot segments would climb out of the root; dotfiles are never part of the build.
  if (parts.some((s) => s.startsWith('.') || s.includes('/') || s.includes('\\') || s.includes('\0'))) {
    return { kind: 'missing' };
  }
  if (parts.length === 0) return { kind: 'page' };
  const path = resolve(root, ...parts);
  if (!path.startsWith(root + sep)) return { kind: 'missing' };
  if (isFile(path)) return { kind: 'file', path, immutable: parts[0] === 'assets' };
  return extname(path) ? { kind: 'missing' } : { kind: 'page' };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
