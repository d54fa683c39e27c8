// For the brokers (Kafka, AMQP) a map shows where messages go: producer -> broker and
// broker -> consumer, not who opened the TCP connection. Each entry is sorted into what it
// does for its client: produce, consume, or control (connection set-up, declares, metadata).

import type { Entry } from '../entry.js';

export type BrokerRole = 'produce' | 'consume' | 'control';

/** AMQP methods only a broker sends (AMQP 0-9-1 section 1.4): their entry's src is the broker. */
const AMQP_FROM_BROKER = new Set([
  'connection.start', 'connection.secure', 'connection.tune', 'connection.blocked', 'connection.unblocked',
  'connection.update-secret', 'basic.deliver', 'basic.return',
]);
const AMQP_CONSUME = new Set(['basic.consume', 'basic.deliver', 'basic.get', 'basic.ack', 'basic.nack', 'basic.reject', 'basic.recover', 'basic.recover-async', 'basic.cancel']);
const KAFKA_CONSUME = new Set(['Fetch', 'ListOffsets', 'OffsetCommit', 'OffsetFetch', 'JoinGroup', 'SyncGroup', 'Heartbeat', 'LeaveGroup']);

export function isBrokerProtocol(protocol: Entry['protocol']): boolean {
  return protocol === 'kafka' || protocol === 'amqp';
}

/** Which end of a broker entry is the broker's client, and which the broker. */
export function brokerEnds(entry: Entry): { client: Entry['src']; broker: Entry['dst'] } {
  const fromBroker = entry.protocol === 'amqp' && AMQP_FROM_BROKER.has(String(entry.request.method));
  return fromBroker ? { client: entry.dst, broker: entry.src } : { client: entry.src, broker: entry.dst };
}

export function brokerRole(entry: Entry): BrokerRole {
  if (entry.protocol === 'kafka') {
    const api = String(entry.request.apiKey);
    return api === 'Produce' ? 'produce' : KAFKA_CONSUME.has(api) ? 'consume' : 'control';
  }
  const method = String(entry.request.method);
  return method === 'basic.publish' ? 'produce' : AMQP_CONSUME.has(method) ? 'consume' : 'control';
}
