import net from 'node:net';

/** Whether a Redis server answers PING on 127.0.0.1:6379 (tests that need one skip otherwise). */
export function redisAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port: 6379 });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => {
      sock.write('PING\r\n');
      sock.once('data', (d) => done(d.toString().startsWith('+PONG')));
    });
  });
}
