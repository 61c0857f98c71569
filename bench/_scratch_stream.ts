import { startBenchPool } from './support/bench-pool.js';
import { drain } from './support/drain.js';
import { readFileSync } from 'node:fs';

function cpuOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
const count = Number(process.argv[2] ?? 300000);
const { pool, close } = await startBenchPool(1);
import { readdirSync } from 'node:fs';
const kids = () => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => { try { return readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === String(process.pid); } catch { return false; } }).map(Number);
await new Promise((r) => setTimeout(r, 500));
const all = () => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => { try { return [[Number(d), Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ')[1])]]; } catch { return []; } });
const tree = all(); const pids: number[] = []; let frontier = [process.pid]; while (frontier.length) { const next = tree.filter(([, pp]) => frontier.includes(pp)).map(([p]) => p); pids.push(...next); frontier = next; }
console.log('workers', pids);
for (let run = 0; run < 6; run++) {
  let n = 0;
  const c0 = process.cpuUsage(); const p0 = pids.map(cpuOf);
  const started = performance.now();
  await drain(pool.stream<{ seq: number } | null>('small', { count }), (r) => { n += r.seq >= 0 ? 1 : 0; });
  const ms = performance.now() - started;
  const c1 = process.cpuUsage(c0); const p1 = pids.map(cpuOf);
  console.log(`${n} chunks in ${ms.toFixed(0)} ms: ${Math.round(n / (ms / 1000)).toLocaleString()}/s; node cpu ${((c1.user + c1.system) / 1000).toFixed(0)} ms; python cpu ${(p1.reduce((a, b, i) => a + b - p0[i]!, 0) * 1000).toFixed(0)} ms`);
}
await close();
