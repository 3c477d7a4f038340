import { describe, expect, it } from 'vitest';
import { compileEndpointRules, matchEndpoint, parseEndpointRule } from './endpoint-rules';
import { normalizeRequestPath } from './request-path';

const allowed = (entries: string[], method: string, rawPath: string) => {
  const n = normalizeRequestPath(rawPath);
  return n.ok && matchEndpoint(compileEndpointRules(entries), method, n.path);
};

describe('parseEndpointRule', () => {
  it.each(['POST /v1/payment_intents', 'GET /v1/models/*', '* /v1/**', 'post /v1/chat/completions', 'POST /2010-04-01/Accounts/{sid}/Messages.json'])(
    'accepts %s',
    (e) => expect(parseEndpointRule(e).ok).toBe(true),
  );
  it.each(['', 'POST', '/v1/x', 'FETCH /v1', 'POST v1/x', 'POST /v1/**/x', 'POST /v1/../admin', 'POST /v1/x?y=1', 'POST  /v1', 42, null])(
    'refuses %j',
    (e) => expect(parseEndpointRule(e).ok).toBe(false),
  );
});

describe('matchEndpoint', () => {
  it('matches method and exact path', () => {
    expect(allowed(['POST /v1/payment_intents'], 'POST', '/v1/payment_intents')).toBe(true);
    expect(allowed(['POST /v1/payment_intents'], 'GET', '/v1/payment_intents')).toBe(false);
    expect(allowed(['POST /v1/payment_intents'], 'POST', '/v1/payment_intents/pi_1')).toBe(false);
    expect(allowed(['POST /v1/payment_intents'], 'POST', '/v1/refunds')).toBe(false);
  });
  it('* is exactly one segment, ** the rest', () => {
    expect(allowed(['GET /v1/models/*'], 'GET', '/v1/models/gpt-4o')).toBe(true);
    expect(allowed(['GET /v1/models/*'], 'GET', '/v1/models')).toBe(false);
    expect(allowed(['GET /v1/models/*'], 'GET', '/v1/models/a/b')).toBe(false);
    expect(allowed(['GET /v1/**'], 'GET', '/v1/a/b/c')).toBe(true);
    expect(allowed(['GET /v1/**'], 'GET', '/v1')).toBe(false);
    expect(allowed(['* /v1/**'], 'DELETE', '/v1/x')).toBe(true);
  });
  it.each([
    '/v1/payment_intents/../refunds',
    '/v1/payment_intents/%2e%2e/refunds',
    '/v1/payment_intents/%2E%2E/refunds',
    '/v1//refunds',
    '/v1/./refunds',
    '/v1/payment_intents%2f..%2frefunds',
    '/v1/payment_intents%5c..%5crefunds',
    '/v1/%252e%252e/refunds',
    '/v1/ref%75nds',
  ])('bypass attempt %s never reaches /v1/refunds when only payment_intents is listed', (raw) => {
    expect(allowed(['POST /v1/payment_intents'], 'POST', raw)).toBe(false);
  });
  it('normalised spellings of a listed path still match', () => {
    expect(allowed(['POST /v1/payment_intents'], 'POST', '/v1//payment_intents')).toBe(true);
    expect(allowed(['POST /v1/payment_intents'], 'POST', '/v1/./payment_intents')).toBe(true);
    expect(allowed(['POST /v1/payment_intents'], 'POST', '/v1/x/../payment_intents')).toBe(true);
    expect(allowed(['POST /v1/payment_intents'], 'POST', '/v1/payment%5Fintents')).toBe(true);
  });
});

describe('normalizeRequestPath', () => {
  it.each([
    ['/v1/a/../b', '/v1/b'],
    ['//v1///b', '/v1/b'],
    ['/v1/b/', '/v1/b/'],
    ['/v1/%7Euser', '/v1/~user'],
    ['/2010-04-01/Accounts/AC1/Messages.json', '/2010-04-01/Accounts/AC1/Messages.json'],
  ])('%s → %s', (raw, expected) => expect(normalizeRequestPath(raw)).toEqual({ ok: true, path: expected }));
  it.each(['/../etc', '/a/%2f', '/a/%5c', '/a/%00', '/a/%zz', 'v1', '/a?b', '/a/%252e'])('refuses %s', (raw) =>
    expect(normalizeRequestPath(raw).ok).toBe(false),
  );
});
