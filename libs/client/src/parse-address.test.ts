import { describe, expect, it } from 'vitest';
import { parseAddress, parseServerAddress } from './parse-address.js';
import { InvalidInputError } from './input-error.js';

describe('parseServerAddress', () => {
  it.each([
    ['http://localhost:9000', { target: 'localhost:9000', host: 'localhost', port: 9000, tls: false }],
    ['http://127.0.0.1:9311/', { target: '127.0.0.1:9311', host: '127.0.0.1', port: 9311, tls: false }],
    ['127.0.0.1:9311', { target: '127.0.0.1:9311', host: '127.0.0.1', port: 9311, tls: false }],
    ['grpc.example.com', { target: 'grpc.example.com:9000', host: 'grpc.example.com', port: 9000, tls: false }],
    ['http://[::1]:7000', { target: '[::1]:7000', host: '::1', port: 7000, tls: false }],
    [
      'https://jobs.example.com:8443',
      { target: 'jobs.example.com:8443', host: 'jobs.example.com', port: 8443, tls: true },
    ],
    ['HTTPS://127.0.0.1:9000/', { target: '127.0.0.1:9000', host: '127.0.0.1', port: 9000, tls: true }],
    // the port defaults to 9000 whatever the scheme
    ['https://jobs.example.com', { target: 'jobs.example.com:9000', host: 'jobs.example.com', port: 9000, tls: true }],
    ['  https://[::1]:9443  ', { target: '[::1]:9443', host: '::1', port: 9443, tls: true }],
  ])('%s', (address, expected) => {
    expect(parseServerAddress(address)).toEqual(expected);
    expect(parseAddress(address)).toBe(expected.target);
  });

  it.each([
    ['grpcs://example.com:443', /use https:\/\/ \(TLS\) or http:\/\/ \(plain text\), not grpcs:\/\//],
    ['ftp://example.com', /not ftp:\/\//],
    ['http://host:0', /port must be between 1 and 65535/],
    ['https://host:99999', /port must be between 1 and 65535/],
    ['host:port', /is not an address; use https:\/\/host:port or http:\/\/host:port/],
    ['https://', /is not an address/],
    ['', /is not an address/],
  ])('rejects %j as invalid input', (address, message) => {
    expect(() => parseServerAddress(address)).toThrow(InvalidInputError);
    expect(() => parseServerAddress(address)).toThrow(message);
  });
});
