import { describe, expect, it } from 'vitest';
import { KeyvaultError } from '@keyvault/errors';
import { bindGatewayCall } from './gateway-binding';

const VK = 'vk_01jd8x00000000000000000000';
const VK2 = 'vk_01jd8x0000000000000000000z';
const json = (o: unknown) => Buffer.from(JSON.stringify(o));
const codeOf = (f: () => unknown) => {
  try {
    f();
    return null;
  } catch (e) {
    return (e as KeyvaultError).code;
  }
};

describe('bindGatewayCall', () => {
  it('reads the header, the body user, or the first system-prompt line', () => {
    expect(bindGatewayCall({ 'x-vault-key-id': VK }, Buffer.alloc(0))).toEqual({ vaultKeyId: VK, rewrittenBody: null });
    expect(bindGatewayCall({}, json({ model: 'm', user: VK })).vaultKeyId).toBe(VK);
    const bound = bindGatewayCall({}, json({ messages: [{ role: 'system', content: `X-Vault-Key-Id: ${VK}\nBe brief.` }, { role: 'user', content: 'hi' }] }));
    expect(bound.vaultKeyId).toBe(VK);
    expect(JSON.parse(bound.rewrittenBody!.toString())).toEqual({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }] });
  });

  it('drops a system message left empty, and reads text parts and Anthropic system prompts', () => {
    const alone = bindGatewayCall({}, json({ messages: [{ role: 'system', content: `x-vault-key-id:${VK}` }, { role: 'user', content: 'hi' }] }));
    expect(JSON.parse(alone.rewrittenBody!.toString()).messages).toEqual([{ role: 'user', content: 'hi' }]);
    const parts = bindGatewayCall({}, json({ messages: [{ role: 'system', content: [{ type: 'text', text: `X-Vault-Key-Id: ${VK}\r\nRules` }] }] }));
    expect(JSON.parse(parts.rewrittenBody!.toString()).messages[0].content).toEqual([{ type: 'text', text: 'Rules' }]);
    const anthropic = bindGatewayCall({}, json({ system: `X-Vault-Key-Id: ${VK}\nRules`, messages: [{ role: 'user', content: 'hi' }] }));
    expect(anthropic.vaultKeyId).toBe(VK);
    expect(JSON.parse(anthropic.rewrittenBody!.toString()).system).toBe('Rules');
  });

  it('ignores a user that is not a vault key id and a line that is not the first', () => {
    expect(bindGatewayCall({}, json({ user: 'a8f0-uuid', messages: [{ role: 'system', content: `Hello\nX-Vault-Key-Id: ${VK}` }] }))).toEqual({ vaultKeyId: null, rewrittenBody: null });
    expect(bindGatewayCall({}, Buffer.from('not json'))).toEqual({ vaultKeyId: null, rewrittenBody: null });
  });

  it('refuses two different ids, and a malformed one', () => {
    expect(codeOf(() => bindGatewayCall({ 'x-vault-key-id': VK2 }, json({ user: VK })))).toBe('vault_key_id_conflict');
    expect(codeOf(() => bindGatewayCall({}, json({ user: VK, messages: [{ role: 'system', content: `X-Vault-Key-Id: ${VK2}` }] })))).toBe('vault_key_id_conflict');
    expect(bindGatewayCall({ 'x-vault-key-id': VK }, json({ user: VK })).vaultKeyId).toBe(VK);
    expect(codeOf(() => bindGatewayCall({ 'x-vault-key-id': 'vk_nope' }, Buffer.alloc(0)))).toBe('invalid_vault_key');
    expect(codeOf(() => bindGatewayCall({}, json({ messages: [{ role: 'system', content: 'X-Vault-Key-Id: {{#start.vault_key_id#}}\nx' }] })))).toBe('invalid_vault_key');
  });
});
