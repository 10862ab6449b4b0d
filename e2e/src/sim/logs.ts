// CloudWatch Logs (JSON 1.1 protocol, X-Amz-Target Logs_20140328.<Action>) for the calls the network policy
// agent makes, with the service's limits and error codes: log groups and streams, PutLogEvents batches
// (≤ 10 000 events, ≤ 1 MiB counting 26 bytes per event, chronological, within 24 h, events older than 14 days
// or over 2 h ahead rejected per event), GetLogEvents and DescribeLogStreams to read them back.
export class LogsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'LogsError';
  }
}

export interface LogEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
}

interface Stream {
  created: number;
  events: LogEvent[];
  seq: number;
}

interface Group {
  created: number;
  streams: Map<string, Stream>;
}

type Json = Record<string, unknown>;
const str = (b: Json, k: string): string => {
  const v = b[k];
  if (typeof v !== 'string' || v === '')
    throw new LogsError(
      'InvalidParameterException',
      `1 validation error detected: Value null at '${k}' failed to satisfy constraint: Member must not be null`,
    );
  return v;
};

export class LogsWorld {
  readonly groups = new Map<string, Group>();
  constructor(private readonly now: () => number = Date.now) {}

  private group(name: string): Group {
    const g = this.groups.get(name);
    if (!g) throw new LogsError('ResourceNotFoundException', 'The specified log group does not exist.');
    return g;
  }

  private stream(group: string, name: string): Stream {
    const s = this.group(group).streams.get(name);
    if (!s) throw new LogsError('ResourceNotFoundException', 'The specified log stream does not exist.');
    return s;
  }

  handle(action: string, b: Json): Json {
    switch (action) {
      case 'CreateLogGroup': {
        const name = str(b, 'logGroupName');
        if (!/^[\w\-/.#]{1,512}$/.test(name))
          throw new LogsError('InvalidParameterException', `Invalid log group name: ${name}`);
        if (this.groups.has(name))
          throw new LogsError('ResourceAlreadyExistsException', 'The specified log group already exists');
        this.groups.set(name, { created: this.now(), streams: new Map() });
        return {};
      }
      case 'DescribeLogGroups': {
        const prefix = typeof b['logGroupNamePrefix'] === 'string' ? b['logGroupNamePrefix'] : '';
        const limit = typeof b['limit'] === 'number' ? b['limit'] : 50;
        const names = [...this.groups.keys()].filter((n) => n.startsWith(prefix)).sort();
        const start = typeof b['nextToken'] === 'string' ? Number(b['nextToken']) : 0;
        const page = names.slice(start, start + limit);
        return {
          logGroups: page.map((n) => ({
            logGroupName: n,
            creationTime: this.groups.get(n)!.created,
            arn: `arn:aws:logs:us-west-2:000000000000:log-group:${n}:*`,
          })),
          ...(start + limit < names.length ? { nextToken: String(start + limit) } : {}),
        };
      }
      case 'CreateLogStream': {
        const g = this.group(str(b, 'logGroupName'));
        const name = str(b, 'logStreamName');
        if (/[:*]/.test(name))
          throw new LogsError('InvalidParameterException', `Invalid log stream name: ${name}`);
        if (g.streams.has(name))
          throw new LogsError('ResourceAlreadyExistsException', 'The specified log stream already exists');
        g.streams.set(name, { created: this.now(), events: [], seq: 1 });
        return {};
      }
      case 'DescribeLogStreams': {
        const g = this.group(str(b, 'logGroupName'));
        return {
          logStreams: [...g.streams].map(([n, s]) => ({
            logStreamName: n,
            creationTime: s.created,
            storedBytes: 0,
          })),
        };
      }
      case 'PutLogEvents':
        return this.put(b);
      case 'GetLogEvents': {
        const s = this.stream(str(b, 'logGroupName'), str(b, 'logStreamName'));
        return { events: s.events.map((e) => ({ ...e })), nextForwardToken: 'f/0', nextBackwardToken: 'b/0' };
      }
      default:
        throw new LogsError('UnknownOperationException', `Unknown operation ${action}`);
    }
  }

  private put(b: Json): Json {
    const s = this.stream(str(b, 'logGroupName'), str(b, 'logStreamName'));
    const events = b['logEvents'];
    if (!Array.isArray(events) || events.length === 0)
      throw new LogsError('InvalidParameterException', 'logEvents must contain at least 1 item');
    if (events.length > 10_000)
      throw new LogsError('InvalidParameterException', 'logEvents must contain at most 10000 items');
    let bytes = 0;
    let prev = -Infinity;
    for (const e of events as Json[]) {
      if (typeof e['timestamp'] !== 'number' || typeof e['message'] !== 'string')
        throw new LogsError('InvalidParameterException', 'each log event needs a timestamp and a message');
      if (e['timestamp'] < prev)
        throw new LogsError(
          'InvalidParameterException',
          'Log events in a single PutLogEvents request must be in chronological order.',
        );
      prev = e['timestamp'];
      bytes += Buffer.byteLength(e['message']) + 26;
    }
    if (bytes > 1_048_576)
      throw new LogsError('InvalidParameterException', 'Upload too large: the batch exceeds 1048576 bytes');
    const first = (events[0] as Json)['timestamp'] as number;
    if (prev - first > 24 * 3600_000)
      throw new LogsError(
        'InvalidParameterException',
        'A batch of log events in a single request cannot span more than 24 hours.',
      );
    const now = this.now();
    let tooOld: number | undefined;
    let tooNew: number | undefined;
    (events as { timestamp: number; message: string }[]).forEach((e, i) => {
      if (e.timestamp < now - 14 * 24 * 3600_000) tooOld = i;
      else if (e.timestamp > now + 2 * 3600_000) tooNew ??= i;
      else s.events.push({ timestamp: e.timestamp, message: e.message, ingestionTime: now });
    });
    s.seq++;
    return {
      nextSequenceToken: String(s.seq).padStart(56, '0'),
      ...(tooOld !== undefined || tooNew !== undefined
        ? {
            rejectedLogEventsInfo: {
              ...(tooOld !== undefined ? { tooOldLogEventEndIndex: tooOld } : {}),
              ...(tooNew !== undefined ? { tooNewLogEventStartIndex: tooNew } : {}),
            },
          }
        : {}),
    };
  }
}
