import { adminKeyNotice, describeListenAddress, framedNotice } from './startup-notice';
import { JsonLogger } from './json-logger';

describe('start-up notices', () => {
  it('names a wildcard address as bound to all interfaces, with a loopback URL of the same family', () => {
    expect(describeListenAddress({ address: '0.0.0.0', family: 'IPv4', port: 3000 })).toEqual({ bound: '0.0.0.0:3000 (all interfaces)', url: 'http://127.0.0.1:3000' });
    expect(describeListenAddress({ address: '::', family: 'IPv6', port: 3000 })).toEqual({ bound: '[::]:3000 (all interfaces)', url: 'http://[::1]:3000' });
  });

  it('names a specific address as itself', () => {
    expect(describeListenAddress({ address: '127.0.0.1', family: 'IPv4', port: 8080 })).toEqual({ bound: '127.0.0.1:8080', url: 'http://127.0.0.1:8080' });
    expect(describeListenAddress({ address: '10.1.2.3', family: 'IPv4', port: 80 })).toEqual({ bound: '10.1.2.3:80', url: 'http://10.1.2.3:80' });
  });

  it('frames lines in a box of equal-width rows', () => {
    const rows = framedNotice(['short', 'a longer line']).split('\n');
    expect(rows).toHaveLength(4);
    expect(new Set(rows.map((r) => r.length)).size).toBe(1);
    expect(rows[0]).toMatch(/^\+-+\+$/);
    expect(rows[1]).toBe('| short         |');
  });

  it('shows the admin key inside the frame, whole', () => {
    const key = 'ws_' + 'k'.repeat(32);
    const rows = adminKeyNotice(key).split('\n');
    expect(rows.some((r) => r.startsWith('|') && r.includes(` ${key} `))).toBe(true);
    expect(rows.at(-1)).toMatch(/^\+-+\+$/);
  });

  it("keeps Nest's per-module and per-route start-up lines at debug", () => {
    const lines: string[] = [];
    const info = new JsonLogger('info', 'json', (l) => lines.push(l));
    info.log('Mapped {/v1/checkpoints, GET} route', 'RouterExplorer');
    info.log('AppModule dependencies initialized', 'InstanceLoader');
    info.log('Nest application successfully started', 'NestApplication');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['Nest application successfully started']);
    const debug = new JsonLogger('debug', 'json', (l) => lines.push(l));
    debug.log('Mapped {/v1/checkpoints, GET} route', 'RouterExplorer');
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ level: 'debug', context: 'RouterExplorer' });
  });
});
