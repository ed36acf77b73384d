/** Type declaration for dns-packet's type-number table, which its typings leave out. */

declare module 'dns-packet/types.js' {
  /** Maps type numbers to dns-packet's names and back. */
  const types: {
    toString(type: number): string;
    toType(name: string): number;
  };
  export default types;
}
