import { expect } from 'chai';
import { StoreHealth } from '../src/store/store-health.js';

describe('StoreHealth', () => {
  it('is degraded while a kind of operation fails, and only that kind succeeding clears it', () => {
    let t = 1_000;
    const h = new StoreHealth(() => t);
    const events: string[] = [];
    h.on((e) => events.push(e.type === 'failure' ? `fail:${e.op}:${e.began}` : `ok:${e.op}:${e.downMs}`));
    expect(h.snapshot()).to.deep.equal({ status: 'ok', failures: { read: 0, write: 0, connect: 0 } });

    h.markFailure('write', Object.assign(new Error('MDB_MAP_FULL: Environment mapsize limit reached'), { code: 'ENOSPC' }));
    t = 1_500;
    h.markFailure('write', new Error('MDB_MAP_FULL again'));
    h.markOk('read'); // reads still work on a full disk: that must not clear the write failure
    const s = h.snapshot();
    expect(s.status).to.equal('degraded');
    expect(s.reason).to.contain('store write failing: MDB_MAP_FULL again');
    expect(s.since).to.equal(new Date(1_000).toISOString());
    expect(s.failures.write).to.equal(2);
    expect(h.degraded).to.equal(true);

    t = 4_000;
    h.markOk('write'); // a success right after a failure (a small write on a nearly full disk) does not end it
    expect(h.degraded).to.equal(true);
    t = 6_500;
    h.markOk('write');
    expect(h.degraded).to.equal(false);
    expect(h.snapshot().status).to.equal('ok');
    expect(h.failureCount('write')).to.equal(2);
    expect(events).to.deep.equal(['fail:write:true', 'fail:write:false', 'ok:write:5500']);
  });

  it('a listener that throws does not turn a report into a failure', () => {
    const h = new StoreHealth();
    h.on(() => {
      throw new Error('broken listener');
    });
    expect(() => h.markFailure('connect', 'ECONNREFUSED')).to.not.throw();
    expect(h.snapshot().reason).to.equal('store connect failing: ECONNREFUSED');
  });
});
