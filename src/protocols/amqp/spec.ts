// The AMQP 0-9-1 method table (with RabbitMQ's extensions: confirm, basic.nack,
// exchange.bind, connection.blocked, update-secret): every class and method by id, its
// arguments in wire order, and which reply a synchronous method waits for. Written out here
// because amqplib 2.x keeps its generated codec (lib/defs.js) private.

export type ArgType = 'octet' | 'short' | 'long' | 'longlong' | 'shortstr' | 'longstr' | 'bit' | 'table' | 'timestamp';

export interface MethodSpec {
  /** `queue.declare` */
  name: string;
  classId: number;
  methodId: number;
  args: ReadonlyArray<readonly [name: string, type: ArgType]>;
  /** For a synchronous method: the names of the methods that answer it. */
  replies?: readonly string[];
  /** Carries a content header and body frames after it (publish, deliver, get-ok, return). */
  content?: true;
}

const CLASSES: Record<number, string> = {
  10: 'connection', 20: 'channel', 40: 'exchange', 50: 'queue', 60: 'basic', 85: 'confirm', 90: 'tx',
};

// name, ids, "arg:type ..." (reserved arguments start with '_' and are not shown), replies.
const TABLE: Array<[string, number, number, string, string?]> = [
  ['connection.start', 10, 10, 'versionMajor:octet versionMinor:octet serverProperties:table mechanisms:longstr locales:longstr', 'connection.start-ok'],
  ['connection.start-ok', 10, 11, 'clientProperties:table mechanism:shortstr response:longstr locale:shortstr'],
  ['connection.secure', 10, 20, 'challenge:longstr', 'connection.secure-ok'],
  ['connection.secure-ok', 10, 21, 'response:longstr'],
  ['connection.tune', 10, 30, 'channelMax:short frameMax:long heartbeat:short', 'connection.tune-ok'],
  ['connection.tune-ok', 10, 31, 'channelMax:short frameMax:long heartbeat:short'],
  ['connection.open', 10, 40, 'virtualHost:shortstr _capabilities:shortstr _insist:bit', 'connection.open-ok'],
  ['connection.open-ok', 10, 41, '_knownHosts:shortstr'],
  ['connection.close', 10, 50, 'replyCode:short replyText:shortstr classId:short methodId:short', 'connection.close-ok'],
  ['connection.close-ok', 10, 51, ''],
  ['connection.blocked', 10, 60, 'reason:shortstr'],
  ['connection.unblocked', 10, 61, ''],
  ['connection.update-secret', 10, 70, 'newSecret:longstr reason:shortstr', 'connection.update-secret-ok'],
  ['connection.update-secret-ok', 10, 71, ''],
  ['channel.open', 20, 10, '_outOfBand:shortstr', 'channel.open-ok'],
  ['channel.open-ok', 20, 11, '_channelId:longstr'],
  ['channel.flow', 20, 20, 'active:bit', 'channel.flow-ok'],
  ['channel.flow-ok', 20, 21, 'active:bit'],
  ['channel.close', 20, 40, 'replyCode:short replyText:shortstr classId:short methodId:short', 'channel.close-ok'],
  ['channel.close-ok', 20, 41, ''],
  ['exchange.declare', 40, 10, '_ticket:short exchange:shortstr type:shortstr passive:bit durable:bit autoDelete:bit internal:bit noWait:bit arguments:table', 'exchange.declare-ok'],
  ['exchange.declare-ok', 40, 11, ''],
  ['exchange.delete', 40, 20, '_ticket:short exchange:shortstr ifUnused:bit noWait:bit', 'exchange.delete-ok'],
  ['exchange.delete-ok', 40, 21, ''],
  ['exchange.bind', 40, 30, '_ticket:short destination:shortstr source:shortstr routingKey:shortstr noWait:bit arguments:table', 'exchange.bind-ok'],
  ['exchange.bind-ok', 40, 31, ''],
  ['exchange.unbind', 40, 40, '_ticket:short destination:shortstr source:shortstr routingKey:shortstr noWait:bit arguments:table', 'exchange.unbind-ok'],
  ['exchange.unbind-ok', 40, 51, ''],
  ['queue.declare', 50, 10, '_ticket:short queue:shortstr passive:bit durable:bit exclusive:bit autoDelete:bit noWait:bit arguments:table', 'queue.declare-ok'],
  ['queue.declare-ok', 50, 11, 'queue:shortstr messageCount:long consumerCount:long'],
  ['queue.bind', 50, 20, '_ticket:short queue:shortstr exchange:shortstr routingKey:shortstr noWait:bit arguments:table', 'queue.bind-ok'],
  ['queue.bind-ok', 50, 21, ''],
  ['queue.purge', 50, 30, '_ticket:short queue:shortstr noWait:bit', 'queue.purge-ok'],
  ['queue.purge-ok', 50, 31, 'messageCount:long'],
  ['queue.delete', 50, 40, '_ticket:short queue:shortstr ifUnused:bit ifEmpty:bit noWait:bit', 'queue.delete-ok'],
  ['queue.delete-ok', 50, 41, 'messageCount:long'],
  ['queue.unbind', 50, 50, '_ticket:short queue:shortstr exchange:shortstr routingKey:shortstr arguments:table', 'queue.unbind-ok'],
  ['queue.unbind-ok', 50, 51, ''],
  ['basic.qos', 60, 10, 'prefetchSize:long prefetchCount:short global:bit', 'basic.qos-ok'],
  ['basic.qos-ok', 60, 11, ''],
  ['basic.consume', 60, 20, '_ticket:short queue:shortstr consumerTag:shortstr noLocal:bit noAck:bit exclusive:bit noWait:bit arguments:table', 'basic.consume-ok'],
  ['basic.consume-ok', 60, 21, 'consumerTag:shortstr'],
  ['basic.cancel', 60, 30, 'consumerTag:shortstr noWait:bit', 'basic.cancel-ok'],
  ['basic.cancel-ok', 60, 31, 'consumerTag:shortstr'],
  ['basic.publish', 60, 40, '_ticket:short exchange:shortstr routingKey:shortstr mandatory:bit immediate:bit'],
  ['basic.return', 60, 50, 'replyCode:short replyText:shortstr exchange:shortstr routingKey:shortstr'],
  ['basic.deliver', 60, 60, 'consumerTag:shortstr deliveryTag:longlong redelivered:bit exchange:shortstr routingKey:shortstr'],
  ['basic.get', 60, 70, '_ticket:short queue:shortstr noAck:bit', 'basic.get-ok basic.get-empty'],
  ['basic.get-ok', 60, 71, 'deliveryTag:longlong redelivered:bit exchange:shortstr routingKey:shortstr messageCount:long'],
  ['basic.get-empty', 60, 72, '_clusterId:shortstr'],
  ['basic.ack', 60, 80, 'deliveryTag:longlong multiple:bit'],
  ['basic.reject', 60, 90, 'deliveryTag:longlong requeue:bit'],
  ['basic.recover-async', 60, 100, 'requeue:bit'],
  ['basic.recover', 60, 110, 'requeue:bit', 'basic.recover-ok'],
  ['basic.recover-ok', 60, 111, ''],
  ['basic.nack', 60, 120, 'deliveryTag:longlong multiple:bit requeue:bit'],
  ['confirm.select', 85, 10, 'noWait:bit', 'confirm.select-ok'],
  ['confirm.select-ok', 85, 11, ''],
  ['tx.select', 90, 10, '', 'tx.select-ok'],
  ['tx.select-ok', 90, 11, ''],
  ['tx.commit', 90, 20, '', 'tx.commit-ok'],
  ['tx.commit-ok', 90, 21, ''],
  ['tx.rollback', 90, 30, '', 'tx.rollback-ok'],
  ['tx.rollback-ok', 90, 31, ''],
];

const CONTENT = new Set(['basic.publish', 'basic.return', 'basic.deliver', 'basic.get-ok']);

const BY_ID = new Map<number, MethodSpec>();
for (const [name, classId, methodId, args, replies] of TABLE) {
  const spec: MethodSpec = {
    name,
    classId,
    methodId,
    args: args === '' ? [] : args.split(' ').map((a) => a.split(':') as [string, ArgType]),
  };
  if (replies !== undefined) spec.replies = replies.split(' ');
  if (CONTENT.has(name)) spec.content = true;
  BY_ID.set(classId * 65536 + methodId, spec);
}

export function methodById(classId: number, methodId: number): MethodSpec | undefined {
  return BY_ID.get(classId * 65536 + methodId);
}

/** `basic.publish`, or `class-60.method-99` for ids the table does not know. */
export function methodName(classId: number, methodId: number): string {
  return methodById(classId, methodId)?.name ?? `${CLASSES[classId] ?? `class-${classId}`}.method-${methodId}`;
}

/** Basic content header properties, in flag order (bit 15 first). */
export const BASIC_PROPERTIES: ReadonlyArray<readonly [name: string, type: ArgType | 'octet']> = [
  ['contentType', 'shortstr'], ['contentEncoding', 'shortstr'], ['headers', 'table'],
  ['deliveryMode', 'octet'], ['priority', 'octet'], ['correlationId', 'shortstr'],
  ['replyTo', 'shortstr'], ['expiration', 'shortstr'], ['messageId', 'shortstr'],
  ['timestamp', 'timestamp'], ['type', 'shortstr'], ['userId', 'shortstr'],
  ['appId', 'shortstr'], ['clusterId', 'shortstr'],
];
