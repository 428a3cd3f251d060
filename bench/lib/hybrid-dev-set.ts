/**
 * A small dev set written for this project (original text, not taken from any evaluation set)
 * to choose the hybrid-score weights: src/cache/hybrid-score.ts DEFAULT_HYBRID_WEIGHTS. Together
 * with the paraphrase / near-miss groups of data/workloads/chat-assistant.jsonl (also written for
 * this project) it gives positive pairs (paraphrases, typos, reorderings, politeness) and negative
 * pairs (topically close but a different ask, plus prompts of other groups).
 *
 * The shared evaluation data (shared/data) is never read here.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LabeledPair, PairSet } from './datasets.js';
import { seededRandom } from './datasets.js';

interface Group {
  text: string;
  same: string[];
  different: string[];
}

/** Chat-style questions and caption/news-style statements, each with same-meaning and different-meaning variants. */
const GROUPS: Group[] = [
  {
    text: 'How long should I boil an egg for a runny yolk?',
    same: ['how many minutes to boil an egg so the yolk stays runny', 'Soft boiled egg with a liquid yolk: how long do I boil it?'],
    different: ['How long should I boil an egg for a hard yolk?', 'How long should I fry an egg?'],
  },
  {
    text: 'What is the capital city of Canada?',
    same: ['which city is the capital of canada', 'Canada capital city?'],
    different: ['What is the largest city in Canada?', 'What is the capital city of Chile?'],
  },
  {
    text: 'Can you recommend a good book about the history of Rome?',
    same: ['Recommend me a good history book on ancient Rome', 'what is a good book to read about roman history'],
    different: ['Can you recommend a good movie about the history of Rome?', 'Can you recommend a good book about the history of Greece?'],
  },
  {
    text: 'How do I remove a red wine stain from a carpet?',
    same: ['how to get red wine stains out of carpet', 'Spilled red wine on my rug, how do I clean the stain?'],
    different: ['How do I remove a coffee stain from a shirt?', 'How do I choose a good red wine?'],
  },
  {
    text: 'Why is the sky blue?',
    same: ['why does the sky look blue', 'What makes the sky appear blue during the day?'],
    different: ['Why is the sea salty?', 'Why is the sunset red?'],
  },
  {
    text: 'How can I improve my sleep quality?',
    same: ['tips for sleeping better at night', 'What can I do to get better quality sleep?', 'how can i improve my slep quality'],
    different: ['How much sleep does a teenager need?', 'How can I improve my running speed?'],
  },
  {
    text: 'Write a short poem about autumn leaves.',
    same: ['Write a brief poem about leaves in autumn', 'compose a short poem on falling autumn leaves'],
    different: ['Write a short story about autumn leaves.', 'Write a short poem about the ocean.'],
  },
  {
    text: 'What are the symptoms of dehydration?',
    same: ['signs that you are dehydrated', 'What symptoms does dehydration cause?', 'what are the symtoms of dehydration'],
    different: ['How do I treat dehydration?', 'What are the symptoms of the flu?'],
  },
  {
    text: 'How do I center a div horizontally with CSS?',
    same: ['css: center a div horizontally', 'What is the CSS to horizontally center a div element?'],
    different: ['How do I center a div vertically with CSS?', 'How do I hide a div with CSS?'],
  },
  {
    text: 'What is the difference between a virus and a bacterium?',
    same: ['How are viruses different from bacteria?', 'virus vs bacteria, what is the difference'],
    different: ['How do antibiotics kill bacteria?', 'What is the difference between a fungus and a bacterium?'],
  },
  {
    text: 'How do I make my houseplants grow faster?',
    same: ['how can I help my indoor plants grow quicker', 'Ways to make house plants grow faster'],
    different: ['Why are my houseplants leaves turning yellow?', 'How often should I water my houseplants?'],
  },
  {
    text: 'Summarize the plot of Romeo and Juliet.',
    same: ['Give me a summary of the plot of Romeo and Juliet', 'What happens in Romeo and Juliet? Short summary please.'],
    different: ['Summarize the plot of Hamlet.', 'Who wrote Romeo and Juliet?'],
  },
  {
    text: 'What is a healthy breakfast that keeps me full until lunch?',
    same: ['healthy breakfast ideas that keep you full until lunchtime', 'Which breakfast is healthy and keeps me from getting hungry before lunch?'],
    different: ['What is a healthy dinner that is quick to cook?', 'Is skipping breakfast healthy?'],
  },
  {
    text: 'How do I reset my router to factory settings?',
    same: ['factory reset a router, how?', 'What are the steps to restore my router to its factory settings?'],
    different: ['How do I change my router password?', 'How do I reset my phone to factory settings?'],
  },
  {
    text: 'Explain how compound interest works.',
    same: ['How does compound interest work?', 'Can you explain compound interest to me simply?'],
    different: ['Explain how a mortgage works.', 'How is simple interest calculated?'],
  },
  {
    text: 'What should I pack for a week of hiking in the mountains?',
    same: ['packing list for a one week mountain hiking trip', 'What do I need to bring on a week-long hike in the mountains?'],
    different: ['What should I pack for a week at the beach?', 'What are the best mountains for hiking?'],
  },
  {
    text: 'How do I stop my dog from barking at strangers?',
    same: ['my dog barks at strangers, how do I make it stop', 'How can I train my dog not to bark at people it does not know?'],
    different: ['How do I stop my cat from scratching the sofa?', 'How do I teach my dog to sit?'],
  },
  {
    text: 'What is the best way to learn a new language as an adult?',
    same: ['best method for adults to learn a foreign language', 'As a grown-up, how should I go about learning a new language?'],
    different: ['What is the hardest language to learn?', 'What is the best way to learn to play the piano as an adult?'],
  },
  {
    text: 'How do I sort a dictionary by value in Python?',
    same: ['python sort dict by values', 'Sorting a Python dictionary by its values, how?'],
    different: ['How do I sort a list of tuples in Python?', 'How do I merge two dictionaries in Python?'],
  },
  {
    text: 'What causes the seasons on Earth?',
    same: ['why does the earth have seasons', 'What is the reason we have seasons on Earth?'],
    different: ['What causes the tides on Earth?', 'How many seasons are there in a year?'],
  },
  {
    text: 'Give me a recipe for a vegetarian lasagna.',
    same: ['vegetarian lasagna recipe please', 'How do I make a lasagna without meat?'],
    different: ['Give me a recipe for a vegetarian curry.', 'How long do I bake a lasagna?'],
  },
  {
    text: 'How do I write a cover letter for a job application?',
    same: ['tips for writing a cover letter when applying for a job', 'How should I write a job application cover letter?'],
    different: ['How do I write a resignation letter?', 'How do I prepare for a job interview?'],
  },
  // Caption- and news-style statements.
  {
    text: 'A man is playing the guitar on a stage.',
    same: ['A man plays a guitar on stage.', 'On the stage, a man is playing guitar.'],
    different: ['A woman is playing the piano on a stage.', 'A man is tuning a guitar at home.'],
  },
  {
    text: 'Two children are running through a field of flowers.',
    same: ['Two kids run across a field full of flowers.', 'A pair of children are running in a flower field.'],
    different: ['Two children are sitting in a field of flowers.', 'Two dogs are running through a field.'],
  },
  {
    text: 'The city council approved the new budget on Tuesday.',
    same: ['On Tuesday the city council passed the new budget.', 'The new budget was approved by the city council Tuesday.'],
    different: ['The city council rejected the new budget on Tuesday.', 'The school board approved the new budget on Tuesday.'],
  },
  {
    text: 'A cat is sleeping on a sunny windowsill.',
    same: ['A cat sleeps on the windowsill in the sun.', 'On a sunny window ledge a cat is asleep.'],
    different: ['A cat is eating from a bowl.', 'A dog is sleeping on a sofa.'],
  },
  {
    text: 'The company reported higher profits in the third quarter.',
    same: ['Profits at the company rose in the third quarter.', 'The firm said its third-quarter profit increased.'],
    different: ['The company reported a loss in the third quarter.', 'The company hired a new chief executive.'],
  },
  {
    text: 'A woman is slicing tomatoes in the kitchen.',
    same: ['A woman cuts tomatoes in a kitchen.', 'In the kitchen, a lady is slicing some tomatoes.'],
    different: ['A woman is slicing bread in the kitchen.', 'A man is washing dishes in the kitchen.'],
  },
  {
    text: 'Heavy rain caused flooding in several towns overnight.',
    same: ['Several towns were flooded after heavy overnight rain.', 'Overnight downpours flooded a number of towns.'],
    different: ['Heavy snow closed several roads overnight.', 'A drought has hit several towns this summer.'],
  },
  {
    text: 'A boy is riding a bicycle down the street.',
    same: ['A boy rides his bike along the street.', 'Down the street, a young boy is cycling.'],
    different: ['A boy is fixing a bicycle in the garage.', 'A girl is walking down the street.'],
  },
];

/** Chat-assistant workload groups (originals with their paraphrases and near-misses). */
function workloadGroups(root: string): Group[] {
  const file = path.join(root, 'data', 'workloads', 'chat-assistant.jsonl');
  if (!fs.existsSync(file)) return [];
  const rows = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { id: string; text: string; kind: string; duplicateOf: string | null; nearMissOf?: string | null });
  const byId = new Map<string, Group>();
  for (const r of rows) if (r.kind === 'original') byId.set(r.id, { text: r.text, same: [], different: [] });
  for (const r of rows) {
    if (r.kind === 'paraphrase' && r.duplicateOf) byId.get(r.duplicateOf)?.same.push(r.text);
    if (r.kind === 'near-miss' && r.nearMissOf) byId.get(r.nearMissOf)?.different.push(r.text);
  }
  return [...byId.values()];
}

/**
 * Positives: each group's text with each same-meaning variant. Negatives: with each
 * different-meaning variant, and with `randomNegatives` variants of other groups (seeded).
 */
export function hybridDevSet(root: string, randomNegatives = 2, kinds: { hard?: boolean; random?: boolean } = {}): PairSet {
  const groups = [...GROUPS, ...workloadGroups(root)];
  const random = seededRandom(2024);
  const pairs: LabeledPair[] = [];
  const withHard = kinds.hard ?? true;
  const withRandom = kinds.random ?? true;
  groups.forEach((g, i) => {
    for (const s of g.same) pairs.push({ a: g.text, b: s, label: true });
    if (withHard) for (const d of g.different) pairs.push({ a: g.text, b: d, label: false });
    for (let k = 0; k < (withRandom ? randomNegatives : 0); k++) {
      let j = Math.floor(random() * (groups.length - 1));
      if (j >= i) j++;
      const other = groups[j]!;
      const pool = [other.text, ...other.same];
      pairs.push({ a: g.text, b: pool[Math.floor(random() * pool.length)]!, label: false });
    }
  });
  return { name: 'hybrid-dev', description: 'project-written dev set (bench/lib/hybrid-dev-set.ts + data/workloads/chat-assistant.jsonl)', pairs };
}
