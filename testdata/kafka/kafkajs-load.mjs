// Load client of bench/make-kafka-capture.sh: a real kafkajs producer sending SENDS Produce
// requests of RECORDS records each (one batch per request, acks=1) to the stand-in broker on
// 127.0.0.1:PORT, CONCURRENCY sends in flight at once, so the capture has many calls and
// several records per batch. Prints what it sent on stderr.
// Usage: node testdata/kafka/kafkajs-load.mjs PORT SENDS RECORDS CONCURRENCY
import kafkajs from 'kafkajs';
const { Kafka, logLevel } = kafkajs;

const [port, sends, records, concurrency] = process.argv.slice(2).map(Number);
const kafka = new Kafka({ clientId: 'bench-orders', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING });
const producer = kafka.producer({ allowAutoTopicCreation: true, maxInFlightRequests: concurrency });
await producer.connect();
let next = 0;
let sent = 0;
async function worker() {
  while (next < sends) {
    const n = next++;
    const messages = [];
    for (let i = 0; i < records; i++) {
      const id = n * records + i;
      messages.push({ key: `order-${id}`, value: `{"id":${id},"sku":42,"qty":1}` });
    }
    await producer.send({ topic: 'orders', acks: 1, messages });
    sent++;
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
await producer.disconnect();
process.stderr.write(`kafkajs-load: ${sent} Produce requests of ${records} records\n`);
