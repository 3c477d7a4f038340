import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from './migrations';

describe('migrations list', () => {
  it('names every migration file, in timestamp order', () => {
    const files = readdirSync(join(__dirname, 'migrations'))
      .filter((f) => /^\d+-.+\.ts$/.test(f))
      .sort();
    const listed = MIGRATIONS.map((m) => new m().name);
    const expected = files.map((f) => {
      const [ts, name] = f.replace(/\.ts$/, '').split('-');
      return `${name}${ts}`;
    });
    expect(listed).toEqual(expected);
  });
});
