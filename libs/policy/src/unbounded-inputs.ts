import { modelMatches } from './guardrails';

/**
 * Inputs an LLM request's bytes do not bound (issue 18). The worst case of a call counts every
 * body byte as an input token (a token is at least one byte of its text), but some parts cost
 * far more than their bytes: an image (a URL of 40 bytes, or a tiny PNG, is billed up to a few
 * thousand tokens), a file or document (a PDF by URL or file id: up to a context window of
 * pages), and a server tool the vendor runs during the call (each web search has a fee and adds
 * its results as input tokens). The price list reserves a configured worst case for each
 * (`worst_case_usd` per vendor), and a vault key may refuse them (`allowed_inputs`).
 */
export type InputKind = 'images' | 'files' | 'server_tools';
export const INPUT_KINDS: readonly InputKind[] = ['images', 'files', 'server_tools'];

export interface UnboundedInputs {
  images: number;
  files: number;
  /** uses the request allows its server tools, summed (a tool's `max_uses`, or its configured count) */
  serverToolUses: number;
}

/** The request dialects whose bodies are read here. */
export type LlmDialect = 'openai_chat' | 'anthropic_messages';

/**
 * Server tools by type glob (`web_search_*`): the uses reserved when the tool sets no `max_uses`,
 * or null when it must set one (its uses are otherwise unbounded).
 */
export type ServerToolRules = Readonly<Record<string, number | null>>;

/** A server tool whose uses nothing bounds: the call cannot be priced. */
export class UnboundedServerTool extends Error {
  constructor(readonly toolType: string) {
    super(`Server tool '${toolType}' sets no max_uses, so its worst case cannot be reserved: set max_uses.`);
  }
}

const IMAGE_TYPES: Record<LlmDialect, ReadonlySet<string>> = {
  openai_chat: new Set(['image_url', 'input_image']),
  anthropic_messages: new Set(['image']),
};
const FILE_TYPES: Record<LlmDialect, ReadonlySet<string>> = {
  openai_chat: new Set(['file', 'input_file']),
  anthropic_messages: new Set(['document', 'container_upload']),
};

/**
 * Counts what a request carries that its bytes do not bound. Images and files are counted
 * wherever they sit in `messages` (Anthropic's `system` too, and inside tool results), inline
 * or by reference: an inline image may cost more tokens than its bytes as well. An Anthropic
 * document whose source is plain text is bounded by its bytes and not counted. Server tools:
 * each entry of `tools` whose `type` matches a rule, with its `max_uses` when set (else the
 * rule's count, or `UnboundedServerTool` thrown when the rule has none); OpenAI's
 * `web_search_options` is the tool type `web_search_options`. The walk is iterative: a body may
 * nest deeply.
 */
export function countUnboundedInputs(dialect: LlmDialect, request: Record<string, unknown>, serverTools: ServerToolRules): UnboundedInputs {
  const counted: UnboundedInputs = { images: 0, files: 0, serverToolUses: 0 };
  const images = IMAGE_TYPES[dialect];
  const files = FILE_TYPES[dialect];
  const stack: unknown[] = [request.messages];
  if (dialect === 'anthropic_messages') stack.push(request.system);
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    if (Array.isArray(node)) {
      for (const child of node) if (typeof child === 'object' && child !== null) stack.push(child);
      continue;
    }
    const o = node as Record<string, unknown>;
    const type = typeof o.type === 'string' ? o.type : undefined;
    if (type !== undefined && images.has(type)) {
      counted.images++;
      continue;
    }
    if (type !== undefined && files.has(type)) {
      const source = o.source as { type?: unknown; content?: unknown } | undefined;
      if (dialect === 'anthropic_messages' && type === 'document' && source?.type === 'text') continue;
      if (dialect === 'anthropic_messages' && type === 'document' && source?.type === 'content') {
        stack.push(source.content);
        continue;
      }
      counted.files++;
      continue;
    }
    for (const child of Object.values(o)) if (typeof child === 'object' && child !== null) stack.push(child);
  }
  const tools: unknown[] = Array.isArray(request.tools) ? [...request.tools] : [];
  if (dialect === 'openai_chat' && typeof request.web_search_options === 'object' && request.web_search_options !== null) {
    tools.push({ type: 'web_search_options' });
  }
  for (const tool of tools) {
    if (typeof tool !== 'object' || tool === null) continue;
    const t = tool as { type?: unknown; max_uses?: unknown };
    if (typeof t.type !== 'string') continue;
    const rule = serverToolRule(serverTools, t.type);
    if (rule === undefined) continue;
    const maxUses = typeof t.max_uses === 'number' && Number.isSafeInteger(t.max_uses) && t.max_uses >= 0 ? t.max_uses : undefined;
    const uses = maxUses ?? rule;
    if (uses === null) throw new UnboundedServerTool(t.type);
    counted.serverToolUses += uses;
  }
  return counted;
}

/** The rule of the first glob a tool type matches: its count, null (needs max_uses), or undefined (not a server tool). */
function serverToolRule(rules: ServerToolRules, type: string): number | null | undefined {
  for (const [glob, uses] of Object.entries(rules)) if (modelMatches(glob, type)) return uses;
  return undefined;
}

/** The kinds a request uses (for `allowed_inputs`). */
export function inputKindsUsed(inputs: UnboundedInputs): InputKind[] {
  const kinds: InputKind[] = [];
  if (inputs.images > 0) kinds.push('images');
  if (inputs.files > 0) kinds.push('files');
  if (inputs.serverToolUses > 0) kinds.push('server_tools');
  return kinds;
}

/** The first kind a request uses that `allowed` (null: every kind) does not allow, or undefined. */
export function refusedInputKind(allowed: readonly InputKind[] | null, inputs: UnboundedInputs): InputKind | undefined {
  if (allowed === null) return undefined;
  return inputKindsUsed(inputs).find((k) => !allowed.includes(k));
}

/** Worst cases per unbounded input, in nano-dollars; null: that kind is not priced (refused). */
export interface UnboundedInputPrices {
  imageNanos: bigint | null;
  fileNanos: bigint | null;
  serverToolUseNanos: bigint | null;
}

/**
 * What a request's unbounded inputs may cost at worst, split into the inputs the prompt carries
 * (images and files: the vendor counts them in the prompt's input tokens) and the server tools
 * (which run, and cost, while the answer is generated). `unpriced` names a kind the request uses
 * whose worst case the price list does not give: the call must then be refused.
 */
export function unboundedInputsCost(prices: UnboundedInputPrices, inputs: UnboundedInputs): { promptNanos: bigint; serverToolNanos: bigint; unpriced?: InputKind } {
  const part = (n: number, each: bigint | null): bigint | undefined => (n === 0 ? 0n : each === null ? undefined : BigInt(n) * each);
  const images = part(inputs.images, prices.imageNanos);
  const files = part(inputs.files, prices.fileNanos);
  const tools = part(inputs.serverToolUses, prices.serverToolUseNanos);
  const unpriced: InputKind | undefined = images === undefined ? 'images' : files === undefined ? 'files' : tools === undefined ? 'server_tools' : undefined;
  return { promptNanos: (images ?? 0n) + (files ?? 0n), serverToolNanos: tools ?? 0n, ...(unpriced ? { unpriced } : {}) };
}
