import type { Provider } from '../types.js';
import { buildOpenAIRequest } from './request.js';
import { openAIErrorMessage, parseOpenAICompletion } from './response.js';
import { OpenAIStreamTranslator } from './stream.js';

export { buildOpenAIRequest, joinUrl } from './request.js';
export { openAIErrorMessage, parseOpenAICompletion } from './response.js';
export { OpenAIStreamTranslator } from './stream.js';

/** One implementation serves OpenAI and every server that copies its API; only the name differs. */
export function createOpenAIProvider(name = 'openai'): Provider {
  return {
    name,
    toUpstream: buildOpenAIRequest,
    fromUpstream: (body) => parseOpenAICompletion(body),
    streamTranslator: () => new OpenAIStreamTranslator(),
    errorMessage: openAIErrorMessage,
  };
}

export const openaiProvider: Provider = createOpenAIProvider('openai');
export const openaiCompatibleProvider: Provider = createOpenAIProvider('openai-compatible');
