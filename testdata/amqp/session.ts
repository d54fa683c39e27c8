// The AMQP client session recorded into session.pcap by record.sh: amqplib against a real
// rabbitmq-server. Every step is one the dissector must name and pair.
// Usage: node --import tsx testdata/amqp/session.ts PORT
import amqp from 'amqplib';

const port = Number(process.argv[2] ?? 5672);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A small frame_max makes the 10 KiB body travel as several body frames; heartbeat 1 s makes
// the broker and the client exchange heartbeat frames during the pause below.
const conn = await amqp.connect({ hostname: '127.0.0.1', port, frameMax: 4096, heartbeat: 1 });

const ch = await conn.createChannel();
await ch.assertExchange('shop', 'topic', { durable: false });
await ch.assertQueue('orders', { durable: false });
await ch.bindQueue('orders', 'shop', 'orders.*');
// A queue that refuses every message: a confirmed publish to it is nacked by the broker.
await ch.assertQueue('full', { durable: false, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } });

const confirm = await conn.createConfirmChannel();
const published = (exchange: string, key: string, body: Buffer, props: amqp.Options.Publish) =>
  new Promise<string>((resolve) => confirm.publish(exchange, key, body, props, (err) => resolve(err ? 'nack' : 'ack')));
await published('shop', 'orders.created', Buffer.from(JSON.stringify({ id: 1, item: 'book' })), {
  contentType: 'application/json',
  messageId: 'm-1',
  persistent: true,
  headers: { 'x-tenant': 'acme', attempt: 1 },
});
await published('shop', 'orders.large', Buffer.alloc(10 * 1024, 'x'), { contentType: 'text/plain', messageId: 'm-2' });
await published('', 'full', Buffer.from('refused'), { messageId: 'm-3' });
await published('shop', 'orders.binary', Buffer.from([0, 1, 2, 0xff, 0xfe]), { contentType: 'application/octet-stream' });

// basic.get: one message, then get-ok; the queue keeps the rest for the consumer.
const got = await ch.get('orders', { noAck: false });
if (got) ch.ack(got);
await sleep(1500); // heartbeats both ways

// Consume with manual acks until the queue is empty.
let seen = 0;
const { consumerTag } = await ch.consume('orders', (msg) => {
  if (msg) { seen += 1; ch.ack(msg); }
});
for (let i = 0; i < 50 && seen < 2; i++) await sleep(50);
await ch.cancel(consumerTag);
const empty = await ch.get('orders');
if (empty !== false) throw new Error('expected an empty queue');

// A channel error: passive declare of a queue that does not exist -> channel.close 404.
const bad = await conn.createChannel();
bad.on('error', () => {});
await bad.checkQueue('does-not-exist').catch(() => {});

await ch.deleteQueue('full');
await ch.close();
await confirm.close();
await conn.close();
console.log(`published 4, consumed ${seen}`);
