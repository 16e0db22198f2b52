import { randomBytes } from 'node:crypto';
import { ColumnCipher, ColumnDecryptionError, parseEncryptionKey } from './column-cipher';

describe('ColumnCipher', () => {
  const key = randomBytes(32);
  const cipher = new ColumnCipher(key, 'SOME_KEY');

  it('stores no plaintext and reads it back in its row only', () => {
    const stored = cipher.encrypt('whsec_c2VjcmV0', 'endpoint:1');
    expect(stored).toMatch(/^enc:v1:[0-9a-f]{16}:[A-Za-z0-9_-]+$/);
    expect(stored).not.toContain('whsec_');
    expect(cipher.encrypt('whsec_c2VjcmV0', 'endpoint:1')).not.toBe(stored);
    expect(cipher.decrypt(stored, 'endpoint:1')).toBe('whsec_c2VjcmV0');
    expect(() => cipher.decrypt(stored, 'endpoint:2')).toThrow(/does not authenticate.*another row/);
  });

  it('names the key a value needs when another key is configured', () => {
    const stored = cipher.encrypt('s', 'c');
    const other = new ColumnCipher(randomBytes(32), 'SOME_KEY');
    expect(() => other.decrypt(stored, 'c')).toThrow(ColumnDecryptionError);
    expect(() => other.decrypt(stored, 'c')).toThrow(
      `c: encrypted with key ${cipher.keyId}, but SOME_KEY is key ${other.keyId}: set the key it was encrypted with`,
    );
  });

  it('decrypts with a previous key after a rotation, and encrypts with the new one', () => {
    const stored = cipher.encrypt('s', 'c');
    const rotated = new ColumnCipher(randomBytes(32), 'SOME_KEY', [key]);
    expect(rotated.decrypt(stored, 'c')).toBe('s');
    expect(ColumnCipher.keyIdOf(rotated.encrypt('s', 'c'))).toBe(rotated.keyId);
    expect(rotated.knows(cipher.keyId)).toBe(true);
  });

  it('refuses a value stored in clear, or altered', () => {
    expect(() => cipher.decrypt('whsec_abc', 'c')).toThrow(/not encrypted/);
    const stored = cipher.encrypt('secret', 'c');
    const altered = stored.slice(0, -2) + (stored.endsWith('AA') ? 'BB' : 'AA');
    expect(() => cipher.decrypt(altered, 'c')).toThrow(ColumnDecryptionError);
  });

  it('reads 32-byte keys in hex or base64 and nothing else', () => {
    expect(parseEncryptionKey(key.toString('hex'))).toEqual(key);
    expect(parseEncryptionKey(key.toString('base64'))).toEqual(key);
    expect(parseEncryptionKey(randomBytes(16).toString('base64'))).toBeNull();
    expect(parseEncryptionKey('local-webhooks-key')).toBeNull();
  });
});
