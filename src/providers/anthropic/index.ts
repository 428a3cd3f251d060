import type { Provider } from '../types.js';
import { buildAnthropicRequest } from './request.js';
import { anthropicErrorMessage, fromAnthropicMessage } from './response.js';
import { AnthropicStreamTranslator } from './stream.js';

export { ANTHROPIC_VERSION, DEFAULT_MAX_TOKENS, buildAnthropicBody, buildAnthropicRequest, toAnthropicMessages } from './request.js';
export { anthropicErrorMessage, fromAnthropicMessage, toFinishReason, toOpenAIUsage } from './response.js';
export { AnthropicStreamTranslator } from './stream.js';

export interface AnthropicProviderOptions {
  /** Seconds since the epoch for `created`, which Anthropic does not send; injectable for tests. */
  now?: () => number;
}

export function createAnthropicProvider(options: AnthropicProviderOptions = {}): Provider {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  return {
    name: 'anthropic',
    toUpstream: buildAnthropicRequest,
    fromUpstream: (body) => fromAnthropicMessage(body, now()),
    streamTranslator: (req) => new AnthropicStreamTranslator(req, now()),
    errorMessage: anthropicErrorMessage,
    // Anthropic reads its key from x-api-key: a client that sends its Anthropic key the OpenAI way
    // (Bearer) gets it moved there; an Authorization header would only be ignored.
    clientCredentialHeaders: (authorization): Record<string, string> => {
      const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
      return token ? { 'x-api-key': token } : {};
    },
  };
}

export const anthropicProvider: Provider = createAnthropicProvider();
