/** node-postgres's own conversion of a bound value to the text it sends (untyped upstream). */
declare module 'pg/lib/utils' {
  const utils: { prepareValue(value: unknown): unknown };
  export = utils;
}
