import { describe, expect, it } from 'vitest';
import { hasDuplicate } from './publisher.js';

const ack = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('publish acks', () => {
  it('tells a copy the stream dropped from a stored message, as the server writes either', () => {
    expect(hasDuplicate(ack('{"stream":"D","seq":1,"duplicate": true}'))).toBe(true);
    expect(hasDuplicate(ack('{"stream":"D","seq":1,"duplicate":true}'))).toBe(true);
    expect(hasDuplicate(ack('{"stream":"D","seq":1}'))).toBe(false);
    expect(hasDuplicate(ack('{"stream":"D","seq":1,"duplicate": false}'))).toBe(false);
  });
});
