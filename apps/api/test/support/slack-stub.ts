import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackPost {
  path: string;
  body: { text: string; blocks: { type: string; text?: { text: string }; fields?: { text: string }[]; elements?: { url?: string }[] }[] };
  answered: number | null;
}

/**
 * Slack's incoming webhooks on 127.0.0.1, as they answer: `200 ok`, or an error status with a
 * short word (`500 rollup_error`). `answer(n)` decides the n-th post; 'hang' never answers.
 */
export async function startSlackStub(answer: (n: number) => [number, string] | 'hang' = () => [200, 'ok']) {
  const posts: SlackPost[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      const post: SlackPost = { path: req.url ?? '', body: JSON.parse(raw), answered: null };
      posts.push(post);
      const verdict = answer(posts.length);
      if (verdict === 'hang') return;
      post.answered = verdict[0];
      res.writeHead(verdict[0], { 'content-type': 'text/html' }).end(verdict[1]);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/services/T0001/B0001/abcdefghijklmnop`,
    posts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Everything a person reads in a Slack message: the blocks' text, fields and links. */
export function slackText(p: SlackPost): string {
  return p.body.blocks
    .flatMap((b) => [b.text?.text ?? '', ...(b.fields ?? []).map((f) => f.text), ...(b.elements ?? []).map((e) => e.url ?? '')])
    .join('\n');
}
