// The AMQP 0-9-1 dissector: detection by content, one AmqpSession per connection.
import type { TcpDissector } from '../types.js';
import { detectAmqp } from './detect.js';
import { AmqpSession } from './session.js';

export const amqpDissector: TcpDissector = {
  name: 'amqp',
  detect: detectAmqp, // must not throw: the engine counts a throw as engine.detectorErrors
  create: (ctx) => new AmqpSession(ctx),
};
