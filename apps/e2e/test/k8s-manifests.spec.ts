import { EVENT_CATALOGUE, LEDGER_COMMAND_PARTITIONS, LEDGER_PATTERNS } from '@deliberate/contracts';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

// Renders each kustomize overlay of deploy/k8s with kubectl, validates every object against the Kubernetes and KEDA
// schemas (kubernetes-models), then checks what the deployment relies on: probes, resources, non-root pods, secrets
// only by reference, a PDB and a Service per Deployment, NetworkPolicies, and KEDA triggers naming real groups and
// topics. Needs kubectl; no Kafka, no Postgres.

const root = join(__dirname, '../../..');
const OVERLAYS = ['dev', 'production'] as const;
const SERVICES = ['gateway', 'triage', 'reasoner', 'ledger', 'webhooks', 'audit'] as const;
const KAFKA_CONSUMERS = ['triage', 'reasoner', 'ledger', 'webhooks', 'audit'] as const;

// Rendered YAML is untyped data until the schema check has passed; the checks read it as such.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Untyped = any;
type K8sObject = { apiVersion: string; kind: string; metadata: { name: string }; [field: string]: Untyped };
type ModelClass = { apiVersion: string; kind: string; new (data: unknown): { validate(): void } };

function render(overlay: string): K8sObject[] {
  const out = execFileSync('kubectl', ['kustomize', join(root, 'deploy/k8s/overlays', overlay)], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  return parseAllDocuments(out).map((d) => {
    if (d.errors.length) throw new Error(`${overlay}: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS() as K8sObject;
  });
}

// kubernetes-models ships ES modules only (an "import" export condition, no "require"), and swc compiles this file's
// import() into require(); a function built at run time keeps the real dynamic import, which Node resolves itself.
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const importModule = new Function('specifier', 'return import(specifier)') as (
  specifier: string,
) => Promise<Record<string, unknown>>;

const MODEL_MODULES = [
  'kubernetes-models/v1',
  'kubernetes-models/apps/v1',
  'kubernetes-models/batch/v1',
  'kubernetes-models/policy/v1',
  'kubernetes-models/networking.k8s.io/v1',
  'kubernetes-models/autoscaling/v2',
  '@kubernetes-models/keda/keda.sh/v1alpha1',
];

async function loadModels(): Promise<Map<string, ModelClass>> {
  const models = new Map<string, ModelClass>();
  for (const specifier of MODEL_MODULES) {
    for (const exported of Object.values(await importModule(specifier))) {
      if (typeof exported !== 'function') continue;
      const model = exported as ModelClass;
      if (model.apiVersion && model.kind) models.set(`${model.apiVersion}/${model.kind}`, model);
    }
  }
  return models;
}

/** Schema problems, one line per object that fails (or has no schema here). */
function schemaProblems(objects: K8sObject[], models: Map<string, ModelClass>): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const name = `${object.kind}/${object.metadata?.name}`;
    const Model = models.get(`${object.apiVersion}/${object.kind}`);
    if (!Model) {
      problems.push(`${name}: no schema for ${object.apiVersion}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (e) {
      problems.push(`${name}: ${(e as Error).message}`);
    }
  }
  return problems;
}

// Consumer groups as the code names them: `group: '<name>'` becomes `deliberate.<name>` (libs/kafka groupId), and
// the ledger's command server names its group in full. Mapped to the service whose code declares it.
function consumerGroupsInCode(): Map<string, string> {
  const groups = new Map<string, string>();
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );
  for (const service of SERVICES) {
    for (const file of walk(join(root, 'apps', service, 'src'))) {
      if (file.endsWith('.spec.ts')) continue;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\bgroup: '([a-z.-]+)'/g)) groups.set(`deliberate.${m[1]}`, service);
      for (const m of text.matchAll(/groupId: `\$\{prefix\}(deliberate\.[a-z.-]+)`/g))
        groups.set(m[1]!, service);
    }
  }
  return groups;
}

// Topics a scaler may name, with their partition counts: the catalogue's, and the ledger's command topics.
const TOPIC_PARTITIONS = new Map<string, number>([
  ...EVENT_CATALOGUE.map((e) => [e.topic, e.partitions] as const),
  ...Object.values(LEDGER_PATTERNS).map((t) => [t, LEDGER_COMMAND_PARTITIONS] as const),
]);
const LEDGER_COMMAND_TOPICS: readonly string[] = Object.values(LEDGER_PATTERNS);

const SECRET_NAME = /SECRET|KEY|TOKEN|PASSWORD/;

function urlHasPassword(value: string): boolean {
  try {
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) && new URL(value).password !== '';
  } catch {
    return false;
  }
}

type Selector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
};

function selects(selector: Selector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    switch (e.operator) {
      case 'In':
        return (e.values ?? []).includes(labels[e.key] ?? '');
      case 'NotIn':
        return !(e.values ?? []).includes(labels[e.key] ?? '');
      case 'Exists':
        return e.key in labels;
      case 'DoesNotExist':
        return !(e.key in labels);
      default:
        return false;
    }
  });
  return byLabels && byExpressions;
}

function podSpecsOf(objects: K8sObject[]): { name: string; labels: Record<string, string>; spec: Untyped }[] {
  return objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'Job')
    .map((o) => ({
      name: `${o.kind}/${o.metadata.name}`,
      labels: o.spec.template.metadata?.labels ?? {},
      spec: o.spec.template.spec,
    }));
}

/** Everything wrong with a rendered overlay beyond its schema, one line per problem. */
function deploymentProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const of = (kind: string) => objects.filter((o) => o.kind === kind);
  const configData: Record<string, string> = Object.assign(
    {},
    ...of('ConfigMap').map((c) => (c.data ?? {}) as Record<string, string>),
  );

  // Config maps are read whole (envFrom): no secret may sit in one.
  for (const [key, value] of Object.entries(configData)) {
    if (SECRET_NAME.test(key)) problems.push(`ConfigMap key ${key} looks like a secret; use a Secret`);
    if (urlHasPassword(value)) problems.push(`ConfigMap key ${key} holds a URL with a password`);
  }

  for (const pod of podSpecsOf(objects)) {
    const podSecurity = pod.spec.securityContext ?? {};
    for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
      const where = `${pod.name} container ${c.name}`;
      const security = { ...podSecurity, ...(c.securityContext ?? {}) };
      if (security.runAsNonRoot !== true || security.runAsUser === 0)
        problems.push(`${where}: may run as root`);
      if (security.allowPrivilegeEscalation !== false)
        problems.push(`${where}: allowPrivilegeEscalation is not false`);
      if (!(security.capabilities?.drop ?? []).includes('ALL')) problems.push(`${where}: keeps capabilities`);
      for (const bound of ['requests', 'limits'])
        for (const resource of ['cpu', 'memory'])
          if (!c.resources?.[bound]?.[resource]) problems.push(`${where}: no ${resource} ${bound}`);
      for (const env of c.env ?? []) {
        const literal = typeof env.value === 'string';
        if (SECRET_NAME.test(env.name) && !env.valueFrom?.secretKeyRef)
          problems.push(`${where}: ${env.name} is not read from a Secret (secretKeyRef)`);
        if (literal && urlHasPassword(env.value))
          problems.push(`${where}: ${env.name} embeds a password in its URL`);
        if (/DATABASE_URL/.test(env.name) && !env.valueFrom?.secretKeyRef)
          problems.push(`${where}: ${env.name} is not read from a Secret (secretKeyRef)`);
      }
      for (const from of c.envFrom ?? [])
        if (!from.configMapRef && !from.secretRef)
          problems.push(`${where}: envFrom neither ConfigMap nor Secret`);
    }
  }

  const deployments = of('Deployment');
  const images = new Set(
    podSpecsOf(objects).flatMap((p) =>
      [...(p.spec.initContainers ?? []), ...p.spec.containers].map((c: { image: string }) => c.image),
    ),
  );
  if (images.size !== 1) problems.push(`one image for every workload, found ${[...images].join(', ')}`);

  for (const d of deployments) {
    const name = `Deployment/${d.metadata.name}`;
    const labels: Record<string, string> = d.spec.template.metadata.labels;
    if (!selects(d.spec.selector, labels)) problems.push(`${name}: its selector does not match its pods`);
    const containers: Untyped[] = d.spec.template.spec.containers;
    const ports: { name?: string; containerPort: number }[] = containers.flatMap((c) => c.ports ?? []);
    const declared = (port: unknown) => ports.some((p) => p.name === port || p.containerPort === port);
    for (const c of containers) {
      if (c.securityContext?.readOnlyRootFilesystem !== true)
        problems.push(`${name}: container ${c.name} has a writable root filesystem`);
      for (const probe of ['readinessProbe', 'livenessProbe']) {
        const handler = c[probe]?.httpGet ?? c[probe]?.tcpSocket;
        if (!handler) problems.push(`${name}: container ${c.name} has no ${probe}`);
        else if (!declared(handler.port))
          problems.push(`${name}: ${probe} port ${handler.port} is not a declared container port`);
      }
    }
    const pdbs = of('PodDisruptionBudget').filter((p) => selects(p.spec.selector, labels));
    if (pdbs.length !== 1) problems.push(`${name}: ${pdbs.length} PodDisruptionBudgets select it, not 1`);
    for (const pdb of pdbs)
      if (pdb.spec.minAvailable === undefined && pdb.spec.maxUnavailable === undefined)
        problems.push(`${name}: its PodDisruptionBudget sets neither minAvailable nor maxUnavailable`);
    const services = of('Service').filter(
      (s) => s.spec.selector && selects({ matchLabels: s.spec.selector }, labels),
    );
    if (services.length === 0) problems.push(`${name}: no Service selects it`);
    for (const s of services)
      for (const p of s.spec.ports)
        if (!declared(p.targetPort ?? p.port))
          problems.push(`${name}: Service ${s.metadata.name} targets undeclared port ${p.targetPort}`);
  }

  // Every pod is covered by a deny-all; only the gateway's port is open to everyone.
  const policies = of('NetworkPolicy');
  const denyAll = policies.some(
    (p) =>
      Object.keys(p.spec.podSelector ?? {}).length === 0 &&
      ['Ingress', 'Egress'].every((t) => p.spec.policyTypes?.includes(t)) &&
      !p.spec.ingress &&
      !p.spec.egress,
  );
  if (!denyAll) problems.push('no default-deny NetworkPolicy');
  for (const d of deployments) {
    const labels: Record<string, string> = d.spec.template.metadata.labels;
    const own = policies.filter(
      (p) => selects(p.spec.podSelector, labels) && p.spec.policyTypes?.includes('Ingress'),
    );
    const openRules = own
      .flatMap((p) => p.spec.ingress ?? [])
      .filter((r: Untyped) => !r.from || r.from.length === 0);
    if (d.metadata.name === 'gateway') {
      if (openRules.length === 0) problems.push('the gateway takes no ingress from outside');
    } else {
      if (own.length === 0)
        problems.push(`Deployment/${d.metadata.name}: no NetworkPolicy restricts its ingress`);
      if (openRules.length)
        problems.push(`Deployment/${d.metadata.name}: a NetworkPolicy opens it to anyone`);
    }
  }

  // KEDA triggers: real groups of the scaled service, real topics it consumes, brokers from the config.
  const groups = consumerGroupsInCode();
  for (const so of of('ScaledObject')) {
    const name = `ScaledObject/${so.metadata.name}`;
    const target: string = so.spec.scaleTargetRef.name;
    if (!deployments.some((d) => d.metadata.name === target))
      problems.push(`${name}: no Deployment ${target}`);
    for (const trigger of so.spec.triggers) {
      const m = trigger.metadata ?? {};
      if (trigger.type !== 'kafka') problems.push(`${name}: trigger type ${trigger.type}, not kafka`);
      if (m.bootstrapServers !== configData['KAFKA_BROKERS'])
        problems.push(`${name}: bootstrapServers ${m.bootstrapServers} is not KAFKA_BROKERS`);
      if (groups.get(m.consumerGroup) !== target)
        problems.push(`${name}: consumer group ${m.consumerGroup} is not one of ${target}'s in the code`);
      if (m.topic === undefined) continue;
      const partitions = TOPIC_PARTITIONS.get(m.topic);
      if (partitions === undefined) {
        problems.push(`${name}: topic ${m.topic} is not in libs/contracts`);
        continue;
      }
      const consumers = EVENT_CATALOGUE.find((e) => e.topic === m.topic)?.consumers ?? [];
      if (!consumers.includes(target) && !(target === 'ledger' && LEDGER_COMMAND_TOPICS.includes(m.topic)))
        problems.push(`${name}: ${target} does not consume ${m.topic}`);
      if (so.spec.maxReplicaCount > partitions)
        problems.push(
          `${name}: maxReplicaCount ${so.spec.maxReplicaCount} exceeds ${m.topic}'s ${partitions} partitions`,
        );
    }
  }
  return problems;
}

describe('Kubernetes manifests (deploy/k8s)', () => {
  let models: Map<string, ModelClass>;
  const rendered = new Map<string, K8sObject[]>();

  beforeAll(async () => {
    models = await loadModels();
    for (const overlay of OVERLAYS) rendered.set(overlay, render(overlay));
  });

  const objectsOf = (overlay: string) => structuredClone(rendered.get(overlay)!);
  const find = (objects: K8sObject[], kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name)!;

  it.each(OVERLAYS)('%s: every object passes its Kubernetes or KEDA schema', (overlay) => {
    const objects = objectsOf(overlay);
    expect(objects.length).toBeGreaterThan(20);
    expect(schemaProblems(objects, models)).toEqual([]);
  });

  it.each(OVERLAYS)(
    '%s: probes, resources, non-root pods, secrets, PDBs, Services, policies, scalers',
    (overlay) => {
      expect(deploymentProblems(objectsOf(overlay))).toEqual([]);
    },
  );

  it.each(OVERLAYS)('%s: runs every service from the one image, with a migration Job for each', (overlay) => {
    const objects = objectsOf(overlay);
    for (const service of SERVICES) {
      const container = find(objects, 'Deployment', service).spec.template.spec.containers[0];
      expect(container.command).toEqual(['node', `apps/${service}/dist/main.js`]);
    }
    const job = find(objects, 'Job', 'migrate').spec.template.spec;
    const migrated = [...job.initContainers, ...job.containers].map((c: { command: string[] }) =>
      c.command.at(-1),
    );
    expect([...migrated].sort()).toEqual([...SERVICES].sort());
  });

  it('production: KEDA scales every Kafka consumer, and no HorizontalPodAutoscaler competes with it', () => {
    const objects = objectsOf('production');
    const scaled = objects.filter((o) => o.kind === 'ScaledObject').map((o) => o.spec.scaleTargetRef.name);
    expect([...scaled].sort()).toEqual([...KAFKA_CONSUMERS].sort());
    expect(objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')).toEqual([]);
    for (const service of SERVICES) {
      const spec = find(objects, 'Deployment', service).spec;
      expect(spec.template.spec.topologySpreadConstraints).toEqual(
        expect.arrayContaining([expect.objectContaining({ topologyKey: 'topology.kubernetes.io/zone' })]),
      );
    }
  });

  it('dev: one replica of each service, and the model simulator they call', () => {
    const objects = objectsOf('dev');
    for (const service of SERVICES) expect(find(objects, 'Deployment', service).spec.replicas).toBe(1);
    expect(find(objects, 'Deployment', 'model-simulator')).toBeDefined();
    const config = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('deliberate-config'),
    );
    expect(config?.data.LLM_REASONING_BASE_URL).toBe('http://model-simulator:4010/v1');
  });

  // The checks above must be able to fail: each broken copy of a good overlay is refused, for the reason planted.
  describe('refuses broken manifests', () => {
    it('a probe on a port the container does not declare', () => {
      const objects = objectsOf('production');
      find(objects, 'Deployment', 'ledger').spec.template.spec.containers[0].readinessProbe.httpGet.port =
        9999;
      expect(deploymentProblems(objects)).toEqual([
        'Deployment/ledger: readinessProbe port 9999 is not a declared container port',
      ]);
    });

    it('a secret written into the manifest, and a database URL with its password', () => {
      const objects = objectsOf('production');
      const env = find(objects, 'Deployment', 'gateway').spec.template.spec.containers[0].env as Untyped[];
      env.find((e) => e.name === 'LEDGER_INTERNAL_TOKEN').valueFrom = undefined;
      env.find((e) => e.name === 'LEDGER_INTERNAL_TOKEN').value = 'a-token-typed-into-yaml-0123456789';
      env.push({
        name: 'AUDIT_DATABASE_URL',
        value: 'postgres://deliberate_audit:hunter2@db:5432/deliberate',
      });
      expect(deploymentProblems(objects)).toEqual([
        'Deployment/gateway container gateway: LEDGER_INTERNAL_TOKEN is not read from a Secret (secretKeyRef)',
        'Deployment/gateway container gateway: AUDIT_DATABASE_URL embeds a password in its URL',
        'Deployment/gateway container gateway: AUDIT_DATABASE_URL is not read from a Secret (secretKeyRef)',
      ]);
    });

    it('a root container, a Deployment without its PDB, and an internal service open to anyone', () => {
      const objects = objectsOf('production').filter(
        (o) => !(o.kind === 'PodDisruptionBudget' && o.metadata.name === 'audit'),
      );
      find(objects, 'Deployment', 'triage').spec.template.spec.securityContext.runAsUser = 0;
      find(objects, 'NetworkPolicy', 'ledger').spec.ingress.push({ ports: [{ port: 3002 }] });
      expect(deploymentProblems(objects)).toEqual([
        'Deployment/triage container triage: may run as root',
        'Deployment/audit: 0 PodDisruptionBudgets select it, not 1',
        'Deployment/ledger: a NetworkPolicy opens it to anyone',
      ]);
    });

    it('a scaler on a group or topic the code does not have', () => {
      const objects = objectsOf('production');
      const trigger = find(objects, 'ScaledObject', 'triage').spec.triggers[0];
      trigger.metadata.consumerGroup = 'deliberate.triage.old';
      trigger.metadata.topic = 'tasks.task.accepted.v0';
      expect(deploymentProblems(objects)).toEqual([
        "ScaledObject/triage: consumer group deliberate.triage.old is not one of triage's in the code",
        'ScaledObject/triage: topic tasks.task.accepted.v0 is not in libs/contracts',
      ]);
    });

    it('an object its schema refuses', () => {
      const objects = objectsOf('production');
      find(objects, 'Deployment', 'audit').spec.replicas = 'three';
      find(objects, 'ScaledObject', 'audit').spec.triggers = 'kafka';
      expect(schemaProblems(objects, models)).toEqual([
        expect.stringMatching(/^Deployment\/audit: .*replicas/),
        expect.stringMatching(/^ScaledObject\/audit: .*triggers/),
      ]);
    });
  });
});
