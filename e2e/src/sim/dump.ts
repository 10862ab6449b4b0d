// JSON view of the world for the admin API and debugging (Maps → objects, Dates → ISO strings).
import type { World } from './world.js';

export function worldJson(w: World): unknown {
  const tags = (t: Map<string, string>): Record<string, string> => Object.fromEntries(t);
  return {
    vpc: w.vpc,
    subnets: [...w.subnets.values()].map((s) => ({
      ...s,
      tags: tags(s.tags),
      available: w.alloc(s.id).available(),
    })),
    securityGroups: [...w.groups.values()].map((g) => ({ ...g, tags: tags(g.tags) })),
    instances: [...w.instances.values()].map((i) => ({ ...i, tags: tags(i.tags) })),
    enis: [...w.enis.values()].map((e) => ({ ...e, tags: tags(e.tags) })),
  };
}
