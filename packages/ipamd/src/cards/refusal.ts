// Why a pod annotated k8s.amazonaws.com/nicConfig: multi-nic-attachment cannot get one address per network card
// here (docs/architecture.md#addnetwork-and-delnetwork). Pure; the text reaches the pod's events.

export const NIC_CONFIG_ANNOTATION = 'k8s.amazonaws.com/nicConfig';

export function multiNicRefusal(o: {
  enabled: boolean;
  instanceType: string;
  /** Cards of the instance type. */
  typeCards: number;
  /** Cards ipamd manages now. */
  managedCards: readonly number[];
  /** Why the other cards are not managed, e.g. "card 1: …" (default: the EFA-only rule). */
  unmanagedWhy?: string | undefined;
}): string | undefined {
  const ask = `the pod asks for one interface per network card (${NIC_CONFIG_ANNOTATION}: multi-nic-attachment)`;
  if (!o.enabled)
    return `${ask}, but ENABLE_MULTI_NIC is false on this node: set ENABLE_MULTI_NIC=true on aws-node, or remove the annotation`;
  if (o.typeCards < 2)
    return `${ask}, but instance type ${o.instanceType} has a single network card: schedule the pod on a multi-card type, or remove the annotation`;
  if (o.managedCards.length < 2)
    return o.unmanagedWhy
      ? `${ask}, but only network card 0 of ${o.instanceType} is managed (${o.unmanagedWhy}), or remove the annotation`
      : `${ask}, but only network card 0 of ${o.instanceType} is managed (the others hold only EFA-only interfaces): attach an ENA interface to another card, or remove the annotation`;
  return undefined;
}
