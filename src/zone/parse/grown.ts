/** Growing the typed arrays the loader keeps its records and names in. */

/** The typed arrays the record store and the name table grow. */
export type GrowableArray = Uint8Array<ArrayBuffer> | Uint16Array<ArrayBuffer> | Uint32Array<ArrayBuffer> | Int32Array<ArrayBuffer> | Float64Array<ArrayBuffer>;

/** A new array of `a`'s kind, `length` long, holding `a`'s values first (zeros after). */
export function grown<A extends GrowableArray>(a: A, length: number): A {
  const b = new (a.constructor as new (length: number) => A)(length);
  (b as unknown as { set(values: ArrayLike<number>): void }).set(a);
  return b;
}
