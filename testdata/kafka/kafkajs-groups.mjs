// Helper of record-groups.sh: real kafkajs 2.2 clients against the stand-in broker on
// 127.0.0.1:PORT (flexible profile): admin createTopics (twice, the second answered
// TOPIC_ALREADY_EXISTS), a producer (three keyed messages over two partitions), and a
// consumer group "billing" that joins, syncs, fetches, commits, heartbeats and leaves.
import kafkajs from 'kafkajs';
const { Kafka, logLevel } = kafkajs;

const port = Number(process.argv[2] ?? 19093);
const kafka = new Kafka({ clientId: 'billing-svc', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 2 } });

const admin = kafka.admin();
await admin.connect();
const created = await admin.createTopics({ topics: [{ topic: 'payments', numPartitions: 2, replicationFactor: 1 }] });
const again = await admin.createTopics({ topics: [{ topic: 'payments', numPartitions: 2, replicationFactor: 1 }] });
await admin.disconnect();
if (!created || again) throw new Error(`createTopics: first ${created}, second ${again}`);

const producer = kafka.producer();
await producer.connect();
await producer.send({
  topic: 'payments',
  messages: [
    { key: 'pay-1', value: '{"amount":120,"currency":"EUR"}', partition: 0 },
    { key: 'pay-2', value: '{"amount":75,"currency":"USD"}', partition: 1 },
    { key: 'pay-3', value: '{"amount":9,"currency":"EUR"}', partition: 0 },
  ],
});
await producer.disconnect();

const consumer = kafka.consumer({ groupId: 'billing', heartbeatInterval: 200, maxWaitTimeInMs: 150, sessionTimeout: 6000 });
await consumer.connect();
await consumer.subscribe({ topic: 'payments', fromBeginning: true });
const seen = [];
await new Promise((resolve, reject) => {
  consumer
    .run({
      eachMessage: async ({ message }) => {
        seen.push(message.key.toString());
        if (seen.length === 3) setTimeout(resolve, 700); // long enough for heartbeats between fetches
      },
    })
    .catch(reject);
  setTimeout(() => reject(new Error(`consumer saw ${seen.length} of 3 messages`)), 10000);
});
await consumer.disconnect();
process.stdout.write(`consumed ${seen.sort().join(',')}\n`);
