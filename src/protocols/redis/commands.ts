// What the dissector needs to know about individual Redis commands: where the first key is
// (`request.key`), which arguments are credentials (redacted), and which commands are the
// pub/sub subscription family (one reply per channel, pushed messages afterwards).

/** Commands that take no key at all. */
const NO_KEY = new Set([
  'ACL', 'ASKING', 'AUTH', 'BGREWRITEAOF', 'BGSAVE', 'CLIENT', 'CLUSTER', 'COMMAND', 'CONFIG',
  'DBSIZE', 'DEBUG', 'DISCARD', 'ECHO', 'EXEC', 'FAILOVER', 'FLUSHALL', 'FLUSHDB', 'FUNCTION',
  'HELLO', 'INFO', 'KEYS', 'LASTSAVE', 'LATENCY', 'LOLWUT', 'MEMORY', 'MODULE', 'MONITOR',
  'MULTI', 'PING', 'PSUBSCRIBE', 'PSYNC', 'PUBLISH', 'PUBSUB', 'PUNSUBSCRIBE', 'QUIT',
  'RANDOMKEY', 'READONLY', 'READWRITE', 'REPLCONF', 'REPLICAOF', 'RESET', 'ROLE', 'SAVE',
  'SCAN', 'SCRIPT', 'SELECT', 'SHUTDOWN', 'SLAVEOF', 'SLOWLOG', 'SPUBLISH', 'SSUBSCRIBE',
  'SUBSCRIBE', 'SUNSUBSCRIBE', 'SWAPDB', 'SYNC', 'TIME', 'UNSUBSCRIBE', 'UNWATCH', 'WAIT',
  'WAITAOF',
]);

/** Commands whose arguments start with a count of keys: `EVAL script numkeys key...`. */
const NUMKEYS_AT: Record<string, number> = {
  EVAL: 1, EVALSHA: 1, EVAL_RO: 1, EVALSHA_RO: 1, FCALL: 1, FCALL_RO: 1,
  ZUNION: 0, ZINTER: 0, ZDIFF: 0, ZINTERCARD: 0, SINTERCARD: 0, LMPOP: 0, ZMPOP: 0,
  BLMPOP: 1, BZMPOP: 1,
};

/** Commands whose first key is not their first argument. */
const KEY_AT: Record<string, number> = { BITOP: 1, OBJECT: 1, XINFO: 1, MIGRATE: 2 };

export const SUBSCRIBE_FAMILY = new Set([
  'SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE',
]);

/** Pushed kinds that carry a published message. */
export const MESSAGE_KINDS = new Set(['message', 'pmessage', 'smessage']);

/** `args` excludes the command name. Returns the index of the first key, or -1. */
export function firstKeyIndex(command: string, args: readonly string[]): number {
  if (NO_KEY.has(command)) return -1;
  const numkeysAt = NUMKEYS_AT[command];
  if (numkeysAt !== undefined) {
    const numkeys = Number(args[numkeysAt]);
    return Number.isInteger(numkeys) && numkeys > 0 && args.length > numkeysAt + 1 ? numkeysAt + 1 : -1;
  }
  if (command === 'XREAD' || command === 'XREADGROUP') {
    const streams = args.findIndex((a) => a.toUpperCase() === 'STREAMS');
    return streams >= 0 && streams + 1 < args.length ? streams + 1 : -1;
  }
  const at = KEY_AT[command] ?? 0;
  return at < args.length ? at : -1;
}

export const REDACTED = '[redacted]';

/**
 * Indexes (into args, command excluded) of passwords: AUTH [user] pass, HELLO ... AUTH user
 * pass, MIGRATE ... AUTH pass | AUTH2 user pass, CONFIG SET masterauth/requirepass value,
 * ACL SETUSER ... >pass / #hash.
 */
export function credentialIndexes(command: string, args: readonly string[]): readonly number[] {
  switch (command) {
    case 'AUTH':
      return args.length > 0 ? [args.length - 1] : [];
    case 'HELLO':
    case 'MIGRATE': {
      const out: number[] = [];
      for (let i = 0; i < args.length; i++) {
        if (upperAt(args, i) === 'AUTH' && command === 'MIGRATE' && i + 1 < args.length) out.push(i + 1);
        if ((upperAt(args, i) === 'AUTH' && command === 'HELLO') || upperAt(args, i) === 'AUTH2') {
          if (i + 2 < args.length) out.push(i + 2);
        }
      }
      return out;
    }
    case 'CONFIG': {
      const out: number[] = [];
      if (upperAt(args, 0) !== 'SET') return out;
      for (let i = 1; i + 1 < args.length; i += 2) {
        if (/^(masterauth|requirepass|masteruser)$/i.test(args[i])) out.push(i + 1);
      }
      return out;
    }
    case 'ACL':
      if (upperAt(args, 0) !== 'SETUSER') return [];
      return args.flatMap((a, i) => (i > 1 && /^[>#<!]/.test(a) ? [i] : []));
    default:
      return NONE;
  }
}

function upperAt(args: readonly string[], i: number): string {
  return (args[i] ?? '').toUpperCase();
}

/** What credentialIndexes says for every other command: one shared empty list, not one a call. */
const NONE: readonly number[] = Object.freeze([]);
