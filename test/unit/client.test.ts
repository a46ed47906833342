import { readRemoteTasks } from '../../src/remote/statuses.js';
import { describe, it, expect } from 'vitest';
import {
  NxCloudClient,
  NetworkError,
  type ClientOptions,
  type GateOutcome,
  type HttpPost,
  type HttpResponse,
} from '../../src/api/client.js';
import { sign } from '../../src/api/sign.js';
import { ApiError } from '../../src/api/errors.js';
import type { ListTaskRequest } from '../../src/api/wire.js';

/** For a call that must fail: reaching this fails the test. */
const unexpected = (): never => {
  throw new Error('expected the call to fail');
};

const SECRET = 'test-secret';
const UUID = 'test-uuid';

/** A fake server: answers each attempt with the next scripted reply, signed unless told otherwise. */
function scripted(
  replies: Array<{
    status?: number;
    body?: object;
    network?: boolean;
    badSign?: boolean;
    unsigned?: boolean;
    headers?: Record<string, string>;
  }>,
) {
  const requests: Array<{ url: string; headers: Record<string, string>; body: string }> = [];
  const transport: HttpPost = async (url, req) => {
    requests.push({ url, headers: req.headers, body: req.body });
    const reply = replies[Math.min(requests.length - 1, replies.length - 1)];
    if (reply.network) throw new NetworkError('socket hang up', 'ECONNRESET');
    const body = JSON.stringify(reply.body ?? { retCode: 0, retMsg: 'ok' });
    const createTs = '1700000000';
    const headers: HttpResponse['headers'] = {
      requestid: req.headers.requestID,
      uuid: UUID,
      createts: createTs,
      ...reply.headers,
    };
    if (!reply.unsigned) {
      const s = sign({ secretKey: SECRET, body, createTs, requestID: req.headers.requestID, uuid: UUID }, 'MD5');
      headers.sign = reply.badSign ? s.replace(/^./, s[0] === 'A' ? 'B' : 'A') : s;
    }
    return { statusCode: reply.status ?? 200, headers, body };
  };
  return { transport, requests };
}

function client(transport: HttpPost, sleeps: number[] = [], retries = 3, extra: Partial<ClientOptions> = {}) {
  let clock = 1_700_000_000_000;
  return new NxCloudClient({
    endpoint: 'http://nx.test',
    uuid: UUID,
    secretKey: SECRET,
    algorithm: 'MD5',
    timeoutMs: 1000,
    retries,
    transport,
    now: () => clock,
    // The injected sleep moves the clock: "over X s" in messages is exact, and nothing waits.
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    random: () => 0.5,
    ...extra,
  });
}

const payload = { productID: 'callbot' as const, userTaskID: 'a', sceneID: 's', taskCreateSetting: { maxCall: 2 } };

describe('NxCloudClient', () => {
  it('signs the exact bytes it sends, with the documented headers', async () => {
    const { transport, requests } = scripted([{}]);
    await client(transport).updateTask(payload);
    const r = requests[0];
    expect(r.url).toBe('http://nx.test/callcentre/api/v3/updateTask');
    expect(r.body).toBe(JSON.stringify(payload));
    expect(r.headers).toMatchObject({ uuid: UUID, createTs: '1700000000', algorithm: 'MD5' });
    expect(r.headers.requestID).toMatch(/^[0-9a-f]{32}$/);
    expect(r.headers.sign).toBe(
      sign(
        { secretKey: SECRET, body: r.body, createTs: '1700000000', requestID: r.headers.requestID, uuid: UUID },
        'MD5',
      ),
    );
  });

  it('retries network errors and 5xx with backoff and a fresh requestID per attempt', async () => {
    const sleeps: number[] = [];
    const { transport, requests } = scripted([{ network: true }, { status: 503 }, { status: 500 }, {}]);
    await client(transport, sleeps).updateTask(payload);
    expect(requests).toHaveLength(4);
    expect(new Set(requests.map((r) => r.headers.requestID)).size).toBe(4);
    expect(sleeps).toEqual([150, 300, 600]); // 200·2^n scaled by the injected jitter 0.75
  });

  it('gives up after the configured retries with a typed error', async () => {
    const { transport, requests } = scripted([{ status: 500 }]);
    const err = await client(transport, [], 2)
      .updateTask(payload)
      .then(unexpected, (e: unknown) => e as ApiError);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.kind).toBe('http');
    expect(err.details.attempts).toBe(3);
    expect(requests).toHaveLength(3);
  });

  it('a 503 that outlasts the retries says how many attempts over how long, and what to do', async () => {
    const { transport } = scripted([{ status: 503 }]);
    const err = await client(transport, [], 3)
      .listTaskPages({ userTaskID: ['a'] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    // Backoffs 150 + 300 + 600 ms on the injected clock.
    expect((err as ApiError).message).toBe('listTask: HTTP 503, still failing after 4 attempts over 1.1 s');
    expect((err as ApiError).details).toMatchObject({ statusCode: 503, attempts: 4 });
    expect((err as ApiError).hint).toMatch(/try again in a few minutes.*"retries" \(now 3\)/);
  });

  it('a final (not retried) failure is not reported as retries spent', async () => {
    const { transport } = scripted([{ status: 404 }]);
    const err = (await client(transport)
      .updateTask(payload)
      .catch((e: unknown) => e)) as ApiError;
    expect(err.message).toBe('updateTask: unexpected HTTP 404');
  });

  it("escapes control characters of the server's retMsg in the error it words (the value itself is kept)", async () => {
    const hostile = scripted([{ body: { retCode: 1, retMsg: 'gone\u001b[2J\nfake: ok' } }]);
    const err = await client(hostile.transport)
      .updateTask(payload)
      .then(unexpected, (e: unknown) => e as ApiError);
    expect(err.message).toBe('updateTask: retCode 1: gone\\u001b[2J\\u000afake: ok');
    expect(err.details.retMsg).toBe('gone\u001b[2J\nfake: ok');
  });

  it('--debug shows a response body with its control characters escaped', async () => {
    const lines: string[] = [];
    const transport: HttpPost = async () => ({ statusCode: 502, headers: {}, body: '<h1>bad\u001b[2Jgateway</h1>' });
    await client(transport, [], 0, { debug: (line) => lines.push(line) })
      .updateTask(payload)
      .then(unexpected, () => undefined);
    const response = lines.find((l) => l.includes('HTTP 502'));
    expect(response).toContain('body=<h1>bad\\u001b[2Jgateway</h1>');
    expect(lines.join('\n')).not.toContain('\u001b');
  });

  it('does not retry a non-transient retCode, and does retry "system busy" (7)', async () => {
    const failing = scripted([{ body: { retCode: 1, retMsg: 'task status 2 cannot be modified' } }]);
    const err = await client(failing.transport)
      .updateTask(payload)
      .then(unexpected, (e: unknown) => e as ApiError);
    expect(err.message).toBe('updateTask: retCode 1: task status 2 cannot be modified');
    expect(failing.requests).toHaveLength(1);
    const busy = scripted([{ body: { retCode: 7, retMsg: 'busy' } }, {}]);
    await client(busy.transport).updateTask(payload);
    expect(busy.requests).toHaveLength(2);
  });

  describe('throttling (HTTP 429, retCode 7)', () => {
    const throttled429 = (headers: Record<string, string> = {}) => ({
      status: 429,
      unsigned: true,
      body: { error: 'rate limit' },
      headers,
    });
    const busy = { body: { retCode: 7, retMsg: 'system busy' } };

    it('honours Retry-After-Ms, then Retry-After, else backs off; never uses the failure retries', async () => {
      const sleeps: number[] = [];
      const { transport, requests } = scripted([
        throttled429({ 'retry-after': '1', 'retry-after-ms': '12' }),
        throttled429({ 'retry-after': '2' }),
        busy,
        busy,
        {},
      ]);
      const c = client(transport, sleeps, 0); // retries: 0, yet four throttles are retried
      await c.updateTask(payload);
      expect(requests).toHaveLength(5);
      expect(sleeps).toEqual([12, 2000, 600, 1200]); // without a hint: 200·2^n × 0.75, n = throttles so far
      expect(c.traffic()).toEqual({ calls: 5, throttled: 4 });
    });

    it('keeps the two budgets apart: throttles do not count against retries, failures not against throttleRetries', async () => {
      const { transport, requests } = scripted([busy, { status: 503 }, busy, { network: true }, busy, {}]);
      await client(transport, [], 2, { throttleRetries: 3 }).updateTask(payload);
      expect(requests).toHaveLength(6);
    });

    it('fails once the throttle budget is spent, saying the API kept throttling', async () => {
      const sleeps: number[] = [];
      const { transport, requests } = scripted([throttled429({ 'retry-after': '3' })]);
      const err = await client(transport, sleeps, 3, { throttleRetries: 4 })
        .updateTask(payload)
        .then(unexpected, (e: unknown) => e as ApiError);
      expect(requests).toHaveLength(5);
      expect(err).toBeInstanceOf(ApiError);
      expect(err.kind).toBe('throttled');
      expect(err.message).toBe('updateTask: the API kept throttling (5 throttled answers over 12.0 s)');
      expect(err.details).toMatchObject({ statusCode: 429, attempts: 5 });
      expect(err.hint).toMatch(/rateLimit/);
    });

    it('a retCode 7 that runs the budget out keeps its retCode; throttleRetries 0 fails at the first', async () => {
      const { transport, requests } = scripted([busy]);
      const err = await client(transport, [], 3, { throttleRetries: 0 })
        .updateTask(payload)
        .then(unexpected, (e: unknown) => e as ApiError);
      expect(requests).toHaveLength(1);
      expect(err.message).toBe('updateTask: the API kept throttling (1 throttled answer over 0.0 s)');
      expect(err.details).toMatchObject({ retCode: 7, attempts: 1 });
    });

    it('an unverified retCode 7 is not a throttle: the answer is not trusted', async () => {
      const { transport, requests } = scripted([{ ...busy, badSign: true }]);
      const err = await client(transport)
        .updateTask(payload)
        .then(unexpected, (e: unknown) => e as ApiError);
      expect(err.kind).toBe('signature');
      expect(requests).toHaveLength(1);
    });

    it('takes a permit from the gate before each attempt and settles it with how it ended', async () => {
      const events: string[] = [];
      const gate = {
        acquire: async () => {
          events.push('acquire');
          return {
            settle: (o: GateOutcome) =>
              void events.push(o.kind === 'throttled' ? `throttled ${o.retryAfterMs}` : o.kind),
          };
        },
        describe: () => 'test gate',
      };
      const { transport } = scripted([throttled429({ 'retry-after-ms': '7' }), busy, { status: 500 }, {}]);
      const debug: string[] = [];
      await client(transport, [], 3, { gate, debug: (l) => debug.push(l) }).updateTask(payload);
      expect(events).toEqual([
        'acquire',
        'throttled 7',
        'acquire',
        'throttled null',
        'acquire',
        'failed',
        'acquire',
        'accepted',
      ]);
      expect(debug.filter((l) => l.startsWith('→ POST')).every((l) => l.endsWith('[test gate]'))).toBe(true);
      expect(debug).toContain(
        'throttled: updateTask: HTTP 429; retry in 7 ms (Retry-After) (throttled 1/20; test gate)',
      );
    });

    it('settles a permit whose attempt got no answer as failed', async () => {
      const settled: string[] = [];
      const gate = {
        acquire: async () => ({ settle: (o: GateOutcome) => void settled.push(o.kind) }),
        describe: () => '',
      };
      const { transport } = scripted([{ network: true }]);
      await expect(client(transport, [], 1, { gate }).updateTask(payload)).rejects.toThrow(/network error/);
      expect(settled).toEqual(['failed', 'failed']);
    });
  });

  it('never trusts a response whose signature does not verify, and does not retry it', async () => {
    for (const reply of [{ badSign: true }, { unsigned: true }]) {
      const { transport, requests } = scripted([reply]);
      const err = await client(transport)
        .updateTask(payload)
        .then(unexpected, (e: unknown) => e as ApiError);
      expect(err.kind).toBe('signature');
      expect(err.message).toMatch(/^updateTask: response (signature does not verify|is not signed)/);
      expect(requests).toHaveLength(1);
    }
  });

  it('explains an auth refusal even when the refusal itself cannot be verified', async () => {
    const { transport } = scripted([{ body: { retCode: 6, retMsg: 'signature incorrect' }, badSign: true }]);
    const err = await client(transport)
      .updateTask(payload)
      .then(unexpected, (e: unknown) => e as ApiError);
    expect(err.kind).toBe('auth');
    expect(err.hint).toMatch(/NXCLOUD_SECRET_KEY/);
  });

  it('reads statuses in batches of 100 ids, following pages by total', async () => {
    const ids = Array.from({ length: 250 }, (_, i) => `t${i}`);
    const seen: string[][] = [];
    const transport: HttpPost = async (url, req) => {
      const body = JSON.parse(req.body) as ListTaskRequest;
      seen.push(body.queryConditions.userTaskID ?? []);
      const data = (body.queryConditions.userTaskID ?? []).map((id) => ({
        userTaskID: id,
        taskID: id,
        sceneID: 's',
        taskStatus: 1,
        createTs: 0,
      }));
      const text = JSON.stringify({ retCode: 0, retMsg: 'ok', total: data.length, taskData: data });
      const createTs = '1';
      return {
        statusCode: 200,
        headers: {
          requestid: req.headers.requestID,
          uuid: UUID,
          createts: createTs,
          sign: sign({ secretKey: SECRET, body: text, createTs, requestID: req.headers.requestID, uuid: UUID }),
        },
        body: text,
      };
    };
    const map = await readRemoteTasks(client(transport), ids, 4);
    expect(seen.map((s) => s.length)).toEqual([100, 100, 50]);
    expect(map.size).toBe(250);
  });
});

describe('gotTransport', () => {
  it('sends the signature headers in their documented case (requestID, createTs)', async () => {
    const http = await import('node:http');
    const { gotTransport } = await import('../../src/api/client.js');
    let names: string[] = [];
    const server = http.createServer((req, res) => {
      names = req.rawHeaders.filter((_, i) => i % 2 === 0);
      res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const post = await gotTransport(2);
      const res = await post(`http://127.0.0.1:${port}/x`, {
        headers: { uuid: 'u', requestID: 'r', createTs: '1', algorithm: 'MD5', sign: 'S' },
        body: '{}',
        timeoutMs: 2000,
      });
      expect(res.statusCode).toBe(200);
      expect(names).toEqual(expect.arrayContaining(['uuid', 'requestID', 'createTs', 'algorithm', 'sign']));
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('debug masking', () => {
  it('masks phone-like numbers but leaves times readable', async () => {
    const { maskPhones } = await import('../../src/model/redact.js');
    expect(
      maskPhones(
        '{"phone":"13812345678","createTs":1764936000123,"timestamp": 1764936000,"startupAt":1764936000,"n":13812345678}',
      ),
    ).toBe(
      '{"phone":"*******5678","createTs":1764936000123,"timestamp": 1764936000,"startupAt":1764936000,"n":*******5678}',
    );
  });
});
