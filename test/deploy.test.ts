import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { pinnedVersions } from '@jetsched/testkit';

const root = new URL('../', import.meta.url);
const read = (p: string): string => readFileSync(new URL(p, root), 'utf8');

describe('deployment files', () => {
  it('docker-compose runs the pinned nats-server release on 3 routed nodes', () => {
    const compose = read('docker-compose.yml');
    const version = pinnedVersions()!.natsServer.replace(/^v/, '');
    // the pinned release, with tzdata added for cron schedules in a time zone
    const images = [...compose.matchAll(/NATS_IMAGE: 'nats:(\S+)'/g)].map((m) => m[1]);
    expect(images).toEqual([`${version}-alpine`]);
    expect(read('deploy/nats/Dockerfile')).toContain('apk add --no-cache tzdata');
    for (const node of ['nats-1', 'nats-2', 'nats-3']) expect(compose).toContain(`NATS_SERVER_NAME: ${node}`);
    const conf = read('deploy/nats/nats.conf');
    for (const node of ['nats-1', 'nats-2', 'nats-3']) expect(conf).toContain(`nats-route://${node}:6222`);
  });

  it('docker-compose provisions at R3 once, then runs 2 coordinators, 2 schedulers and 3 executors against all three nodes', () => {
    const compose = parse(read('docker-compose.yml'), { merge: true }) as {
      services: Record<
        string,
        {
          command?: string[];
          deploy?: { replicas?: number };
          environment?: Record<string, string>;
          depends_on?: Record<string, { condition: string }> | string[];
        }
      >;
    };
    expect(compose.services['provision']?.command).toEqual(['provision', '--replicas', '3']);
    for (const [role, n] of [
      ['coordinator', 2],
      ['scheduler', 2],
      ['executor', 3],
    ] as const) {
      const svc = compose.services[role]!;
      expect(svc.command?.[0]).toBe(role);
      expect(svc.command).not.toContain('--replicas');
      expect(svc.depends_on).toEqual({ provision: { condition: 'service_completed_successfully' } });
      expect(svc.deploy?.replicas).toBe(n);
      expect(svc.environment?.['NATS_URL']).toBe('nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222');
    }
  });

  it('docker-compose serves the dashboard, whose page reaches nats-1 over WebSocket as published on the host', () => {
    const compose = parse(read('docker-compose.yml'), { merge: true }) as {
      services: Record<string, { command?: string[]; ports?: string[] }>;
    };
    const ws = /websocket \{\s*listen: 0\.0\.0\.0:(\d+)/.exec(read('deploy/nats/nats.conf'))?.[1];
    expect(ws).toBeDefined();
    expect(compose.services['nats-1']?.ports).toContain(`${ws}:${ws}`);
    const dashboard = compose.services['dashboard']!;
    expect(dashboard.command?.[0]).toBe('dashboard');
    expect(dashboard.command).toContain(`ws://localhost:${ws}`);
    expect(dashboard.ports).toContain('8080:8080');
  });

  it('the Dockerfile installs the pinned pnpm', () => {
    const pnpm = /PNPM_VERSION=(\S+)/.exec(read('tools.env'))![1];
    expect(read('Dockerfile')).toContain(`pnpm@${pnpm}`);
    expect((JSON.parse(read('package.json')) as { packageManager: string }).packageManager).toBe(
      `pnpm@${pnpm}`,
    );
  });

  it('the Dockerfile copies the dependency patches before it installs', () => {
    const pkg = JSON.parse(read('package.json')) as {
      pnpm?: { patchedDependencies?: Record<string, string> };
    };
    const patches = Object.values(pkg.pnpm?.patchedDependencies ?? {});
    expect(patches.length).toBeGreaterThan(0);
    const dockerfile = read('Dockerfile');
    const install = dockerfile.indexOf('pnpm install');
    for (const patch of patches) {
      const dir = patch.split('/')[0]!;
      const copy = dockerfile.indexOf(`COPY ${dir} ./${dir}`);
      expect(copy, `Dockerfile copies ${dir}/`).toBeGreaterThanOrEqual(0);
      expect(copy).toBeLessThan(install);
    }
  });
});
