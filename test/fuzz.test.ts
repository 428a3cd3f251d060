import { expect } from 'chai';
import { runCampaign, type CampaignReport } from '../bench/fuzz/campaign.js';
import { CATEGORIES } from '../bench/fuzz/corpus.js';

/**
 * The seeded subset of `make fuzz` (bench/fuzz/): a few hundred generated hostile requests, every
 * category, through a real gateway process in front of a recording upstream. The same seed gives
 * the same corpus on every run. The /health probe alongside is held only to a gross bound here
 * (a frozen event loop, not a slow CI box); `make fuzz` holds it to the 100 ms.
 */
describe('fuzz campaign, seeded subset (real gateway process)', function () {
  this.timeout(180_000);
  let report: CampaignReport;

  before(async () => {
    report = await runCampaign({ seed: 1212, count: 350, concurrency: 4, entry: 'src', maxStallMs: 2000 });
  });

  it('sends every category of the corpus', () => {
    expect(report.cases).to.be.at.least(350);
    for (const c of CATEGORIES) expect(report.byCategory[c]?.cases ?? 0, c).to.be.greaterThan(0);
    expect(report.healthProbes).to.be.greaterThan(0);
  });

  it('holds every invariant: no 5xx from bad input, 4xx in OpenAI shape, no policy bypass, no secret leak, no freeze', () => {
    expect(report.violations.map((v) => `${v.rule}: ${v.category ?? ''} ${v.name ?? ''} ${v.detail}`)).to.deep.equal([]);
    expect(report.longestStallMs).to.be.at.most(2000);
  });
});
