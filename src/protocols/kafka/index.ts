// The Kafka dissector as the registry sees it.
import type { TcpDissector } from '../types.js';
import { detectKafka } from './detect.js';
import { KafkaParser } from './parser.js';

export const kafkaDissector: TcpDissector = {
  name: 'kafka',
  detect: detectKafka,
  create: (ctx) => new KafkaParser(ctx),
};
