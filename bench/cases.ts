// The benchmark's captures: the script that makes each, and how tshark is told to dissect
// the same file (decode-as for the non-standard ports the scripts record on).
export interface BenchCase {
  name: string;
  /** Script that writes the capture to its first argument. */
  make: string;
  /** tshark display filter selecting one packet per call, and decode-as options for odd ports. */
  tsharkFilter: string;
  tsharkDecodeAs: string[];
  /** Fields for the -T fields run: those our summary line is made of. */
  tsharkFields: string[];
}

export const BENCH_CASES: BenchCase[] = [
  { name: 'http1', make: 'bench/make-http1-capture.sh', tsharkFilter: 'http', tsharkDecodeAs: ['-d', 'tcp.port==18080,http'], tsharkFields: ['http.request.method', 'http.request.uri', 'http.response.code'] },
  { name: 'http2', make: 'bench/make-http2-capture.sh', tsharkFilter: 'http2', tsharkDecodeAs: ['-d', 'tcp.port==18091,http2'], tsharkFields: ['http2.streamid', 'http2.headers.method', 'http2.headers.path', 'http2.headers.status'] },
  { name: 'grpc', make: 'bench/make-grpc-capture.sh', tsharkFilter: 'grpc', tsharkDecodeAs: ['-d', 'tcp.port==50071,http2'], tsharkFields: ['http2.streamid', 'http2.headers.path', 'http2.headers.status', 'grpc.message_length'] },
  { name: 'redis', make: 'bench/make-redis-capture.sh', tsharkFilter: 'resp', tsharkDecodeAs: ['-d', 'tcp.port==16392,resp'], tsharkFields: ['resp.bulk_string.value', 'resp.array.length'] },
  { name: 'amqp', make: 'bench/make-amqp-capture.sh', tsharkFilter: 'amqp', tsharkDecodeAs: ['-d', 'tcp.port==15698,amqp'], tsharkFields: ['amqp.method.class', 'amqp.method.method'] },
  { name: 'kafka', make: 'bench/make-kafka-capture.sh', tsharkFilter: 'kafka && tcp.dstport==19092', tsharkDecodeAs: ['-d', 'tcp.port==19092,kafka'], tsharkFields: ['kafka.api_key', 'kafka.api_version', 'kafka.correlation_id', 'kafka.topic_name'] },
  { name: 'dns', make: 'bench/make-dns-capture.sh', tsharkFilter: 'dns.flags.response==1', tsharkDecodeAs: ['-d', 'udp.port==5300,dns', '-d', 'tcp.port==5300,dns'], tsharkFields: ['dns.qry.name', 'dns.qry.type', 'dns.flags.rcode'] },
  { name: 'tls', make: 'bench/make-tls-capture.sh', tsharkFilter: 'tls.handshake.type==1', tsharkDecodeAs: ['-d', 'tcp.port==18443,tls'], tsharkFields: ['tls.handshake.extensions_server_name', 'tls.handshake.ciphersuite'] },
];
