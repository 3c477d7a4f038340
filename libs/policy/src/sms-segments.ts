/**
 * How many segments (billed units) an SMS body is sent as (3GPP TS 23.038 / 23.040, as Twilio
 * counts them). A body that fits the GSM-7 alphabet goes as 7-bit septets: 160 in a single
 * segment, 153 per segment once concatenated (the rest of each is the concatenation header).
 * One character outside it switches the whole message to UCS-2: 70 UTF-16 code units single,
 * 67 per segment concatenated. A character is never split across two segments (a GSM-7
 * extension character is two septets, an emoji two code units), so a segment may end short.
 */
export type SmsEncoding = 'GSM-7' | 'UCS-2';

/** GSM 03.38 basic character set: one septet each. */
const GSM7_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
    '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
/** GSM 03.38 extension table: an escape septet plus one, so two septets each. */
const GSM7_EXTENSION = new Set('\f^{}\\[~]|€');

const LIMITS: Record<SmsEncoding, { single: number; concatenated: number }> = {
  'GSM-7': { single: 160, concatenated: 153 },
  'UCS-2': { single: 70, concatenated: 67 },
};

export function smsEncoding(body: string): SmsEncoding {
  for (const ch of body) if (!GSM7_BASIC.has(ch) && !GSM7_EXTENSION.has(ch)) return 'UCS-2';
  return 'GSM-7';
}

/** The number of segments `body` is billed as; an empty body is still one message. */
export function smsSegments(body: string): number {
  const encoding = smsEncoding(body);
  const units = [...body].map((ch) => (encoding === 'GSM-7' ? (GSM7_EXTENSION.has(ch) ? 2 : 1) : ch.length));
  const { single, concatenated } = LIMITS[encoding];
  const total = units.reduce((a, b) => a + b, 0);
  if (total <= single) return 1;
  let segments = 1;
  let used = 0;
  for (const size of units) {
    if (used + size > concatenated) {
      segments++;
      used = 0;
    }
    used += size;
  }
  return segments;
}
