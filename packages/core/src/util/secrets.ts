/**
 * The one place that knows Stride's secrets: which environment variables a
 * task must never inherit, and every secret value that must never appear in
 * anything Stride stores or prints (terminal output, artifacts, run records,
 * reports, warnings, errors), replaced by `***` as CI systems do.
 *
 * Two kinds, on purpose:
 * - Stride's own variables (signing and encryption keys, their _FILE paths,
 *   serve tokens, the GitLab OIDC token of the generated pipeline, any other
 *   STRIDE_* name that says key, token, secret or password) are stripped from
 *   every task's environment: only the batch process uses them (it signs,
 *   encrypts), no task has any business with them.
 * - AWS credentials are the user's: a deploy target may need them, and Nx
 *   passes them on, so tasks keep AWS_*; their secret values (the secret key,
 *   the session token) are masked in everything Stride writes or prints.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { printable } from './untrusted-text.js';

/** What a secret value is replaced with. */
export const MASK = '***';

/**
 * Values shorter than this are not masked: they would blank out ordinary words.
 * Every secret Stride generates or reads is far longer (keys, tokens, AWS secrets).
 */
export const MIN_SECRET_LENGTH = 6;

/** Stride's own secret variables, by exact name (the pattern below catches the rest). */
const STRIDE_SECRET_NAMES = new Set([
  'STRIDE_SIGNING_KEY',
  'STRIDE_SIGNING_KEY_FILE',
  'STRIDE_ENCRYPTION_KEY',
  'STRIDE_ENCRYPTION_KEY_FILE',
  'STRIDE_SERVE_TOKEN',
  'STRIDE_SERVE_READ_ONLY_TOKEN',
  'STRIDE_AWS_ID_TOKEN',
]);
/** Any other STRIDE_* variable whose name says it holds a secret (STRIDE_SERVE_TOKEN_2, STRIDE_FOO_PASSWORD, ...). */
const STRIDE_SECRET_PATTERN = /^STRIDE_\w*(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)(_\w+)?$/i;
/** Variables whose value is a file holding a secret: the file's contents are masked too. */
const SECRET_FILE_VARIABLES = ['STRIDE_SIGNING_KEY_FILE', 'STRIDE_ENCRYPTION_KEY_FILE'];
/**
 * The user's AWS secrets: passed to tasks, masked in output. The access key id
 * is an identifier, not a secret (S3 echoes it in errors; masking it would
 * also blank out every word equal to a short test id).
 */
const AWS_SECRET_VARIABLES = ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN'];
/** Endpoint settings whose userinfo (`http://user:password@host`) is a secret. */
const ENDPOINT_VARIABLES = ['STRIDE_REMOTE_ENDPOINT', 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'];

/** Whether a task must not inherit this variable: it is one of Stride's own secrets. */
export function isStrideSecretVariable(name: string): boolean {
  return STRIDE_SECRET_NAMES.has(name.toUpperCase()) || STRIDE_SECRET_PATTERN.test(name);
}

/**
 * A copy of `env` without Stride's own secrets: what a task (a child process,
 * a wrapped executor) gets. Stride's endpoint variable passes without its
 * userinfo (Stride refuses credentials there anyway, but not when no bucket is set).
 */
export function taskEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) if (!isStrideSecretVariable(name)) out[name] = value;
  if (out.STRIDE_REMOTE_ENDPOINT) out.STRIDE_REMOTE_ENDPOINT = redactUserinfo(out.STRIDE_REMOTE_ENDPOINT);
  return out;
}

/** Deletes Stride's secrets from `env` in place (a process that runs task code in-process). */
export function removeStrideSecrets(env: NodeJS.ProcessEnv): void {
  for (const name of Object.keys(env)) if (isStrideSecretVariable(name)) delete env[name];
}

/**
 * Every secret value Stride knows in `env`, with the forms a task could print
 * it in: the value as given, trimmed, each line (a PEM key's base64 body lines,
 * one of which a task could print alone), a key's other encodings, each token
 * of a token list, the contents of key files, and endpoint userinfo.
 */
export function secretValues(env: NodeJS.ProcessEnv): string[] {
  const values = new Set<string>();
  const add = (value: string | undefined): void => {
    if (value === undefined) return;
    for (const form of [value, value.trim()]) if (form.length >= MIN_SECRET_LENGTH) values.add(form);
  };
  const addText = (text: string): void => {
    add(text);
    for (const line of text.split(/\r?\n/)) if (!/^-----(BEGIN|END) /.test(line.trim())) add(line);
    const pemBody = pemBase64(text);
    if (pemBody) add(pemBody);
    for (const form of keyForms(text)) add(form);
  };
  for (const [name, value] of Object.entries(env)) {
    if (!value || !isStrideSecretVariable(name)) continue;
    if (SECRET_FILE_VARIABLES.includes(name)) continue; // a path, not a secret; its contents are, below
    addText(value);
    // Token lists: `token@scope,token2@scope2`.
    if (/TOKEN/i.test(name)) for (const entry of value.split(',')) add(entry.trim().replace(/@[A-Za-z0-9._-]*$/, ''));
  }
  for (const name of SECRET_FILE_VARIABLES) {
    const file = env[name];
    if (!file) continue;
    try {
      addText(readFileSync(file, 'utf8'));
    } catch {
      // Unreadable: loading the key reports it; nothing of it can be printed either.
    }
  }
  for (const name of AWS_SECRET_VARIABLES) add(env[name]);
  for (const name of ENDPOINT_VARIABLES) for (const part of userinfoOf(env[name])) add(part);
  return [...values];
}

/** The userinfo of a URL and its parts (as written and decoded); none for a URL without it. */
export function userinfoOf(text: string | undefined): string[] {
  if (!text) return [];
  const raw = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(text.trim())?.[1];
  if (!raw) return [];
  // A password may itself hold `@` or `:` (URL parsers take userinfo up to the last `@`): each piece is masked too.
  const parts = [raw, ...raw.split(':'), ...raw.split(/[:@]/)];
  const decoded = parts.flatMap((part) => {
    try {
      return [decodeURIComponent(part)];
    } catch {
      return [];
    }
  });
  return [...new Set([...parts, ...decoded])].filter(Boolean);
}

/**
 * `text` with the userinfo of any URL in it (`scheme://user:password@`) replaced by `***`: everything up to the
 * last `@` of the authority, as URL parsers read it (a password may hold an `@`).
 */
export function redactUserinfo(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/?#\s]*@/gi, `$1${MASK}@`);
}

/** The base64 body of a PEM block on one line, as a task could print it. */
function pemBase64(text: string): string | undefined {
  const match = /-----BEGIN [^-]+-----([\s\S]*?)-----END [^-]+-----/.exec(text);
  return match?.[1]?.replace(/\s+/g, '');
}

/**
 * Other encodings of a key a task could print: an Ed25519 private key's DER
 * (base64) and its 32-byte seed (hex, base64, base64url), a 32-byte
 * encryption key in hex and base64.
 */
function keyForms(text: string): string[] {
  const forms: string[] = [];
  const trimmed = text.trim();
  try {
    const key = trimmed.includes('-----BEGIN') ? createPrivateKey(trimmed) : /^[A-Za-z0-9+/=]{40,}$/.test(trimmed) ? createPrivateKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'pkcs8' }) : undefined;
    if (key) {
      const der = key.export({ format: 'der', type: 'pkcs8' });
      forms.push(der.toString('base64'));
      const seed = key.export({ format: 'jwk' }).d;
      if (seed) {
        const bytes = Buffer.from(seed, 'base64url');
        forms.push(seed, bytes.toString('base64'), bytes.toString('hex'), bytes.toString('hex').toUpperCase());
      }
    }
  } catch {
    // Not a private key.
  }
  const raw = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : /^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : undefined;
  if (raw?.length === 32) forms.push(raw.toString('hex'), raw.toString('hex').toUpperCase(), raw.toString('base64'), raw.toString('base64url'));
  return forms;
}

/** Replaces every occurrence of a set of secret values in text. */
export class SecretMasker {
  private readonly pattern: RegExp | undefined;

  constructor(values: Iterable<string>) {
    // Longest first, so a value containing another is masked whole.
    const sorted = [...new Set(values)].filter((v) => v.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
    this.pattern = sorted.length > 0 ? new RegExp(sorted.map(escapeRegExp).join('|'), 'g') : undefined;
  }

  get empty(): boolean {
    return this.pattern === undefined;
  }

  mask(text: string): string {
    return this.pattern ? text.replace(this.pattern, MASK) : text;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

let cached: { fingerprint: string; masker: SecretMasker } | undefined;

/**
 * The masker for the secrets in `env` (by default this process's environment),
 * rebuilt only when the variables it reads change.
 */
export function secretMasker(env: NodeJS.ProcessEnv = process.env): SecretMasker {
  const fingerprint = Object.keys(env)
    .filter((name) => isStrideSecretVariable(name) || AWS_SECRET_VARIABLES.includes(name) || ENDPOINT_VARIABLES.includes(name))
    .sort()
    .map((name) => `${name}=${env[name] ?? ''}`)
    .join('\0');
  if (cached?.fingerprint !== fingerprint) cached = { fingerprint, masker: new SecretMasker(secretValues(env)) };
  return cached.masker;
}

/** `text` with every secret Stride knows in `env` masked. Errors from the SDK or the network go through this too. */
export function maskSecrets(text: string, env: NodeJS.ProcessEnv = process.env): string {
  return secretMasker(env).mask(text);
}

/** Longest warning printed or recorded: several joined remote warnings fit, a flood does not. */
const MAX_WARNING_CHARS = 4_000;

/**
 * A warning or error line as it may be printed or recorded: secrets masked,
 * then control characters escaped, since parts of it may come from untrusted
 * bytes (a bucket's answer, a refused object's fields) that could otherwise
 * forge a log line (a CI annotation) or drive the terminal.
 */
export function safeWarning(text: string, env: NodeJS.ProcessEnv = process.env): string {
  return printable(maskSecrets(text, env), MAX_WARNING_CHARS);
}
