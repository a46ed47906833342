import { describe, it, expect } from 'vitest';
import { sign, authRaw, parseAlgorithm, signaturesEqual } from '../../src/api/sign.js';

// Expected values computed independently with Python's hashlib over the documented raw string
// (secretKey&body=..&createTs=..&requestID=..&uuid=.., UTF-8, upper-case hex).
const VECTORS = [
  {
    input: {
      secretKey: 'u7Mf3zUNOkg4lMV9a0E6cHSgIkK22GSr',
      body: '{"productID": "callbot", "userTaskID": "task-1", "sceneID": "s1"}',
      createTs: '1732500000',
      requestID: '0f5c1b2a9d8e4f7a8b6c5d4e3f2a1b0c',
      uuid: 'Vh71ym3yQwWSYZFpqkFwTskGXUbSxDtR',
    },
    md5: '785AC2D8767584EED8AAB525C8B45221',
    sha256: '8F11E85A6E352B4BB5081ADBFC7B816C19AC710C56678D23FD8F18A051990DA5',
  },
  {
    input: { secretKey: 'secret', body: '{"data":"ping"}', createTs: '1700000000', requestID: 'abc', uuid: 'uuid-1' },
    md5: '84DFBB643C43F08A99F0F84277BC3C4F',
    sha256: '638A92A964ED676383696E7CF8AF9986AEA68DD4908D506F4615FE04FEE7AAAB',
  },
  {
    input: { secretKey: 'k€y', body: '{"taskName":"续费提醒"}', createTs: '1', requestID: 'r', uuid: 'u' },
    md5: 'B46352A12AEDEC561E0F11394316ED3F',
    sha256: '5C7BC9933C5030DDC4F8CA1A0FF4AD037DB32E92E31D05B105EA63BEF240B6D9',
  },
];

describe('request signing', () => {
  it.each(VECTORS)('matches the independent MD5 and SHA256 vectors ($input.uuid)', ({ input, md5, sha256 }) => {
    expect(sign(input, 'MD5')).toBe(md5);
    expect(sign(input)).toBe(md5);
    expect(sign(input, 'SHA256')).toBe(sha256);
  });

  it('builds the raw string with verbatim values in the documented order', () => {
    expect(authRaw({ secretKey: 'k', body: '{"a":"b&c=d"}', createTs: '1', requestID: 'r', uuid: 'u' })).toBe(
      'k&body={"a":"b&c=d"}&createTs=1&requestID=r&uuid=u',
    );
  });

  it('signs the exact bytes: a whitespace difference changes the sign', () => {
    const base = VECTORS[1].input;
    expect(sign({ ...base, body: '{"data": "ping"}' })).not.toBe(VECTORS[1].md5);
  });

  it('parses the algorithm header: empty means MD5, case-insensitive, others refused', () => {
    expect(parseAlgorithm(undefined)).toBe('MD5');
    expect(parseAlgorithm('')).toBe('MD5');
    expect(parseAlgorithm('sha256')).toBe('SHA256');
    expect(parseAlgorithm('SHA1')).toBeUndefined();
  });

  it('compares signatures exactly', () => {
    expect(signaturesEqual('ABC', 'ABC')).toBe(true);
    expect(signaturesEqual('ABC', 'ABD')).toBe(false);
    expect(signaturesEqual('ABC', 'ABCD')).toBe(false);
  });
});
