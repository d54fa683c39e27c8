// The Redis dissector (RESP2 and RESP3): detection by content, one RedisSession per connection.
import type { TcpDissector } from '../types.js';
import { detectRedis } from './detect.js';
import { RedisSession } from './session.js';

export const redisDissector: TcpDissector = {
  name: 'redis',
  detect: detectRedis, // must not throw: the engine counts a throw as engine.detectorErrors
  create: (ctx) => new RedisSession(ctx),
};
