// Helper of record.sh: a real kafkajs producer (one plain batch with headers, one gzip batch)
// and a kafkajs admin metadata call against the stand-in broker on 127.0.0.1:PORT.
import kafkajs from 'kafkajs';
const { Kafka, CompressionTypes, logLevel } = kafkajs;

const port = Number(process.argv[2] ?? 19092);
const kafka = new Kafka({ clientId: 'shop-orders', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 1 } });
const producer = kafka.producer({ allowAutoTopicCreation: true });
await producer.connect();
await producer.send({
  topic: 'orders',
  messages: [
    { key: 'order-1', value: JSON.stringify({ id: 1, item: 'book' }), headers: { 'trace-id': 'abc123', source: 'web' } },
    { key: 'order-2', value: JSON.stringify({ id: 2, item: 'pen' }) },
  ],
});
await producer.send({
  topic: 'orders',
  compression: CompressionTypes.GZIP,
  messages: [{ key: 'order-3', value: JSON.stringify({ id: 3, item: 'lamp', note: 'gzip'.repeat(20) }) }],
});
await producer.disconnect();
