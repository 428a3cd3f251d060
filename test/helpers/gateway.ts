import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_EMBED_MODEL, loadConfig, type Config } from '../../src/config.js';
import type { Embedder } from '../../src/embedding/embedder.js';
import { createTransformersEmbedder } from '../../src/embedding/transformers-embedder.js';
import { startGateway, type Gateway } from '../../src/server.js';

let shared: Promise<Embedder> | undefined;

/** The real default model through the real transformers.js loader, loaded once per test run. */
export function defaultEmbedder(): Promise<Embedder> {
  shared ??= createTransformersEmbedder({ model: DEFAULT_EMBED_MODEL, modelsDir: path.resolve('models'), allowRemote: false });
  return shared;
}

export function tempDir(prefix = 'gw-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A config as the env would give it, with test defaults: random port, quiet logs, temp DATA_DIR. */
export function testConfig(env: Record<string, string>): Config {
  return loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', DATA_DIR: tempDir(), ...env });
}

export async function startTestGateway(env: Record<string, string>, config?: Config): Promise<Gateway> {
  return startGateway(config ?? testConfig(env), { embedder: await defaultEmbedder() });
}

export async function chat(
  gw: { url: string },
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** Parses an SSE body into its data payloads (JSON objects, and the literal "[DONE]"). */
export function parseSseBody(text: string): Array<any> {
  return text
    .split('\n\n')
    .map((block) => block.trim())
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice('data: '.length))
    .map((data) => (data === '[DONE]' ? data : JSON.parse(data)));
}

export function userMessage(content: string, extra: Array<{ role: string; content: string }> = []) {
  return [...extra, { role: 'user', content }];
}
