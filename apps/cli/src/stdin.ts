/** Reads stdin to the end as non-empty, trimmed lines (provider keys piped in, one per line). */
export async function readStdinLines(stream: NodeJS.ReadableStream = process.stdin): Promise<string[]> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
}
