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
/**
 * Methods either side may send (a broker closes a channel on an error, cancels a consumer
 * whose queue went away): which end is the broker is learnt from the connection's other
 * calls (edges.ts). Every other method is sent by the client (the broker's acks under
 * publisher confirms are a publish's response, not an entry of their own).
 */
const AMQP_EITHER_SIDE = new Set(['channel.close', 'connection.close', 'channel.flow', 'basic.cancel']);
const AMQP_CONSUME = new Set(['basic.consume', 'basic.deliver', 'basic.get', 'basic.ack', 'basic.nack', 'basic.reject', 'basic.recover', 'basic.recover-async', 'basic.cancel']);
const KAFKA_CONSUME = new Set(['Fetch', 'ListOffsets', 'OffsetCommit', 'OffsetFetch', 'JoinGroup', 'SyncGroup', 'Heartbeat', 'LeaveGroup']);

export function isBrokerProtocol(protocol: Entry['protocol']): boolean {
  return protocol === 'kafka' || protocol === 'amqp';
}

/** Which end of a broker entry sent it: the client, the broker, or either (see above). */
export function brokerSender(entry: Entry): 'client' | 'broker' | 'either' {
  if (entry.protocol !== 'amqp') return 'client';
  const method = String(entry.request.method);
  return AMQP_FROM_BROKER.has(method) ? 'broker' : AMQP_EITHER_SIDE.has(method) ? 'either' : 'client';
}

export function brokerRole(entry: Entry): BrokerRole {
  if (entry.protocol === 'kafka') {
    const api = String(entry.request.apiKey);
    return api === 'Produce' ? 'produce' : KAFKA_CONSUME.has(api) ? 'consume' : 'control';
  }
  const method = String(entry.request.method);
  return method === 'basic.publish' ? 'produce' : AMQP_CONSUME.has(method) ? 'consume' : 'control';
}
