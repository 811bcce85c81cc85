/**
 * Stream and app names come from the network and end up in maps, logs, URLs and (later) file names:
 * only a conservative character set is accepted, so nothing in a name can reach a file system path
 * (no `/`, `..`, NUL, or control characters) or a log line unescaped.
 */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.\-~]{0,127}$/;

export function isValidStreamName(name: string): boolean {
  return NAME.test(name) && !name.includes('..');
}
