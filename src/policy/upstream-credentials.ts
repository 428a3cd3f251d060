import type { Config } from '../config.js';
import type { RoutingConfig } from '../routing/config-file.js';

/**
 * The upstreams that get no credential at all from a caller using a gateway key: a gateway key
 * never goes upstream, and the client's own Authorization is only passed on when the caller has
 * none. Chat goes to the routing targets (or UPSTREAM_BASE_URL without them); every other /v1 path
 * goes to UPSTREAM_BASE_URL. Named for a start-up warning, so no key value appears.
 */
export function upstreamsWithoutKey(config: Config, routing: RoutingConfig | undefined): string[] {
  const out: string[] = [];
  if (!config.upstream.apiKey) out.push(routing && routing.models.size > 0 ? 'UPSTREAM_BASE_URL (pass-through routes)' : 'UPSTREAM_BASE_URL');
  for (const [alias, targets] of routing?.models ?? []) {
    for (const t of targets) if (!t.apiKey) out.push(`${alias} -> ${t.provider} ${t.model} (no api_key_env)`);
  }
  return out;
}

export function gatewayKeyCredentialWarning(keyless: string[]): string {
  return `gateway keys are in use but these upstreams have no key of their own, so requests made with a gateway key reach them with no credential (expect 401s from a real provider): ${keyless.join('; ')}. Set UPSTREAM_API_KEY or api_key_env.`;
}
