import { expect } from 'chai';
import { createGuard } from '../src/cache/guard.js';

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

    it('numbers written as words or digits', () => {
      accepts('Give me three tips for sleeping better', 'Give me 3 tips for sleeping better');
      accepts('Is 1,000 grams a kilogram?', 'is 1000 grams a kilogram');
    });

    it('identical texts', () => {
      accepts('Not 2 but 3', 'Not 2 but 3');
    });
  });
});
