// The vpc.amazonaws.com/pod-eni annotation as the resource controller writes it
// (docs/architecture.md#security-groups-for-pods).
import { describe, expect, it } from 'vitest';
import { PodEniParseError, parsePodEniAnnotation } from './pod-eni.js';

const sample =
  '[{"eniId":"eni-0b1","ifAddress":"02:4f:aa:bb:cc:dd","privateIp":"10.0.40.17","ipv6Addr":"","vlanId":3,' +
  '"subnetCidr":"10.0.32.0/19","subnetV6Cidr":"","associationID":"trunk-assoc-0a"}]';

describe('parsePodEniAnnotation', () => {
  it('reads every field of the controller format', () => {
    expect(parsePodEniAnnotation(sample)).toEqual([
      {
        eniId: 'eni-0b1',
        ifAddress: '02:4f:aa:bb:cc:dd',
        privateIp: '10.0.40.17',
        ipv6Addr: '',
        vlanId: 3,
        subnetCidr: '10.0.32.0/19',
        subnetV6Cidr: '',
        associationId: 'trunk-assoc-0a',
      },
    ]);
  });
  it('matches keys case-insensitively (vlanId, vlanID, VLANID) and ignores unknown ones', () => {
    for (const key of ['vlanId', 'vlanID', 'VLANID']) {
      const [d] = parsePodEniAnnotation(`[{"${key}":7,"PrivateIP":"10.0.0.9","extra":true}]`);
      expect(d).toMatchObject({ vlanId: 7, privateIp: '10.0.0.9' });
    }
  });
  it('names what is wrong with a bad annotation', () => {
    expect(() => parsePodEniAnnotation('{')).toThrow(PodEniParseError);
    expect(() => parsePodEniAnnotation('{"vlanId":1}')).toThrow(/not a JSON array/);
    expect(() => parsePodEniAnnotation('[1]')).toThrow(/\[0\] is not an object/);
    expect(() => parsePodEniAnnotation('[{"vlanId":"3"}]')).toThrow(/vlanId is not an integer/);
    expect(() => parsePodEniAnnotation('[{"privateIp":5}]')).toThrow(/privateIp is not a string/);
    expect(parsePodEniAnnotation('[]')).toEqual([]);
  });
});
