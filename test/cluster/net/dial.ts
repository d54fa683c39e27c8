// Dialling a pod IP from the host's namespace through the relay (see relay.ts).
import net from 'node:net';

export function dial(relaySocket: string, host: string, port: number): net.Socket {
  const sock = net.connect(relaySocket);
  sock.write(`${host} ${port}\n`);
  return sock;
}

/** Whether a TCP connection to host:port opens (readiness probes): true once data can flow. */
export function probeTcp(relaySocket: string, host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dial(relaySocket, host, port);
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    // The relay closes our socket at once when the pod refuses; an open one stays quiet.
    const timer = setTimeout(() => finish(true), Math.min(timeoutMs, 300));
    sock.on('close', () => finish(false));
    sock.on('error', () => finish(false));
  });
}
