/** HTTP plumbing shared by the API and control endpoints: body reading, JSON replies, signed replies. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { sign, type SignAlgorithm } from '../api/sign.js';
import type { SimEndpoint } from './types.js';

export function newId(): string {
  return randomUUID().replace(/-/g, '');
}

export interface BodyResult {
  text: string;
  tooLarge: boolean;
}

/** Reads the whole body; past `limit` it keeps draining (so the reply can still be sent) but drops the bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
      } else if (!tooLarge) {
        chunks.push(chunk);
      }
    });
    req.on('end', () => {
      done = true;
      resolve({ text: tooLarge ? '' : Buffer.concat(chunks).toString('utf8'), tooLarge });
    });
    req.on('error', (err) => {
      done = true;
      reject(err);
    });
    req.on('close', () => {
      if (!done) reject(new Error('request aborted'));
    });
  });
}

/** Control-endpoint body: empty -> {}; throws on oversize or bad JSON. */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const { text, tooLarge } = await readBody(req, limit);
  if (tooLarge) throw new Error('body too large');
  if (text.trim() === '') return {};
  return JSON.parse(text);
}

/** No-op once the response is committed or gone (a fault may have destroyed the socket). */
export function sendJson(
  res: ServerResponse,
  status: number,
  payload: unknown,
  extraHeaders: Record<string, string> = {},
): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  const body = JSON.stringify(payload);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    ...extraHeaders,
  });
  res.end(body);
}

/** Per-request reply parameters for signed API answers. */
export interface ReplyCtx {
  requestID: string;
  algorithm: SignAlgorithm;
  /** Set by the 'badsign' fault: the reply goes out with a corrupted signature. */
  badsign: boolean;
  endpoint: SimEndpoint;
}

export interface Signer {
  uuid: string;
  secret: string;
  nowSec: () => number;
}

/** Turns a valid signature into a wrong one of the same length. */
function corruptSign(s: string): string {
  if (s.length === 0) return '0';
  return (s[0] === '0' ? '1' : '0') + s.slice(1);
}

/** HTTP 200 with the platform's signed response headers. */
export function sendSigned(res: ServerResponse, signer: Signer, ctx: ReplyCtx, payload: Record<string, unknown>): void {
  const body = JSON.stringify(payload);
  const createTs = String(signer.nowSec());
  let s = sign(
    { secretKey: signer.secret, body, createTs, requestID: ctx.requestID, uuid: signer.uuid },
    ctx.algorithm,
  );
  if (ctx.badsign) s = corruptSign(s);
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  res.writeHead(200, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    requestID: ctx.requestID,
    uuid: signer.uuid,
    createTs,
    algorithm: ctx.algorithm,
    sign: s,
  });
  res.end(body);
}

/** retCode/retMsg error body; ping answers in its own shape (code/msg/reqId), so it gets both. */
export function errorPayload(
  ctx: Pick<ReplyCtx, 'endpoint'>,
  retCode: number,
  retMsg: string,
): Record<string, unknown> {
  const responseID = newId();
  const payload: Record<string, unknown> = { retCode, retMsg, responseID };
  if (ctx.endpoint === 'ping') Object.assign(payload, { code: retCode, msg: retMsg, reqId: responseID });
  return payload;
}
