// shipping: consumes the `shipments` queue from RabbitMQ.
import amqp from 'amqplib';
import { count, retry, serviceAddr, startAdmin } from './lib.js';

export function startShipping(): void {
  startAdmin('shipping');
  const { host, port } = serviceAddr('rabbitmq');
  const connect = (): Promise<void> => retry('rabbitmq', async () => {
    const conn = await amqp.connect(`amqp://guest:guest@${host}:${port}`);
    conn.on('error', () => undefined);
    conn.on('close', () => setTimeout(() => void connect(), 1000));
    const ch = await conn.createChannel();
    await ch.assertQueue('shipments', { durable: false });
    await ch.consume('shipments', (msg) => {
      if (!msg) return;
      count('shipments_consumed');
      ch.ack(msg);
    });
    console.log('shipping consuming shipments');
  }, 2000);
  void connect();
}
