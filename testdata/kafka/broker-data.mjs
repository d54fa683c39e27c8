// Topic and record APIs of the stand-in broker (test-only): ApiVersions, Metadata, Produce,
// Fetch, ListOffsets and CreateTopics, each for every version it advertises (see the
// profiles in stand-in-broker.mjs), classic and flexible, field by field as the Kafka
// protocol guide lays them out. Produced record batches are kept in memory and served back.

export function newState(host, port) {
  return { host, port, topics: new Map(), log: new Map(), groups: new Map(), waiters: new Set() };
}

function ensureTopic(st, name, partitions = 1) {
  if (!st.topics.has(name)) st.topics.set(name, partitions);
  for (let p = 0; p < st.topics.get(name); p++) partitionLog(st, name, p);
}

export function partitionLog(st, topic, partition) {
  const k = `${topic}/${partition}`;
  if (!st.log.has(k)) st.log.set(k, { batches: [], next: 0 });
  return st.log.get(k);
}

export function apiVersions(st, ctx, r, out) {
  const flex = ctx.v >= 3;
  if (ctx.v >= 3) {
    ctx.req.clientSoftwareName = r.str(true);
    ctx.req.clientSoftwareVersion = r.str(true);
  }
  Object.assign(ctx.res, { errorCode: 0, apiKeyCount: Object.keys(ctx.supported).length });
  out.i16(0);
  out.arr(Object.entries(ctx.supported), flex, ([k, [min, max]]) => out.i16(Number(k)).i16(min).i16(max).tags(flex));
  if (ctx.v >= 1) out.i32(0);
  out.tags(flex);
}

export function metadata(st, { v, flex, req, res }, r, out) {
  const names = r.arr(flex, () => { const n = r.str(flex); r.tags(flex); return n; });
  const autoCreate = v >= 4 ? r.i8() !== 0 : true;
  // v0: an empty list means every topic; v1+: null means every topic, empty means none.
  const all = names === null || (v === 0 && names.length === 0);
  if (!all && autoCreate) for (const n of names) ensureTopic(st, n);
  const topics = all ? [...st.topics.keys()] : names;
  req.topics = names;
  res.brokers = [{ nodeId: 0, host: st.host, port: st.port }];
  res.topics = topics.map((t) => {
    const n = st.topics.get(t);
    return { name: t, errorCode: n === undefined ? 3 : 0, partitions: [...Array(n ?? 0).keys()].map((p) => ({ partition: p, leader: 0, errorCode: 0 })) };
  });
  if (v >= 3) out.i32(0);
  out.arr([0], flex, () => { out.i32(0).str(st.host, flex).i32(st.port); if (v >= 1) out.str(null, flex); out.tags(flex); });
  if (v >= 2) out.str('stand-in-cluster', flex);
  if (v >= 1) out.i32(0);
  out.arr(topics, flex, (t) => {
    const count = st.topics.get(t);
    out.i16(count === undefined ? 3 : 0).str(t, flex);
    if (v >= 1) out.i8(0);
    out.arr(count === undefined ? [] : [...Array(count).keys()], flex, (p) => {
      out.i16(0).i32(p).i32(0);
      if (v >= 7) out.i32(0); // leader_epoch
      out.arr([0], flex, () => out.i32(0)).arr([0], flex, () => out.i32(0));
      if (v >= 5) out.arr([], flex, () => {});
      out.tags(flex);
    });
    if (v >= 8) out.i32(-2147483648); // topic_authorized_operations: not asked for
    out.tags(flex);
  });
  if (v >= 8 && v <= 10) out.i32(-2147483648);
  out.tags(flex);
}

export function produce(st, { v, flex, req, res }, r, out) {
  req.partitions = [];
  res.partitions = [];
  r.str(flex); // transactional_id
  const acks = r.i16();
  r.i32();
  const results = r.arr(flex, () => {
    const topic = r.str(flex);
    ensureTopic(st, topic);
    const parts = r.arr(flex, () => {
      const partition = r.i32();
      const records = r.bytes(flex) ?? Buffer.alloc(0);
      r.tags(flex);
      const pl = partitionLog(st, topic, partition);
      const base = pl.next;
      for (let p = 0; p + 61 <= records.length; ) {
        const len = records.readInt32BE(p + 8);
        const batch = Buffer.from(records.subarray(p, p + 12 + len));
        batch.writeBigInt64BE(BigInt(pl.next), 0); // the broker assigns offsets
        pl.next += batch.readInt32BE(23) + 1; // lastOffsetDelta + 1
        pl.batches.push(batch);
        p += 12 + len;
      }
      req.partitions.push({ topic, partition, recordCount: pl.next - base });
      res.partitions.push({ topic, partition, errorCode: 0, baseOffset: base });
      return [partition, base];
    });
    r.tags(flex);
    return [topic, parts];
  });
  req.topics = results.map(([t]) => t);
  for (const wake of st.waiters) wake();
  if (acks === 0) return false;
  out.arr(results, flex, ([topic, parts]) => {
    out.str(topic, flex);
    out.arr(parts, flex, ([partition, base]) => {
      out.i32(partition).i16(0).i64(base).i64(-1);
      if (v >= 5) out.i64(0); // log_start_offset
      if (v >= 8) out.arr([], flex, () => {}).str(null, flex);
      out.tags(flex);
    });
    out.tags(flex);
  });
  out.i32(0);
  out.tags(flex);
  return true;
}

function batchesFrom(st, topic, partition, offset) {
  const pl = partitionLog(st, topic, partition);
  return pl.batches.filter((b) => Number(b.readBigInt64BE(0)) + b.readInt32BE(23) >= offset);
}

/** Fetch long-polls like a broker: with nothing to return it waits for a produce or max_wait (capped). */
export async function fetch(st, { v, flex, req, res }, r, out) {
  r.i32(); // replica_id
  const maxWait = r.i32();
  r.i32(); // min_bytes
  if (v >= 3) r.i32();
  if (v >= 4) r.i8();
  if (v >= 7) { r.i32(); r.i32(); }
  const topics = r.arr(flex, () => {
    const topic = r.str(flex);
    const parts = r.arr(flex, () => {
      const p = r.i32();
      if (v >= 9) r.i32();
      const off = Number(r.i64());
      if (v >= 12) r.i32();
      if (v >= 5) r.i64();
      r.i32();
      r.tags(flex);
      return [p, off];
    });
    r.tags(flex);
    return [topic, parts];
  });
  req.topics = topics.map(([t]) => t);
  req.partitions = topics.flatMap(([topic, parts]) => parts.map(([partition, fetchOffset]) => ({ topic, partition, fetchOffset })));
  res.partitions = [];
  if (v >= 7) res.errorCode = 0;
  const ready = () => topics.some(([t, parts]) => parts.some(([p, off]) => batchesFrom(st, t, p, off).length > 0));
  if (!ready() && maxWait > 0) {
    await new Promise((resolve) => {
      const done = () => { clearTimeout(timer); st.waiters.delete(done); resolve(); };
      const timer = setTimeout(done, Math.min(maxWait, 1000));
      st.waiters.add(done);
    });
  }
  if (v >= 1) out.i32(0);
  if (v >= 7) out.i16(0).i32(0);
  out.arr(topics, flex, ([topic, parts]) => {
    out.str(topic, flex);
    out.arr(parts, flex, ([partition, offset]) => {
      const pl = partitionLog(st, topic, partition);
      out.i32(partition).i16(offset > pl.next ? 1 : 0).i64(pl.next);
      if (v >= 4) out.i64(pl.next);
      if (v >= 5) out.i64(0);
      if (v >= 4) out.arr(null, flex, () => {}); // aborted_transactions
      if (v >= 11) out.i32(-1); // preferred_read_replica
      const batches = batchesFrom(st, topic, partition, offset);
      const recordCount = batches.reduce((n, b) => n + b.readInt32BE(23) + 1, 0);
      res.partitions.push({ topic, partition, errorCode: offset > pl.next ? 1 : 0, highWatermark: pl.next, recordCount });
      out.bytes(Buffer.concat(batches), flex);
      out.tags(flex);
    });
    out.tags(flex);
  });
  out.tags(flex);
}

export function listOffsets(st, { v, flex, req, res }, r, out) {
  r.i32();
  if (v >= 2) r.i8();
  const topics = r.arr(flex, () => {
    const topic = r.str(flex);
    const parts = r.arr(flex, () => {
      const p = r.i32();
      if (v >= 4) r.i32();
      const ts = Number(r.i64());
      if (v === 0) r.i32();
      r.tags(flex);
      return [p, ts];
    });
    r.tags(flex);
    return [topic, parts];
  });
  req.topics = topics.map(([t]) => t);
  req.partitions = topics.flatMap(([topic, parts]) => parts.map(([partition, timestamp]) => ({ topic, partition, timestamp })));
  res.partitions = [];
  if (v >= 2) out.i32(0);
  out.arr(topics, flex, ([topic, parts]) => {
    out.str(topic, flex);
    out.arr(parts, flex, ([partition, ts]) => {
      const offset = ts === -2 ? 0 : partitionLog(st, topic, partition).next;
      res.partitions.push({ topic, partition, errorCode: 0, ...(v >= 1 ? { offset } : { offsets: [offset] }) });
      out.i32(partition).i16(0);
      if (v === 0) out.arr([offset], flex, (o) => out.i64(o));
      else out.i64(-1).i64(offset);
      if (v >= 4) out.i32(0);
      out.tags(flex);
    });
    out.tags(flex);
  });
  out.tags(flex);
}

export function createTopics(st, { v, flex, req, res }, r, out) {
  const wanted = r.arr(flex, () => {
    const name = r.str(flex);
    const numPartitions = r.i32();
    const replicationFactor = r.i16();
    r.arr(flex, () => { r.i32(); r.arr(flex, () => r.i32()); r.tags(flex); });
    r.arr(flex, () => { r.str(flex); r.str(flex); r.tags(flex); });
    r.tags(flex);
    return { name, sent: { name, numPartitions, replicationFactor }, numPartitions: numPartitions < 0 ? 1 : numPartitions, replicationFactor: replicationFactor < 0 ? 1 : replicationFactor };
  });
  r.i32(); // timeout_ms
  const validateOnly = v >= 1 ? r.i8() !== 0 : false;
  req.topics = wanted.map((t) => t.name);
  req.topicDetails = wanted.map((t) => t.sent);
  res.topics = [];
  if (v >= 2) out.i32(0);
  out.arr(wanted, flex, (t) => {
    const exists = st.topics.has(t.name);
    if (!exists && !validateOnly) ensureTopic(st, t.name, t.numPartitions);
    out.str(t.name, flex);
    if (v >= 7) out.raw(Buffer.alloc(16, exists ? 0 : 1));
    res.topics.push({ name: t.name, errorCode: exists ? 36 : 0 });
    out.i16(exists ? 36 : 0);
    if (v >= 1) out.str(exists ? `Topic '${t.name}' already exists.` : null, flex);
    if (v >= 5) out.i32(t.numPartitions).i16(t.replicationFactor).arr([], flex, () => {});
    out.tags(flex);
  });
  out.tags(flex);
}
