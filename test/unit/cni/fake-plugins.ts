/**
 * Fake CNI plugins for tests without root: shell scripts in a temp directory (the CNI_PATH)
 * that record their stdin and CNI_* environment under <dir>/calls/<n>-<name>-<command>.{stdin,env}
 * and answer as told through files <dir>/answer-<name>-<command>.{out,rc}.
 */
import { mkdir, readdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';

export interface FakeCall {
  readonly name: string;
  readonly command: string;
  readonly stdin: string;
  readonly env: Record<string, string>;
}

const SCRIPT = (dir: string, name: string) => `#!/bin/sh
d='${dir}'
n=$(ls "$d/calls" | wc -l)
base="$d/calls/$(printf %04d "$n")-${name}-$CNI_COMMAND"
cat > "$base.stdin"
env | grep '^CNI_' > "$base.env"
a="$d/answer-${name}-$CNI_COMMAND"
if [ -f "$a.out" ]; then cat "$a.out"; elif [ "$CNI_COMMAND" = ADD ]; then echo '{"cniVersion":"1.0.0","ips":[{"address":"10.244.23.2/24"}]}'; fi
if [ -f "$a.rc" ]; then exit "$(cat "$a.rc")"; fi
exit 0
`;

export class FakePlugins {
  constructor(readonly dir: string) {}

  static async create(dir: string, names: readonly string[]): Promise<FakePlugins> {
    await mkdir(join(dir, 'calls'), { recursive: true });
    for (const name of names) {
      const file = join(dir, name);
      await writeFile(file, SCRIPT(dir, name));
      await chmod(file, 0o755);
    }
    return new FakePlugins(dir);
  }

  /** Makes `name` answer `command` with `out` on stdout and exit status `rc`. */
  async answer(name: string, command: string, out: string, rc = 0): Promise<void> {
    await writeFile(join(this.dir, `answer-${name}-${command}.out`), out);
    await writeFile(join(this.dir, `answer-${name}-${command}.rc`), String(rc));
  }

  async calls(): Promise<FakeCall[]> {
    const files = (await readdir(join(this.dir, 'calls'))).filter((f) => f.endsWith('.stdin')).sort();
    const out: FakeCall[] = [];
    for (const f of files) {
      const base = f.slice(0, -'.stdin'.length);
      const [, name, command] = /^\d+-(.+)-([A-Z]+)$/.exec(base) ?? [];
      const envText = await readFile(join(this.dir, 'calls', `${base}.env`), 'utf8');
      const env = Object.fromEntries(envText.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      out.push({ name: name ?? '', command: command ?? '', stdin: await readFile(join(this.dir, 'calls', f), 'utf8'), env });
    }
    return out;
  }
}
