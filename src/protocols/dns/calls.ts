// Turning a DNS query and its response into a Call, the same for UDP and TCP.
import type { Call } from '../../entry.js';
import { describeRcode, opcodeName, type DnsMessage } from './message.js';

export interface PendingQuery {
  query: DnsMessage;
  startMicros: number;
  size: number;
  incomplete?: boolean;
}

export function dnsCall(
  transport: 'udp' | 'tcp',
  q: PendingQuery,
  response: DnsMessage | null,
  endMicros: number | null,
  responseSize: number,
): Call {
  const request: Record<string, unknown> = {
    id: q.query.id,
    opcode: opcodeName(q.query.opcode) ?? `OPCODE${q.query.opcode}`,
    questions: q.query.questions,
    recursionDesired: q.query.recursionDesired,
    transport,
    size: q.size,
  };
  const question = q.query.questions[0];
  let summary = question ? `${question.type} ${question.name}` : request.opcode as string;
  let res: Record<string, unknown> | null = null;
  if (response) {
    const rcode = describeRcode(response);
    res = {
      rcode,
      rcodeCode: response.rcode,
      answers: response.answers,
      answerCount: response.answerCount,
      authorityCount: response.authorityCount,
      additionalCount: response.additionalCount,
      authoritative: response.authoritative,
      recursionAvailable: response.recursionAvailable,
      truncated: response.truncated,
      size: responseSize,
    };
    if (rcode !== 'NOERROR') summary += ` -> ${rcode}`;
    else if (response.answers.length > 0) {
      const shown = response.answers.slice(0, 3).map((a) => a.data);
      summary += ` -> ${shown.join(', ')}${response.answers.length > 3 ? ', ...' : ''}`;
    } else summary += ' -> no answers';
  }
  const call: Call = { protocol: 'dns', startMicros: q.startMicros, endMicros, request, response: res, summary };
  if (q.incomplete) call.incomplete = true;
  return call;
}
