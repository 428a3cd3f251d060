import { expect } from 'chai';
import { DEFAULT_HYBRID_WEIGHTS, hybridSimilarity, lexicalSimilarity } from '../src/cache/hybrid-score.js';

describe('hybrid score', () => {
  const q = 'How do I reverse a list in Python?';

  it('is 1 for identical texts with cosine 1, and for texts that only differ in case and punctuation', () => {
    expect(hybridSimilarity(1, q, q)).to.be.closeTo(1, 1e-12);
    expect(hybridSimilarity(1, q, 'how do i reverse a list in python')).to.be.closeTo(1, 1e-12);
    expect(lexicalSimilarity(q, q)).to.be.closeTo(1, 1e-12);
  });

  it('keeps typos and reorderings high', () => {
    expect(lexicalSimilarity('How do I recieve payments with Stripe?', 'How do I receive payments with Stripe?')).to.be.greaterThan(0.8);
    expect(lexicalSimilarity('python reverse list', 'reverse list python')).to.be.closeTo(1, 1e-12);
    expect(hybridSimilarity(0.85, 'What are the symptoms of dehydration?', 'what are the symtoms of dehydration')).to.be.greaterThan(0.85);
  });

  it('keeps a paraphrase with a high cosine high', () => {
    const h = hybridSimilarity(0.9, 'What is the capital city of Canada?', 'which city is the capital of canada');
    expect(h).to.be.greaterThan(0.8);
  });

  it('drops unrelated texts below related ones at the same cosine', () => {
    const related = hybridSimilarity(0.7, 'How do I center a div with CSS?', 'css: how to center a div');
    const unrelated = hybridSimilarity(0.7, 'How do I center a div with CSS?', 'Best time of year to visit Japan?');
    expect(lexicalSimilarity('How do I center a div with CSS?', 'Best time of year to visit Japan?')).to.be.lessThan(0.15);
    expect(unrelated).to.be.lessThan(0.7 * DEFAULT_HYBRID_WEIGHTS.embedding + 0.05);
    expect(related).to.be.greaterThan(unrelated + 0.1);
  });

  it('gives stop words little weight', () => {
    // Sharing only function words counts for little; sharing the content words counts for a lot.
    const fn = lexicalSimilarity('what is the best way to do it', 'what is the way to cook rice');
    const content = lexicalSimilarity('cook rice in a pan', 'how should I cook rice');
    expect(fn).to.be.lessThan(0.35);
    expect(content).to.be.greaterThan(0.6);
  });

  it('is strictly increasing in the cosine', () => {
    const a = 'How long should I boil an egg?';
    const b = 'boiling an egg: how many minutes';
    let prev = -Infinity;
    for (let c = -1; c <= 1.0001; c += 0.05) {
      const h = hybridSimilarity(c, a, b);
      expect(h).to.be.greaterThan(prev);
      prev = h;
    }
  });

  it('stays in [-1, 1] (and in [0, 1] for a non-negative cosine), also for odd inputs', () => {
    const texts = ['', '   ', '!!!', 'a', 'the the the', '数据库', 'emoji 😀 test', q, 'x'.repeat(5000)];
    for (const a of texts) {
      for (const b of texts) {
        for (const c of [-1, -0.3, 0, 0.5, 1, 1.0000001, -1.0000001, NaN]) {
          const h = hybridSimilarity(c, a, b);
          expect(h, `${c} ${a.slice(0, 10)} ${b.slice(0, 10)}`).to.be.within(-1, 1);
          if (c >= 0) expect(h).to.be.within(0, 1);
        }
        const l = lexicalSimilarity(a, b);
        expect(l).to.be.within(0, 1);
      }
    }
  });

  it('is symmetric in the two texts', () => {
    const a = 'Convert Celsius to Fahrenheit';
    const b = 'how to convert fahrenheit into celsius';
    expect(hybridSimilarity(0.6, a, b)).to.equal(hybridSimilarity(0.6, b, a));
  });

  it('returns the cosine unchanged with embedding weight 1', () => {
    expect(hybridSimilarity(0.42, 'a b c', 'x y z', { embedding: 1, stopWordWeight: 0 })).to.equal(0.42);
  });
});
