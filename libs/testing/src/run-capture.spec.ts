import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scanRunForSecrets } from './run-capture';

describe('the run-wide secret scan', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds a registered secret in any worker process log, and names the line, but not one a test sent in the open', () => {
    dir = mkdtempSync(join(tmpdir(), 'kv-scan-'));
    mkdirSync(join(dir, 'secrets'));
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'secrets', '1.jsonl'), `${JSON.stringify('vault_key_leaked0123456789')}\n${JSON.stringify('sk-never-logged-0123')}\n`);
    writeFileSync(join(dir, 'secrets', '2.jsonl'), `${JSON.stringify('kv_live_other_process_secret')}\n`);
    writeFileSync(join(dir, 'logs', '1.log'), '{"msg":"fine"}\n{"msg":"oops","token":"vault_key_leaked0123456789"}\n');
    writeFileSync(join(dir, 'logs', '2.log'), '{"msg":"Bearer kv_live_other_process_secret","url":"/credentials/sk-never-logged-0123"}\n');
    // that one the test sent in a URL itself: not a leak
    mkdirSync(join(dir, 'open'));
    writeFileSync(join(dir, 'open', '3.jsonl'), `${JSON.stringify('sk-never-logged-0123')}\n`);
    const scan = scanRunForSecrets(dir);
    expect(scan).toMatchObject({ secrets: 2, logFiles: 2, logLines: 3 });
    expect(scan.hits.map((h) => [h.secret, h.line])).toEqual([
      ['vault_key_leaked0123456789', '{"msg":"oops","token":"vault_key_leaked0123456789"}'],
      ['kv_live_other_process_secret', '{"msg":"Bearer kv_live_other_process_secret","url":"/credentials/sk-never-logged-0123"}'],
    ]);
  });
});
