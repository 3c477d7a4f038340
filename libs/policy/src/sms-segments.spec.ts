import { describe, expect, it } from 'vitest';
import { smsEncoding, smsSegments } from './sms-segments';

const gsmAlphabet =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';

describe('smsSegments', () => {
  it('keeps the whole GSM-7 alphabet (127 characters and the extension table) in GSM-7', () => {
    expect([...gsmAlphabet]).toHaveLength(127);
    expect(smsEncoding(gsmAlphabet)).toBe('GSM-7');
    expect(smsEncoding('^{}\\[~]|€\f')).toBe('GSM-7');
  });

  it.each([
    ['ç', 'lower-case c cedilla (only Ç is GSM-7)'],
    ['`', 'backtick'],
    ['é€ü—', 'an em dash'],
    ['hi 👋', 'an emoji'],
    ['ñandú', 'ú'],
    ['Привет', 'Cyrillic'],
  ])('switches to UCS-2 for %s (%s)', (body) => {
    expect(smsEncoding(body)).toBe('UCS-2');
  });

  it.each([
    ['', 1],
    ['Hello', 1],
    ['a'.repeat(160), 1],
    ['a'.repeat(161), 2],
    ['a'.repeat(306), 2],
    ['a'.repeat(307), 3],
    ['a'.repeat(459), 3],
    ['a'.repeat(460), 4],
    ['a'.repeat(1600), 11],
  ])('GSM-7: %#: 160 single, 153 per concatenated segment', (body, segments) => {
    expect(smsSegments(body)).toBe(segments);
  });

  it('counts a GSM-7 extension character as two septets, never split across segments', () => {
    expect(smsSegments('€'.repeat(80))).toBe(1); // 160 septets
    expect(smsSegments('€'.repeat(80) + 'a')).toBe(2);
    expect(smsSegments('a'.repeat(159) + '€')).toBe(2);
    // 153 septets per segment hold 76 '€' (152 septets): the 77th starts the next segment
    expect(smsSegments('€'.repeat(152))).toBe(2);
    expect(smsSegments('€'.repeat(153))).toBe(3);
    expect(smsSegments('a'.repeat(152) + '€' + 'a'.repeat(152))).toBe(3);
    expect(smsSegments('a'.repeat(151) + '€' + 'a'.repeat(152))).toBe(2);
    // CR LF is two characters
    expect(smsSegments('a'.repeat(158) + '\r\n')).toBe(1);
    expect(smsSegments('a'.repeat(159) + '\r\n')).toBe(2);
  });

  it.each([
    ['é'.repeat(69) + 'ç', 1],
    ['ç'.repeat(70), 1],
    ['ç'.repeat(71), 2],
    ['ç'.repeat(134), 2],
    ['ç'.repeat(135), 3],
    ['a'.repeat(159) + 'ç', 3], // one character outside GSM-7 turns 160 characters into UCS-2: 67 + 67 + 26
  ])('UCS-2: %#: 70 single, 67 per concatenated segment', (body, segments) => {
    expect(smsSegments(body)).toBe(segments);
  });

  it('counts an emoji as two UTF-16 code units, never split across segments', () => {
    expect(smsSegments('😀'.repeat(35))).toBe(1); // 70 units
    expect(smsSegments('😀'.repeat(36))).toBe(2);
    // 67 units per segment hold 33 emoji (66 units)
    expect(smsSegments('😀'.repeat(66))).toBe(2);
    expect(smsSegments('😀'.repeat(67))).toBe(3);
    expect(smsSegments('ab' + '😀'.repeat(66))).toBe(3);
    expect(smsSegments('a' + '😀'.repeat(66))).toBe(2);
  });
});
