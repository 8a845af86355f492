/**
 * Encryption at rest of workers' runner settings (they hold MAIL passwords, Slack bot tokens and whatever secret a
 * plugin's settings carry), with AES-256-GCM under SECRETS_KEY.
 *
 * A sealed value is `PREFIX ‖ 12-byte IV ‖ 16-byte tag ‖ ciphertext`. The prefix starts with a zero byte, which no
 * protobuf message starts with (field number 0 does not exist), so rows written before a key was configured (plain
 * protobuf, or empty) are told apart and read as they are; the digit in it is the format version. The whole settings
 * message is sealed: every secret field of every runner is covered without knowing which fields are secret.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { InternalError, InvalidArgumentError } from '../../core/src/index.js';

const PREFIX = Buffer.from('\0jwsec1:', 'latin1');
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

export class SettingsCipher {
  private readonly key: Buffer;
  private readonly previousKeys: readonly Buffer[];

  /**
   * @param keyHex the 32-byte key as 64 hex digits (Config `storage.secretsKeyHex`, from SECRETS_KEY): it seals, and
   * opens first
   * @param previousKeysHex keys used before (SECRETS_KEY_PREVIOUS): they only open, so a key can be changed while
   * rows sealed under the old one are still read (and sealed under the new one when next written)
   */
  constructor(keyHex: string, previousKeysHex: readonly string[] = []) {
    this.key = keyFromHex(keyHex);
    this.previousKeys = previousKeysHex.map(keyFromHex);
  }

  /** Whether `stored` is a sealed value (as opposed to plain settings from before encryption). */
  static isSealed(stored: Uint8Array): boolean {
    return (
      stored.length >= PREFIX.length && Buffer.from(stored.buffer, stored.byteOffset, PREFIX.length).equals(PREFIX)
    );
  }

  seal(plain: Uint8Array): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([PREFIX, iv, cipher.getAuthTag(), body]);
  }

  /** The plain settings of a sealed value; a plain value is returned as it is. */
  open(stored: Uint8Array, what: string): Uint8Array {
    if (!SettingsCipher.isSealed(stored)) return stored;
    const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
    const iv = bytes.subarray(PREFIX.length, PREFIX.length + IV_BYTES);
    const tag = bytes.subarray(PREFIX.length + IV_BYTES, PREFIX.length + IV_BYTES + TAG_BYTES);
    const body = bytes.subarray(PREFIX.length + IV_BYTES + TAG_BYTES);
    for (const key of [this.key, ...this.previousKeys]) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(body), decipher.final()]);
      } catch {
        // not this key: try the next
      }
    }
    throw new InternalError(
      `${what} cannot be decrypted with SECRETS_KEY (nor SECRETS_KEY_PREVIOUS): it was encrypted under another key, ` +
        'or the row is damaged',
    );
  }
}

function keyFromHex(keyHex: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(keyHex)) {
    throw new InvalidArgumentError(`a settings key must be ${KEY_BYTES} bytes written as 64 hex digits`);
  }
  return Buffer.from(keyHex, 'hex');
}

/** Reads stored settings without a key: plain ones as they are; sealed ones are an error that says what to set. */
export function openWithoutKey(stored: Uint8Array, what: string): Uint8Array {
  if (!SettingsCipher.isSealed(stored)) return stored;
  throw new InternalError(`${what} is encrypted; set SECRETS_KEY to the key it was encrypted with`);
}
