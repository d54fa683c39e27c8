// Response bodies of the APIs decoded in full (see requests.ts for the source of the
// layouts). Error codes are kept as numbers, with the name when it is a common one:
// `errorCode` for APIs with one code, per-partition/topic `errorCode`s otherwise.
import { ApiKey, errorName } from './apis.js';
import { KafkaReader } from './reader.js';
import { decodeRecordSet, type RecordBudget } from './records.js';
import type { Fields } from './requests.js';
import { readTopicPartitions } from './topic-partitions.js';

const unsupportedVersion = 35;

function withError(out: Fields, code: number): void {
  out.errorCode = code;
  const name = errorName(code);
  if (code !== 0 && name) out.error = name;
}

export function decodeResponseBody(key: number, v: number, flex: boolean, r: KafkaReader, budget: RecordBudget): Fields {
  const str = (): string | null => r.string(flex);
  const arr = <T>(item: () => T, min = 1): T[] => r.array(flex, item, min);
  const tags = (): void => r.taggedFields(flex);
  const int32s = (): number[] => arr(() => r.int32(), 4);
  const out: Fields = {};
  switch (key) {
    case ApiKey.Produce: {
      out.partitions = readTopicPartitions(r, { flex, partitionMin: 14 }, (topic) => {
        const p: Fields = { topic, partition: r.int32() };
        withError(p, r.int16());
        p.baseOffset = r.int64();
        if (v >= 2) r.int64(); // log_append_time_ms
        if (v >= 5) r.int64(); // log_start_offset
        if (v >= 8) {
          arr(() => {
            r.int32();
            str();
            tags();
          });
          const message = str();
          if (message) p.errorMessage = message;
        }
        return p;
      }).partitions;
      break;
    }
    case ApiKey.Fetch: {
      if (v >= 1) r.int32(); // throttle_time_ms
      if (v >= 7) {
        withError(out, r.int16());
        out.sessionId = r.int32();
      }
      out.partitions = readTopicPartitions(
        r,
        { flex, topicId: v >= 13, partitionMin: 14 },
        (topic) => {
          const p: Fields = { topic, partition: r.int32() };
          withError(p, r.int16());
          p.highWatermark = r.int64();
          if (v >= 4) r.int64(); // last_stable_offset
          if (v >= 5) r.int64(); // log_start_offset
          if (v >= 4)
            r.array(flex, () => {
              r.int64();
              r.int64();
              tags();
            }, 16);
          if (v >= 11) r.int32(); // preferred_read_replica
          return { p, data: r.bytes(flex) };
        },
        ({ p, data }) => Object.assign(p, data === null ? { recordCount: 0, records: [] } : decodeRecordSet(data, budget)),
      ).partitions;
      break;
    }
    case ApiKey.ListOffsets: {
      if (v >= 2) r.int32();
      out.partitions = readTopicPartitions(r, { flex, partitionMin: 6 }, (topic) => {
        const p: Fields = { topic, partition: r.int32() };
        withError(p, r.int16());
        if (v === 0) p.offsets = arr(() => r.int64(), 8);
        else {
          p.timestamp = r.int64();
          p.offset = r.int64();
        }
        if (v >= 4) r.int32(); // leader_epoch
        return p;
      }).partitions;
      break;
    }
    case ApiKey.Metadata: {
      if (v >= 3) r.int32();
      out.brokers = arr(() => {
        const b = { nodeId: r.int32(), host: str(), port: r.int32() };
        if (v >= 1) str(); // rack
        tags();
        return b;
      }, 10);
      if (v >= 2) out.clusterId = str();
      if (v >= 1) out.controllerId = r.int32();
      out.topics = arr(() => {
        const code = r.int16();
        const name = str();
        if (v >= 10) r.skip(16);
        if (v >= 1) r.int8(); // is_internal
        const partitions = arr(() => {
          const p: Fields = {};
          withError(p, r.int16());
          p.partition = r.int32();
          p.leader = r.int32();
          if (v >= 7) r.int32();
          int32s();
          int32s();
          if (v >= 5) int32s();
          tags();
          return p;
        }, 14);
        if (v >= 8) r.int32();
        tags();
        const t: Fields = { name };
        withError(t, code);
        t.partitions = partitions;
        return t;
      }, 4);
      break;
    }
    case ApiKey.ApiVersions: {
      const code = r.int16();
      withError(out, code);
      // The api_keys array is compact from v3 on, even though the header is v0; but a broker
      // that does not know the version asked answers UNSUPPORTED_VERSION in a v0 body (KIP-511).
      const compact = flex && code !== unsupportedVersion;
      const versions: Record<string, string> = {};
      r.array(compact, () => {
        const k = r.int16();
        versions[String(k)] = `${r.int16()}-${r.int16()}`;
        r.taggedFields(compact);
      }, 6);
      out.apiKeyCount = Object.keys(versions).length;
      out.apiVersions = versions;
      break;
    }
    case ApiKey.FindCoordinator: {
      if (v >= 1) r.int32();
      if (v <= 3) {
        withError(out, r.int16());
        if (v >= 1) {
          const m = str();
          if (m) out.errorMessage = m;
        }
        out.nodeId = r.int32();
        out.host = str();
        out.port = r.int32();
      } else {
        out.coordinators = arr(() => {
          const c: Fields = { key: str(), nodeId: r.int32(), host: str(), port: r.int32() };
          withError(c, r.int16());
          str();
          tags();
          return c;
        });
      }
      break;
    }
    case ApiKey.JoinGroup: {
      if (v >= 2) r.int32();
      withError(out, r.int16());
      out.generationId = r.int32();
      if (v >= 7) out.protocolType = str();
      out.protocolName = str();
      out.leader = str();
      if (v >= 9) r.int8();
      out.memberId = str();
      out.members = arr(() => {
        const memberId = str();
        if (v >= 5) str();
        r.bytes(flex);
        tags();
        return memberId;
      });
      break;
    }
    case ApiKey.Heartbeat: {
      if (v >= 1) r.int32();
      withError(out, r.int16());
      break;
    }
    case ApiKey.LeaveGroup: {
      if (v >= 1) r.int32();
      withError(out, r.int16());
      if (v >= 3)
        out.members = arr(() => {
          const m: Fields = { memberId: str() };
          str();
          withError(m, r.int16());
          tags();
          return m;
        });
      break;
    }
    case ApiKey.SyncGroup: {
      if (v >= 1) r.int32();
      withError(out, r.int16());
      if (v >= 5) {
        out.protocolType = str();
        out.protocolName = str();
      }
      out.assignmentSize = r.bytes(flex)?.length ?? 0;
      break;
    }
    case ApiKey.OffsetCommit: {
      if (v >= 3) r.int32();
      out.partitions = readTopicPartitions(r, { flex, partitionMin: 6 }, (topic) => {
        const p: Fields = { topic, partition: r.int32() };
        withError(p, r.int16());
        return p;
      }).partitions;
      break;
    }
    case ApiKey.OffsetFetch: {
      if (v >= 3) r.int32();
      const partitions: Fields[] = [];
      const readTopics = (): void => {
        const read = readTopicPartitions(r, { flex, partitionMin: 14 }, (topic) => {
          const p: Fields = { topic, partition: r.int32(), offset: r.int64() };
          if (v >= 5) r.int32(); // committed_leader_epoch
          const metadata = str();
          if (metadata) p.metadata = metadata;
          withError(p, r.int16());
          return p;
        });
        partitions.push(...read.partitions);
      };
      if (v <= 7) {
        readTopics();
        if (v >= 2) withError(out, r.int16());
      } else {
        out.groups = arr(() => {
          const groupId = str();
          readTopics();
          const g: Fields = { groupId };
          withError(g, r.int16());
          tags();
          return g;
        });
      }
      out.partitions = partitions;
      break;
    }
    case ApiKey.CreateTopics: {
      if (v >= 2) r.int32();
      out.topics = arr(() => {
        const t: Fields = { name: str() };
        if (v >= 7) r.skip(16);
        withError(t, r.int16());
        if (v >= 1) {
          const m = str();
          if (m) t.errorMessage = m;
        }
        if (v >= 5) {
          t.numPartitions = r.int32();
          t.replicationFactor = r.int16();
          r.array(flex, () => {
            str();
            str();
            r.int8();
            r.int8();
            r.int8();
            tags();
          });
        }
        tags();
        return t;
      }, 4);
      break;
    }
  }
  return out;
}
