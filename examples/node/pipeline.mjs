// A pipeline in three stages joined by channels: generate -> square -> sum. (ESM)
import { go, Chan } from 'goro';

function generate(n) {
  const out = new Chan();
  go(async () => {
    for (let i = 1; i <= n; i++) await out.send(i);
    out.close();
  });
  return out;
}

function square(input) {
  const out = new Chan(16);
  go(async () => {
    for await (const v of input) await out.send(v * v);
    out.close();
  });
  return out;
}

let sum = 0;
for await (const v of square(generate(100))) sum += v;
console.log('sum of squares 1..100 =', sum);
if (sum !== 338350) process.exit(1);
