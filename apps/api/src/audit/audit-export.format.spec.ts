import { describe, expect, it } from 'vitest';
import { csvField, csvLine } from './audit-export.format';
import { auditIdBound } from './audit-query';
import { newId } from '@keyvault/crypto';

describe('csvField', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rlf', '"cr\rlf"'],
    ['=SUM(A1:A2)', "'=SUM(A1:A2)"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@cmd', "'@cmd"],
    ['\tx', "'\tx"],
    ['=a,b', `"'=a,b"`],
    ['', ''],
  ])('%j → %j', (input, output) => expect(csvField(input)).toBe(output));

  it('writes numbers as they are and null as an empty field', () => {
    expect(csvLine([1, 0.000001, null, 'x'])).toBe('1,0.000001,,x\r\n');
  });
});

describe('auditIdBound', () => {
  it('sorts before every id of its millisecond and after every id of the one before', () => {
    const ms = Date.parse('2026-11-30T10:00:00.000Z');
    for (let i = 0; i < 50; i++) {
      expect(auditIdBound(ms) <= newId('audit', ms)).toBe(true);
      expect(newId('audit', ms - 1) < auditIdBound(ms)).toBe(true);
      expect(newId('audit', ms) < auditIdBound(ms + 1)).toBe(true);
    }
  });
});
