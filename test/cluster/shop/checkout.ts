// checkout: HTTP/2 cleartext (h2c) server on :8080. For each order it charges payments
// over mutual TLS (the payments pod's sidecar terminates it), publishes the shipment to
// RabbitMQ (AMQP 0-9-1) and an order event to the Kafka stand-in.
import http2 from 'node:http2';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { count, retry, serviceAddr, startAdmin } from './lib.js';

export function startCheckout(): void {
  startAdmin('checkout');
  const tlsOpts = { cert: process.env.MESH_CERT, key: process.env.MESH_KEY, ca: process.env.MESH_CA };
  const agent = new https.Agent({ ...tlsOpts, keepAlive: true, maxSockets: 4 });
  const charge = (order: unknown): Promise<number> => new Promise((resolve, reject) => {
    const { host, port } = serviceAddr('payments');
    const body = JSON.stringify(order);
    const req = https.request({ host, port, path: '/charge', method: 'POST', agent, servername: 'payments.shop.svc.cluster.local', timeout: 3000,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('payments timeout')));
    req.end(body);
  });

  let channel: amqp.Channel | undefined;
  const rabbit = serviceAddr('rabbitmq');
  const connectRabbit = () => retry('rabbitmq', async () => {
    const conn = await amqp.connect(`amqp://guest:guest@${rabbit.host}:${rabbit.port}`);
    conn.on('error', () => undefined);
    conn.on('close', () => {
      channel = undefined;
      setTimeout(() => void connectRabbit(), 1000);
    });
    const ch = await conn.createChannel();
    await ch.assertQueue('shipments', { durable: false });
    channel = ch;
    console.log('checkout connected to rabbitmq');
  }, 2000);
  void connectRabbit();

  const kafkaAddr = serviceAddr('kafka');
  const producer = new Kafka({ clientId: 'checkout', brokers: [`${kafkaAddr.host}:${kafkaAddr.port}`], logLevel: logLevel.NOTHING, retry: { retries: 2 } })
    .producer({ allowAutoTopicCreation: false });
  let kafkaReady = false;
  void retry('kafka', async () => {
    await producer.connect();
    kafkaReady = true;
    console.log('checkout connected to kafka');
  }, 2000);

  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    count('requests');
    let text = '';
    stream.on('data', (d: Buffer) => (text += d));
    stream.on('end', async () => {
      const reply = (status: number, body: unknown) => {
        if (stream.destroyed) return;
        stream.respond({ ':status': status, 'content-type': 'application/json' });
        stream.end(JSON.stringify(body));
      };
      if (headers[':path'] !== '/orders' || headers[':method'] !== 'POST') return reply(404, { error: 'not found' });
      try {
        const order = { id: randomUUID(), ...JSON.parse(text || '{}') };
        const status = await charge(order);
        count('payments_calls');
        if (status !== 200) return reply(402, { error: 'payment declined' });
        if (channel) {
          channel.sendToQueue('shipments', Buffer.from(JSON.stringify(order)));
          count('shipments_published');
        }
        if (kafkaReady) {
          await producer.send({ topic: 'order-events', messages: [{ key: order.id, value: JSON.stringify({ type: 'OrderPlaced', order }) }] });
          count('kafka_messages');
        }
        reply(200, { orderId: order.id });
      } catch (err) {
        count('errors');
        reply(502, { error: (err as Error).message });
      }
    });
  });
  server.listen(8080, '0.0.0.0');
  console.log('checkout h2c on :8080');
}
