import { ConfigError } from './config';

/**
 * Loads settings before anything else starts; a bad setting ends the process with one line
 * naming it (exit code 78, EX_CONFIG) instead of a stack trace.
 */
export function loadOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}
