import { joinUrl } from '../openai/request.js';
import {
  ProviderRequestError,
  type ChatMessage,
  type ChatRequest,
  type ContentPart,
  type Target,
  type UpstreamRequest,
} from '../types.js';

export const ANTHROPIC_VERSION = '2023-06-01';
/** Anthropic requires max_tokens; OpenAI clients usually leave it out. */
export const DEFAULT_MAX_TOKENS = 4096;

export type AnthropicBlock = Record<string, unknown> & { type: string };

export interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: string | AnthropicBlock[];
}

function fail(message: string): never {
  throw new ProviderRequestError(`anthropic: ${message}`);
}

function textOf(content: ChatMessage['content'], where: string): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content
    .map((part) => {
      if (part.type !== 'text' || typeof part.text !== 'string') fail(`${where} content may only hold text parts`);
      return part.text;
    })
    .join('\n');
}

/** `data:image/png;base64,AAAA` -> base64 source; any other URL is passed by reference. */
function imageBlock(part: ContentPart): AnthropicBlock {
  const imageUrl = part.image_url as { url?: unknown } | string | undefined;
  const url = typeof imageUrl === 'string' ? imageUrl : imageUrl?.url;
  if (typeof url !== 'string' || url === '') fail('image_url part without a url');
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data) return { type: 'image', source: { type: 'base64', media_type: data[1], data: data[2] } };
  if (url.startsWith('data:')) fail('image data URLs must be base64-encoded');
  return { type: 'image', source: { type: 'url', url } };
}

function contentBlocks(content: ChatMessage['content']): AnthropicBlock[] {
  if (content == null) return [];
  // Anthropic rejects empty text blocks, and an empty string carries nothing anyway.
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  return content.flatMap((part): AnthropicBlock[] => {
    if (part.type === 'text') return typeof part.text === 'string' && part.text !== '' ? [{ type: 'text', text: part.text }] : [];
    if (part.type === 'image_url') return [imageBlock(part)];
    return fail(`unsupported content part type "${part.type}"`);
  });
}

function parseArguments(raw: string, toolName: string): unknown {
  if (raw.trim() === '') return {};
  try {
    const input: unknown = JSON.parse(raw);
    if (typeof input === 'object' && input !== null && !Array.isArray(input)) return input;
  } catch {
    // fall through to the error below
  }
  return fail(`arguments of tool call "${toolName}" are not a JSON object`);
}

function toolResultBlock(message: ChatMessage): AnthropicBlock {
  if (typeof message.tool_call_id !== 'string' || message.tool_call_id === '') fail('tool message without tool_call_id');
  const blocks = contentBlocks(message.content);
  return {
    type: 'tool_result',
    tool_use_id: message.tool_call_id,
    content: blocks.length === 1 && blocks[0]!.type === 'text' ? (blocks[0]!.text as string) : blocks,
  };
}

function blocksFor(message: ChatMessage): AnthropicBlock[] {
  switch (message.role) {
    case 'user':
      return contentBlocks(message.content);
    case 'tool':
      return [toolResultBlock(message)];
    case 'assistant':
      return [
        ...contentBlocks(message.content),
        ...(message.tool_calls ?? []).map((call) => ({
          type: 'tool_use',
          id: call.id,
          name: call.function.name,
          input: parseArguments(call.function.arguments, call.function.name),
        })),
      ];
    default:
      return fail(`unsupported message role "${message.role}"`);
  }
}

/**
 * OpenAI's message list -> Anthropic's `system` + alternating turns. System and developer messages
 * are hoisted (Anthropic has one system prompt); tool results become user turns; consecutive turns
 * of one role are merged because Anthropic requires strict alternation.
 */
export function toAnthropicMessages(messages: ChatMessage[]): { system?: string; messages: AnthropicMessage[] } {
  const systemParts: string[] = [];
  const turns: Array<{ role: 'user' | 'assistant'; blocks: AnthropicBlock[] }> = [];
  for (const message of messages) {
    if (message.role === 'system' || message.role === 'developer') {
      const text = textOf(message.content, `${message.role} message`);
      if (text !== '') systemParts.push(text);
      continue;
    }
    const role = message.role === 'assistant' ? 'assistant' : 'user';
    const blocks = blocksFor(message);
    if (blocks.length === 0) continue;
    const last = turns[turns.length - 1];
    if (last && last.role === role) last.blocks.push(...blocks);
    else turns.push({ role, blocks });
  }
  return {
    ...(systemParts.length > 0 ? { system: systemParts.join('\n\n') } : {}),
    messages: turns.map(({ role, blocks }) => ({
      role,
      // A lone text block is sent as a plain string, the form Anthropic's own examples use.
      content: blocks.length === 1 && blocks[0]!.type === 'text' ? (blocks[0]!.text as string) : blocks,
    })),
  };
}

interface FunctionTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: unknown };
}

function isFunctionTool(tool: unknown): tool is FunctionTool {
  const t = tool as FunctionTool | null;
  return t?.type === 'function' && typeof t.function?.name === 'string';
}

export function toAnthropicTools(tools: unknown[]): Array<Record<string, unknown>> {
  return tools.map((tool) => {
    if (!isFunctionTool(tool)) fail('only function tools are supported');
    const { name, description, parameters } = tool.function;
    return {
      name,
      ...(description !== undefined ? { description } : {}),
      // Anthropic requires a schema; OpenAI allows a tool without parameters.
      input_schema: parameters ?? { type: 'object', properties: {} },
    };
  });
}

/** auto/none/required/{function} -> auto/none/any/tool; `parallel_tool_calls: false` rides along. */
export function toAnthropicToolChoice(choice: unknown, parallelToolCalls: unknown): Record<string, unknown> | undefined {
  let mapped: Record<string, unknown> | undefined;
  if (choice === undefined || choice === null) mapped = undefined;
  else if (choice === 'auto') mapped = { type: 'auto' };
  else if (choice === 'none') mapped = { type: 'none' };
  else if (choice === 'required') mapped = { type: 'any' };
  else if (isFunctionTool(choice)) mapped = { type: 'tool', name: choice.function.name };
  else fail('unsupported tool_choice');
  if (parallelToolCalls === false && mapped?.type !== 'none') {
    mapped = { ...(mapped ?? { type: 'auto' }), disable_parallel_tool_use: true };
  }
  return mapped;
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

export function buildAnthropicBody(req: ChatRequest): Record<string, unknown> {
  if (typeof req.n === 'number' && req.n > 1) fail('n > 1 is not supported');
  const { system, messages } = toAnthropicMessages(req.messages);
  const body: Record<string, unknown> = {
    model: req.model,
    max_tokens: positive(req.max_completion_tokens) ?? positive(req.max_tokens) ?? DEFAULT_MAX_TOKENS,
    messages,
  };
  if (system !== undefined) body.system = system;
  // OpenAI accepts 0..2, Anthropic 0..1: clamp so a fallback from OpenAI does not turn into a 400.
  if (typeof req.temperature === 'number') body.temperature = Math.min(Math.max(req.temperature, 0), 1);
  if (typeof req.top_p === 'number') body.top_p = req.top_p;
  if (typeof req.stop === 'string') body.stop_sequences = [req.stop];
  else if (Array.isArray(req.stop) && req.stop.length > 0) body.stop_sequences = req.stop;
  if (Array.isArray(req.tools) && req.tools.length > 0) {
    body.tools = toAnthropicTools(req.tools);
    const toolChoice = toAnthropicToolChoice(req.tool_choice, req.parallel_tool_calls);
    if (toolChoice) body.tool_choice = toolChoice;
  }
  if (typeof req.user === 'string' && req.user !== '') body.metadata = { user_id: req.user };
  if (req.stream === true) body.stream = true;
  return body;
}

export function buildAnthropicRequest(req: ChatRequest, target: Target): UpstreamRequest {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'anthropic-version': ANTHROPIC_VERSION,
  };
  if (target.apiKey) headers['x-api-key'] = target.apiKey;
  return {
    url: joinUrl(target.baseUrl, 'messages'),
    headers,
    body: buildAnthropicBody({ ...req, model: target.model }),
  };
}
