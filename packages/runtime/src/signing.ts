/**
 * Signed messages between roles. `provision` creates a random secret in the config bucket; roles
 * read it when they bind. A coordinator signs a hand-off (HMAC-SHA256 of the body, in a header), so
 * a scheduler may take the task records inside it as they are instead of reading each one: a
 * hand-off that does not verify is treated as unsigned, and the scheduler reads the records. A
 * sender without the secret cannot make a record copy that a scheduler trusts.
 *
 * The key id travels with the signature, and verification accepts every key in the bucket, so a key
 * can be rotated by adding a new one (`provision --rotate-key`) before the old one is dropped.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeJson, encodeJson } from '@jetsched/protocol';

/** Key of the signing keys in the config bucket. */
export const SIGNING_KEYS_KEY = 'signing-keys';

/** Header carrying `<keyId>.<base64url HMAC>` of a message body. */
export const SIGNATURE_HEADER = 'Jetsched-Signature';

export interface SigningKey {
  id: string;
  /** base64url of 32 random bytes. */
  secret: string;
  createdAt: number;
}

export interface SigningKeys {
  v: number;
  /** Newest first: signing uses the first, verification accepts any. */
  keys: SigningKey[];
}

export function newSigningKey(now = Date.now()): SigningKey {
  return {
    id: randomBytes(4).toString('hex'),
    secret: randomBytes(32).toString('base64url'),
    createdAt: now,
  };
}

export function encodeKeys(k: SigningKeys): Uint8Array {
  return encodeJson(k);
}

export function decodeKeys(data: Uint8Array): SigningKeys {
  const v = decodeJson(data) as Partial<SigningKeys>;
  if (
    !Array.isArray(v.keys) ||
    v.keys.some((k) => typeof k?.id !== 'string' || typeof k?.secret !== 'string')
  ) {
    throw new Error('the signing keys in the config bucket are unreadable: run `jetsched provision`');
  }
  return { v: 2, keys: v.keys };
}

/** Signs and verifies message bodies with the cluster's keys. */
export class Signer {
  readonly #keys: Map<string, Buffer>;
  readonly #current: { id: string; secret: Buffer };

  constructor(keys: SigningKeys) {
    const first = keys.keys[0];
    if (!first) throw new Error('no signing key: run `jetsched provision`');
    this.#keys = new Map(keys.keys.map((k) => [k.id, Buffer.from(k.secret, 'base64url')]));
    this.#current = { id: first.id, secret: Buffer.from(first.secret, 'base64url') };
  }

  /** The signature header value of `body`. */
  sign(body: Uint8Array): string {
    return `${this.#current.id}.${createHmac('sha256', this.#current.secret).update(body).digest('base64url')}`;
  }

  /** True when `signature` is a valid signature of `body` by one of the keys. */
  verify(body: Uint8Array | string, signature: string | undefined, bytes = 32): boolean {
    if (!signature) return false;
    const dot = signature.indexOf('.');
    const secret = this.#keys.get(signature.slice(0, dot));
    if (dot < 0 || !secret) return false;
    const expected = createHmac('sha256', secret).update(body).digest().subarray(0, bytes);
    const given = Buffer.from(signature.slice(dot + 1), 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /**
   * The token of a subtask's attempt (ADR 0026): the scheduler puts it in the work item, the
   * outcome carries it back, and the coordinator records only outcomes whose token is the current
   * attempt's. 128 bits of HMAC: nobody without the key makes one.
   */
  attemptToken(taskId: string, index: number, attempt: number): string {
    return this.#token(attemptTokenInput(taskId, index, attempt));
  }

  isAttemptToken(token: string | undefined, taskId: string, index: number, attempt: number): boolean {
    return this.verify(attemptTokenInput(taskId, index, attempt), token, TOKEN_BYTES);
  }

  /** The token with which a scheduler fails a whole task (its split failed). */
  taskToken(taskId: string): string {
    return this.#token(`task:${taskId}`);
  }

  isTaskToken(token: string | undefined, taskId: string): boolean {
    return this.verify(`task:${taskId}`, token, TOKEN_BYTES);
  }

  #token(input: string): string {
    const mac = createHmac('sha256', this.#current.secret).update(input).digest().subarray(0, TOKEN_BYTES);
    return `${this.#current.id}.${mac.toString('base64url')}`;
  }
}

/** Bytes of HMAC an attempt or task token keeps. */
const TOKEN_BYTES = 16;

function attemptTokenInput(taskId: string, index: number, attempt: number): string {
  return `attempt:${taskId}.${index}.${attempt}`;
}
