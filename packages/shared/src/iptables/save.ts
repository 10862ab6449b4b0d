// iptables-save text → tables, chains and rules. Rules are kept as the exact text iptables-save prints (its
// canonical form), which is also how desired rules are written, so comparing is string equality.

export interface ChainState {
  /** Policy for built-in chains ("ACCEPT"), "-" for user chains. */
  policy: string;
  /** Rule specs without the leading "-A <chain> ". */
  rules: string[];
}

export type TableState = Map<string, ChainState>;

export function parseSave(text: string): Map<string, TableState> {
  const tables = new Map<string, TableState>();
  let current: TableState | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      current = new Map();
      tables.set(line.slice(1), current);
    } else if (line === 'COMMIT') current = undefined;
    else if (line.startsWith(':') && current) {
      const [name, policy] = line.slice(1).split(' ') as [string, string];
      current.set(name, { policy, rules: [] });
    } else if (line.startsWith('-A ') && current) {
      const rest = line.slice(3);
      const i = rest.indexOf(' ');
      const chain = i < 0 ? rest : rest.slice(0, i);
      const spec = i < 0 ? '' : rest.slice(i + 1);
      const c = current.get(chain) ?? { policy: '-', rules: [] };
      c.rules.push(spec);
      current.set(chain, c);
    }
  }
  return tables;
}
