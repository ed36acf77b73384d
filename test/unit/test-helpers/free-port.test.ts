import { expect } from 'chai';
import net from 'node:net';
import { freePort, portFree, tcpPortInUse } from '../../helpers/server.js';

describe('test helpers: freePort', () => {
  it('a port whose server closed a connection first (TIME_WAIT there) is not free: shardns binds without SO_REUSEADDR and would fail on it', async function () {
    if (process.platform !== 'linux') {
      console.log('skip: reads /proc/net/tcp (Linux only)');
      this.skip();
    }
    const port = await freePort();
    const server = net.createServer((sock) => sock.end());
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    // The server ends the connection first, the client answers with its own FIN: the server's side waits in TIME_WAIT.
    await new Promise<void>((r) => {
      const client = net.connect(port, '127.0.0.1');
      client.on('end', () => client.end());
      client.on('close', () => r());
      client.resume();
    });
    await new Promise<void>((r) => server.close(() => r()));
    expect(tcpPortInUse(port)).to.equal(true);
    expect(await portFree(port)).to.equal(false);
  });

  it('never hands out the same port twice in a process', async () => {
    const ports = await Promise.all(Array.from({ length: 40 }, () => freePort()));
    expect(new Set(ports).size).to.equal(40);
  });
});
