import picomatch from 'picomatch';

/**
 * Which listed objects a crawl leaves out: the names Glue never reads, and the
 * target's exclude patterns.
 *
 * Glue's globs differ from picomatch's in two ways that are translated here:
 * `**` crosses folder boundaries wherever it stands (`**.csv` and `myfolder**`
 * reach into subfolders; picomatch only treats a whole `**` segment that way),
 * and `[!a-c]` negates a bracket expression. Leading dots are ordinary
 * characters, and `!`, `+(...)` and friends have no special meaning.
 */

/**
 * Hidden and bookkeeping objects, as Hadoop's input formats skip them: names
 * (of the object, or of a folder below the include path) starting with `_` or
 * `.` (`_SUCCESS`, `_temporary/`, `.part-0.crc`), `<folder>_$folder$` markers
 * and checksum files.
 */
export function isIgnoredName(relativeKey: string): boolean {
  const segments = relativeKey.split('/');
  const name = segments.at(-1) ?? '';
  return (
    segments.some((segment) => segment.startsWith('_') || segment.startsWith('.')) ||
    name.endsWith('_$folder$') ||
    name.endsWith('.crc')
  );
}

/** Globs with more in-segment `**` than this expand to too many patterns; the rest stay within a segment. */
const MAX_CROSSING_STARS = 4;
/** Marks a `**` inside a folder name, expanded below into its two readings. */
const CROSSING = '\u0000';

/** Rewrites a Glue glob into picomatch syntax, with in-segment `**` marked for expansion. */
function rewrite(pattern: string): string {
  let output = '';
  for (let index = 0; index < pattern.length;) {
    const char = pattern[index]!;
    if (char === '\\' && index + 1 < pattern.length) {
      output += pattern.slice(index, index + 2);
      index += 2;
    } else if (char === '[') {
      const close = pattern.indexOf(']', index + 2);
      if (close === -1) {
        output += '\\[';
        index += 1;
        continue;
      }
      const body = pattern.slice(index + 1, close);
      // Inside brackets `\` is an ordinary character to Glue but an escape to picomatch.
      output += `[${body.replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
      index = close + 1;
    } else if (char === '*') {
      let end = index;
      while (pattern[end] === '*') end += 1;
      const wholeSegment =
        (index === 0 || pattern[index - 1] === '/') && (end === pattern.length || pattern[end] === '/');
      output += end - index === 1 ? '*' : wholeSegment ? '**' : CROSSING;
      index = end;
    } else {
      output += char;
      index += 1;
    }
  }
  return output;
}

/** Every reading of the in-segment `**`s: a `*` within the name, or a `*` that runs on through folders. */
function expand(pattern: string): string[] {
  const parts = pattern.split(CROSSING);
  let patterns = [parts[0]!];
  parts.slice(1).forEach((part, index) => {
    const readings = index < MAX_CROSSING_STARS ? ['*', '*/**/*'] : ['*'];
    patterns = patterns.flatMap((prefix) => readings.map((reading) => `${prefix}${reading}${part}`));
  });
  return patterns;
}

/** A test of a key relative to the include path against the target's exclude patterns. */
export function exclusionMatcher(patterns: readonly string[]): (relativeKey: string) => boolean {
  const globs = patterns.filter((pattern) => pattern.trim() !== '').flatMap((pattern) => expand(rewrite(pattern)));
  if (globs.length === 0) return () => false;
  return picomatch(globs, { dot: true, noextglob: true, nonegate: true });
}
