import { createHash } from 'node:crypto';

const hash16 = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

/**
 * The tenant of a caller without a gateway key: a hash of its credential. The auth scheme is
 * case-insensitive (RFC 7235), so `bearer X` and `Bearer X` are one tenant.
 */
export function tenantOf(authorization: string | undefined): string {
  if (!authorization) return 'anonymous';
  const bearer = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization.trim());
  return hash16(bearer ? `Bearer ${bearer[1]}` : authorization.trim());
}

/** OpenAI's request headers that pick the organization and project billed (and answering). */
export const OPENAI_ACCOUNT_HEADERS = ['openai-organization', 'openai-project'] as const;

/** The account headers present on a request, to go upstream with a chat miss. */
export function accountHeaders(header: (name: string) => string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of OPENAI_ACCOUNT_HEADERS) {
    const v = header(name)?.trim();
    if (v) out[name] = v;
  }
  return out;
}

/**
 * The cache scope of a tenant: one credential used for two organizations or projects gets two
 * scopes, so their answers are never served to each other.
 */
export function scopedTenant(tenant: string, account: Record<string, string>): string {
  const org = account['openai-organization'];
  const project = account['openai-project'];
  if (!org && !project) return tenant;
  return `${tenant}~${hash16(`${org ?? ''}\n${project ?? ''}`)}`;
}
