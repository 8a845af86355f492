import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import type { RequestOptions } from 'node:https';
import { request as httpsRequest } from 'node:https';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import type { TlsCerts } from '../../../../test/support/tls-certs.js';
import { makeTlsCerts } from '../../../../test/support/tls-certs.js';
import { InvalidArgumentError, NotFoundError } from '../../../core/src/index.js';
import type { HttpHandler, HttpListener } from './http-listener.js';
import { HttpError, readJson, sendJson, startHttpListener } from './http-listener.js';

const logger = pino({ level: 'silent' });
let listener: HttpListener | undefined;
afterEach(async () => {
  await listener?.close();
  listener = undefined;
});

async function serve(handler: HttpHandler): Promise<string> {
  listener = await startHttpListener({ setting: 'TEST_ADDR', host: '127.0.0.1', port: 0, handler, logger });
  return listener.url;
}

async function post(url: string, body: string | Buffer): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('startHttpListener', () => {
  const echo: HttpHandler = async (req, res) => sendJson(res, 200, { got: await readJson(req, 64) });

  it('answers JSON, and refuses bad JSON, empty and too-large bodies with a 4xx that says why', async () => {
    const url = await serve(echo);
    expect(await post(url, '{"a":1}')).toEqual({ status: 200, json: { got: { a: 1 } } });
    const bad = await post(url, '{"a":');
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: expect.stringMatching(/not JSON/) });
    expect((await post(url, '')).json).toMatchObject({ error: expect.stringMatching(/empty/) });
    const huge = await post(url, Buffer.alloc(1000, 0x20));
    expect(huge.status).toBe(413);
    expect(huge.json).toMatchObject({ error: expect.stringMatching(/larger than 64 bytes/) });
  });

  it('maps thrown errors to statuses: HttpError as given, domain errors as gRPC maps them, the rest 500', async () => {
    const errors: Record<string, Error> = {
      '/teapot': new HttpError(418, 'short and stout'),
      '/missing': new NotFoundError('worker "x" does not exist'),
      '/bad': new InvalidArgumentError('args must be JSON'),
      '/boom': new Error('secret internals'),
    };
    const url = await serve((req) => {
      throw errors[req.url ?? ''] ?? new Error('unexpected path');
    });
    expect(await post(`${url}/teapot`, '')).toEqual({ status: 418, json: { error: 'short and stout' } });
    expect((await post(`${url}/missing`, '')).status).toBe(404);
    expect((await post(`${url}/bad`, '')).status).toBe(400);
    const boom = await post(`${url}/boom`, '');
    expect(boom.status).toBe(500);
    expect(JSON.stringify(boom.json)).not.toContain('secret internals');
  });

  it('names the setting when the port is taken', async () => {
    const url = await serve(echo);
    const port = Number(new URL(url).port);
    await expect(
      startHttpListener({ setting: 'OTHER_ADDR', host: '127.0.0.1', port, handler: echo, logger }),
    ).rejects.toThrow(/127\.0\.0\.1:\d+ \(OTHER_ADDR\)/);
  });
});

describe('readBody', () => {
  it('answers 413 to a body of many megabytes sent without pause, rather than resetting the connection', async () => {
    const url = await serve(async (req, res) => sendJson(res, 200, { got: await readJson(req, 1024) }));
    const huge = await post(url, Buffer.alloc(8 * 1024 * 1024, 0x20));
    expect(huge.status).toBe(413);
    // the connection stays usable: the next request on a new socket works as well
    expect(await post(url, '{"ok":true}')).toEqual({ status: 200, json: { got: { ok: true } } });
  });
});

describe('startHttpListener over TLS', () => {
  let certs: TlsCerts;
  beforeAll(async () => {
    certs = await makeTlsCerts();
  }, 120_000);
  afterAll(() => certs.remove());

  const get = (url: string, options: RequestOptions): Promise<{ status: number; json: unknown }> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
      });
      req.on('error', reject);
      req.end();
    });
  const hello: HttpHandler = (_req, res) => sendJson(res, 200, { hello: 'tls' });

  it('serves HTTPS with the given certificate, and with a client CA refuses clients without a certificate', async () => {
    const cert = readFileSync(certs.serverCert);
    const key = readFileSync(certs.serverKey);
    const ca = readFileSync(certs.caCert);
    listener = await startHttpListener({
      setting: 'T',
      host: '127.0.0.1',
      port: 0,
      handler: hello,
      logger,
      tls: { cert, key },
    });
    expect(listener.url).toMatch(/^https:\/\//);
    expect(await get(listener.url, { ca })).toEqual({ status: 200, json: { hello: 'tls' } });
    await expect(get(listener.url, { ca: readFileSync(certs.otherCaCert) })).rejects.toThrow(/certificate/i);
    await listener.close();

    listener = await startHttpListener({
      setting: 'T',
      host: '127.0.0.1',
      port: 0,
      handler: hello,
      logger,
      tls: { cert, key, clientCa: ca },
    });
    await expect(get(listener.url, { ca })).rejects.toThrow();
    const withCert = { ca, cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) };
    expect(await get(listener.url, withCert)).toEqual({ status: 200, json: { hello: 'tls' } });
  });
});
