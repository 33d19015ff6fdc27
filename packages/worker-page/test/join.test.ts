import { describe, expect, it } from 'vitest';
import { parsePageJoin } from '@gossamer/worker-page';

const good = {
  runId: 'r1',
  worker: 'w2',
  index: 2,
  servers: ['ws://127.0.0.1:8080'],
  configUrl: '/config.json',
  dataUrl: '/data.bin',
  eventsUrl: '/events/w2',
  resultUrl: '/result/w2',
  peerTimeoutMs: 3000,
  joinTimeoutMs: 120000,
};

describe('a worker page\'s join parameters', () => {
  it('are taken as given, credentials optional', () => {
    expect(parsePageJoin(good)).toEqual(good);
    expect(parsePageJoin({ ...good, credentials: 'SUAB' }).credentials).toBe('SUAB');
  });

  it('are refused naming the field: a TCP URL, a worker that is not w<index>, a missing URL, a bad timeout', () => {
    expect(() => parsePageJoin({ ...good, servers: ['nats://127.0.0.1:4222'] })).toThrow(/servers must be a list of ws:\/\/ or wss:\/\//);
    expect(() => parsePageJoin({ ...good, index: 1 })).toThrow(/worker w2 is not w1/);
    expect(() => parsePageJoin({ ...good, dataUrl: undefined })).toThrow(/dataUrl must be a URL/);
    expect(() => parsePageJoin({ ...good, peerTimeoutMs: 0 })).toThrow(/peerTimeoutMs/);
    expect(() => parsePageJoin([good])).toThrow(/one JSON object/);
  });
});
