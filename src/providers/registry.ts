import { anthropicProvider } from './anthropic/index.js';
import { openaiCompatibleProvider, openaiProvider } from './openai/index.js';
import type { Provider } from './types.js';

const PROVIDERS = {
  openai: openaiProvider,
  'openai-compatible': openaiCompatibleProvider,
  anthropic: anthropicProvider,
} as const satisfies Record<string, Provider>;

export type ProviderName = keyof typeof PROVIDERS;
/** For config validation, e.g. `z.enum(PROVIDER_NAMES)`. */
export const PROVIDER_NAMES = Object.keys(PROVIDERS) as [ProviderName, ...ProviderName[]];

export function isProviderName(name: string): name is ProviderName {
  return Object.hasOwn(PROVIDERS, name);
}

export function getProvider(name: string): Provider {
  if (!isProviderName(name)) {
    throw new Error(`unknown provider "${name}"; expected one of: ${PROVIDER_NAMES.join(', ')}`);
  }
  return PROVIDERS[name];
}
