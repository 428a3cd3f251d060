import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { baseForms, createParaphraseLexicon } from '../src/cache/paraphrases.js';
import { align, read } from '../src/cache/verify/alignment.js';
import { normalizeFrames, tokenize } from '../src/cache/verify/text.js';
import { pairFeatures, FEATURE_NAMES } from '../src/cache/verify/features.js';
import { createGuard } from '../src/cache/guard.js';
import { loadWordSimilarity } from '../src/cache/word-similarity.js';

const modelsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'models');
const sim = loadWordSimilarity(modelsDir, 'static-glove-wordnet-en')!;

/** Pairs of (a-word, b-word) the alignment matched through the lexicon (kind 3). */
function lexiconLinks(a: string, b: string): string[] {
  const al = align(read(a), read(b), sim);
  const out: string[] = [];
  al.tokenAtoB.forEach((y, x) => {
    if (y >= 0 && al.matchKind[x] === 3) out.push(`${al.a.tokens[x]!.raw.toLowerCase()}=${al.b.tokens[y]!.raw.toLowerCase()}`);
  });
  return out;
}

describe('paraphrase lexicon', () => {
  const lex = createParaphraseLexicon([
    ['hire', 'rent'],
    ['get rid of', 'remove'],
    ['install', 'installation'],
  ]);

  it('matches words of one group under their inflected forms, and nothing else', () => {
    expect(lex.shareGroup('rented', 'hire')).to.equal(true);
    expect(lex.shareGroup('renting', 'hires')).to.equal(true);
    expect(lex.shareGroup('installation', 'installed')).to.equal(true);
    expect(lex.shareGroup('rent', 'install')).to.equal(false);
    expect(lex.shareGroup('buy', 'hire')).to.equal(false);
    expect(baseForms('copies')).to.include('copy');
  });

  it('finds a multiword entry in a word sequence, inflected on its first word', () => {
    expect(lex.phraseAt(['how', 'to', 'get', 'rid', 'of', 'ants'], 2)).to.equal(3);
    expect(lex.phraseAt(['getting', 'rid', 'of', 'ants'], 0)).to.equal(3);
    expect(lex.phraseAt(['get', 'out', 'of', 'bed'], 0)).to.equal(0);
    expect(lex.mates('rent')).to.deep.equal(['hire']);
  });

  it('the shipped model has a lexicon with the usage check', () => {
    expect(sim.lexicon, 'models/static-glove-wordnet-en/paraphrases.json').to.not.equal(undefined);
    expect(sim.lexicon!.size).to.be.greaterThan(10_000);
    expect(sim.related).to.be.a('function');
  });
});

describe('alignment through the paraphrase lexicon', () => {
  it('aligns a synonym swapped into the same slot', () => {
    expect(lexiconLinks('Where can I hire a bicycle in Lisbon?', 'Where can I rent a bicycle in Lisbon?')).to.deep.equal(['hire=rent']);
    expect(lexiconLinks('How do I erase a partition on my USB stick?', 'How do I delete a partition on my USB stick?')).to.deep.equal(['erase=delete']);
  });

  it('aligns a phrase with the single word it stands for', () => {
    expect(lexiconLinks('How do I get rid of fruit flies in the pantry?', 'How do I remove fruit flies in the pantry?')).to.deep.equal(['rid=remove']);
  });

  it('does not align a sibling swapped into the same slot', () => {
    expect(lexiconLinks('How long do I boil a potato?', 'How long do I fry a potato?')).to.deep.equal([]);
    expect(lexiconLinks('Do I need a visa for Norway?', 'Do I need a visa for Iceland?')).to.deep.equal([]);
    expect(lexiconLinks('Should I rent a flat in Porto?', 'Should I buy a flat in Porto?')).to.deep.equal([]);
  });

  it('counts a light verb with the noun it carries: "make a decision" / "decide"', () => {
    const al = align(read('When should I make a decision about the offer?'), read('When should I decide about the offer?'), sim);
    const unmatched = al.a.tokens.filter((t, i) => t.cls === 'content' && al.tokenAtoB[i]! < 0).map((t) => t.raw);
    expect(unmatched).to.deep.equal([]);
  });

  it('a synonym swap is no substitution for the guard; a sibling swap still is', () => {
    const guard = createGuard({ wordSimilarity: sim });
    expect(guard.findings('Where can I hire a bicycle in Lisbon?', 'Where can I rent a bicycle in Lisbon?').substitution).to.equal(false);
    expect(guard.findings('How long do I boil a potato?', 'How long do I fry a potato?').substitution).to.equal(true);
  });
});

describe('question frames and scope words', () => {
  const fn = (text: string) => normalizeFrames(tokenize(text)).filter((t) => t.cls === 'content').map((t) => t.norm);

  it('"what is the command / way / steps to X" keeps only X as content', () => {
    expect(fn("What's the command to list open ports?")).to.deep.equal(fn('How do I list open ports?'));
    expect(fn('What steps should I follow to renew a passport?')).to.deep.equal(fn('How do I renew a passport?'));
    expect(fn('In what way can I speed up a slow laptop?')).to.deep.equal(fn('How can I speed up a slow laptop?'));
  });

  it('a frame noun elsewhere stays content', () => {
    expect(fn('Which command shows disk usage?')).to.deep.equal(['show', 'disk', 'usage']);
    expect(fn('How do I run a command on boot?')).to.include('command');
  });

  it('"what is the reason" asks why; "each" / "every" / "all" share a scope', () => {
    const guard = createGuard({ wordSimilarity: sim });
    const f = (a: string, b: string) => pairFeatures(0.8, read(a), read(b), { wordSimilarity: sim, findings: (x, y) => guard.findings(x, y) }).values;
    const wh = FEATURE_NAMES.indexOf('whMismatch');
    const q = FEATURE_NAMES.indexOf('quantifierMismatch');
    expect(f('Why do dogs pant?', "What's the reason dogs pant?")[wh]).to.equal(0);
    expect(f('Why do dogs pant?', 'How do dogs pant?')[wh]).to.equal(1);
    expect(f('How do I trim spaces on each line?', 'How do I trim spaces on every line?')[q]).to.equal(0);
    expect(f('How do I trim spaces on each line?', 'How do I trim spaces on the first line?')[q]).to.equal(1);
  });
});
