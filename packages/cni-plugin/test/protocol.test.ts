import { describe, expect, it } from 'vitest';
import { CniCode, CniError, asCniError } from '../src/cni/errors.js';
import { parseEnv, parseK8sArgs, validateIfName } from '../src/cni/env.js';
import { parseNetConf, podMtu, requiresMultiNic } from '../src/cni/netconf.js';
import { requireVersion, versionInfo } from '../src/cni/version.js';

function code(fn: () => unknown): { code: number; msg: string; details: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof CniError) return { code: e.code, msg: e.message, details: e.details };
    throw e;
  }
  throw new Error('expected a CniError');
}

const base = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'abc123',
  CNI_NETNS: '/var/run/netns/x',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
};

describe('parseEnv', () => {
  it('reads a full ADD environment', () => {
    const env = parseEnv({ ...base, CNI_ARGS: 'IgnoreUnknown=1', CNI_NETNS_OVERRIDE: 'TRUE' });
    expect(env).toEqual({
      command: 'ADD',
      containerId: 'abc123',
      netns: '/var/run/netns/x',
      ifName: 'eth0',
      args: 'IgnoreUnknown=1',
      path: '/opt/cni/bin',
      netnsOverride: true,
    });
  });
  it('returns undefined without CNI_COMMAND (banner mode)', () => {
    expect(parseEnv({})).toBeUndefined();
  });
  it('rejects an unknown command with code 4', () => {
    expect(code(() => parseEnv({ ...base, CNI_COMMAND: 'FOO' }))).toMatchObject({
      code: 4,
      msg: 'unknown CNI_COMMAND: FOO',
    });
  });
  it('missing container id is code 3, bad characters code 4', () => {
    expect(code(() => parseEnv({ ...base, CNI_CONTAINERID: '' }))).toMatchObject({
      code: 3,
      msg: 'missing containerID',
    });
    expect(code(() => parseEnv({ ...base, CNI_CONTAINERID: '-x/y' }))).toMatchObject({
      code: 4,
      msg: 'invalid characters in containerID',
      details: '-x/y',
    });
  });
  it('lists every missing variable', () => {
    expect(code(() => parseEnv({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'a' }))).toMatchObject({
      code: 4,
      msg: 'required env variables [CNI_NETNS,CNI_IFNAME,CNI_PATH] missing',
    });
  });
  it('DEL does not need CNI_NETNS; VERSION needs nothing', () => {
    expect(parseEnv({ ...base, CNI_COMMAND: 'DEL', CNI_NETNS: '' })?.netns).toBe('');
    expect(parseEnv({ CNI_COMMAND: 'VERSION' })?.command).toBe('VERSION');
    expect(parseEnv({ CNI_COMMAND: 'STATUS', CNI_PATH: '/x' })?.command).toBe('STATUS');
  });
  it('validates interface names', () => {
    expect(code(() => validateIfName('a'.repeat(16)))).toMatchObject({
      code: 4,
      msg: 'interface name is too long',
    });
    expect(code(() => validateIfName('..'))).toMatchObject({ msg: 'interface name is . or ..' });
    expect(code(() => validateIfName('a b'))).toMatchObject({
      msg: 'interface name contains / or : or whitespace characters',
    });
    expect(code(() => validateIfName(''))).toMatchObject({ msg: 'interface name is empty' });
    expect(() => validateIfName('a'.repeat(15))).not.toThrow();
    expect(code(() => parseEnv({ ...base, CNI_IFNAME: 'e:0' }))).toMatchObject({ code: 4 });
  });
});

describe('parseK8sArgs', () => {
  it('reads what containerd sends', () => {
    expect(
      parseK8sArgs(
        'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=nginx;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=u-1;X=y',
      ),
    ).toEqual({
      K8S_POD_NAME: 'nginx',
      K8S_POD_NAMESPACE: 'default',
      K8S_POD_INFRA_CONTAINER_ID: 'abc',
      K8S_POD_UID: 'u-1',
      IgnoreUnknown: true,
    });
  });
  it('empty args give empty strings', () => {
    expect(parseK8sArgs('').K8S_POD_NAME).toBe('');
  });
  it('rejects malformed pairs, bad booleans and unknown keys', () => {
    expect(code(() => parseK8sArgs('K8S_POD_NAME'))).toMatchObject({
      msg: 'ARGS: invalid pair "K8S_POD_NAME"',
    });
    expect(code(() => parseK8sArgs('a=b=c'))).toMatchObject({ msg: 'ARGS: invalid pair "a=b=c"' });
    expect(code(() => parseK8sArgs('IgnoreUnknown=yes'))).toMatchObject({
      msg: 'ARGS: error parsing value of pair "IgnoreUnknown=yes": boolean unmarshal error: invalid input yes',
    });
    expect(code(() => parseK8sArgs('X=1;Y=2'))).toMatchObject({
      code: 4,
      msg: 'ARGS: unknown args ["X=1" "Y=2"]',
    });
    expect(parseK8sArgs('X=1;IgnoreUnknown=TRUE').IgnoreUnknown).toBe(true);
  });
});

describe('parseNetConf', () => {
  const conf = (o: Record<string, unknown>) =>
    JSON.stringify({ cniVersion: '1.0.0', name: 'aws-cni', type: 'aws-cni', ...o });
  it('applies upstream defaults', () => {
    const c = parseNetConf(conf({}));
    expect(c).toMatchObject({
      cniVersion: '1.0.0',
      name: 'aws-cni',
      vethPrefix: 'eni',
      mtu: 9001,
      podSGEnforcingMode: 'strict',
      pluginLogLevel: 'debug',
      ipamdEndpoint: 'unix:///var/run/aws-node/ipamd.sock',
      ipamdTimeoutMs: 30000,
      npaEndpoint: 'unix:///var/run/aws-node/npa.sock',
      prevResult: undefined,
    });
  });
  it('reads every field', () => {
    const c = parseNetConf(
      conf({
        vethPrefix: '',
        mtu: '1500',
        podSGEnforcingMode: 'standard',
        pluginLogFile: '/tmp/p.log',
        pluginLogLevel: 'WARN',
        runtimeConfig: {
          'io.kubernetes.cri.pod-annotations': { 'k8s.amazonaws.com/nicConfig': 'multi-nic-attachment' },
        },
        prevResult: { cniVersion: '1.0.0', ips: [] },
        ipamdEndpoint: 'unix:///tmp/x.sock',
        ipamdTimeoutMs: 500,
        npaEndpoint: '/run/node-a/npa.sock',
      }),
    );
    expect(c).toMatchObject({
      vethPrefix: '',
      mtu: 1500,
      podSGEnforcingMode: 'standard',
      pluginLogFile: '/tmp/p.log',
      pluginLogLevel: 'warn',
      prevResult: { cniVersion: '1.0.0', ips: [] },
      ipamdEndpoint: 'unix:///tmp/x.sock',
      ipamdTimeoutMs: 500,
      npaEndpoint: '/run/node-a/npa.sock',
    });
    expect(requiresMultiNic(c)).toBe(true);
  });
  it('empty cniVersion means 0.1.0', () => {
    expect(parseNetConf(JSON.stringify({ name: 'n' })).cniVersion).toBe('0.1.0');
  });
  it.each([
    ['not json', '{', 6],
    ['an array', '[]', 6],
    ['missing name', JSON.stringify({ cniVersion: '1.0.0' }), 7],
    ['bad name', JSON.stringify({ name: 'a b' }), 7],
    ['unknown version', JSON.stringify({ name: 'n', cniVersion: '2.0.0' }), 1],
    ['long prefix', conf({ vethPrefix: 'abcde' }), 7],
    ['numeric mtu', conf({ mtu: 1500 }), 7],
    ['unknown SG mode', conf({ podSGEnforcingMode: 'loose' }), 7],
    ['non-object runtimeConfig', conf({ runtimeConfig: 3 }), 7],
    ['non-object annotations', conf({ runtimeConfig: { 'io.kubernetes.cri.pod-annotations': 'x' } }), 7],
    ['non-object prevResult', conf({ prevResult: 'x' }), 7],
    ['bad timeout', conf({ ipamdTimeoutMs: -1 }), 7],
    ['non-string name', JSON.stringify({ name: 3 }), 7],
  ])('rejects %s', (_what, stdin, c) => {
    expect(code(() => parseNetConf(stdin)).code).toBe(c);
  });
  it('the version error names the supported versions', () => {
    expect(code(() => requireVersion('0.5.0')).details).toBe(
      'config is "0.5.0", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"]',
    );
  });
  it('pod MTU falls back to 9001 outside [576, 9001]', () => {
    expect([podMtu('576'), podMtu('575'), podMtu('9002'), podMtu('abc'), podMtu(''), podMtu('1280')]).toEqual(
      [576, 9001, 9001, 9001, 9001, 1280],
    );
  });
});

describe('errors and VERSION', () => {
  it('prints the error object with cniVersion and optional details', () => {
    expect(new CniError(11, 'busy', 'retry').toJSON('1.0.0')).toEqual({
      cniVersion: '1.0.0',
      code: 11,
      msg: 'busy',
      details: 'retry',
    });
    expect(new CniError(7, 'x').toJSON('0.4.0')).toEqual({ cniVersion: '0.4.0', code: 7, msg: 'x' });
  });
  it('wraps foreign errors as 999 and keeps CNI codes', () => {
    expect(asCniError(new Error('boom'), 'add cmd')).toMatchObject({
      code: CniCode.Internal,
      message: 'add cmd: boom',
    });
    expect(asCniError(new CniError(4, 'bad'), 'p')).toMatchObject({ code: 4, message: 'p: bad' });
  });
  it('VERSION answer', () => {
    expect(JSON.stringify(versionInfo())).toBe(
      '{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}',
    );
  });
});
