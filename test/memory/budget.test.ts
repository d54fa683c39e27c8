// The memory budget's contract, driven directly: it never lets the total pass the limit, it
// sheds the kind holding the most (largest or oldest account first, per kind), it refuses
// when the requester is the one to shed, and every shed and refusal is counted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBudget, type MemoryAccount, type MemoryKind } from '../../src/memory/budget.js';
import { Stats } from '../../src/stats.js';

/** An account whose shed callback gives back everything it holds, recording that it was asked. */
function holder(budget: MemoryBudget, kind: MemoryKind, log: string[], name: string): MemoryAccount {
  const account: MemoryAccount = budget.account(kind, () => {
    log.push(name);
    account.release(account.bytes);
  });
  return account;
}

test('charges within the limit are granted and released exactly', () => {
  const stats = new Stats();
  const budget = new MemoryBudget(1000, stats);
  const a = budget.account('app.bodies');
  assert.equal(a.charge(600), true);
  assert.equal(a.charge(400), true);
  assert.equal(budget.used, 1000);
  a.release(300);
  assert.equal(budget.usedBy('app.bodies'), 700);
  a.close();
  assert.equal(budget.used, 0);
  assert.equal(budget.peak, 1000);
  assert.equal(a.charge(1), false, 'a closed account takes nothing');
  assert.deepEqual(stats.toJSON(), {});
});

test('over the limit, the largest kind is shed first, and by its own order', () => {
  const stats = new Stats();
  const budget = new MemoryBudget(1600, stats);
  const log: string[] = [];
  const small = holder(budget, 'tcp.reorder', log, 'reorder-small');
  const big = holder(budget, 'tcp.reorder', log, 'reorder-big');
  const dnsOld = holder(budget, 'dns.pending', log, 'dns-old');
  const dnsNew = holder(budget, 'dns.pending', log, 'dns-new');
  assert.ok(small.charge(100) && big.charge(500));
  assert.ok(dnsOld.charge(450) && dnsNew.charge(450)); // dns.pending 900 > tcp.reorder 600
  const body = budget.account('app.bodies');
  assert.equal(body.charge(200), true);
  // 1700 would pass 1600: the largest kind (dns) gives first, its oldest account first.
  assert.deepEqual(log, ['dns-old']);
  assert.ok(budget.used <= budget.limit);
  assert.equal(stats.get('memory.sheds.dns.pending'), 1);
  assert.equal(stats.get('memory.shedBytes.dns.pending'), 450);
  // More pressure: reorder (600) is now the largest kind; its largest holder goes first, and
  // that is enough (1250 - 500 + 700 fits), so the rest stays.
  assert.equal(budget.account('app.pending').charge(700), true);
  assert.deepEqual(log, ['dns-old', 'reorder-big']);
  assert.equal(small.bytes, 100);
  assert.equal(dnsNew.bytes, 450);
  assert.ok(budget.used <= budget.limit);
});

test('a requester that is itself the account to shed is refused, nothing is charged', () => {
  const stats = new Stats();
  const budget = new MemoryBudget(1000, stats);
  const log: string[] = [];
  const table = holder(budget, 'tcp.connections', log, 'table');
  assert.equal(table.charge(900), true);
  assert.equal(table.charge(200), false);
  assert.deepEqual(log, [], 'the requester sheds its own, by its own order');
  assert.equal(budget.used, 900);
  assert.equal(stats.get('memory.refused.tcp.connections'), 1);
});

test('a charge larger than the limit, or with nothing sheddable, is refused', () => {
  const stats = new Stats();
  const budget = new MemoryBudget(1000, stats);
  const fixed = budget.account('udp.flows'); // no shed callback
  assert.equal(fixed.charge(800), true);
  const body = budget.account('app.bodies');
  assert.equal(body.charge(300), false);
  assert.equal(body.charge(2000), false);
  assert.equal(budget.used, 800);
  assert.equal(stats.get('memory.refused.app.bodies'), 2);
});

test('a charge made while shedding is granted if it fits, refused otherwise (no nested shedding)', () => {
  const stats = new Stats();
  const budget = new MemoryBudget(1000, stats);
  const downstream = budget.account('app.bodies');
  const results: boolean[] = [];
  const reorder: MemoryAccount = budget.account('tcp.reorder', () => {
    // Flushing a reorder buffer delivers bytes to a parser that charges for them.
    reorder.release(reorder.bytes);
    results.push(downstream.charge(100), downstream.charge(5000));
  });
  assert.equal(reorder.charge(900), true);
  assert.equal(budget.account('app.pending').charge(300), true);
  assert.deepEqual(results, [true, false]);
  assert.ok(budget.used <= budget.limit);
});

test('a shedder that frees only part is asked again; one that frees nothing is skipped', () => {
  const stats = new Stats();
  const budget = new MemoryBudget(1000, stats);
  let calls = 0;
  const stubborn = budget.account('app.headers', () => void calls++);
  const partial: MemoryAccount = budget.account('app.bodies', () => partial.release(100));
  assert.ok(stubborn.charge(500) && partial.charge(400));
  assert.equal(budget.account('app.pending').charge(300), true);
  assert.equal(calls, 1, 'the stubborn holder was asked once, then skipped');
  assert.ok(budget.used <= 1000);
  assert.ok(stats.get('memory.sheds.app.bodies') >= 2);
});
