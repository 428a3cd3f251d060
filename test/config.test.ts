import path from 'node:path';
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../src/config.js';

describe('config (env parsed once)', () => {
  it('uses documented defaults for unset and for empty variables alike', () => {
    const unset = loadConfig({});
    const empty = loadConfig({ HOST: '', DATA_DIR: '', PORT: '', UPSTREAM_BASE_URL: '', LOG_LEVEL: '', REDACTION: '', CACHE_GUARD: '', EMBED_MODEL: '' });
    for (const c of [unset, empty]) {
      expect(c.host).to.equal('127.0.0.1'); // never all interfaces by accident
      expect(c.port).to.equal(8080);
      expect(c.dataDir).to.equal(path.resolve('data'));
      expect(c.upstream.baseUrl).to.equal('https://api.openai.com/v1');
      expect(c.log.level).to.equal('info');
      expect(c.redaction).to.equal('mask');
      expect(c.cache.guard).to.equal(true);
      expect(c.cache.similarityThreshold).to.equal(undefined);
      expect(c.cache.ttlSeconds).to.equal(604800);
      expect(c.embedding.model).to.equal('static-glove-wordnet-en');
    }
  });

  it('names every bad variable in one error', () => {
    let err: unknown;
    try {
      loadConfig({ PORT: 'eighty', CACHE_SIMILARITY_THRESHOLD: '1.5', REDACTION: 'maybe', UPSTREAM_BASE_URL: 'not a url' });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigError);
    for (const name of ['PORT', 'CACHE_SIMILARITY_THRESHOLD', 'REDACTION', 'UPSTREAM_BASE_URL']) expect((err as Error).message).to.contain(name);
  });
});
