// A generated world: `nova-sim init --generate servers=N,volumes=M --seed S` builds a fixture
// shaped like an operator's cloud (thousands of servers in the default fixture's mix of
// states, each with its root disk and one attached volume; spare volumes of several sizes)
// from a seed, so the same parameters always give the same servers, volumes and uuids.
// materialize() then turns it into a state and sparse images, as for a named fixture.
import { createHash } from 'node:crypto';
import { FixtureError, type Fixture, type FixtureServer, type FixtureVolume } from './world.js';

export interface GenerateSpec {
  servers: number;
  volumes: number;
  seed: number;
}

/** the most a generated world holds (a guard against a typo such as servers=1e9) */
export const GENERATE_MAX = { servers: 100_000, volumes: 300_000 };

/** parses "servers=N,volumes=M" (either may be left out: 0 servers, and volumes = servers) */
export function parseGenerateSpec(text: string, seed: number): GenerateSpec {
  const spec: Partial<Record<'servers' | 'volumes', number>> = {};
  for (const item of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(servers|volumes)=(\d+)$/.exec(item);
    if (!m) throw new FixtureError(`--generate: '${item}' is not servers=N or volumes=M`);
    const key = m[1] as 'servers' | 'volumes';
    const n = Number(m[2]);
    if (n > GENERATE_MAX[key]) throw new FixtureError(`--generate: ${key} must be at most ${GENERATE_MAX[key]}`);
    spec[key] = n;
  }
  const servers = spec.servers ?? 0;
  const volumes = spec.volumes ?? servers;
  if (volumes < servers) throw new FixtureError(`--generate: volumes=${volumes} cannot be fewer than servers=${servers} (each server has an attached volume)`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new FixtureError('--seed must be a whole number of 0 or more');
  return { servers, volumes, seed };
}

/** the default fixture's mix of states, in proportion: 6 servers, each a kind */
const MIX: Array<Pick<FixtureServer, 'state' | 'locked' | 'transient' | 'flavor'>> = [
  { state: 'active', flavor: 'm1.small' },
  { state: 'active', locked: 'admin', flavor: 'm1.medium' },
  { state: 'stopped', flavor: 'm1.small' },
  { state: 'paused', flavor: 'm1.tiny' },
  { state: 'active', transient: true, flavor: 'm1.tiny' },
  { state: 'suspended', flavor: 'm1.tiny' },
];
const SPARE_SIZES = [1, 1, 2, 5, 10];

/** a version-4 uuid drawn from (seed, kind, index): stable across runs and platforms */
function uuidOf(seed: number, kind: string, i: number): string {
  const h = createHash('sha1').update(`${seed}:${kind}:${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[parseInt(h[16], 16) & 3]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** xorshift32 from the seed: the choices a world makes (states, sizes) */
function rng(seed: number): () => number {
  let x = (seed ^ 0x9e3779b9) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

export function generateFixture(spec: GenerateSpec): Fixture {
  const next = rng(spec.seed);
  const width = String(Math.max(spec.servers, spec.volumes - spec.servers, 1)).length;
  const pad = (n: number): string => String(n).padStart(width, '0');
  const t0 = Date.parse('2016-05-03T09:00:00Z');
  const volumes: FixtureVolume[] = [];
  const servers: FixtureServer[] = [];
  for (let i = 0; i < spec.servers; i++) {
    const kind = MIX[next() % MIX.length];
    const uuid = uuidOf(spec.seed, 'server', i);
    const vol: FixtureVolume = { id: uuidOf(spec.seed, 'volume', i), name: `data-${pad(i + 1)}`, size: 1 };
    volumes.push(vol);
    const server: FixtureServer = {
      uuid,
      name: `server-${pad(i + 1)}`,
      state: kind.state,
      flavor: kind.flavor,
      // 10.0.0.0/8 from .0.0.5 on: unique for a million servers
      ip: `10.${((i + 5) >> 16) & 255}.${((i + 5) >> 8) & 255}.${(i + 5) & 255}`,
      createdAt: new Date(t0 + i * 61_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      volumes: [{ volume: vol.id, device: '/dev/vdb' }],
    };
    if (kind.locked) server.locked = kind.locked;
    if (kind.transient) server.transient = true;
    servers.push(server);
  }
  for (let j = 0; j < spec.volumes - spec.servers; j++) {
    volumes.push({ id: uuidOf(spec.seed, 'volume', spec.servers + j), name: `spare-${pad(j + 1)}`, size: SPARE_SIZES[next() % SPARE_SIZES.length] });
  }
  return {
    name: `generated:servers=${spec.servers},volumes=${spec.volumes},seed=${spec.seed}`,
    description: `a generated world of ${spec.servers} servers and ${spec.volumes} volumes (seed ${spec.seed})`,
    host: 'devstack',
    servers,
    volumes,
  };
}
