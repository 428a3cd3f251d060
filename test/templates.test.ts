import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { loadRoutingConfig, RoutingConfigError } from '../src/routing/config-file.js';
import { buildTemplateRegistry, chooseVersion, expandTemplateRequest, TemplatesSchema } from '../src/templates/prompt-templates.js';
import type { Gateway } from '../src/server.js';
import { FakeOpenAI } from './helpers/fake-openai.js';
import { chat, parseSseBody, startTestGateway, tempDir } from './helpers/gateway.js';

function writeConfig(doc: unknown): string {
  const file = path.join(tempDir('gw-tpl-'), 'gateway.json');
  fs.writeFileSync(file, JSON.stringify(doc));
  return file;
}

async function callTemplate(gw: Gateway, name: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.url}/v1/templates/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

const TRANSLATE = {
  versions: {
    v1: {
      model: 'fast',
      params: { temperature: 0.1 },
      messages: [
        { role: 'system', content: 'Translate into {{language}}. Keep {{ tone }} tone.' },
        { role: 'user', content: '{{text}}' },
      ],
      weight: 1,
    },
    v2: {
      model: 'fast',
      messages: [{ role: 'user', content: 'Please translate to {{language}}: {{text}} (\\{{literal}})' }],
      weight: 0,
    },
  },
  defaults: { tone: 'a neutral' },
};

describe('prompt templates (config, rendering, A/B split)', () => {
  const registry = buildTemplateRegistry(TemplatesSchema.parse({ translate: TRANSLATE }));

  it('renders every variable in one pass: a value containing {{...}} stays literal text', () => {
    const out = expandTemplateRequest({ model: 'template:translate@v1', variables: { language: 'French', text: 'say {{language}} twice' } }, registry)!;
    expect(out.ref).to.equal('translate@v1');
    expect(out.body.model).to.equal('fast');
    expect(out.body.temperature).to.equal(0.1);
    expect(out.body.messages).to.deep.equal([
      { role: 'system', content: 'Translate into French. Keep a neutral tone.' },
      { role: 'user', content: 'say {{language}} twice' },
    ]);
    expect(out.body).to.not.have.property('variables');
  });

  it('\\{{ writes a literal {{, and the caller’s parameters and messages follow the template’s', () => {
    const out = expandTemplateRequest(
      { model: 'template:translate@v2', variables: { language: 'German', text: 'hi' }, temperature: 0.7, messages: [{ role: 'user', content: 'and now shorter' }] },
      registry,
    )!;
    expect(out.body.messages).to.deep.equal([
      { role: 'user', content: 'Please translate to German: hi ({{literal}})' },
      { role: 'user', content: 'and now shorter' },
    ]);
    expect(out.body.temperature).to.equal(0.7);
  });

  it('refuses missing and unknown variables, unknown templates and versions with named problems', () => {
    const problem = (body: unknown) => {
      try {
        expandTemplateRequest(body, registry);
      } catch (err) {
        const e = err as { status: number; code: string; message: string };
        return `${e.status} ${e.code} ${e.message}`;
      }
      return 'no error';
    };
    expect(problem({ model: 'template:translate@v1', variables: { language: 'French' } })).to.match(/^400 missing_template_variable .*text/);
    expect(problem({ model: 'template:translate@v1', variables: { language: 'French', text: 'x', txet: 'y' } })).to.match(/^400 unknown_template_variable .*"txet"/);
    expect(problem({ model: 'template:translate@v1', variables: { language: { nested: 1 }, text: 'x' } })).to.match(/^400 invalid_value variables.language/);
    expect(problem({ model: 'template:translate@v1', variables: 'language=French' })).to.match(/^400 invalid_value/);
    expect(problem({ model: 'template:nope', variables: {} })).to.match(/^404 template_not_found .*translate/);
    expect(problem({ model: 'template:translate@v9', variables: {} })).to.match(/^404 template_version_not_found .*v1, v2/);
    expect(expandTemplateRequest({ model: 'gpt-4o-mini', messages: [] }, registry)).to.equal(undefined);
  });

  it('splits calls without a version by weight (a weight-0 version only when named)', () => {
    const ab = buildTemplateRegistry(
      TemplatesSchema.parse({ t: { versions: { a: { model: 'm', messages: [{ role: 'user', content: 'a' }], weight: 3 }, b: { model: 'm', messages: [{ role: 'user', content: 'b' }], weight: 1 } } } }),
    ).get('t')!;
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const counts: Record<string, number> = { a: 0, b: 0 };
    for (let i = 0; i < 4000; i++) counts[chooseVersion(ab, undefined, random).version]!++;
    expect(counts.a! / 4000).to.be.closeTo(0.75, 0.03);
    for (let i = 0; i < 200; i++) expect(chooseVersion(registry.get('translate')!, undefined, random).version).to.equal('v1');
  });

  it('GATEWAY_CONFIG errors name the file, the path and the problem', () => {
    const problem = (doc: unknown) => {
      try {
        loadRoutingConfig(writeConfig(doc), {}, 1000);
      } catch (err) {
        expect(err).to.be.instanceOf(RoutingConfigError);
        return (err as Error).message;
      }
      return 'no error';
    };
    const bad = problem({ templates: { t: { versions: { v1: { model: 'm', messages: [{ role: 'user', content: 'hi {{ not a name }}' }] } } } } });
    expect(bad).to.match(/gateway\.json/).and.contain('templates.t.versions.v1.messages.0.content').and.contain('is not a variable name');
    expect(problem({ templates: { t: { versions: {} } } })).to.contain('templates.t.versions: a template needs at least one version');
    expect(problem({ templates: { t: { versions: { v1: { model: 'm', messages: [{ role: 'user', content: 'x' }], weight: 0 } } } } })).to.contain('at least one version needs weight > 0');
    expect(problem({ templates: { t: { versions: { v1: { model: 'm', params: { temperature: 'hot' }, messages: [{ role: 'user', content: 'x' }] } } } } })).to.contain('templates.t.versions.v1.params: temperature:');
    expect(problem({ templates: { t: { versions: { v1: { model: 'm', params: { model: 'x' }, messages: [{ role: 'user', content: 'x' }] } } } } })).to.contain('params must not set');
    const alias = problem({ models: { fast: [{ provider: 'openai-compatible', base_url: 'http://127.0.0.1:1', model: 'x' }] }, templates: { t: { versions: { v1: { model: 'slow', messages: [{ role: 'user', content: 'x' }] } } } } });
    expect(alias).to.contain('templates.t.versions.v1.model: slow is not an alias of models (fast)');
  });
});

describe('prompt templates through the gateway (real upstream, real cache)', () => {
  let upstream: FakeOpenAI;
  let gw: Gateway;
  before(async () => {
    upstream = await new FakeOpenAI().start();
    const file = writeConfig({
      models: { fast: [{ provider: 'openai-compatible', base_url: upstream.url, model: 'gpt-4o-mini' }] },
      templates: { translate: { ...TRANSLATE, versions: { ...TRANSLATE.versions, v2: { ...TRANSLATE.versions.v2, weight: 1 } } } },
    });
    gw = await startTestGateway({ GATEWAY_CONFIG: file, UPSTREAM_BASE_URL: upstream.url });
  });
  after(async () => {
    await gw?.close();
    await upstream?.stop();
  });
  beforeEach(() => upstream.reset());

  it('POST /v1/templates/:name sends the rendered prompt upstream, names the version, and caches per version', async () => {
    const body = { variables: { language: 'Spanish', text: 'Where is the station?' }, version: 'v1' };
    const first = await callTemplate(gw, 'translate', body);
    expect(first.status, first.text).to.equal(200);
    expect(first.headers.get('x-gateway-template-version')).to.equal('v1');
    expect(first.headers.get('x-cache-status')).to.equal('miss');
    expect(upstream.calls).to.have.length(1);
    const sent = upstream.calls[0]!.body as any;
    expect(sent.model).to.equal('gpt-4o-mini');
    expect(sent.temperature).to.equal(0.1);
    expect(sent.messages[0]).to.deep.equal({ role: 'system', content: 'Translate into Spanish. Keep a neutral tone.' });
    expect(sent).to.not.have.property('variables');

    const again = await callTemplate(gw, 'translate', body);
    expect(again.headers.get('x-cache-status')).to.equal('hit');
    expect(again.json.choices[0].message.content).to.equal(first.json.choices[0].message.content);

    // The same rendered last turn under the other version is not served v1's answer.
    const v2 = await callTemplate(gw, 'translate', { ...body, version: 'v2' });
    expect(v2.headers.get('x-gateway-template-version')).to.equal('v2');
    expect(v2.headers.get('x-cache-status')).to.equal('miss');
    expect(upstream.calls).to.have.length(2);
  });

  it('a chat call with model "template:name@version" and the SDK’s extra body renders the same way, streams included', async () => {
    const r = await chat(gw, { model: 'template:translate@v1', variables: { language: 'Italian', text: 'Good morning' }, stream: true });
    expect(r.status, r.text).to.equal(200);
    expect(r.headers.get('x-gateway-template-version')).to.equal('v1');
    const events = parseSseBody(r.text);
    expect(events[events.length - 1]).to.equal('[DONE]');
    expect((upstream.calls[0]!.body as any).messages[1]).to.deep.equal({ role: 'user', content: 'Good morning' });
  });

  it('without a version, calls are split between the weighted versions and each answer says which it got', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 24 && seen.size < 2; i++) {
      const r = await callTemplate(gw, 'translate', { variables: { language: 'Dutch', text: `sentence number ${i}` } }, { 'cache-control': 'no-store' });
      expect(r.status).to.equal(200);
      seen.add(r.headers.get('x-gateway-template-version')!);
    }
    expect([...seen].sort()).to.deep.equal(['v1', 'v2']);
  });

  it('refuses a missing variable, an unknown template, and extra parameters with OpenAI-shaped 4xx; nothing goes upstream', async () => {
    const missing = await callTemplate(gw, 'translate', { variables: { language: 'French' } });
    expect(missing.status).to.equal(400);
    expect(missing.json.error).to.include({ code: 'missing_template_variable', type: 'invalid_request_error' });
    const unknown = await callTemplate(gw, 'summarize', { variables: {} });
    expect(unknown.status).to.equal(404);
    expect(unknown.json.error.code).to.equal('template_not_found');
    const steer = await callTemplate(gw, 'translate', { variables: { language: 'French', text: 'x' }, temperature: 2, messages: [] });
    expect(steer.status).to.equal(400);
    expect(steer.json.error.message).to.contain('a template call takes variables');
    const noConfig = await chat(gw, { model: 'template:translate@v7', variables: {} });
    expect(noConfig.status).to.equal(404);
    expect(noConfig.json.error.code).to.equal('template_version_not_found');
    expect(upstream.calls).to.have.length(0);
  });
});
