import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  PriceFileError,
  PriceTable,
  defaultPriceMap,
  loadPriceTable,
  readPriceFile,
} from '../src/accounting/prices.js';

describe('accounting/prices', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'prices-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const writeJson = (name: string, body: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, body);
    return file;
  };

  describe('the shipped defaults', () => {
    const defaults = defaultPriceMap();
    for (const m of ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'o3', 'o4-mini', 'gpt-3.5-turbo', 'claude-3-5-sonnet', 'claude-3-7-sonnet', 'claude-sonnet-4', 'claude-3-5-haiku', 'claude-opus-4']) {
      it(`prices ${m}`, () => {
        const p = defaults[m];
        expect(p, m).to.be.an('object');
        expect(p!.input).to.be.greaterThan(0);
        expect(p!.output).to.be.greaterThan(p!.input - 1e-9);
      });
    }
    it('cached input is never dearer than input', () => {
      for (const [m, p] of Object.entries(defaults)) {
        if (p.cachedInput !== undefined) expect(p.cachedInput, m).to.be.at.most(p.input);
      }
    });
  });

  describe('lookup', () => {
    const table = loadPriceTable();
    const cases: Array<[string, string]> = [
      ['gpt-4o', 'gpt-4o'],
      ['gpt-4o-2024-08-06', 'gpt-4o'],
      ['gpt-4o-2024-05-13', 'gpt-4o-2024-05-13'],
      ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
      ['gpt-4.1-mini-2025-04-14', 'gpt-4.1-mini'],
      ['gpt-4-0613', 'gpt-4'],
      ['gpt-4-turbo-2024-04-09', 'gpt-4-turbo'],
      ['o3-mini-2025-01-31', 'o3-mini'],
      ['o3-2025-04-16', 'o3'],
      ['claude-3-5-sonnet-20241022', 'claude-3-5-sonnet'],
      ['claude-sonnet-4-20250514', 'claude-sonnet-4'],
      ['claude-sonnet-4-5-20250929', 'claude-sonnet-4-5'],
      ['openai/gpt-4o-mini', 'gpt-4o-mini'],
      ['GPT-4o', 'gpt-4o'],
    ];
    for (const [model, matched] of cases) {
      it(`${model} -> ${matched}`, () => expect(table.lookup(model)?.matched).to.equal(matched));
    }
    it('a prefix only matches at a name boundary', () => {
      const t = new PriceTable({ 'gpt-4': { input: 30, output: 60 } });
      expect(t.lookup('gpt-4.5-preview')).to.equal(undefined);
      expect(t.lookup('gpt-4o')).to.equal(undefined);
      expect(t.lookup('gpt-4-0613')?.matched).to.equal('gpt-4');
    });
    it('unknown models are not found', () => {
      expect(table.lookup('my-local-llama')).to.equal(undefined);
    });
  });

  describe('cost', () => {
    const table = new PriceTable({
      'model-a': { input: 2.5, output: 10, cachedInput: 1.25 },
      'model-b': { input: 0.15, output: 0.6 },
    });

    it('1000 prompt + 500 completion tokens at $2.50/$10 per 1M = $0.0075 exactly', () => {
      const c = table.cost('model-a', { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 });
      expect(c).to.deep.equal({ microUsd: 7500, usd: 0.0075, priceKnown: true, matched: 'model-a' });
      expect(table.costUsd('model-a', { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 })).to.equal(0.0075);
    });

    it('bills cached prompt tokens at the cached-input price', () => {
      // 400 uncached x 2.5 + 600 cached x 1.25 + 100 x 10 = 1000 + 750 + 1000 micro-dollars.
      const c = table.cost('model-a', {
        prompt_tokens: 1000,
        completion_tokens: 100,
        total_tokens: 1100,
        prompt_tokens_details: { cached_tokens: 600 },
      });
      expect(c.microUsd).to.equal(2750);
    });

    it('bills cached tokens at the input price when the model has no cached price', () => {
      const c = table.cost('model-b', { prompt_tokens: 1000, completion_tokens: 0, total_tokens: 1000, prompt_tokens_details: { cached_tokens: 1000 } });
      expect(c.microUsd).to.equal(150);
    });

    it('rounds sub-micro-dollar fractions half up, once per call', () => {
      // 3 x 0.15 = 0.45 -> 0 ; 10 x 0.15 = 1.5 -> 2.
      expect(table.cost('model-b', { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 }).microUsd).to.equal(0);
      expect(table.cost('model-b', { prompt_tokens: 10, completion_tokens: 0, total_tokens: 10 }).microUsd).to.equal(2);
    });

    it('stays exact where floats drift: 0.1 + 0.2 style prices', () => {
      const t = new PriceTable({ m: { input: 0.1, output: 0.2 } });
      // 7 x 0.1 + 7 x 0.2 = 2.1 micro-dollars; 0.7 + 1.4 in floats is 2.0999999999999996.
      const c = t.cost('m', { prompt_tokens: 7_000_000, completion_tokens: 7_000_000, total_tokens: 14_000_000 });
      expect(c.microUsd).to.equal(2_100_000);
      expect(c.usd).to.equal(2.1);
    });

    it('handles a huge call without losing integer precision', () => {
      const t = new PriceTable({ m: { input: 150, output: 600 } });
      const c = t.cost('m', { prompt_tokens: 100_000_000, completion_tokens: 100_000_000, total_tokens: 200_000_000 });
      expect(c.microUsd).to.equal(75_000_000_000);
    });

    it('unknown model: 0 and priceKnown false', () => {
      const c = table.cost('mystery', { prompt_tokens: 1000, completion_tokens: 1000, total_tokens: 2000 });
      expect(c).to.deep.equal({ microUsd: 0, usd: 0, priceKnown: false });
      expect(table.costUsd('mystery', { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 })).to.equal(0);
    });

    it('treats missing or junk usage fields as 0', () => {
      expect(table.cost('model-a', {}).microUsd).to.equal(0);
      expect(table.cost('model-a', { prompt_tokens: -5, completion_tokens: Number.NaN, total_tokens: 0 }).microUsd).to.equal(0);
    });

    it('the default table prices a gpt-4o-mini snapshot at its published rate', () => {
      // $0.15 in / $0.60 out per 1M: 2000 in + 1000 out = 300 + 600 micro-dollars.
      const c = loadPriceTable().cost('gpt-4o-mini-2024-07-18', { prompt_tokens: 2000, completion_tokens: 1000, total_tokens: 3000 });
      expect(c.microUsd).to.equal(900);
      expect(c.usd).to.equal(0.0009);
    });
  });

  describe('PRICES_FILE', () => {
    it('overrides a default and adds a new model', () => {
      const file = writeJson(
        'ok.json',
        JSON.stringify({ 'gpt-4o': { input: 1, output: 2 }, 'my-local-llama': { input: 0, output: 0.5 } }),
      );
      const table = loadPriceTable(file);
      expect(table.lookup('gpt-4o-2024-08-06')?.price).to.deep.equal({ input: 1, output: 2 });
      expect(table.cost('my-local-llama', { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 })).to.deep.equal({
        microUsd: 1,
        usd: 0.000001,
        priceKnown: true,
        matched: 'my-local-llama',
      });
      // Untouched defaults stay.
      expect(table.lookup('claude-3-5-haiku')?.price.input).to.equal(0.8);
      expect(table.size).to.equal(Object.keys(defaultPriceMap()).length + 1);
    });

    it('rejects a negative price, naming the model and field', () => {
      const file = writeJson('neg.json', JSON.stringify({ 'gpt-4o': { input: -1, output: 2 } }));
      expect(() => loadPriceTable(file)).to.throw(PriceFileError, /gpt-4o\.input/);
    });

    it('rejects unknown fields (a typo must not silently price at 0)', () => {
      const file = writeJson('typo.json', JSON.stringify({ 'gpt-4o': { input: 1, output: 2, cached_input: 0.5 } }));
      expect(() => readPriceFile(file)).to.throw(PriceFileError, /gpt-4o/);
    });

    it('rejects a missing output price', () => {
      const file = writeJson('missing.json', JSON.stringify({ m: { input: 1 } }));
      expect(() => readPriceFile(file)).to.throw(PriceFileError, /m\.output/);
    });

    it('rejects non-JSON and says which file', () => {
      const file = writeJson('bad.json', '{ not json');
      expect(() => readPriceFile(file)).to.throw(PriceFileError, /bad\.json is not JSON/);
    });

    it('rejects a missing file with a clear message', () => {
      expect(() => loadPriceTable(path.join(dir, 'nope.json'))).to.throw(PriceFileError, /cannot read price file .*nope\.json/);
    });
  });
});
