import type { Logger } from 'winston';
import type { Config } from '../config.js';
import type { ForwardChat } from '../http/chat-route.js';
import { openaiProvider } from '../providers/openai/index.js';
import type { Target } from '../providers/types.js';
import { callUpstream } from '../providers/upstream-client.js';
import type { RoutingConfig } from './config-file.js';
import { createRouter, type RouterOptions } from './router.js';

export type ListModels = (upstreamAuthorization: string | undefined) => Promise<{ status: number; body: unknown }>;

export interface Forwarder {
  forward: ForwardChat;
  listModels: ListModels;
}

/**
 * How misses leave the gateway: through the routing config's aliases when it names any, else to
 * the single OpenAI-compatible upstream of UPSTREAM_BASE_URL (the core's behaviour, unchanged).
 */
export function createForwarder(config: Config, routing: RoutingConfig | undefined, opts: RouterOptions): Forwarder {
  if (routing && routing.models.size > 0) {
    const aliases = [...routing.models.keys()];
    return {
      forward: createRouter(routing, opts),
      listModels: async () => ({
        status: 200,
        body: { object: 'list', data: aliases.map((id) => ({ id, object: 'model', created: 0, owned_by: 'gateway' })) },
      }),
    };
  }
  return singleUpstream(config);
}

function singleUpstream(config: Config): Forwarder {
  const target: Target = { provider: 'openai', baseUrl: config.upstream.baseUrl, model: '', apiKey: config.upstream.apiKey, timeoutMs: config.upstream.timeoutMs };
  const forward: ForwardChat = (request, ctx) =>
    callUpstream(openaiProvider, { ...target, model: request.model }, request, {
      onChunk: ctx.onChunk,
      // With no UPSTREAM_API_KEY the client's own credential goes upstream.
      extraHeaders: ctx.clientAuthorization ? { authorization: ctx.clientAuthorization } : {},
      forwardHeaders: ctx.accountHeaders,
    });
  const listModels: ListModels = async (clientAuthorization) => {
    const auth = config.upstream.apiKey ? `Bearer ${config.upstream.apiKey}` : clientAuthorization;
    try {
      const res = await fetch(`${config.upstream.baseUrl}/models`, { headers: auth ? { authorization: auth } : {}, signal: AbortSignal.timeout(config.upstream.timeoutMs) });
      const text = await res.text();
      try {
        return { status: res.status, body: JSON.parse(text) as unknown };
      } catch {
        return { status: 502, body: { error: { message: 'upstream /models answer is not JSON', type: 'upstream_error', code: null, param: null } } };
      }
    } catch {
      return { status: 502, body: { error: { message: 'cannot reach the upstream for /models', type: 'upstream_error', code: null, param: null } } };
    }
  };
  return { forward, listModels };
}
