import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { GatewayKeyStore, type GatewayKeyRecord, type KeyLimits } from '../policy/api-keys.js';
import { isRedactionMode } from '../policy/redaction.js';
import { SystemPromptPolicySchema, type SystemPromptPolicy } from '../policy/system-prompt.js';
import { openKvStores } from '../store/kv.js';

/**
 * `npm run keys -- create|list|revoke`: manages gateway keys in the same store the gateway uses
 * (CACHE_STORE_URL / DATA_DIR from the same environment). It works while the gateway runs, with
 * the embedded store (LMDB, multi-process safe) as with Redis; keys take effect at once.
 */

const USAGE = `usage: npm run keys -- <command>
  create --name NAME [--rpm N] [--tpm N] [--concurrency N] [--daily-usd USD] [--redaction off|mask|block]
         [--system-prompt-mode prepend|replace|forbid] [--system-prompt TEXT]
         prints the key once; only its SHA-256 is stored
  list [--json]
  revoke ID_OR_NAME`;

export class UsageError extends Error {}

function positiveNumber(flag: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  // Positive, as the admin API requires: a 0 would be stored as "no limit", i.e. an unlimited key.
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${flag} must be ${integer ? 'a whole number' : 'a number'} greater than 0 (got ${JSON.stringify(value)}); leave it out for no limit`);
  }
  return n;
}

function describe(r: GatewayKeyRecord): string {
  const limits = Object.entries(r.limits)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const state = r.revokedAt ? `revoked ${new Date(r.revokedAt).toISOString()}` : 'active';
  return `${r.id}  ${r.name}  ...${r.hint}  ${state}  ${limits || 'no limits'}${r.redaction ? `  redaction=${r.redaction}` : ''}${r.systemPrompt ? `  system-prompt=${r.systemPrompt.mode}` : ''}`;
}

/** Runs one CLI command; returns the exit code. `out`/`err` receive whole lines. */
export async function runKeysCli(argv: string[], env: Record<string, string | undefined>, out: (line: string) => void, err: (line: string) => void): Promise<number> {
  const [command, ...rest] = argv;
  let config;
  try {
    config = loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      err(e.message);
      return 2;
    }
    throw e;
  }
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        rpm: { type: 'string' },
        tpm: { type: 'string' },
        concurrency: { type: 'string' },
        'daily-usd': { type: 'string' },
        redaction: { type: 'string' },
        'system-prompt-mode': { type: 'string' },
        'system-prompt': { type: 'string' },
        json: { type: 'boolean' },
      },
    });
    if (command !== 'create' && command !== 'list' && command !== 'revoke') throw new UsageError(command ? `unknown command ${command}` : 'no command given');
    let limits: KeyLimits = {};
    let systemPrompt: SystemPromptPolicy | undefined;
    if (command === 'create') {
      if (values['system-prompt-mode'] !== undefined || values['system-prompt'] !== undefined) {
        const sp = SystemPromptPolicySchema.safeParse({ mode: values['system-prompt-mode'] ?? 'prepend', content: values['system-prompt'] });
        if (!sp.success) throw new UsageError(`--system-prompt-mode/--system-prompt: ${sp.error.issues[0]!.message}`);
        systemPrompt = sp.data;
      }
      if (!values.name) throw new UsageError('create needs --name');
      if (values.redaction !== undefined && !isRedactionMode(values.redaction)) throw new UsageError('--redaction must be off, mask or block');
      limits = {
        rpm: positiveNumber('rpm', values.rpm, true),
        tpm: positiveNumber('tpm', values.tpm, true),
        concurrency: positiveNumber('concurrency', values.concurrency, true),
        dailyUsd: positiveNumber('daily-usd', values['daily-usd'], false),
      };
      limits = Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined));
    }
    if (command === 'revoke' && positionals.length !== 1) throw new UsageError('revoke needs one key id or name');

    let kv;
    try {
      // No gateway lock: the embedded database is multi-process safe, so keys can be managed while
      // the gateway runs (it reads keys from the store on every request).
      kv = await openKvStores(config.cache.storeUrl, config.dataDir, { lock: false, minFreeBytes: config.cache.storeMinFreeBytes, redis: { commandTimeoutMs: config.store.timeoutMs, connectTimeoutMs: config.store.connectTimeoutMs } });
    } catch (e) {
      err(`cannot open the gateway's store: ${(e as Error).message}`);
      return 1;
    }
    try {
      const keys = new GatewayKeyStore(kv);
      if (command === 'create') {
        const redaction = isRedactionMode(values.redaction) ? values.redaction : undefined;
        const { key, record } = await keys.create({ name: values.name!, limits, redaction, systemPrompt });
        out(`created ${describe(record)}`);
        out('');
        out(`  ${key}`);
        out('');
        out('This is the only time the key is shown: store it now. Clients send it as Authorization: Bearer <key>.');
      } else if (command === 'list') {
        const all = await keys.list();
        if (values.json) out(JSON.stringify(all, null, 2));
        else if (all.length === 0) out('no keys');
        else for (const r of all) out(describe(r));
      } else {
        const revoked = await keys.revoke(positionals[0]!);
        if (!revoked) {
          err(`no active key with id or name ${positionals[0]}`);
          return 1;
        }
        out(`revoked ${describe(revoked)}`);
      }
      return 0;
    } finally {
      await kv.close();
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err((e as Error).message);
      err(USAGE);
      return 2;
    }
    err(`error: ${(e as Error).message}`);
    return 1;
  }
}

function isMain(): boolean {
  try {
    return !!process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  runKeysCli(process.argv.slice(2), process.env, (l) => console.log(l), (l) => console.error(l)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
