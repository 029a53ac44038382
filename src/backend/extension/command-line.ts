/**
 * How flannel's extension backend turns a configured command string into an argv, without a
 * shell: the string is split into fields at white space (Go's strings.Fields), then `$NAME` and
 * `${NAME}` in each field are replaced from the environment (Go's os.Expand). Expansion comes
 * after splitting, so a value with spaces stays one argument and shell syntax in a value is inert.
 */

/** The characters Go's unicode.IsSpace accepts (JavaScript's \s adds U+FEFF and lacks U+0085). */
const GO_SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const FIELD_SEPARATORS = new RegExp(`[${GO_SPACE}]+`, 'u');
const TRIM = new RegExp(`^[${GO_SPACE}]+|[${GO_SPACE}]+$`, 'gu');

/** Go's strings.Fields: the runs of non-space characters; none for an empty or blank string. */
export function splitFields(s: string): string[] {
  return s.split(FIELD_SEPARATORS).filter((f) => f !== '');
}

/** Go's strings.TrimSpace. */
export function trimSpace(s: string): string {
  return s.replace(TRIM, '');
}

/** Shell special parameters that os.Expand takes as one-character names ($1, $?, ${@}...). */
function isSpecialVar(c: string | undefined): boolean {
  return c !== undefined && '*#$@!?-0123456789'.includes(c);
}

function isNameChar(c: string | undefined): boolean {
  return c !== undefined && /^[A-Za-z0-9_]$/.test(c);
}

/**
 * The variable name right after a `$` in `s` (which starts just after the `$`) and how many
 * characters the reference takes. An empty name with width > 0 is bad syntax (`${}`, an
 * unclosed `${`): those characters vanish. Width 0 means a lone `$`, which stays.
 */
function shellName(s: string): { name: string; width: number } {
  if (s[0] === '{') {
    if (s.length > 2 && isSpecialVar(s[1]) && s[2] === '}') return { name: s.slice(1, 2), width: 3 };
    const close = s.indexOf('}', 1);
    if (close === 1) return { name: '', width: 2 };
    if (close < 0) return { name: '', width: 1 };
    return { name: s.slice(1, close), width: close + 1 };
  }
  if (isSpecialVar(s[0])) return { name: s.slice(0, 1), width: 1 };
  let i = 0;
  while (isNameChar(s[i])) i++;
  return { name: s.slice(0, i), width: i };
}

/**
 * Go's os.Expand: replaces `$NAME` and `${NAME}` by lookup(NAME) (unset: empty). A `$` at the
 * end, or before a character that starts no name, is kept as it is.
 */
export function expandVars(s: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let from = 0;
  for (let j = 0; j < s.length; j++) {
    if (s[j] !== '$' || j + 1 >= s.length) continue;
    out += s.slice(from, j);
    const { name, width } = shellName(s.slice(j + 1));
    if (name === '' && width === 0) out += '$';
    else if (name !== '') out += lookup(name) ?? '';
    j += width;
    from = j + 1;
  }
  return from === 0 ? s : out + s.slice(from);
}

/** The argv flannel runs for a command string: fields, each expanded from `env`. */
export function commandArgv(command: string, env: Readonly<Record<string, string | undefined>>): string[] {
  return splitFields(command).map((f) => expandVars(f, (name) => env[name]));
}
