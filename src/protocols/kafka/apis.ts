// Kafka API keys: name, highest version the protocol defines (Kafka 4.x message
// definitions), and the first "flexible" version (KIP-482: compact strings/arrays, tagged
// fields, request header v2 / response header v1). Detection accepts a frame only when its
// api key is known and its version is in range, which is what keeps random bytes out.

export interface KafkaApi {
  name: string;
  maxVersion: number;
  /** First flexible version, or Infinity when the API has none. */
  firstFlexible: number;
}

const NONE = Infinity;

// [key]: [name, maxVersion, firstFlexible]
const table: ReadonlyArray<readonly [string, number, number]> = [
  ['Produce', 12, 9],
  ['Fetch', 17, 12],
  ['ListOffsets', 10, 6],
  ['Metadata', 13, 9],
  ['LeaderAndIsr', 7, 4],
  ['StopReplica', 4, 2],
  ['UpdateMetadata', 8, 6],
  ['ControlledShutdown', 3, 3],
  ['OffsetCommit', 9, 8],
  ['OffsetFetch', 9, 6],
  ['FindCoordinator', 6, 3],
  ['JoinGroup', 9, 6],
  ['Heartbeat', 4, 4],
  ['LeaveGroup', 5, 4],
  ['SyncGroup', 5, 4],
  ['DescribeGroups', 6, 5],
  ['ListGroups', 5, 3],
  ['SaslHandshake', 1, NONE],
  ['ApiVersions', 4, 3],
  ['CreateTopics', 7, 5],
  ['DeleteTopics', 6, 4],
  ['DeleteRecords', 2, 2],
  ['InitProducerId', 5, 2],
  ['OffsetForLeaderEpoch', 4, 4],
  ['AddPartitionsToTxn', 5, 3],
  ['AddOffsetsToTxn', 4, 3],
  ['EndTxn', 5, 3],
  ['WriteTxnMarkers', 1, 1],
  ['TxnOffsetCommit', 5, 3],
  ['DescribeAcls', 3, 2],
  ['CreateAcls', 3, 2],
  ['DeleteAcls', 3, 2],
  ['DescribeConfigs', 4, 4],
  ['AlterConfigs', 2, 2],
  ['AlterReplicaLogDirs', 2, 2],
  ['DescribeLogDirs', 4, 2],
  ['SaslAuthenticate', 2, 2],
  ['CreatePartitions', 3, 2],
  ['CreateDelegationToken', 3, 2],
  ['RenewDelegationToken', 2, 2],
  ['ExpireDelegationToken', 2, 2],
  ['DescribeDelegationToken', 3, 2],
  ['DeleteGroups', 2, 2],
  ['ElectLeaders', 2, 2],
  ['IncrementalAlterConfigs', 1, 1],
  ['AlterPartitionReassignments', 0, 0],
  ['ListPartitionReassignments', 0, 0],
  ['OffsetDelete', 0, NONE],
  ['DescribeClientQuotas', 1, 1],
  ['AlterClientQuotas', 1, 1],
  ['DescribeUserScramCredentials', 0, 0],
  ['AlterUserScramCredentials', 0, 0],
  ['Vote', 1, 0],
  ['BeginQuorumEpoch', 1, 1],
  ['EndQuorumEpoch', 1, 1],
  ['DescribeQuorum', 2, 0],
  ['AlterPartition', 3, 0],
  ['UpdateFeatures', 1, 0],
  ['Envelope', 0, 0],
  ['FetchSnapshot', 1, 0],
  ['DescribeCluster', 1, 0],
  ['DescribeProducers', 0, 0],
  ['BrokerRegistration', 4, 0],
  ['BrokerHeartbeat', 1, 0],
  ['UnregisterBroker', 0, 0],
  ['DescribeTransactions', 0, 0],
  ['ListTransactions', 1, 0],
  ['AllocateProducerIds', 0, 0],
  ['ConsumerGroupHeartbeat', 1, 0],
  ['ConsumerGroupDescribe', 1, 0],
  ['ControllerRegistration', 0, 0],
  ['GetTelemetrySubscriptions', 0, 0],
  ['PushTelemetry', 0, 0],
  ['AssignReplicasToDirs', 0, 0],
  ['ListClientMetricsResources', 0, 0],
  ['DescribeTopicPartitions', 0, 0],
  ['ShareGroupHeartbeat', 1, 0],
  ['ShareGroupDescribe', 1, 0],
  ['ShareFetch', 1, 0],
  ['ShareAcknowledge', 1, 0],
  ['AddRaftVoter', 0, 0],
  ['RemoveRaftVoter', 0, 0],
  ['UpdateRaftVoter', 0, 0],
  ['InitializeShareGroupState', 0, 0],
  ['ReadShareGroupState', 0, 0],
  ['WriteShareGroupState', 0, 0],
  ['DeleteShareGroupState', 0, 0],
  ['ReadShareGroupStateSummary', 0, 0],
  ['StreamsGroupHeartbeat', 0, 0],
  ['StreamsGroupDescribe', 0, 0],
  ['DescribeShareGroupOffsets', 0, 0],
  ['AlterShareGroupOffsets', 0, 0],
  ['DeleteShareGroupOffsets', 0, 0],
];

export const kafkaApis: readonly KafkaApi[] = table.map(([name, maxVersion, firstFlexible]) => ({ name, maxVersion, firstFlexible }));

export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  ApiVersions: 18,
  CreateTopics: 19,
} as const;

export function apiInfo(key: number): KafkaApi | undefined {
  return key >= 0 && key < kafkaApis.length ? kafkaApis[key] : undefined;
}

export function isValidApi(key: number, version: number): boolean {
  const api = apiInfo(key);
  return api !== undefined && version >= 0 && version <= api.maxVersion;
}

export function isFlexible(key: number, version: number): boolean {
  const api = apiInfo(key);
  return api !== undefined && version >= api.firstFlexible;
}

/** Response header v1 (with tagged fields) for flexible versions, except ApiVersions, which always answers with header v0 so that old clients can read it. */
export function responseHeaderHasTags(key: number, version: number): boolean {
  return key !== ApiKey.ApiVersions && isFlexible(key, version);
}

/** Names of the error codes users meet most; others show the number only. */
const errorNames: Record<number, string> = {
  [-1]: 'UNKNOWN_SERVER_ERROR',
  0: 'NONE',
  1: 'OFFSET_OUT_OF_RANGE',
  2: 'CORRUPT_MESSAGE',
  3: 'UNKNOWN_TOPIC_OR_PARTITION',
  5: 'LEADER_NOT_AVAILABLE',
  6: 'NOT_LEADER_OR_FOLLOWER',
  7: 'REQUEST_TIMED_OUT',
  10: 'MESSAGE_TOO_LARGE',
  14: 'COORDINATOR_LOAD_IN_PROGRESS',
  15: 'COORDINATOR_NOT_AVAILABLE',
  16: 'NOT_COORDINATOR',
  17: 'INVALID_TOPIC_EXCEPTION',
  22: 'ILLEGAL_GENERATION',
  25: 'UNKNOWN_MEMBER_ID',
  27: 'REBALANCE_IN_PROGRESS',
  29: 'TOPIC_AUTHORIZATION_FAILED',
  30: 'GROUP_AUTHORIZATION_FAILED',
  35: 'UNSUPPORTED_VERSION',
  36: 'TOPIC_ALREADY_EXISTS',
  58: 'SASL_AUTHENTICATION_FAILED',
  79: 'MEMBER_ID_REQUIRED',
};

export function errorName(code: number): string | undefined {
  return errorNames[code];
}
