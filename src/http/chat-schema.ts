import { z } from 'zod';
import type { ChatRequest } from '../providers/types.js';
import { ApiError } from './errors.js';

const ContentPart = z.looseObject({ type: z.string().min(1) });

const Message = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function'], {
    error: (issue) => `unknown role ${JSON.stringify(issue.input)}: expected system, developer, user, assistant, tool or function`,
  }),
  content: z.union([z.string(), z.array(ContentPart), z.null()]).optional(),
  name: z.string().optional(),
  tool_calls: z.array(z.looseObject({ id: z.string(), type: z.string(), function: z.looseObject({ name: z.string(), arguments: z.string() }) })).optional(),
  tool_call_id: z.string().optional(),
});

/** Longest model name accepted: real ones are < 100 characters; the name is echoed in headers and logs. */
export const MAX_MODEL_CHARS = 256;

const ModelName = z
  .string({ error: 'model is required and must be a string' })
  .min(1, 'model must not be empty')
  .max(MAX_MODEL_CHARS, `model must be at most ${MAX_MODEL_CHARS} characters`)
  // Printable ASCII: the name goes into response headers, logs and metric labels.
  .regex(/^[\x20-\x7e]+$/, 'model must contain printable ASCII characters only');

const num = z.number().nullable().optional();
const int = z.number().int().nullable().optional();

/** Types of the fields the gateway reads; values are the upstream's business, others pass through. */
const ChatRequestSchema = z.looseObject({
  model: ModelName,
  messages: z.array(Message, { error: 'messages is required and must be an array' }).min(1, 'messages must contain at least one message'),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  temperature: num,
  top_p: num,
  n: z.number().int().min(1).nullable().optional(),
  max_tokens: int,
  max_completion_tokens: int,
  seed: int,
  stop: z.union([z.string(), z.array(z.string()), z.null()]).optional(),
  tools: z.array(z.unknown()).optional(),
});

/** Deeper JSON than any real request needs; hashing and validating it would recurse that deep. */
const MAX_JSON_DEPTH = 64;

function exceedsDepth(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

export function parseChatRequest(body: unknown): ChatRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, 'request body must be a JSON object', 'invalid_request_error', 'invalid_body');
  }
  if (exceedsDepth(body, MAX_JSON_DEPTH)) {
    throw new ApiError(400, `request body nests deeper than ${MAX_JSON_DEPTH} levels`, 'invalid_request_error', 'invalid_body');
  }
  const parsed = ChatRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = issue.path.map(String).join('.');
    const message = param ? `${param}: ${issue.message}` : issue.message;
    throw new ApiError(400, message, 'invalid_request_error', 'invalid_value', param || null);
  }
  return parsed.data as unknown as ChatRequest;
}
