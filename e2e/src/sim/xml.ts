// A tiny XML writer for EC2 Query responses: objects become elements in key order, arrays become
// `<name><item>…</item></name>` lists (how EC2 and the SDK's EC2 protocol encode lists), undefined is omitted.
export const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

export type XmlValue = string | number | boolean | Date | undefined | XmlObject | XmlValue[];
export interface XmlObject {
  [name: string]: XmlValue;
}

export function escapeXml(s: string): string {
  return s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );
}

export function element(name: string, v: XmlValue): string {
  if (v === undefined) return '';
  if (Array.isArray(v)) return `<${name}>${v.map((i) => element('item', i)).join('')}</${name}>`;
  if (v instanceof Date) return `<${name}>${v.toISOString()}</${name}>`;
  if (typeof v === 'object') return `<${name}>${body(v)}</${name}>`;
  return `<${name}>${escapeXml(String(v))}</${name}>`;
}

const body = (o: XmlObject): string =>
  Object.entries(o)
    .map(([k, v]) => element(k, v))
    .join('');

export function responseXml(action: string, requestId: string, content: XmlObject): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_XMLNS}">` +
    `<requestId>${requestId}</requestId>${body(content)}</${action}Response>`
  );
}

export function errorXml(code: string, message: string, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(code)}</Code>` +
    `<Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`
  );
}
