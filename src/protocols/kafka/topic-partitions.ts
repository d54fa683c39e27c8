// The "topics, each with partitions" walk that most Kafka APIs share: an ARRAY of topics,
// each a name (or, in the versions that carry one, a 16-byte topic id) and an ARRAY of
// partitions, with tagged fields closing each partition and each topic in flexible versions.
// What a partition holds differs by API, so the caller reads it in a callback; the array
// bounds are KafkaReader's, so a corrupt count still cannot loop past the frame.
import type { KafkaReader } from './reader.js';

export interface TopicPartitionLayout {
  /** Flexible version: COMPACT strings and arrays, tagged fields after each element. */
  flex: boolean;
  /** Topics are named by a 16-byte topic id (shown as hex) instead of a string. */
  topicId?: boolean;
  /** Fewest bytes one partition takes in this API: bounds the partition count. */
  partitionMin: number;
}

export interface TopicPartitions<P> {
  topics: (string | null)[];
  partitions: P[];
}

/** Fewest bytes one topic takes: an empty name and an empty partition array. */
const topicMin = 2;

/** A 16-byte topic id (UUID) as 32 hex digits. */
export function readTopicId(r: KafkaReader): string {
  const hex = r.buf.toString('hex', r.pos, r.pos + 16);
  r.skip(16);
  return hex;
}

/**
 * Reads the topic array; `readPartition` reads one partition's own fields and returns what to
 * keep. `afterTags`, when given, turns that into the kept value once the partition's tagged
 * fields are read too: record sets are decoded there, so a partition whose tagged fields are
 * corrupt spends no record budget.
 */
export function readTopicPartitions<P>(r: KafkaReader, layout: TopicPartitionLayout, readPartition: (topic: string | null) => P): TopicPartitions<P>;
export function readTopicPartitions<P, K>(
  r: KafkaReader,
  layout: TopicPartitionLayout,
  readPartition: (topic: string | null) => P,
  afterTags: (partition: P) => K,
): TopicPartitions<K>;
export function readTopicPartitions(
  r: KafkaReader,
  layout: TopicPartitionLayout,
  readPartition: (topic: string | null) => unknown,
  afterTags?: (partition: unknown) => unknown,
): TopicPartitions<unknown> {
  const partitions: unknown[] = [];
  const topics = r.array(
    layout.flex,
    () => {
      const topic = layout.topicId ? readTopicId(r) : r.string(layout.flex);
      r.array(
        layout.flex,
        () => {
          const partition = readPartition(topic);
          r.taggedFields(layout.flex);
          partitions.push(afterTags ? afterTags(partition) : partition);
        },
        layout.partitionMin,
      );
      r.taggedFields(layout.flex);
      return topic;
    },
    topicMin,
  );
  return { topics, partitions };
}
