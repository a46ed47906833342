/** Request authentication: required headers, uuid, algorithm, createTs window, signature, requestID replay. */
import type { IncomingMessage } from 'node:http';
import { sign, parseAlgorithm, signaturesEqual } from '../api/sign.js';
import { RetCode } from '../model/retcode.js';
import { RetCodeError } from './validate.js';

/** First value of a header (node lower-cases names; duplicates arrive as arrays). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  if (Array.isArray(v)) return v[0];
  return v;
}

export interface AuthConfig {
  uuid: string;
  secret: string;
  replayWindowSec: number;
  /** Clock in ms. */
  now: () => number;
}

/** Returns the RetCodeError to answer with, or undefined when the request is authentic. */
export type AuthChecker = (
  req: IncomingMessage,
  rawBody: string,
  algorithmHeader: string | undefined,
) => RetCodeError | undefined;

/**
 * Builds a checker that owns the replay memory. A requestID is recorded only once every
 * other check passed, so a rejected request does not burn its ID.
 */
export function createAuthChecker(cfg: AuthConfig): AuthChecker {
  const { uuid: simUuid, secret, replayWindowSec, now } = cfg;
  const seenRequestIDs = new Map<string, number>(); // requestID -> expiry (ms)
  let lastPrune = 0;

  return (req, rawBody, algorithmHeader) => {
    for (const h of ['uuid', 'requestID', 'createTs', 'sign']) {
      const v = header(req, h);
      if (v === undefined || v === '') {
        return new RetCodeError(RetCode.SignatureMissing, `signature missing: header ${h} absent`);
      }
    }
    const uuid = header(req, 'uuid')!;
    const requestID = header(req, 'requestID')!;
    const createTs = header(req, 'createTs')!;
    const reqSign = header(req, 'sign')!;
    if (uuid !== simUuid)
      return new RetCodeError(RetCode.AccountNotFound, `account does not exist: uuid "${uuid}" is unknown`);
    const algorithm = parseAlgorithm(algorithmHeader);
    if (algorithm === undefined) {
      return new RetCodeError(
        RetCode.ParameterFormat,
        `algorithm header "${algorithmHeader}" is not supported; use MD5 or SHA256`,
      );
    }
    const ts = /^\d{1,15}$/.test(createTs) ? Number(createTs) : NaN;
    if (!Number.isSafeInteger(ts)) {
      return new RetCodeError(
        RetCode.SignatureIncorrect,
        `createTs outside the allowed window: "${createTs}" is not integer Unix seconds`,
      );
    }
    const skew = ts - now() / 1000;
    if (Math.abs(skew) > replayWindowSec) {
      return new RetCodeError(
        RetCode.SignatureIncorrect,
        `createTs outside the allowed window: ${ts} is ${Math.round(Math.abs(skew))} s ${skew < 0 ? 'in the past' : 'in the future'} (allowed ±${replayWindowSec} s)`,
      );
    }
    const expected = sign({ secretKey: secret, body: rawBody, createTs, requestID, uuid }, algorithm);
    if (!signaturesEqual(expected, reqSign)) {
      return new RetCodeError(
        RetCode.SignatureIncorrect,
        `signature incorrect (${algorithm} over the raw body did not match)`,
      );
    }
    const t = now();
    // Prune at most once a second so a request burst doesn't rescan the map each time.
    if (t - lastPrune > 1000) {
      lastPrune = t;
      for (const [id, exp] of seenRequestIDs) if (exp <= t) seenRequestIDs.delete(id);
    }
    const exp = seenRequestIDs.get(requestID);
    if (exp !== undefined && exp > t) {
      return new RetCodeError(
        RetCode.SignatureIncorrect,
        `requestID reused (replay refused): "${requestID}" was already used`,
      );
    }
    // Remember past the whole createTs window (both sides) plus slack, so an ID can't be replayed while its createTs is still valid.
    seenRequestIDs.set(requestID, t + (2 * replayWindowSec + 60) * 1000);
    return undefined;
  };
}
