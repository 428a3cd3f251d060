/**
 * The OpenAI chat.completions wire format, as far as the gateway reads it. Unknown fields are kept
 * (`[key: string]: unknown`) and forwarded untouched: the gateway must not drop parameters it does
 * not understand.
 */
export type Role = 'system' | 'developer' | 'user' | 'assistant' | 'tool' | 'function';

export interface ContentPart {
  type: string;
  text?: string;
  [key: string]: unknown;
}

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatMessage {
  role: Role;
  content?: string | ContentPart[] | null;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  [key: string]: unknown;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean; [key: string]: unknown } | null;
  temperature?: number | null;
  top_p?: number | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  n?: number | null;
  stop?: string | string[] | null;
  tools?: unknown[];
  tool_choice?: unknown;
  response_format?: unknown;
  seed?: number | null;
  user?: string;
  [key: string]: unknown;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  [key: string]: unknown;
}

export interface ChatChoice {
  index: number;
  message: ChatMessage;
  finish_reason: string | null;
  logprobs?: unknown;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: ChatChoice[];
  usage?: Usage;
  system_fingerprint?: string | null;
  [key: string]: unknown;
}

/**
 * One streamed piece of a tool call: the first carries id, type and name; later ones only
 * `index` and a slice of `function.arguments`.
 */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

export interface ChunkChoice {
  index: number;
  delta: Omit<Partial<ChatMessage>, 'tool_calls'> & { tool_calls?: ToolCallDelta[] };
  finish_reason: string | null;
  logprobs?: unknown;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: ChunkChoice[];
  usage?: Usage | null;
  system_fingerprint?: string | null;
  [key: string]: unknown;
}

/** An HTTP request a provider wants made, built by a pure transform. */
export interface UpstreamRequest {
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/** Where one model alias is served: a provider kind plus its endpoint and model name. */
export interface Target {
  provider: string;
  baseUrl: string;
  model: string;
  /** The resolved secret; never logged, never stored. */
  apiKey?: string;
  timeoutMs: number;
}

/**
 * A provider is a set of pure transforms between the OpenAI shape the gateway speaks and the
 * upstream's wire format (Portkey-style): no I/O in here, so each is testable on its own.
 */
export interface Provider {
  readonly name: string;
  toUpstream(req: ChatRequest, target: Target): UpstreamRequest;
  /** Upstream JSON body of a successful call -> OpenAI chat.completion. */
  fromUpstream(body: unknown, req: ChatRequest): ChatCompletion;
  /**
   * A stream translator: fed each upstream SSE event (event name + data string), returns the
   * OpenAI chunks to emit. `done` is true once the upstream's final event has been seen.
   */
  streamTranslator(req: ChatRequest): StreamTranslator;
  /** Upstream error body -> message safe to show (no secrets). */
  errorMessage?(status: number, body: unknown): string;
  /**
   * How a client's own `Authorization` header is sent to this provider when the target has no
   * key of its own; default: as it came.
   */
  clientCredentialHeaders?(authorization: string): Record<string, string>;
}

export interface StreamTranslator {
  push(event: { event?: string; data: string }): ChatCompletionChunk[];
  readonly done: boolean;
}

/**
 * The client's request cannot be expressed in this provider's format (e.g. `n > 1` for Anthropic,
 * an unknown content part). The gateway answers 400 with this message; it is not a reason to fall
 * back, since every target of the same kind would refuse it too.
 */
export class ProviderRequestError extends Error {
  override readonly name = 'ProviderRequestError';
}

/** The upstream answered 2xx with a body that is not the shape its API promises: treat as a 502. */
export class UpstreamFormatError extends Error {
  override readonly name = 'UpstreamFormatError';
}

/**
 * The upstream reported an error inside an already-open stream (Anthropic's `error` event, an
 * OpenAI-compatible `{"error":...}` chunk). Thrown by `StreamTranslator.push`; the message is safe
 * to show.
 */
export class UpstreamStreamError extends Error {
  override readonly name = 'UpstreamStreamError';
  constructor(
    message: string,
    /** The upstream's error type, e.g. `overloaded_error`, when it gave one. */
    readonly errorType?: string,
  ) {
    super(message);
  }
}
