import { describe, expect, it } from 'vitest';
import { parseAddress } from './parse-address.js';
import { InvalidInputError } from './input-error.js';

describe('parseAddress', () => {
  it.each([
    ['http://localhost:9000', 'localhost:9000'],
    ['http://127.0.0.1:9311/', '127.0.0.1:9311'],
    ['127.0.0.1:9311', '127.0.0.1:9311'],
    ['grpc.example.com', 'grpc.example.com:9000'],
    ['http://[::1]:7000', '[::1]:7000'],
  ])('%s dials %s', (address, target) => {
    expect(parseAddress(address)).toBe(target);
  });

  it.each(['https://example.com:443', 'http://host:0', 'http://host:99999', 'host:port', ''])(
    'rejects %j as invalid input',
    (address) => {
      expect(() => parseAddress(address)).toThrow(InvalidInputError);
    },
  );
});
