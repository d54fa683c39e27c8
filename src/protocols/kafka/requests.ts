// Request bodies of the APIs decoded in full, field by field as the Kafka protocol guide
// (kafka.apache.org/protocol, the clients' *Request.json message definitions) lays them out
// per version. Fields after the last one we show are not read: trailing fields need no
// decoding. API keys not listed here give header-level entries.
import { ApiKey } from './apis.js';
import { KafkaReader } from './reader.js';
import { decodeRecordSet, type RecordBudget } from './records.js';
import { readTopicPartitions } from './topic-partitions.js';

export type Fields = Record<string, unknown>;

/** Decode what we show of a request body; `topics` collects every topic name it names. */
export function decodeRequestBody(key: number, v: number, flex: boolean, r: KafkaReader, budget: RecordBudget): Fields {
  const str = (): string | null => r.string(flex);
  const arr = <T>(item: () => T, min = 1): T[] => r.array(flex, item, min);
  const tags = (): void => r.taggedFields(flex);
  const out: Fields = {};
  switch (key) {
    case ApiKey.Produce: {
      if (v >= 3) out.transactionalId = str();
      out.acks = r.int16();
      out.timeoutMs = r.int32();
      const { topics, partitions } = readTopicPartitions(
        r,
        { flex, topicId: v >= 13, partitionMin: 4 },
        (topic) => ({ topic, partition: r.int32(), data: r.bytes(flex) }),
        ({ topic, partition, data }): Fields => ({ topic, partition, ...(data === null ? { recordCount: 0, records: [] } : decodeRecordSet(data, budget)) }),
      );
      out.topics = topics;
      out.partitions = partitions;
      break;
    }
    case ApiKey.Fetch: {
      if (v <= 14) out.replicaId = r.int32();
      out.maxWaitMs = r.int32();
      out.minBytes = r.int32();
      if (v >= 3) out.maxBytes = r.int32();
      if (v >= 4) out.isolationLevel = r.int8();
      if (v >= 7) {
        out.sessionId = r.int32();
        out.sessionEpoch = r.int32();
      }
      const { topics, partitions } = readTopicPartitions(r, { flex, topicId: v >= 13, partitionMin: 4 }, (topic): Fields => {
        const partition = r.int32();
        if (v >= 9) r.int32(); // current_leader_epoch
        const fetchOffset = r.int64();
        if (v >= 12) r.int32(); // last_fetched_epoch
        if (v >= 5) r.int64(); // log_start_offset
        r.int32(); // partition_max_bytes
        return { topic, partition, fetchOffset };
      });
      out.topics = topics;
      out.partitions = partitions;
      break;
    }
    case ApiKey.ListOffsets: {
      out.replicaId = r.int32();
      if (v >= 2) out.isolationLevel = r.int8();
      const { topics, partitions } = readTopicPartitions(r, { flex, partitionMin: 4 }, (topic): Fields => {
        const partition = r.int32();
        if (v >= 4) r.int32(); // current_leader_epoch
        const timestamp = r.int64();
        if (v === 0) r.int32(); // max_num_offsets
        return { topic, partition, timestamp };
      });
      out.topics = topics;
      out.partitions = partitions;
      break;
    }
    case ApiKey.Metadata: {
      const n = r.arrayLength(flex || false, 1);
      if (n === null) {
        out.topics = null;
        out.allTopics = true;
      } else {
        const topics: (string | null)[] = [];
        for (let i = 0; i < n; i++) {
          if (v >= 10) r.skip(16); // topic_id
          topics.push(str());
          tags();
        }
        out.topics = topics;
        if (v === 0 && n === 0) out.allTopics = true;
      }
      if (v >= 4) out.allowAutoTopicCreation = r.int8() !== 0;
      break;
    }
    case ApiKey.ApiVersions: {
      if (v >= 3) {
        out.clientSoftwareName = str();
        out.clientSoftwareVersion = str();
      }
      break;
    }
    case ApiKey.FindCoordinator: {
      if (v <= 3) out.key = str();
      if (v >= 1) out.keyType = r.int8() === 1 ? 'transaction' : 'group';
      if (v >= 4) out.keys = arr(str);
      break;
    }
    case ApiKey.JoinGroup: {
      out.groupId = str();
      out.sessionTimeoutMs = r.int32();
      if (v >= 1) out.rebalanceTimeoutMs = r.int32();
      out.memberId = str();
      if (v >= 5) out.groupInstanceId = str();
      out.protocolType = str();
      out.protocols = arr(() => {
        const name = str();
        r.bytes(flex);
        tags();
        return name;
      });
      break;
    }
    case ApiKey.Heartbeat: {
      out.groupId = str();
      out.generationId = r.int32();
      out.memberId = str();
      if (v >= 3) out.groupInstanceId = str();
      break;
    }
    case ApiKey.LeaveGroup: {
      out.groupId = str();
      if (v <= 2) out.memberId = str();
      else
        out.members = arr(() => {
          const memberId = str();
          str(); // group_instance_id
          if (v >= 5) str(); // reason
          tags();
          return memberId;
        });
      break;
    }
    case ApiKey.SyncGroup: {
      out.groupId = str();
      out.generationId = r.int32();
      out.memberId = str();
      if (v >= 3) out.groupInstanceId = str();
      if (v >= 5) {
        out.protocolType = str();
        out.protocolName = str();
      }
      out.assignments = arr(() => {
        const memberId = str();
        const assignment = r.bytes(flex);
        tags();
        return { memberId, assignmentSize: assignment?.length ?? 0 };
      });
      break;
    }
    case ApiKey.OffsetCommit: {
      out.groupId = str();
      if (v >= 1) {
        out.generationId = r.int32();
        out.memberId = str();
      }
      if (v >= 7) out.groupInstanceId = str();
      if (v >= 2 && v <= 4) r.int64(); // retention_time_ms
      const { topics, partitions } = readTopicPartitions(r, { flex, partitionMin: 4 }, (topic): Fields => {
        const partition = r.int32();
        const offset = r.int64();
        if (v === 1) r.int64(); // commit_timestamp
        if (v >= 6) r.int32(); // committed_leader_epoch
        const metadata = str();
        return { topic, partition, offset, ...(metadata ? { metadata } : {}) };
      });
      out.topics = topics;
      out.partitions = partitions;
      break;
    }
    case ApiKey.OffsetFetch: {
      const readTopics = (): (string | null)[] | null => {
        const n = r.arrayLength(flex, 2);
        if (n === null) return null;
        const names: (string | null)[] = [];
        for (let i = 0; i < n; i++) {
          names.push(str());
          arr(() => r.int32(), 4);
          tags();
        }
        return names;
      };
      if (v <= 7) {
        out.groupId = str();
        out.topics = readTopics();
      } else {
        const topics: (string | null)[] = [];
        out.groups = arr(() => {
          const groupId = str();
          if (v >= 9) {
            str(); // member_id
            r.int32(); // member_epoch
          }
          topics.push(...(readTopics() ?? []));
          tags();
          return groupId;
        });
        out.topics = topics;
      }
      if (out.topics === null) out.allTopics = true;
      break;
    }
    case ApiKey.CreateTopics: {
      const details: Fields[] = [];
      out.topics = arr(() => {
        const name = str();
        const numPartitions = r.int32();
        const replicationFactor = r.int16();
        arr(() => {
          r.int32();
          arr(() => r.int32(), 4);
          tags();
        }, 4);
        const configs: Record<string, string | null> = {};
        arr(() => {
          const k = str() ?? '';
          configs[k] = str();
          tags();
        });
        tags();
        details.push({ name, numPartitions, replicationFactor, ...(Object.keys(configs).length ? { configs } : {}) });
        return name;
      }, 2);
      out.topicDetails = details;
      out.timeoutMs = r.int32();
      if (v >= 1) out.validateOnly = r.int8() !== 0;
      break;
    }
  }
  return out;
}
