import { StringDecoder } from 'node:string_decoder';

const EVENT_END = /\r\n\r\n|\n\n|\r\r/g;

/**
 * Cuts a server-sent-events byte stream into complete events, whatever the chunking. Each
 * event keeps its own terminator, so joining what `push` returns rebuilds the stream exactly.
 */
export class SseEvents {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  /** The events completed by this chunk. */
  push(chunk: Buffer): string[] {
    const text = this.pending + this.decoder.write(chunk);
    const events: string[] = [];
    let start = 0;
    EVENT_END.lastIndex = 0;
    for (let m = EVENT_END.exec(text); m !== null; m = EVENT_END.exec(text)) {
      const end = m.index + m[0].length;
      events.push(text.slice(start, end));
      start = end;
    }
    this.pending = text.slice(start);
    return events;
  }

  /** Whatever is left after the stream ended (an unterminated last event). */
  rest(): string {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    return rest;
  }
}

/** The JSON of an event's `data:` lines, or undefined when there is none or it is not JSON. */
export function eventData(event: string): unknown {
  let data = '';
  for (const line of event.split(/\r\n|\n|\r/)) {
    if (line.startsWith('data:')) data += (data ? '\n' : '') + line.slice(line.startsWith('data: ') ? 6 : 5);
  }
  if (!data || data === '[DONE]') return undefined;
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}
