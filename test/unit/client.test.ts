import { readRemoteTasks } from '../../src/remote/statuses.js';
import { describe, it, expect } from 'vitest';
import { NxCloudClient, NetworkError, type HttpPost, type HttpResponse } from '../../src/api/client.js';
import { sign } from '../../src/api/sign.js';
import { ApiError } from '../../src/api/errors.js';

const SECRET = 'test-secret';
const UUID = 'test-uuid';

/** A fake server: answers each attempt with the next scripted reply, signed unless told otherwise. */
function scripted(replies: Array<{ status?: number; body?: object; network?: boolean; badSign?: boolean; unsigned?: boolean }>) {
  const requests: Array<{ url: string; headers: Record<string, string>; body: string }> = [];
  const transport: HttpPost = async (url, req) => {
    requests.push({ url, headers: req.headers, body: req.body });
    const reply = replies[Math.min(requests.length - 1, replies.length - 1)]!;
    if (reply.network) throw new NetworkError('socket hang up', 'ECONNRESET');
    const body = JSON.stringify(reply.body ?? { retCode: 0, retMsg: 'ok' });
    const createTs = '1700000000';
    const headers: HttpResponse['headers'] = { requestid: req.headers.requestID, uuid: UUID, createts: createTs };
    if (!reply.unsigned) {
      const s = sign({ secretKey: SECRET, body, createTs, requestID: req.headers.requestID!, uuid: UUID }, 'MD5');
      headers.sign = reply.badSign ? s.replace(/^./, s[0] === 'A' ? 'B' : 'A') : s;
    }
    return { statusCode: reply.status ?? 200, headers, body };
  };
  return { transport, requests };
}

function client(transport: HttpPost, sleeps: number[] = [], retries = 3) {
  return new NxCloudClient({
    endpoint: 'http://nx.test',
    uuid: UUID,
    secretKey: SECRET,
    algorithm: 'MD5',
    timeoutMs: 1000,
    retries,
    transport,
    now: () => 1_700_000_000_000,
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
  });
}

const payload = { productID: 'callbot' as const, userTaskID: 'a', sceneID: 's', taskCreateSetting: { maxCall: 2 } };

describe('NxCloudClient', () => {
  it('signs the exact bytes it sends, with the documented headers', async () => {
    const { transport, requests } = scripted([{}]);
    await client(transport).updateTask(payload);
    const r = requests[0]!;
    expect(r.url).toBe('http://nx.test/callcentre/api/v3/updateTask');
    expect(r.body).toBe(JSON.stringify(payload));
    expect(r.headers).toMatchObject({ uuid: UUID, createTs: '1700000000', algorithm: 'MD5' });
    expect(r.headers.requestID).toMatch(/^[0-9a-f]{32}$/);
    expect(r.headers.sign).toBe(sign({ secretKey: SECRET, body: r.body, createTs: '1700000000', requestID: r.headers.requestID!, uuid: UUID }, 'MD5'));
  });

  it('retries network errors, 5xx and 429 with backoff and a fresh requestID per attempt', async () => {
    const sleeps: number[] = [];
    const { transport, requests } = scripted([{ network: true }, { status: 503 }, { status: 429 }, {}]);
    await client(transport, sleeps).updateTask(payload);
    expect(requests).toHaveLength(4);
    expect(new Set(requests.map((r) => r.headers.requestID)).size).toBe(4);
    expect(sleeps).toEqual([150, 300, 600]); // 200·2^n scaled by the injected jitter 0.75
  });

  it('gives up after the configured retries with a typed error', async () => {
    const { transport, requests } = scripted([{ status: 500 }]);
    const err = await client(transport, [], 2).updateTask(payload).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.kind).toBe('http');
    expect(err.details.attempts).toBe(3);
    expect(requests).toHaveLength(3);
  });

  it('does not retry a non-transient retCode, and does retry "system busy" (7)', async () => {
    const failing = scripted([{ body: { retCode: 1, retMsg: 'task status 2 cannot be modified' } }]);
    const err = await client(failing.transport).updateTask(payload).catch((e) => e);
    expect(err.message).toBe('updateTask: retCode 1: task status 2 cannot be modified');
    expect(failing.requests).toHaveLength(1);
    const busy = scripted([{ body: { retCode: 7, retMsg: 'busy' } }, {}]);
    await client(busy.transport).updateTask(payload);
    expect(busy.requests).toHaveLength(2);
  });

  it('never trusts a response whose signature does not verify, and does not retry it', async () => {
    for (const reply of [{ badSign: true }, { unsigned: true }]) {
      const { transport, requests } = scripted([reply]);
      const err = await client(transport).updateTask(payload).catch((e) => e);
      expect(err.kind).toBe('signature');
      expect(err.message).toMatch(/^updateTask: response (signature does not verify|is not signed)/);
      expect(requests).toHaveLength(1);
    }
  });

  it('explains an auth refusal even when the refusal itself cannot be verified', async () => {
    const { transport } = scripted([{ body: { retCode: 6, retMsg: 'signature incorrect' }, badSign: true }]);
    const err = await client(transport).updateTask(payload).catch((e) => e);
    expect(err.kind).toBe('auth');
    expect(err.hint).toMatch(/NXCLOUD_SECRET_KEY/);
  });

  it('reads statuses in batches of 100 ids, following pages by total', async () => {
    const ids = Array.from({ length: 250 }, (_, i) => `t${i}`);
    const seen: string[][] = [];
    const transport: HttpPost = async (url, req) => {
      const body = JSON.parse(req.body);
      seen.push(body.queryConditions.userTaskID);
      const data = body.queryConditions.userTaskID.map((id: string) => ({ userTaskID: id, taskID: id, sceneID: 's', taskStatus: 1, createTs: 0 }));
      const text = JSON.stringify({ retCode: 0, retMsg: 'ok', total: data.length, taskData: data });
      const createTs = '1';
      return { statusCode: 200, headers: { requestid: req.headers.requestID, uuid: UUID, createts: createTs, sign: sign({ secretKey: SECRET, body: text, createTs, requestID: req.headers.requestID!, uuid: UUID }) }, body: text };
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
      const res = await post(`http://127.0.0.1:${port}/x`, { headers: { uuid: 'u', requestID: 'r', createTs: '1', algorithm: 'MD5', sign: 'S' }, body: '{}', timeoutMs: 2000 });
      expect(res.statusCode).toBe(200);
      expect(names).toEqual(expect.arrayContaining(['uuid', 'requestID', 'createTs', 'algorithm', 'sign']));
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
