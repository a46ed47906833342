import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { request } from 'node:http';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { sign } from '../../src/api/sign.js';
import { call, nowSec, verifyResponse, seedCopy, type SimReply } from './helpers.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ seed: seedCopy(), uuid: 'test-uuid', secret: 'test-secret' });
});
afterAll(async () => {
  await sim.close();
});

const ping = { data: 'hello' };

describe('sim auth: accepted requests', () => {
  it('accepts MD5 (no algorithm header) and signs the response verifiably', async () => {
    const r = await call(sim, 'ping', ping, { requestID: 'rid-md5-1' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ data: 'hello', code: 0, msg: 'success' });
    expect(typeof r.json?.reqId).toBe('string');
    expect(r.headers.get('requestID')).toBe('rid-md5-1');
    expect(r.headers.get('uuid')).toBe('test-uuid');
    expect(r.headers.get('algorithm')).toBe('MD5');
    expect(r.headers.get('sign')).toMatch(/^[0-9A-F]{32}$/);
    expect(Math.abs(Number(r.headers.get('createTs')) - Date.now() / 1000)).toBeLessThan(5);
    // recompute the response signature by hand
    const expected = sign(
      {
        secretKey: 'test-secret',
        body: r.text,
        createTs: r.headers.get('createTs')!,
        requestID: 'rid-md5-1',
        uuid: 'test-uuid',
      },
      'MD5',
    );
    expect(r.headers.get('sign')).toBe(expected);
  });

  it('accepts SHA256 and answers with a SHA256 signature', async () => {
    const r = await call(sim, 'ping', ping, { algorithm: 'SHA256' });
    expect(r.json?.code).toBe(0);
    expect(r.headers.get('algorithm')).toBe('SHA256');
    expect(r.headers.get('sign')).toMatch(/^[0-9A-F]{64}$/);
    expect(r.verified).toBe(true);
  });

  it('algorithm is case-insensitive and empty means MD5', async () => {
    const a = await call(sim, 'ping', ping, { algorithm: 'sha256' });
    expect(a.json?.code).toBe(0);
    const b = await call(sim, 'ping', ping, { algorithm: '' });
    expect(b.json?.code).toBe(0);
    expect(b.headers.get('algorithm')).toBe('MD5');
  });

  it('accepts the requestId spelling of the sample script', async () => {
    const r = await call(sim, 'ping', ping, { requestIdHeader: 'requestId', requestID: 'rid-spelling' });
    expect(r.json?.code).toBe(0);
    expect(r.headers.get('requestID')).toBe('rid-spelling');
    expect(r.verified).toBe(true);
  });

  it('signs over the exact raw body bytes (whitespace, non-ASCII)', async () => {
    const raw = '{ "data" : "héllo ☎",   "x": 1 }';
    const r = await call(sim, 'ping', raw);
    expect(r.json).toMatchObject({ code: 0, data: 'héllo ☎' });
    expect(r.verified).toBe(true);
  });
});

describe('sim auth: refused requests', () => {
  for (const h of ['uuid', 'requestID', 'createTs', 'sign']) {
    it(`missing ${h} header -> 6001`, async () => {
      const before = sim.stats().authFailures;
      const r = await call(sim, 'ping', ping, { omit: [h] });
      expect(r.status).toBe(200);
      expect(r.json?.retCode).toBe(6001);
      expect(r.json?.retMsg).toBe(`signature missing: header ${h} absent`);
      expect(typeof r.json?.responseID).toBe('string');
      expect(r.verified).toBe(true);
      expect(sim.stats().authFailures).toBe(before + 1);
    });
  }

  it('generates a requestID for the response when the request had none', async () => {
    const r = await call(sim, 'listTask', {}, { omit: ['requestID'] });
    expect(r.json?.retCode).toBe(6001);
    expect(r.headers.get('requestID')).toMatch(/^[0-9a-f]{32}$/);
    expect(r.verified).toBe(true);
  });

  it('unknown uuid -> 6002', async () => {
    const r = await call(sim, 'ping', ping, { uuid: 'someone-else' });
    expect(r.json?.retCode).toBe(6002);
    expect(r.json?.retMsg).toMatch(/account does not exist/);
    expect(r.headers.get('uuid')).toBe('test-uuid');
    expect(r.verified).toBe(true);
  });

  it('unsupported algorithm -> 3, answered with MD5', async () => {
    const r = await call(sim, 'ping', ping, { algorithm: 'SHA1' });
    expect(r.json?.retCode).toBe(3);
    expect(r.json?.retMsg).toMatch(/algorithm header "SHA1" is not supported/);
    expect(r.headers.get('algorithm')).toBe('MD5');
    expect(r.verified).toBe(true);
  });

  it('stale, future, millisecond and non-integer createTs -> 6 outside window', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const ts of [String(now - 1000), String(now + 1000), String(Date.now()), `${now}.5`, 'abc', '-5']) {
      const r = await call(sim, 'ping', ping, { createTs: ts });
      expect(r.json?.retCode, ts).toBe(6);
      expect(r.json?.retMsg, ts).toMatch(/^createTs outside the allowed window/);
    }
    // just inside the window is fine
    const ok = await call(sim, 'ping', ping, { createTs: String(now - 250) });
    expect(ok.json?.code).toBe(0);
  });

  it('wrong secret or tampered body -> 6 signature incorrect', async () => {
    const a = await call(sim, 'ping', ping, { secret: 'wrong' });
    expect(a.json?.retCode).toBe(6);
    expect(a.json?.retMsg).toMatch(/^signature incorrect/);
    const b = await call(sim, 'ping', ping, { signedBody: JSON.stringify({ data: 'other' }) });
    expect(b.json?.retCode).toBe(6);
    expect(b.json?.retMsg).toMatch(/^signature incorrect/);
    // lower-case hex is not the documented format
    const createTs = nowSec();
    const s = sign({
      secretKey: 'test-secret',
      body: JSON.stringify(ping),
      createTs,
      requestID: 'rid-lc',
      uuid: 'test-uuid',
    });
    const c = await call(sim, 'ping', ping, { createTs, requestID: 'rid-lc', signOverride: s.toLowerCase() });
    expect(c.json?.retCode).toBe(6);
  });

  it('replayed requestID -> 6 requestID reused', async () => {
    const createTs = nowSec();
    const first = await call(sim, 'ping', ping, { requestID: 'rid-replay', createTs });
    expect(first.json?.code).toBe(0);
    const second = await call(sim, 'ping', ping, { requestID: 'rid-replay', createTs });
    expect(second.json?.retCode).toBe(6);
    expect(second.json?.retMsg).toMatch(/^requestID reused \(replay refused\)/);
  });

  it('a failed signature does not burn the requestID', async () => {
    const bad = await call(sim, 'ping', ping, { requestID: 'rid-burn', secret: 'nope' });
    expect(bad.json?.retCode).toBe(6);
    const good = await call(sim, 'ping', ping, { requestID: 'rid-burn' });
    expect(good.json?.code).toBe(0);
  });

  it('auth failures are counted and do not touch tasks', async () => {
    const before = sim.stats().authFailures;
    const r = await call(
      sim,
      'mgrTaskStatus',
      { productID: 'callbot', userTaskID: 'task-a', taskOperate: 1 },
      { secret: 'wrong' },
    );
    expect(r.json?.retCode).toBe(6);
    expect(sim.tasks.get('task-a')!.taskStatus).toBe(1);
    expect(sim.stats().authFailures).toBe(before + 1);
  });

  it('replay window honours an injected clock and replayWindowSec', async () => {
    let clock = 1_700_000_000_000;
    const s2 = await startSimulator({ now: () => clock, replayWindowSec: 10 });
    try {
      const ok = await call(s2, 'ping', ping, { createTs: '1700000005' });
      expect(ok.json?.code).toBe(0);
      expect(ok.headers.get('createTs')).toBe('1700000000');
      expect(ok.json?.timestamp).toBe(1700000000);
      const early = await call(s2, 'ping', ping, { createTs: '1700000030' });
      expect(early.json?.retCode).toBe(6);
      expect(early.json?.retMsg).toMatch(/30 s in the future \(allowed ±10 s\)/);
      clock += 25_000;
      const later = await call(s2, 'ping', ping, { createTs: '1700000030' });
      expect(later.json?.code).toBe(0);
      const stale = await call(s2, 'ping', ping, { createTs: '1700000005' });
      expect(stale.json?.retMsg).toMatch(/20 s in the past/);
    } finally {
      await s2.close();
    }
  });

  it('headers are matched case-insensitively on the wire (raw node:http, odd casing)', async () => {
    const body = JSON.stringify(ping);
    const createTs = nowSec();
    const s = sign({ secretKey: 'test-secret', body, createTs, requestID: 'rid-raw', uuid: 'test-uuid' }, 'SHA256');
    const u = new URL(sim.url);
    const result = await new Promise<{ text: string; headers: Record<string, string> }>((resolve, reject) => {
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          method: 'POST',
          path: '/callcentre/api/v3/ping',
          headers: {
            UUID: 'test-uuid',
            REQUESTID: 'rid-raw',
            CreateTS: createTs,
            Sign: s,
            ALGORITHM: 'Sha256',
            'Content-Type': 'application/json',
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ text, headers: res.headers as Record<string, string> }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect((JSON.parse(result.text) as SimReply).code).toBe(0);
    expect(verifyResponse(sim, new Headers(result.headers), result.text)).toBe(true);
  });
});

describe('sim auth: property and concurrency', () => {
  it('any string payload round-trips with valid request and response signatures', async () => {
    const fc = await import('fast-check');
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc.constantFrom('MD5', 'SHA256'),
        async (data, alg) => {
          const r = await call(sim, 'ping', { data }, { algorithm: alg });
          expect(r.json?.code).toBe(0);
          expect(r.json?.data).toBe(data);
          expect(r.verified).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('handles many concurrent signed requests', async () => {
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => call(sim, 'ping', { data: `c${i}` })));
    expect(results.every((r, i) => r.json?.data === `c${i}` && r.verified)).toBe(true);
  });
});
