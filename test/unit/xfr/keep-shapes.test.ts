import { expect } from 'chai';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { axfrStream, TransferStream } from '../../../src/xfr/axfr.js';
import { head, image } from './helpers.js';

/** A full, synchronous garbage collection (V8's gc(), exposed at run time). */
function fullGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** The next macrotask: WeakRef targets made in this one stay alive until it ends (KeepDuringJob). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('xfr/axfr: the last closed transfer stream stays reachable (its hidden classes keep the packer optimised)', () => {
  const img = image(head(1) + Array.from({ length: 500 }, (_, i) => `h${i} A 192.0.2.${i & 255}\n`).join(''));
  const question = Buffer.from([...img.originKey, 0, 252, 0, 1]);

  /** A whole AXFR made and closed in a scope of its own; a WeakRef to its stream. */
  function transferred(): WeakRef<TransferStream> {
    const stream = axfrStream(img, { head: { id: 1, flags: 0, question }, opt: null, signer: null });
    while (stream.next() !== null);
    stream.close();
    return new WeakRef(stream);
  }

  it('survives a full collection after it closed; the one closed after it takes its place', async () => {
    const first = transferred();
    await nextTurn();
    fullGc();
    // Without it, no object of TransferStream, MessageWriter or MessageRing is alive here: V8 frees their maps and throws away the code compiled against them.
    expect(first.deref(), 'the last closed stream, after a full GC').to.not.equal(undefined);
    const second = transferred();
    await nextTurn();
    fullGc();
    expect(second.deref(), 'the newest closed stream').to.not.equal(undefined);
    expect(first.deref(), 'one kept per class, not every stream').to.equal(undefined);
  });
});
