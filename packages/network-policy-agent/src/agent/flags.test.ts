import { describe, expect, it } from 'vitest';
import { FlagError, parseFlags } from './flags.js';

describe('aws-network-policy-agent flags', () => {
  it("upstream's defaults", () => {
    expect(parseFlags([])).toMatchObject({
      enableNetworkPolicy: false,
      enableIpv6: false,
      enablePolicyEventLogs: false,
      enableCloudwatchLogs: false,
      logLevel: 'debug',
      logFile: '/var/log/aws-routed-eni/network-policy-agent.log',
      logFileMaxSizeMb: 200,
      logFileMaxBackups: 8,
      conntrackCacheCleanupPeriodS: 300,
      conntrackCacheTableSize: 524288,
      metricsBindAddr: ':8162',
      healthProbeBindAddr: ':8163',
      npaSocket: '/var/run/aws-node/npa.sock',
      npaTcpAddress: '127.0.0.1:50052',
    });
  });

  it('the manifest arguments, pflag forms (--a=b, --a b, bare booleans, Go boolean spellings)', () => {
    const f = parseFlags([
      '--enable-ipv6=false',
      '--enable-network-policy=True',
      '--enable-policy-event-logs',
      '--enable-cloudwatch-logs=t',
      '--log-level',
      'INFO',
      '--conntrack-cache-table-size=32768',
      '--metrics-bind-addr=[::1]:9000',
    ]);
    expect(f).toMatchObject({
      enableIpv6: false,
      enableNetworkPolicy: true,
      enablePolicyEventLogs: true,
      enableCloudwatchLogs: true,
      logLevel: 'info',
      conntrackCacheTableSize: 32768,
      metricsBindAddr: '[::1]:9000',
    });
  });

  it.each([
    [
      ['--conntrack-cache-table-size=1048577'],
      /--conntrack-cache-table-size: expected an integer from 32768 to 1048576/,
    ],
    [['--enable-ipv6=yes'], /invalid value "yes" for flag --enable-ipv6: expected true or false/],
    [['--log-level=trace'], /--log-level: expected one of debug, info, warn, error, fatal/],
    [['--metrics-bind-addr=8162'], /--metrics-bind-addr: expected "\[host\]:port"/],
    [['--no-such-flag=1'], /unknown flag --no-such-flag/],
    [['stray'], /unexpected argument "stray"/],
    [['--log-file'], /flag --log-file needs a value/],
    [['--enable-profiling'], /--enable-profiling: this agent has no pprof endpoint/],
    [['--enable-cloudwatch-logs'], /needs --enable-policy-event-logs=true/],
  ])('%j is refused naming flag, value and what is accepted', (argv, msg) => {
    expect(() => parseFlags(argv)).toThrow(FlagError);
    expect(() => parseFlags(argv)).toThrow(msg);
  });
});
