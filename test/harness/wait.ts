/** Polls until `check` returns a truthy value (work that finishes after the response, like settling or the audit batch). */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, what = 'condition', timeoutMs = 5_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
