// The AMQP 0-9-1 dissector: detection by content, one AmqpSession per connection.
import type { TcpDissector } from '../types.js';
import { detectAmqp } from './detect.js';
import { AmqpSession } from './session.js';

export const amqpDissector: TcpDissector = {
  name: 'amqp',
  detect: (probe) => {
    try {
      return detectAmqp(probe);
    } catch {
      return 'no';
    }
  },
  create: (ctx) => new AmqpSession(ctx),
};
