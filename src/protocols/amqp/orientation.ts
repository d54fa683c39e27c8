// Which side of an AMQP 0-9-1 connection joined mid-flow is the client, from the methods
// each side sends. Most methods travel one way only (AMQP 0-9-1 spec, section 1.4: the
// "chassis" of each method): a client publishes, declares, consumes, acks deliveries; a
// server starts and tunes the connection, delivers, returns and answers with *-ok methods.
// A few go both ways (close, flow, cancel, ack/nack under publisher confirms) and count for
// neither side.

import { methodById } from './spec.js';

const CLIENT_ONLY = new Set([
  'connection.start-ok', 'connection.secure-ok', 'connection.tune-ok', 'connection.open',
  'connection.update-secret-ok', 'channel.open',
  'exchange.declare', 'exchange.delete', 'exchange.bind', 'exchange.unbind',
  'queue.declare', 'queue.bind', 'queue.purge', 'queue.delete', 'queue.unbind',
  'basic.qos', 'basic.consume', 'basic.publish', 'basic.get', 'basic.reject',
  'basic.recover-async', 'basic.recover', 'confirm.select', 'tx.select', 'tx.commit', 'tx.rollback',
]);

const SERVER_ONLY = new Set([
  'connection.start', 'connection.secure', 'connection.tune', 'connection.open-ok',
  'connection.blocked', 'connection.unblocked', 'connection.update-secret', 'channel.open-ok',
  'exchange.declare-ok', 'exchange.delete-ok', 'exchange.bind-ok', 'exchange.unbind-ok',
  'queue.declare-ok', 'queue.bind-ok', 'queue.purge-ok', 'queue.delete-ok', 'queue.unbind-ok',
  'basic.qos-ok', 'basic.consume-ok', 'basic.return', 'basic.deliver', 'basic.get-ok',
  'basic.get-empty', 'basic.recover-ok', 'confirm.select-ok', 'tx.select-ok', 'tx.commit-ok',
  'tx.rollback-ok',
]);

/** Frames read per direction. */
const FRAMES_PER_SIDE = 32;

export interface MethodEvidence {
  clientMethods: number;
  serverMethods: number;
}

/** Walks whole frames from `at` and counts methods only a client, or only a server, sends. */
export function methodEvidence(buf: Buffer, at: number): MethodEvidence {
  const evidence: MethodEvidence = { clientMethods: 0, serverMethods: 0 };
  let pos = at;
  for (let n = 0; n < FRAMES_PER_SIDE && pos + 8 <= buf.length; n++) {
    const type = buf[pos];
    const size = buf.readUInt32BE(pos + 3);
    const end = pos + 7 + size;
    if (type < 1 || type > 8 || end >= buf.length || buf[end] !== 0xce) break;
    if (type === 1 && size >= 4) {
      const name = methodById(buf.readUInt16BE(pos + 7), buf.readUInt16BE(pos + 9))?.name;
      if (name !== undefined && CLIENT_ONLY.has(name)) evidence.clientMethods += 1;
      else if (name !== undefined && SERVER_ONLY.has(name)) evidence.serverMethods += 1;
    }
    pos = end + 1;
  }
  return evidence;
}
