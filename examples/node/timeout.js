// Timeouts and cancellation: { timeout } on a wait, select with a timeout and with default,
// and an AbortSignal that cancels a receive without losing the value that comes later.
const { Chan, select, recv, send, TimeoutError, AbortError } = require('goro');

async function main() {
  const ch = new Chan();
  try {
    await ch.recv({ timeout: 50 });
  } catch (e) {
    console.log('recv gave up:', e.name, e instanceof TimeoutError);
  }

  const r = await select([recv(ch), send(ch, 1)], { default: true });
  console.log('select with default, nothing ready: index', r.index);

  try {
    await select([recv(ch)], { timeout: 20 });
  } catch (e) {
    console.log('select gave up:', e.name);
  }

  const ac = new AbortController();
  const waiting = ch.recv({ signal: ac.signal });
  setTimeout(() => ac.abort(), 10);
  try {
    await waiting;
  } catch (e) {
    console.log('aborted:', e.name, e instanceof AbortError);
  }
  // The aborted receive took nothing: this value goes to the next receiver.
  const later = ch.recv();
  await ch.send('still here');
  console.log('next receiver got:', (await later).value);
}

main();
