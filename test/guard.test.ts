import { expect } from 'chai';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGuard } from '../src/cache/guard.js';
import { loadWordSimilarity } from '../src/cache/word-similarity.js';

const modelsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'models');

describe('correctness guard', () => {
  const guard = createGuard();
  const rejects = (a: string, b: string, kind: string) => {
    const v = guard.agrees(a, b);
    expect(v.ok, `${a} | ${b}`).to.equal(false);
    expect(v.reason, `${a} | ${b}`).to.match(new RegExp(`^${kind}`));
  };
  const accepts = (a: string, b: string) => {
    const v = guard.agrees(a, b);
    expect(v, `${a} | ${b}`).to.deep.equal({ ok: true });
  };

  describe('rejects', () => {
    it('different numbers, digits or words', () => {
      rejects('How do I install Python 2 on Ubuntu?', 'How do I install Python 3 on Ubuntu?', 'number-mismatch');
      rejects('Give me 5 ideas for a birthday party', 'Give me ten ideas for a birthday party', 'number-mismatch');
      rejects('What is 15% of 80?', 'What is 15% of 90?', 'number-mismatch');
      expect(guard.agrees('Python 2 vs Python 3', 'python 3 vs python 4').reason).to.equal('number-mismatch: 2 vs 4');
    });

    it('a negation on one side only', () => {
      rejects('Why does my code work?', "Why doesn't my code work?", 'negation-mismatch');
      rejects('Should I use tabs for indentation?', 'Should I never use tabs for indentation?', 'negation-mismatch');
      rejects('How do I make coffee with milk?', 'How do I make coffee without milk?', 'negation-mismatch');
      rejects('Is it safe to eat raw eggs?', 'Is it not safe to eat raw eggs?', 'negation-mismatch');
    });

    it('a reversed direction', () => {
      rejects('How do I convert Celsius to Fahrenheit?', 'How do I convert Fahrenheit to Celsius?', 'direction-mismatch');
      rejects('Cheapest flights from London to Paris', 'cheapest flights from Paris to London', 'direction-mismatch');
      rejects('Translate English to French', 'translate French into English', 'direction-mismatch');
      rejects('Is Java faster than Python?', 'Is Python faster than Java?', 'direction-mismatch');
    });

    it('the same two terms swapped around a relation word', () => {
      rejects('How many miles are in 10 km?', 'How many km are in 10 miles?', 'order-mismatch');
      rejects('Can I use applesauce instead of eggs in baking?', 'Can I use eggs instead of applesauce in baking?', 'order-mismatch');
      rejects('How do I install Python on Windows?', 'How do I install Windows on Python?', 'order-mismatch');
    });

    it('a swapped name or identifier', () => {
      rejects('What is the capital of Australia?', 'What is the capital of Austria?', 'entity-mismatch');
      rejects('What does useEffect do in React?', 'What does useState do in React?', 'identifier-mismatch');
    });
  });

  describe('accepts', () => {
    it('typos', () => {
      accepts('What is the capital of France?', 'what is the captial of france');
      accepts('How do I reverse a string in JavaScript?', 'How do I reverse a string in Javascrpit?');
    });

    it('politeness, casing and punctuation', () => {
      accepts('How do I convert Celsius to Fahrenheit?', 'Could you please tell me how to convert celsius to fahrenheit');
      accepts('Hi, Can you explain recursion?', 'explain recursion please!!');
      accepts('WHAT IS A MONAD', 'what is a monad?');
    });

    it('harmless reordering', () => {
      accepts('In Python, how do I sort a list?', 'How do I sort a list in Python?');
      accepts('How do I convert Celsius to Fahrenheit?', 'What is the formula to get Fahrenheit from Celsius?');
      accepts('Python 3 or Python 2: which is better?', 'Which is better, Python 2 or Python 3?');
    });

    it('terms moved without changing how they relate', () => {
      accepts('How do I convert a list to a string in Python?', 'In Python, how do I convert a list to a string?');
      accepts('What is the best language for web development?', 'For web development, what is the best language?');
      accepts('What is the difference between TCP and UDP?', 'What is the difference between UDP and TCP?');
    });

    it('numbers written as words or digits', () => {
      accepts('Give me three tips for sleeping better', 'Give me 3 tips for sleeping better');
      accepts('Is 1,000 grams a kilogram?', 'is 1000 grams a kilogram');
    });

    it('identical texts', () => {
      accepts('Not 2 but 3', 'Not 2 but 3');
    });
  });

  describe('substitutions', () => {
    const wordSimilarity = loadWordSimilarity(modelsDir, 'static-wordnet-en');
    const subGuard = createGuard({ wordSimilarity });
    const subRejects = (a: string, b: string, reason?: string) => {
      const v = subGuard.agrees(a, b);
      expect(v.ok, `${a} | ${b}`).to.equal(false);
      if (reason) expect(v.reason, `${a} | ${b}`).to.equal(reason);
      else expect(v.reason, `${a} | ${b}`).to.match(/^substitution: /);
    };
    const subAccepts = (a: string, b: string) => expect(subGuard.agrees(a, b), `${a} | ${b}`).to.deep.equal({ ok: true });

    before(function () {
      if (!wordSimilarity) this.skip(); // models/static-wordnet-en not built
    });

    it('loads word vectors from the default model, and they know synonyms from unrelated words', () => {
      expect(wordSimilarity!('car', 'automobile')).to.be.greaterThan(0.45);
      expect(wordSimilarity!('adults', 'babies')).to.be.lessThan(0.15);
      expect(wordSimilarity!('same', 'same')).to.equal(1);
    });

    it('rejects a content word swapped for an unrelated one in the same slot', () => {
      subRejects('What is considered a fever in adults?', 'What is considered a fever in babies?', 'substitution: adults vs babies');
      subRejects('Give me a simple recipe for sourdough bread.', 'Give me a simple recipe for banana bread.', 'substitution: sourdough vs banana');
      subRejects('What should I feed a sick dog?', 'What should I feed a sick cat?', 'substitution: dog vs cat');
      subRejects('Is coffee bad for your heart?', 'Is coffee bad for your teeth?', 'substitution: heart vs teeth');
      subRejects('How long should I bake chicken breasts?', 'How long should I bake salmon fillets?');
      subRejects('How do I delete a branch in git?', 'How do I rename a branch in git?', 'substitution: delete vs rename');
    });

    it('rejects opposites, even without word vectors', () => {
      subRejects('How do I undo the last git commit but keep my changes?', 'How do I undo the last git commit and discard my changes?', 'substitution: keep vs discard');
      subRejects('How do I format a date as YYYY-MM-DD in JavaScript?', 'How do I parse a YYYY-MM-DD string into a Date in JavaScript?', 'substitution: format vs parse');
      subRejects('How do I enable dark mode in Windows?', 'How do I disable dark mode in Windows?', 'substitution: enable vs disable');
      subRejects('How do I increase the font size in VS Code?', 'How do I decrease the font size in VS Code?', 'substitution: increase vs decrease');
      subRejects('How do I add a user to a group in Linux?', 'How do I remove a user from a group in Linux?', 'substitution: add vs remove');
      // Without word similarity only the contrast list is used.
      expect(guard.agrees('Keep my changes', 'Discard my changes').reason).to.equal('substitution: keep vs discard');
      expect(guard.agrees('fever in adults', 'fever in babies')).to.deep.equal({ ok: true });
    });

    it('accepts synonyms, inflections and typos in the same slot', () => {
      subAccepts('How do I fix my bike?', 'How do I repair my bike?');
      subAccepts('Where can I buy a cheap car?', 'Where can I purchase a cheap automobile?');
      subAccepts('How big is a blue whale?', 'How large is a blue whale?');
      subAccepts('What is a good movie for a rainy day?', 'What is a good film for a rainy day?');
      subAccepts('What is considered a fever in adults?', 'what is considred a fever in an adult');
      subAccepts('How do I make my houseplants grow faster?', 'Ways to make house plants grow faster');
    });

    it('accepts rephrasings whose new words are additions or sit in another slot', () => {
      subAccepts('How do I format a date as YYYY-MM-DD in JavaScript?', 'In JavaScript, how can I turn a Date into a YYYY-MM-DD string?');
      subAccepts('What is considered a fever in adults?', 'At what temperature does an adult have a fever?');
      subAccepts('How do I reverse a list in Python?', "What's the simplest way to reverse a Python list?");
      subAccepts('How long should I boil an egg for a runny yolk?', 'how many minutes to boil an egg so the yolk stays runny');
      subAccepts('How do I delete a branch in git?', 'How can I remove a git branch?');
      subAccepts('A woman is slicing tomatoes in the kitchen.', 'In the kitchen, a lady is slicing some tomatoes.');
    });
  });
});

