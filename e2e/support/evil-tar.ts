/** One entry of a hand-made tar: what an attacker can put in an archive that no honest tar tool writes. */
export interface TarEntry {
  name: string;
  type: 'file' | 'hardlink' | 'symlink' | 'char-device' | 'directory';
  body?: string;
  linkname?: string;
  /** The mode field as given (setuid 0o4777, say); default 0o755 for folders, 0o644 otherwise. */
  mode?: number;
}

const TYPE_FLAG: Record<TarEntry['type'], string> = { file: '0', hardlink: '1', symlink: '2', 'char-device': '3', directory: '5' };

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** A POSIX ustar archive built byte by byte, names, links and modes taken as given (`../`, absolute, setuid, anything). */
export function evilTar(entries: readonly TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? '');
    const header = Buffer.alloc(512);
    header.write(entry.name, 0, 100, 'utf8');
    header.write(octal(entry.mode ?? (entry.type === 'directory' ? 0o755 : 0o644), 8), 100);
    header.write(octal(0, 8), 108);
    header.write(octal(0, 8), 116);
    header.write(octal(entry.type === 'file' ? body.length : 0, 12), 124);
    header.write(octal(Math.floor(Date.now() / 1000), 12), 136);
    header.write('        ', 148);
    header.write(TYPE_FLAG[entry.type], 156);
    header.write(entry.linkname ?? '', 157, 100, 'utf8');
    header.write('ustar\0', 257);
    header.write('00', 263);
    header.write(octal(entry.type === 'char-device' ? 1 : 0, 8), 329);
    header.write(octal(entry.type === 'char-device' ? 3 : 0, 8), 337);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header);
    if (entry.type === 'file' && body.length > 0) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
