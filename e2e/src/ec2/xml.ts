// EC2's XML: lowerCamel elements, lists as <item>, the 2016-11-15 namespace, a requestId in every response.
export type XmlValue = string | number | boolean | undefined | XmlNode | XmlValue[];
export interface XmlNode {
  [key: string]: XmlValue;
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function toXml(v: XmlValue): string {
  if (v === undefined) return '';
  if (Array.isArray(v)) return v.map((x) => `<item>${toXml(x)}</item>`).join('');
  if (typeof v === 'object')
    return Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `<${k}>${toXml(x)}</${k}>`)
      .join('');
  return esc(String(v));
}

export function response(action: string, requestId: string, body: XmlNode): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${requestId}</requestId>${toXml(body)}</${action}Response>`;
}

export function errorResponse(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${esc(code)}</Code><Message>${esc(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
}
