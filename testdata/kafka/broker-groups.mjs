// Group coordinator APIs of the stand-in broker (test-only): FindCoordinator, JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup, OffsetCommit and OffsetFetch for every version it
// advertises, classic and flexible. One node is the coordinator of every group. A join
// rebalances at once (the test groups have one member at a time); a first join without a
// member id gets MEMBER_ID_REQUIRED (79) with its new id, as real brokers answer v4+.

const MEMBER_ID_REQUIRED = 79;
const ILLEGAL_GENERATION = 22;
const UNKNOWN_MEMBER_ID = 25;
let memberCounter = 0;

function group(st, id) {
  if (!st.groups.has(id)) st.groups.set(id, { generation: 0, protocolType: null, protocolName: null, leader: '', members: new Map(), assignments: new Map(), offsets: new Map() });
  return st.groups.get(id);
}

/** The error a member's generation-checked call gets, 0 when it is a current member. */
function memberError(g, memberId, generation) {
  if (!g.members.has(memberId)) return UNKNOWN_MEMBER_ID;
  return generation === g.generation ? 0 : ILLEGAL_GENERATION;
}

export function findCoordinator(st, { v, flex, req, res }, r, out) {
  const keys = [];
  if (v <= 3) keys.push(r.str(flex));
  if (v >= 1) req.keyType = r.i8() === 1 ? 'transaction' : 'group';
  if (v >= 4) keys.push(...r.arr(flex, () => r.str(flex)));
  if (v <= 3) {
    req.key = keys[0];
    Object.assign(res, { errorCode: 0, nodeId: 0, host: st.host, port: st.port });
  } else req.keys = keys;
  if (v >= 1) out.i32(0);
  if (v <= 3) {
    out.i16(0);
    if (v >= 1) out.str(null, flex);
    out.i32(0).str(st.host, flex).i32(st.port);
  } else {
    out.arr(keys, flex, (k) => out.str(k, flex).i32(0).str(st.host, flex).i32(st.port).i16(0).str(null, flex).tags(flex));
  }
  out.tags(flex);
}

export function joinGroup(st, { v, flex, clientId, req, res }, r, out) {
  req.groupId = r.str(flex);
  const g = group(st, req.groupId);
  r.i32(); // session_timeout_ms
  if (v >= 1) r.i32();
  let memberId = r.str(flex);
  if (v >= 5) r.str(flex);
  const protocolType = r.str(flex);
  const protocols = r.arr(flex, () => { const name = r.str(flex); const metadata = Buffer.from(r.bytes(flex)); r.tags(flex); return { name, metadata }; });
  Object.assign(req, { memberId, protocolType, protocols: protocols.map((p) => p.name) });
  let error = 0;
  if (memberId === '' && v >= 4) {
    error = MEMBER_ID_REQUIRED;
    memberId = `${clientId}-${++memberCounter}`;
  } else {
    if (memberId === '') memberId = `${clientId}-${++memberCounter}`;
    g.members.set(memberId, protocols);
    g.generation += 1;
    g.protocolType = protocolType;
    g.protocolName = protocols[0]?.name ?? null;
    if (!g.members.has(g.leader)) g.leader = memberId;
    g.assignments.clear();
  }
  if (v >= 2) out.i32(0);
  out.i16(error).i32(error ? -1 : g.generation);
  if (v >= 7) out.str(error ? null : g.protocolType, flex);
  out.str(error ? (v >= 7 ? null : '') : g.protocolName, flex);
  out.str(error ? '' : g.leader, flex);
  out.str(memberId, flex);
  const members = !error && g.leader === memberId ? [...g.members] : [];
  Object.assign(res, { errorCode: error, generationId: error ? -1 : g.generation, protocolName: error ? (v >= 7 ? null : '') : g.protocolName, leader: error ? '' : g.leader, memberId, members: members.map(([id]) => id) });
  out.arr(members, flex, ([id, protos]) => {
    out.str(id, flex);
    if (v >= 5) out.str(null, flex);
    out.bytes(protos.find((p) => p.name === g.protocolName)?.metadata ?? Buffer.alloc(0), flex).tags(flex);
  });
  out.tags(flex);
}

export function syncGroup(st, { v, flex, req, res }, r, out) {
  req.groupId = r.str(flex);
  const g = group(st, req.groupId);
  const generation = r.i32();
  const memberId = r.str(flex);
  Object.assign(req, { generationId: generation, memberId });
  if (v >= 3) r.str(flex);
  if (v >= 5) { r.str(flex); r.str(flex); }
  const assignments = r.arr(flex, () => { const id = r.str(flex); const a = Buffer.from(r.bytes(flex)); r.tags(flex); return [id, a]; });
  const error = memberError(g, memberId, generation);
  req.assignments = assignments.map(([id, a]) => ({ memberId: id, assignmentSize: a.length }));
  if (!error && memberId === g.leader) for (const [id, a] of assignments) g.assignments.set(id, a);
  if (v >= 1) out.i32(0);
  out.i16(error);
  if (v >= 5) out.str(g.protocolType, flex).str(g.protocolName, flex);
  const assignment = error ? Buffer.alloc(0) : g.assignments.get(memberId) ?? Buffer.alloc(0);
  Object.assign(res, { errorCode: error, assignmentSize: assignment.length });
  out.bytes(assignment, flex);
  out.tags(flex);
}

export function heartbeat(st, { v, flex, req, res }, r, out) {
  req.groupId = r.str(flex);
  const g = group(st, req.groupId);
  const generation = r.i32();
  const memberId = r.str(flex);
  Object.assign(req, { generationId: generation, memberId });
  res.errorCode = memberError(g, memberId, generation);
  if (v >= 1) out.i32(0);
  out.i16(res.errorCode);
  out.tags(flex);
}

export function leaveGroup(st, { v, flex, req, res }, r, out) {
  req.groupId = r.str(flex);
  const g = group(st, req.groupId);
  const ids = v <= 2 ? [r.str(flex)] : r.arr(flex, () => { const id = r.str(flex); r.str(flex); if (v >= 5) r.str(flex); r.tags(flex); return id; });
  const results = ids.map((id) => [id, g.members.delete(id) ? 0 : UNKNOWN_MEMBER_ID]);
  if (g.members.size === 0) g.leader = '';
  if (v <= 2) req.memberId = ids[0];
  else req.members = ids;
  res.errorCode = v <= 2 ? results[0][1] : 0;
  if (v >= 3) res.members = results.map(([memberId, errorCode]) => ({ memberId, errorCode }));
  if (v >= 1) out.i32(0);
  out.i16(v <= 2 ? results[0][1] : 0);
  if (v >= 3) out.arr(results, flex, ([id, code]) => out.str(id, flex).str(null, flex).i16(code).tags(flex));
  out.tags(flex);
}

export function offsetCommit(st, { v, flex, req, res }, r, out) {
  req.groupId = r.str(flex);
  const g = group(st, req.groupId);
  req.partitions = [];
  let error = 0;
  if (v >= 1) {
    const generation = r.i32();
    const memberId = r.str(flex);
    Object.assign(req, { generationId: generation, memberId });
    // generation -1: a commit from outside the group protocol (simple consumer).
    if (generation !== -1) error = memberError(g, memberId, generation);
  }
  if (v >= 7) r.str(flex);
  if (v >= 2 && v <= 4) r.i64();
  const topics = r.arr(flex, () => {
    const name = r.str(flex);
    const parts = r.arr(flex, () => {
      const p = r.i32();
      const offset = Number(r.i64());
      if (v >= 6) r.i32();
      if (v === 1) r.i64();
      const metadata = r.str(flex);
      r.tags(flex);
      if (!error) g.offsets.set(`${name}/${p}`, { offset, metadata });
      req.partitions.push({ topic: name, partition: p, offset });
      return p;
    });
    r.tags(flex);
    return [name, parts];
  });
  req.topics = topics.map(([t]) => t);
  res.partitions = topics.flatMap(([topic, parts]) => parts.map((partition) => ({ topic, partition, errorCode: error })));
  if (v >= 3) out.i32(0);
  out.arr(topics, flex, ([name, parts]) => {
    out.str(name, flex).arr(parts, flex, (p) => out.i32(p).i16(error).tags(flex)).tags(flex);
  });
  out.tags(flex);
}

export function offsetFetch(st, { v, flex, req, res }, r, out) {
  req.groupId = r.str(flex);
  const g = group(st, req.groupId);
  let topics = r.arr(flex, () => { const name = r.str(flex); const parts = r.arr(flex, () => r.i32()); r.tags(flex); return [name, parts]; });
  req.topics = topics === null ? null : topics.map(([t]) => t);
  res.partitions = [];
  if (v >= 2) res.errorCode = 0;
  if (topics === null) {
    const byTopic = new Map();
    for (const k of g.offsets.keys()) {
      const [t, p] = k.split('/');
      byTopic.set(t, [...(byTopic.get(t) ?? []), Number(p)]);
    }
    topics = [...byTopic];
  }
  if (v >= 3) out.i32(0);
  out.arr(topics, flex, ([name, parts]) => {
    out.str(name, flex);
    out.arr(parts, flex, (p) => {
      const c = g.offsets.get(`${name}/${p}`);
      res.partitions.push({ topic: name, partition: p, offset: c ? c.offset : -1, errorCode: 0 });
      out.i32(p).i64(c ? c.offset : -1);
      if (v >= 5) out.i32(-1);
      out.str(c ? c.metadata : '', flex).i16(0).tags(flex);
    });
    out.tags(flex);
  });
  if (v >= 2) out.i16(0);
  out.tags(flex);
}
