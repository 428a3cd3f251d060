import type { ChatRequest, Target, UpstreamRequest } from '../types.js';

/** `https://host/v1/` and `https://host/v1` must give the same endpoint. */
export function joinUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/**
 * The body goes upstream as the client sent it, except `model`: the client names an alias and the
 * target says what the upstream calls it. Unknown fields are forwarded so new OpenAI parameters
 * work without a gateway release.
 */
export function buildOpenAIRequest(req: ChatRequest, target: Target): UpstreamRequest {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  // Local servers (Ollama, vLLM without --api-key) need no key; an empty Bearer would be rejected.
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  return {
    url: joinUrl(target.baseUrl, 'chat/completions'),
    headers,
    body: { ...req, model: target.model },
  };
}
